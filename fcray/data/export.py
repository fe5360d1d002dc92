"""Export canonical examples to other formats.

* ShareGPT in hermes-function-calling-v1's shape (system turn with ``<tools>``, ``<tool_call>`` blocks in
  gpt turns, ``<tool_response>`` in tool turns) — :mod:`fcray.data.sources.hermes` reads it back.
* The exact chat-template text the model is trained on (Qwen3's template, tools in the system turn).
"""

from __future__ import annotations

import json
from typing import Any

from fcray.data.schema import prompt_messages

_HERMES_SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> "
    "XML tags. You may call one or more functions to assist with the user query.\n<tools>\n{tools}\n</tools>\n"
    "For each function call return a json object with function name and arguments within <tool_call></tool_call> "
    "tags:\n<tool_call>\n{{\"name\": <function-name>, \"arguments\": <args-dict>}}\n</tool_call>"
)


def to_sharegpt(example: dict[str, Any]) -> dict[str, Any]:
    tools = json.dumps(example["tools"], ensure_ascii=False)
    turns = [{"from": "system", "value": _HERMES_SYSTEM.format(tools=tools)}]
    for message in example["messages"]:
        role = message["role"]
        if role == "system":
            continue  # the hermes system turn above carries the tools
        if role == "user":
            turns.append({"from": "human", "value": message.get("content") or ""})
        elif role == "tool":
            turns.append({"from": "tool", "value": f"<tool_response>\n{message.get('content') or ''}\n</tool_response>"})
        else:
            parts = [message.get("content") or ""] if message.get("content") else []
            for call in message.get("tool_calls") or []:
                body = {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}
                parts.append(f"<tool_call>\n{json.dumps(body, ensure_ascii=False)}\n</tool_call>")
            turns.append({"from": "gpt", "value": "\n".join(parts)})
    return {"id": example["id"], "conversations": turns, "category": example["category"]}


def render_text(example: dict[str, Any], tokenizer: Any, enable_thinking: bool = False) -> str:
    """The full training text: prompt and reference turn through the tokenizer's chat template."""
    return tokenizer.apply_chat_template(example["messages"], tools=example["tools"] or None, tokenize=False,
                                         enable_thinking=enable_thinking)


def render_prompt(example: dict[str, Any], tokenizer: Any, enable_thinking: bool = False) -> str:
    """The generation prompt (everything before the reference turn), as used for rollouts and eval."""
    return tokenizer.apply_chat_template(prompt_messages(example), tools=example["tools"] or None, tokenize=False,
                                         add_generation_prompt=True, enable_thinking=enable_thinking)
