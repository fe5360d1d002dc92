"""fcray's ingress: Ray Serve LLM's ``OpenAiIngress`` with two gaps closed, so that every bad request gets
an OpenAI-style error body (``{"error": {"message", "type", "code"}}``) with the right status:

* an unknown model: Ray Serve LLM raises FastAPI's ``HTTPException`` there, which answers
  ``{"detail": ...}``; fcray answers 404 with an OpenAI error naming the served models;
* a tool whose ``parameters`` is not a valid JSON Schema: vLLM accepts it (and may constrain decoding
  with a broken grammar); fcray answers 400 naming the tool and the schema error (checked with
  ``jsonschema``'s own meta-schema validation).

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


class FcrayIngress(OpenAiIngress):
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
        return await super().chat(body, request)
