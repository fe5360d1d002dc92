"""Where eval's completions come from. Every backend turns canonical examples into :class:`Generation` s
whose ``text`` is what the model said, in Qwen3's Hermes format, so that fcray.toolcall scores all of
them the same way.

* ``hf`` — Hugging Face ``generate`` in this process (no vLLM; what a quick check after training uses).
* ``vllm`` — real vLLM engines in Ray actors (fcray's rollout engines, :mod:`fcray.engine.vllm_pool`), the
  examples spread over ``eval.num_engines`` of them (each configured by ``eval.engine``): fast batch inference on a cluster.
* ``endpoint`` — any OpenAI-compatible server (fcray's Ray Serve app, a bare ``vllm serve``, llama.cpp):
  chat completions with ``tools`` (``eval.endpoint_api=chat``), so the served model, its chat template and
  its tool parser are what gets scored, the parsed ``tool_calls`` written back as ``<tool_call>`` blocks; or
  plain completions of the prompt fcray renders (``completions``), scored by fcray's parser alone.

With ``decoding.constrained`` the vllm backend and vLLM servers decode with fcray's tool-call grammar
(vLLM's structured outputs), llama.cpp with the same grammar on its completion endpoint (its chat endpoint
refuses a grammar together with tools, so that needs ``eval.endpoint_api=completions``).

A backend is chosen by name from :data:`BACKENDS` (``eval.backend`` in the config).
"""

from __future__ import annotations

import functools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from fcray.config import DecodingConfig, EvalConfig
from fcray.data.schema import prompt_messages
from fcray.eval.errors import EvalError
from fcray.toolcall.grammar import grammar_for
from fcray.toolcall.parse import format_calls


@dataclass
class Generation:
    text: str                          # the completion, Hermes format (tool calls as <tool_call> blocks)
    finish_reason: str | None = None   # "stop", "length", "tool_calls"; None when not known
    error: str | None = None           # why there is no completion (e.g. the prompt does not fit the context)
    raw: dict[str, Any] | None = field(default=None)  # the endpoint's response message, as it came


class HFBackend:
    """Greedy (or sampled) Hugging Face ``generate``, batched, in this process."""

    def __init__(self, model: str, config: EvalConfig, decoding: DecodingConfig | None = None) -> None:
        from fcray.eval.generate import load_for_generation

        if decoding is not None and decoding.constrained:
            raise EvalError("decoding.constrained needs eval.backend=vllm or eval.backend=endpoint (vLLM's "
                            "structured outputs, llama.cpp's grammars); the hf backend decodes without a grammar")
        self.config = config
        self.model, self.tokenizer = load_for_generation(model)

    def generate(self, examples: list[dict[str, Any]]) -> list[Generation]:
        from fcray.eval.generate import generate_with

        texts = generate_with(self.model, self.tokenizer, examples, self.config.max_new_tokens,
                              temperature=self.config.temperature, seed=self.config.seed)
        return [Generation(text) for text in texts]

    def close(self) -> None:
        pass


class VLLMBackend:
    """fcray's vLLM engine actors (the same ones GRPO samples from), greedy unless ``eval.temperature``."""

    def __init__(self, model: str, config: EvalConfig, decoding: DecodingConfig | None = None) -> None:
        from transformers import AutoTokenizer

        from fcray.cluster import connect
        from fcray.engine.vllm_pool import EngineSpec, RolloutPool

        self.config, self.decoding = config, decoding
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        connect(min_cpus=config.num_engines * config.engine.cpus)
        spec = EngineSpec.from_config(config.engine, model, config.seed)
        self.pool = RolloutPool.create(spec, config.num_engines, max_restarts=2)

    def generate(self, examples: list[dict[str, Any]]) -> list[Generation]:
        from fcray.data.export import render_prompt
        from fcray.engine.vllm_pool import Sampling

        budget = self.config.engine.max_model_len - self.config.max_new_tokens
        ids = [self.tokenizer(render_prompt(e, self.tokenizer), add_special_tokens=False)["input_ids"]
               for e in examples]
        fits = [i for i, p in enumerate(ids) if len(p) <= budget]
        sampling = Sampling(temperature=self.config.temperature, top_p=1.0, top_k=-1,
                            max_tokens=self.config.max_new_tokens)
        grammars = [grammar_for(examples[i]["tools"], self.decoding) for i in fits]
        completions, _ = self.pool.generate([ids[i] for i in fits], sampling, [self.config.seed + i for i in fits],
                                            grammars=grammars) if fits else ([], None)
        out = [Generation("", error=f"prompt of {len(p)} tokens + max_new_tokens {self.config.max_new_tokens} "
                                    f"exceeds eval.engine.max_model_len {self.config.engine.max_model_len}") for p in ids]
        for i, completion in zip(fits, completions):
            out[i] = Generation(completion.text, completion.finish_reason)
        return out

    def close(self) -> None:
        self.pool.shutdown()


