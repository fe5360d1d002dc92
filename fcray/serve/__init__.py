"""Serving: the trained model behind an OpenAI-compatible API with tool calling, on Ray Serve LLM + vLLM."""
