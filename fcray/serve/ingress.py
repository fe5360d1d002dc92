"""fcray's ingress: Ray Serve LLM's ``OpenAiIngress`` with two gaps closed, so that every bad request gets
an OpenAI-style error body (``{"error": {"message", "type", "code"}}``) with the right status, and
fcray's constrained decoding of tool calls:

* an unknown model: Ray Serve LLM raises FastAPI's ``HTTPException`` there, which answers
  ``{"detail": ...}``; fcray answers 404 with an OpenAI error naming the served models;
* a tool whose ``parameters`` is not a valid JSON Schema: vLLM accepts it (and may constrain decoding
  with a broken grammar); fcray answers 400 naming the tool and the schema error (checked with
  ``jsonschema``'s own meta-schema validation).
* with ``decoding.constrained`` (passed as the ingress's ``decoding`` argument), a chat request that offers
  tools with ``tool_choice`` auto and no constraint of its own decodes with fcray's tool-call grammar
  (:mod:`fcray.toolcall.grammar`, through vLLM's structured outputs): a text answer, or calls that parse and
  fit an offered tool. ``required`` and named tool choices stay vLLM's own constrained modes.

Everything else (routing, streaming, metrics, the other endpoints) is Ray Serve LLM's.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request, Response
from ray.llm._internal.serve.core.configs.openai_api_models import (  # no public alias in Ray 2.60
    ChatCompletionRequest,
    OpenAIHTTPException,
)
from ray.serve.llm.ingress import OpenAiIngress


def tool_schema_errors(tools: list[Any] | None) -> list[str]:
    """One message per tool whose ``function.parameters`` fails its JSON Schema meta-schema."""
    import jsonschema

    errors = []
    for i, tool in enumerate(tools or []):
        tool = tool.model_dump() if hasattr(tool, "model_dump") else dict(tool)
        function = tool.get("function") or {}
        schema = function.get("parameters")
        if schema is None:
            continue
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as error:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            errors.append(f"tools[{i}] ({function.get('name')}): parameters is not a valid JSON Schema at "
                          f"{where}: {error.message}")
    return errors


def request_grammar(body: Any, decoding: Any) -> str | None:
    """The tool-call grammar for a chat request under ``decoding``, or None when it is not constrained (no
    tools, a tool choice other than auto, or a constraint the client set itself)."""
    from fcray.toolcall.grammar import grammar_for

    if decoding is None or not decoding.constrained or not getattr(body, "tools", None):
        return None
    if getattr(body, "tool_choice", None) not in (None, "auto"):
        return None
    if getattr(body, "structured_outputs", None) is not None or getattr(body, "response_format", None) is not None:
        return None
    tools = [t.model_dump() if hasattr(t, "model_dump") else dict(t) for t in body.tools]
    # Qwen3's template thinks unless told not to, and the model then writes <think>...</think> first, so the
    # grammar starts with that block. (With a reasoning parser vLLM would apply the grammar after the reasoning
    # instead, and the block must go: engine_kwargs sets none today.)
    thinking = (getattr(body, "chat_template_kwargs", None) or {}).get("enable_thinking", True)
    return grammar_for(tools, decoding, enable_thinking=bool(thinking))


class FcrayIngress(OpenAiIngress):
    def __init__(self, *args: Any, decoding: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from fcray.config import DecodingConfig

        # A server decodes "auto" requests: a text answer stays possible whatever decoding.require_call says.
        self.decoding = DecodingConfig(**{**decoding, "require_call": False}) if decoding else None

    async def _get_model_id(self, model: str | None) -> str:
        try:
            return await super()._get_model_id(model)
        except HTTPException as error:
            kind = "NotFoundError" if error.status_code == 404 else "BadRequestError"
            served = sorted(self._model_cards)
            raise OpenAIHTTPException(error.status_code, f"{error.detail} Served models: {served}", type=kind) from None

    async def chat(self, body: ChatCompletionRequest, request: Request) -> Response:
        errors = tool_schema_errors(getattr(body, "tools", None))
        if errors:
            raise OpenAIHTTPException(400, "; ".join(errors), type="BadRequestError")
        from fcray.toolcall.grammar import GrammarError

        try:
            grammar = request_grammar(body, self.decoding)
        except GrammarError as error:
            raise OpenAIHTTPException(400, f"tools cannot be constrained to: {error}", type="BadRequestError") from None
        if grammar is not None:
            from vllm.sampling_params import StructuredOutputsParams

            body.structured_outputs = StructuredOutputsParams(grammar=grammar)
        return await super().chat(body, request)