def openai_messages(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The example's prompt as OpenAI chat messages: tool-call arguments as JSON strings, call ids that the
    following tool messages answer."""
    out, pending = [], []
    for n, message in enumerate(prompt_messages(example)):
        message = dict(message)
        if message.get("tool_calls"):
            calls = []
            for k, call in enumerate(message["tool_calls"]):
                call_id = call.get("id") or f"call_{n}_{k}"
                arguments = call["function"]["arguments"]
                calls.append({"id": call_id, "type": "function", "function": {
                    "name": call["function"]["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}})
                pending.append(call_id)
            message["tool_calls"] = calls
        elif message["role"] == "tool" and not message.get("tool_call_id"):
            message["tool_call_id"] = pending.pop(0) if pending else f"call_{n}"
        out.append(message)
    return out


def message_as_text(message: dict[str, Any]) -> str:
    """An OpenAI response message in the Hermes text fcray scores: content, then one block per tool call."""
    calls = []
    for call in message.get("tool_calls") or []:
        arguments = call["function"].get("arguments") or "{}"
        try:
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        except json.JSONDecodeError:
            pass  # kept as the string it is; the parser then reports it as not valid JSON
        calls.append({"name": call["function"]["name"], "arguments": arguments})
    content = (message.get("content") or "").strip()
    if not calls:
        return content
    blocks = format_calls(calls)
    return f"{content}\n{blocks}" if content else blocks


def is_llamacpp(base_url: str, timeout_s: float = 10.0) -> bool:
    """Whether the OpenAI-compatible server at ``base_url`` is llama.cpp's (it answers ``/props`` with its
    generation settings; vLLM answers 404)."""
    from fcray.readiness import get_json

    status, body = get_json(f"{base_url.rstrip('/').removesuffix('/v1')}/props", timeout=timeout_s)
    return status == 200 and isinstance(body, dict) and "default_generation_settings" in body


class EndpointBackend:
    """Chat completions with tools (or completions of fcray's prompt) against ``eval.endpoint`` (an
    OpenAI-compatible ``/v1`` base URL)."""

    def __init__(self, model: str, config: EvalConfig, decoding: DecodingConfig | None = None) -> None:
        import openai

        from fcray.credentials import client_api_key

        if not config.endpoint:
            raise EvalError("eval.backend=endpoint needs eval.endpoint, e.g. eval.endpoint=http://127.0.0.1:8000/v1")
        self.config, self.model, self.decoding = config, model, decoding
        self.client = openai.OpenAI(base_url=config.endpoint, api_key=client_api_key(config.api_key, "eval.api_key"),
                                    timeout=config.request_timeout_s, max_retries=2)
        try:
            served = [m.id for m in self.client.models.list().data]
        except openai.APIConnectionError as error:
            raise EvalError(f"cannot reach the endpoint {config.endpoint} ({error.__cause__ or error}); is the "
                            f"server running? (`fcray serve --preset tiny` starts one)") from None
        except openai.APIError as error:
            raise EvalError(f"the endpoint {config.endpoint} answered /models with an error: {error}") from None
        if model not in served:
            raise EvalError(f"the endpoint {config.endpoint} does not serve '{model}'; it serves {served}: "
                            f"pass one of those as the model")
        if decoding is not None and decoding.constrained and self.llamacpp and config.endpoint_api == "chat":
            raise EvalError(f"{config.endpoint} is llama.cpp, whose chat endpoint refuses a grammar together with "
                            f"tools: pass eval.endpoint_api=completions (and eval.tokenizer=<the model folder>) to "
                            f"decode with the tool-call grammar")
        self.tokenizer = None
        if config.endpoint_api == "completions":  # EvalConfig made sure eval.tokenizer names the template
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(config.tokenizer)

    @functools.cached_property
    def llamacpp(self) -> bool:
        """Whether the server is llama.cpp: asked once, when a grammar's dialect first depends on it."""
        return is_llamacpp(self.config.endpoint)

    def _grammar_body(self, example: dict[str, Any]) -> dict[str, Any] | None:
        """The request field that carries the grammar, in the server's dialect (None: unconstrained)."""
        if self.decoding is None or not self.decoding.constrained:
            return None
        grammar = grammar_for(example["tools"], self.decoding, tags_as_tokens=not self.llamacpp,
                              end_token=self.tokenizer.eos_token if self.llamacpp and self.tokenizer else None)
        if grammar is None:
            return None
        if self.llamacpp:
            return {"grammar": grammar}
        # The grammar has no reasoning block: the server's template must not open one (Qwen3 thinks by
        # default), as fcray's own prompts do not (render_prompt, enable_thinking false).
        extra = {"chat_template_kwargs": {"enable_thinking": False}} if self.tokenizer is None else {}
        return {"structured_outputs": {"grammar": grammar}, **extra}

    def _request(self, example: dict[str, Any]):
        import openai

        common = dict(model=self.model, temperature=self.config.temperature, max_tokens=self.config.max_new_tokens,
                      seed=self.config.seed, extra_body=self._grammar_body(example))
        if self.tokenizer is None:
            return self.client.chat.completions.create(
                messages=openai_messages(example), tools=example["tools"] or openai.NOT_GIVEN, **common)
        from fcray.data.export import render_prompt

        return self.client.completions.create(prompt=render_prompt(example, self.tokenizer), **common)

    def _one(self, example: dict[str, Any]) -> Generation:
        import openai

        try:
            response = self._request(example)
        except openai.BadRequestError as error:  # this request is wrong (e.g. too long): recorded, run goes on
            return Generation("", error=f"HTTP 400 from the endpoint: {error.message}")
        except openai.APIConnectionError as error:
            raise EvalError(f"lost the endpoint {self.config.endpoint} at example {example['id']}: "
                            f"{error.__cause__ or error}") from None
        except openai.APIError as error:  # a server error: stop, keep what is written
            raise EvalError(f"the endpoint {self.config.endpoint} failed on example {example['id']}: {error}") from None
        except ValueError as error:  # not the JSON of a chat completion
            raise EvalError(f"the endpoint {self.config.endpoint} answered example {example['id']} with garbage "
                            f"({type(error).__name__}: {error})") from None
        if not getattr(response, "choices", None):
            raise EvalError(f"the endpoint {self.config.endpoint} answered example {example['id']} without "
                            f"choices: {str(response)[:300]}")
        choice = response.choices[0]
        if self.tokenizer is not None:  # a plain completion: the model's own text
            return Generation(choice.text or "", choice.finish_reason)
        message = choice.message.model_dump(exclude_none=True)
        return Generation(message_as_text(message), choice.finish_reason, raw=message)

    def generate(self, examples: list[dict[str, Any]]) -> list[Generation]:
        with ThreadPoolExecutor(self.config.concurrency) as pool:
            return list(pool.map(self._one, examples))

    def close(self) -> None:
        self.client.close()


BACKENDS: dict[str, Callable[..., Any]] = {
    "hf": HFBackend, "vllm": VLLMBackend, "endpoint": EndpointBackend,
}


def make_backend(model: str, config: EvalConfig, decoding: DecodingConfig | None = None):
    return BACKENDS[config.backend](model, config, decoding)
