"""fcray's ingress: Ray Serve LLM's ``OpenAiIngress`` with two gaps closed, so that every bad request gets
an OpenAI-style error body (``{"error": {"message", "type", "code"}}``) with the right status, and
fcray's constrained decoding of tool calls:

* an unknown model: Ray Serve LLM raises FastAPI's ``HTTPException`` there, which answers
  ``{"detail": ...}``; fcray answers 404 with an OpenAI error naming the served models;
* a tool whose ``parameters`` is not a valid JSON Schema: vLLM accepts it (and may constrain decoding
  with a broken grammar); fcray answers 400 naming the tool and the schema error (checked with
  ``jsonschema``'s own meta-schema validation).
* with ``decoding.constrained`` (passed as the ingress's ``decoding`` argument), a chat request that offers
  tools and sets no constraint of its own decodes with fcray's tool-call grammar
  (:mod:`fcray.toolcall.grammar`, through vLLM's structured outputs): with ``tool_choice`` auto a text answer
  or calls that parse and fit an offered tool; ``required`` one or more such calls; a named tool one call of
  it; ``parallel_tool_calls: false`` at most one call. The request then goes on as ``auto``, so vLLM's
  Hermes parser turns the calls into ``tool_calls``. Why fcray builds required/named too: a vLLM engine has
  ONE structured-outputs backend, a constrained server's is LLGuidance (fcray's grammars need it), and
  vLLM's own required/named constraints are xgrammar structural tags that LLGuidance refuses.

* clean replies: a request that does not set ``chat_template_kwargs.enable_thinking`` gets the server's
  default (``serve.enable_thinking``, off: fcray trains and evaluates that way), so Qwen3's template writes
  the empty think block into the prompt and the reply carries none; with thinking on, vLLM's reasoning
  parser (``serve.reasoning_parser``) moves the reasoning to the message's ``reasoning``.

* auth: with ``serve.api_key`` (a reference, env:NAME or file:PATH, which the ingress reads on its node)
  every endpoint requires ``Authorization: Bearer <key>`` and answers 401 in the OpenAI error shape
  otherwise (the key is compared in constant time, by digest);
* request limits: a body over ``max_request_bytes`` is a 413, more than ``max_tools`` tools or a
  ``max_tokens`` over ``max_output_tokens`` a 400 — before anything reaches the engine.

* timing: the ingress's own checks and the time until LLMServer's first and last streamed item, as Ray
  metrics (:mod:`fcray.serve.timing`), so the overhead benchmark can say where a request's time goes.

Everything else (routing, streaming, metrics, the other endpoints) is Ray Serve LLM's.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import json
import time
from typing import Any

from fastapi import HTTPException, Request, Response
from ray.llm._internal.serve.core.configs.openai_api_models import (  # no public alias in Ray 2.60
    ChatCompletionRequest,
    CompletionRequest,
    OpenAIHTTPException,
)
from ray.llm._internal.serve.core.ingress.ingress import DEFAULT_ENDPOINTS
from ray.serve.llm.ingress import OpenAiIngress

from fcray.serve.timing import record, timed_stream


# Ray Serve LLM's error body names the exception's class as the OpenAI error "type": one class per type.
class BadRequestError(OpenAIHTTPException):
    pass


class AuthenticationError(OpenAIHTTPException):
    pass


class NotFoundError(OpenAIHTTPException):
    pass


def tool_schema_errors(tools: list[Any] | None) -> list[str]:
    """One message per tool whose ``function.parameters`` fails its JSON Schema meta-schema."""
    errors = []
    for i, tool in enumerate(tools or []):
        tool = tool.model_dump() if hasattr(tool, "model_dump") else dict(tool)
        function = tool.get("function") or {}
        schema = function.get("parameters")
        if schema is None:
            continue
        error = schema_error(json.dumps(schema, sort_keys=True))
        if error is not None:
            errors.append(f"tools[{i}] ({function.get('name')}): parameters is not a valid JSON Schema at {error}")
    return errors


@functools.lru_cache(maxsize=4096)
def schema_error(schema_json: str) -> str | None:
    """Where and why a schema (canonical JSON) fails its meta-schema, or None. Cached: clients send the same
    tools with every request, and the check costs ~1 ms per tool (2 ms of every request's time to first
    token with the load test's two tools; docs/results/2026-12-07-serve-overhead.md).

    >>> schema_error('{"type": "object", "properties": {"x": {"type": "strin"}}}')
    "properties/x/type: 'strin' is not valid under any of the given schemas"
    >>> schema_error('{"type": "object"}') is None
    True
    """
    import jsonschema

    schema = json.loads(schema_json)
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        return f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
    return None


def request_grammar(body: Any, decoding: Any, reasoning_parser: bool = False) -> str | None:
    """The tool-call grammar for a chat request under ``decoding``, or None when it is not constrained (no
    tools, ``tool_choice`` none, or a constraint the client set itself). ``reasoning_parser``: the engine
    has one, so vLLM applies the grammar after the reasoning, which the grammar then leaves out."""
    from fcray.toolcall.grammar import tool_call_grammar

    if decoding is None or not decoding.constrained or not getattr(body, "tools", None):
        return None
    if getattr(body, "structured_outputs", None) is not None or getattr(body, "response_format", None) is not None:
        return None
    choice = getattr(body, "tool_choice", None)
    tools = [t.model_dump() if hasattr(t, "model_dump") else dict(t) for t in body.tools]
    max_calls = 1 if getattr(body, "parallel_tool_calls", None) is False else decoding.max_calls
    if choice in (None, "auto"):
        require_call = False
    elif choice == "required":
        require_call = True
    elif choice == "none":
        return None
    else:  # a named tool (vLLM has checked that it is one of the offered tools)
        name = choice.function.name if hasattr(choice, "function") else choice["function"]["name"]
        tools, require_call, max_calls = [t for t in tools if t["function"]["name"] == name], True, 1
    # With thinking on (Qwen3's template's default) the model writes <think>...</think> first. An engine with a
    # reasoning parser applies the grammar only after it; one without sees the block, so the grammar has it.
    thinking = (getattr(body, "chat_template_kwargs", None) or {}).get("enable_thinking", True)
    return tool_call_grammar(tools, require_call=require_call, max_calls=max_calls,
                             max_string_length=decoding.max_string_length,
                             enable_thinking=bool(thinking) and not reasoning_parser)


class FcrayIngress(OpenAiIngress):
    def __init__(self, *args: Any, decoding: dict[str, Any] | None = None, enable_thinking: bool | None = None,
                 reasoning_parser: bool = False, api_key: str | None = None,
                 limits: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from fcray.config import DecodingConfig
        from fcray.credentials import resolve

        self.enable_thinking = enable_thinking  # None: the chat template's own default
        self.reasoning_parser = reasoning_parser
        self.limits = limits or {}
        # A missing key fails the deployment here, naming the reference: never an open endpoint by accident.
        self._key_digest = hashlib.sha256(resolve(api_key, "serve.api_key").encode()).digest() if api_key else None

        # tool_choice says per request whether a call is required: request_grammar never reads
        # decoding.require_call (an offline setting)
        self.decoding = DecodingConfig(**decoding) if decoding else None

    async def _get_model_id(self, model: str | None) -> str:
        try:
            return await super()._get_model_id(model)
        except HTTPException as error:
            kind = NotFoundError if error.status_code == 404 else BadRequestError
            served = sorted(self._model_cards)
            raise kind(error.status_code, f"{error.detail} Served models: {served}") from None

    def authorize(self, request: Request) -> None:
        if self._key_digest is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                hashlib.sha256(token.strip().encode()).digest(), self._key_digest):
            raise AuthenticationError(401, "missing or wrong API key: send 'Authorization: Bearer <key>' with the "
                                           "key serve.api_key points to")

    async def check_limits(self, body: Any, request: Request) -> None:
        size = int(request.headers.get("content-length") or len(await request.body()))
        if size > self.limits.get("max_request_bytes", size):
            raise BadRequestError(413, f"request body of {size} bytes is over the server's limit of "
                                       f"{self.limits['max_request_bytes']} (serve.max_request_bytes)")
        tools = len(getattr(body, "tools", None) or [])
        if tools > self.limits.get("max_tools", tools):
            raise BadRequestError(400, f"{tools} tools offered; this server takes at most "
                                       f"{self.limits['max_tools']} (serve.max_tools)")
        for field in ("max_tokens", "max_completion_tokens"):
            asked = getattr(body, field, None)
            if asked is not None and asked > self.limits.get("max_output_tokens", asked):
                raise BadRequestError(400, f"{field}={asked} is over this server's limit of "
                                           f"{self.limits['max_output_tokens']} (serve.max_output_tokens)")

    async def completions(self, body: CompletionRequest, request: Request) -> Response:
        await self.check_limits(body, request)
        return await super().completions(body, request)

    async def _get_response(self, *, body: Any, call_method: str, raw_request: Request | None = None) -> Any:
        # LLMServer's stream as it comes back, timed (fcray.serve.timing: ingress_first / ingress_last)
        start = time.perf_counter()
        async for item in timed_stream(super()._get_response(body=body, call_method=call_method,
                                                             raw_request=raw_request), start, "ingress"):
            yield item

    async def chat(self, body: ChatCompletionRequest, request: Request) -> Response:
        start = time.perf_counter()
        await self._checked_chat(body, request)
        record("ingress_checks", time.perf_counter() - start)
        return await super().chat(body, request)

    async def _checked_chat(self, body: ChatCompletionRequest, request: Request) -> None:
        """fcray's checks and defaults of a chat request (raises the OpenAI-style error of a bad one)."""
        await self.check_limits(body, request)
        errors = tool_schema_errors(getattr(body, "tools", None))
        if errors:
            raise BadRequestError(400, "; ".join(errors))
        if self.enable_thinking is not None and "enable_thinking" not in (body.chat_template_kwargs or {}):
            body.chat_template_kwargs = {**(body.chat_template_kwargs or {}), "enable_thinking": self.enable_thinking}
        from fcray.toolcall.grammar import GrammarError

        try:
            grammar = request_grammar(body, self.decoding, self.reasoning_parser)
        except GrammarError as error:
            raise BadRequestError(400, f"tools cannot be constrained to: {error}") from None
        if grammar is not None:
            from vllm.sampling_params import StructuredOutputsParams

            body.structured_outputs = StructuredOutputsParams(grammar=grammar)
            body.tool_choice = "auto"  # the grammar is the constraint now; vLLM parses the calls as for auto


def _guarded(method: Any) -> Any:
    """``method`` (an endpoint) behind :meth:`FcrayIngress.authorize`, with FastAPI's view of its signature
    plus the ``request`` it needs for the header (models and model_data have none of their own)."""
    signature = inspect.signature(method, eval_str=True)
    own_request = "request" in signature.parameters
    parameters = list(signature.parameters.values())
    if not own_request:
        parameters.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))

    @functools.wraps(method)
    async def endpoint(self: FcrayIngress, *args: Any, **kwargs: Any) -> Any:
        request = kwargs["request"] if own_request else kwargs.pop("request")
        self.authorize(request)
        return await method(self, *args, **kwargs)

    endpoint.__signature__ = signature.replace(parameters=parameters)
    return endpoint


# Every endpoint Ray Serve LLM's FastAPI app routes to (its DEFAULT_ENDPOINTS), so none is left open.
for _name in DEFAULT_ENDPOINTS:
    setattr(FcrayIngress, _name, _guarded(getattr(FcrayIngress, _name)))

