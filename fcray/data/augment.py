"""Augmentations that teach what plain call data does not: when *not* to call, when to ask, and how to
continue after a tool result. Each is a pure function of an example (and a seeded RNG); the same code
augments synthetic and xlam data.

* irrelevance: the called tool(s) removed from ``tools``; the reference answers without a call.
* slot filling: a required argument removed from the query; the reference asks for it.
* multi-turn: call -> tool result -> answer, then a second query whose call is the reference. The result is
  what fcray.toolcall's registry returns for the call: the simulator's for a catalog tool (fcray.synth.tools),
  the stub's for another.
* chat: general rows without tools (built-in or from ``augment.chat_path``), to limit forgetting.
* renamed tools (training split only, :func:`rename_split`): a row's tools offered under other names
  (fcray.toolcall.names), so the name of a call can only be read from the prompt, not remembered.

Augmented examples are added to the split their source example is in (augmentation runs after the
split), so no query crosses from train to validation.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from fcray.config import AugmentConfig
from fcray.data.replies import ask_reply, no_call_reply
from fcray.data.schema import prompt_messages, reference_message
from fcray.toolcall import DEFAULT_REGISTRY, Call
from fcray.toolcall.names import name_aliases

_SPACES = re.compile(r"\s{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([?.!,;])")


def _calls(example: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in reference_message(example).get("tool_calls") or []]


def _is_call(example: dict[str, Any]) -> bool:
    return example["ground_truth"]["kind"] == "call"


def _replace_last_user(messages: list[dict[str, Any]], content: str) -> list[dict[str, Any]]:
    messages = [dict(m) for m in messages]
    for message in reversed(messages):
        if message["role"] == "user":
            message["content"] = content
            return messages
    raise ValueError("no user turn")


def _derived(example: dict[str, Any], suffix: str, category: str, messages: list[dict[str, Any]],
             ground_truth: dict[str, Any], tools: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    base_meta = {k: v for k, v in example.get("meta", {}).items() if k != "spans"}  # spans no longer match
    return {
        "id": f"{example['id']}-{suffix}",
        "source": example["source"],
        "category": category,
        "messages": messages,
        "tools": example["tools"] if tools is None else tools,
        "ground_truth": ground_truth,
        "meta": {**base_meta, "augmented": suffix, "from": example["id"], **meta},
    }


def make_irrelevance(example: dict[str, Any], tool_pool: list[dict[str, Any]],
                     rng: random.Random) -> dict[str, Any] | None:
    """Remove every called tool; keep (or add) other tools so the model must decline among real options."""
    if not _is_call(example):
        return None
    called = {c["name"] for c in example["ground_truth"]["calls"]}
    remaining = [t for t in example["tools"] if t["function"]["name"] not in called]
    if not remaining:
        unique = {t["function"]["name"]: t for t in tool_pool}  # a pool may list a tool more than once
        candidates = [t for name, t in sorted(unique.items()) if name not in called]
        if not candidates:
            return None
        remaining = rng.sample(candidates, min(len(candidates), rng.randint(1, 2)))
    reply = {"role": "assistant", "content": no_call_reply(example["id"])}
    return _derived(example, "irr", "irrelevance", prompt_messages(example) + [reply], {"kind": "no_call"},
                    tools=remaining)


def _remove_span(query: str, span: str) -> str | None:
    if not span or span not in query:
        return None
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", query.replace(span, "", 1))).strip()
    return text or None


def make_slot_filling(example: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """Drop one required argument from a single-call query; the reference asks for it.

    Uses the generator's exact spans (``meta.spans``) when present; otherwise the argument's value must
    appear verbatim in the query and is replaced by a generic phrase ("a city").
    """
    if not _is_call(example) or len(example["ground_truth"]["calls"]) != 1:
        return None
    call = _calls(example)[0]
    schema = next(t["function"]["parameters"] for t in example["tools"] if t["function"]["name"] == call["name"])
    required = [p for p in schema.get("required", []) if p in call["arguments"]]
    rng.shuffle(required)
    query = prompt_messages(example)[-1].get("content") or ""
    if prompt_messages(example)[-1]["role"] != "user":
        return None
    spans = (example.get("meta", {}).get("spans") or [{}])[0]
    for param in required:
        if param in spans:
            new_query = _remove_span(query, spans[param])
        else:
            value = call["arguments"][param]
            if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value) not in query:
                continue
            new_query = query.replace(str(value), f"a {param.replace('_', ' ')}", 1)
        if not new_query or new_query == query:
            continue
        reply = {"role": "assistant", "content": ask_reply(example["id"], [param], call["name"])}
        messages = _replace_last_user(prompt_messages(example), new_query) + [reply]
        return _derived(example, "ask", "slot_filling", messages, {"kind": "ask", "missing": [param]})
    return None


def make_multi_turn(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any] | None:
    """``first``'s call, its tool results (as the registry executes it) and an answer that reports them, then
    ``second``'s query and reference call. None if a call of ``first`` does not execute."""
    if not (_is_call(first) and _is_call(second)) or first["id"] == second["id"]:
        return None
    if prompt_messages(second)[-1]["role"] != "user":
        return None
    tools = list(first["tools"])
    by_name = {t["function"]["name"]: t for t in tools}
    for tool in second["tools"]:
        existing = by_name.get(tool["function"]["name"])
        if existing is None:
            tools.append(tool)
        elif existing != tool:
            return None  # same name, different schema: the conversation would be contradictory
    calls = _calls(first)
    runs = [DEFAULT_REGISTRY.execute(Call(c["name"], c["arguments"]), first["tools"]) for c in calls]
    if any(run.reason == "timeout" for run in runs):  # the only outcome that depends on the machine, not the data
        raise RuntimeError(f"multi-turn example from '{first['id']}': a tool call ran past the registry's time "
                           f"limit ({next(r.detail for r in runs if r.reason == 'timeout')}); the dataset would "
                           f"not rebuild identically")
    if not all(run.ok for run in runs):
        return None  # a conversation that goes on as if a failed call had worked would teach the wrong thing
    results = [json.dumps(run.result, ensure_ascii=False) for run in runs]
    history = prompt_messages(first) + [reference_message(first)]
    history += [{"role": "tool", "content": r} for r in results]
    summary = "; ".join(f"{c['name']} returned {r}" for c, r in zip(calls, results))
    history.append({"role": "assistant", "content": f"Done. {summary}."})
    history.append(prompt_messages(second)[-1])
    example = _derived(first, "mt", "multi_turn", history + [reference_message(second)], second["ground_truth"],
                       tools=tools, second=second["id"])
    example["id"] = f"{first['id']}+{second['id']}-mt"
    return example


_CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo",
             "Egypt": "Cairo", "Portugal": "Lisbon", "Austria": "Vienna", "Greece": "Athens", "Chile": "Santiago"}


GREETINGS = (("Hi!", "Hello! How can I help you today?"), ("Thanks a lot.", "You're welcome!"),
             ("Who are you?", "I'm an assistant that can call tools to help you."))


def chat_turn(rng: random.Random, greetings: tuple[tuple[str, str], ...] = GREETINGS) -> tuple[str, str]:
    """One general-chat (question, answer): arithmetic, a capital, or one of ``greetings``."""
    kind = rng.randrange(3)
    if kind == 0:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        return f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."
    if kind == 1:
        country = rng.choice(sorted(_CAPITALS))
        return f"What is the capital of {country}?", f"The capital of {country} is {_CAPITALS[country]}."
    return rng.choice(list(greetings))


def builtin_chat_rows(count: int, rng: random.Random, prefix: str) -> list[dict[str, Any]]:
    """Small general-chat rows (arithmetic, capitals, greetings) with no tools."""
    rows = []
    for index in range(count):
        question, answer = chat_turn(rng)
        rows.append({
            "id": f"{prefix}-chat-{index:05d}", "source": "chat", "category": "chat",
            "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
            "tools": [], "ground_truth": {"kind": "no_call"}, "meta": {"augmented": "chat"},
        })
    return rows


def augment_split(examples: list[dict[str, Any]], config: AugmentConfig, split: str,
                  chat_rows: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Augment one split. Returns the new examples (only the added ones) and, per augmentation, how many
    were requested, how many candidates existed and how many were made — a shortfall is reported, never
    hidden."""
    rng = random.Random(f"{config.seed}:{split}")
    n = len(examples)
    tool_pool = list({t["function"]["name"]: t for e in examples for t in e["tools"]}.values())
    tool_pool.sort(key=lambda t: t["function"]["name"])
    added: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}

    def run(name: str, ratio: float, make) -> None:
        requested = round(ratio * n)
        order = list(range(n))
        rng.shuffle(order)
        made = 0
        for index in order:
            if made >= requested:
                break
            new = make(examples[index])
            if new is not None:
                added.append(new)
                made += 1
        stats[name] = {"requested": requested, "made": made}

    run("irrelevance", config.irrelevance_ratio, lambda e: make_irrelevance(e, tool_pool, rng))
    run("slot_filling", config.slot_filling_ratio, lambda e: make_slot_filling(e, rng))
    calls = [e for e in examples if _is_call(e)]
    run("multi_turn", config.multi_turn_ratio,
        lambda e: make_multi_turn(e, rng.choice(calls)) if calls else None)
    requested_chat = round(config.chat_ratio * n)
    if chat_rows is None:
        chat = builtin_chat_rows(requested_chat, rng, f"{split}")
    else:
        chat = rng.sample(chat_rows, min(requested_chat, len(chat_rows)))
    added.extend(chat)
    stats["chat"] = {"requested": requested_chat, "made": len(chat)}
    return added, stats


def _whole_word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")


def rename_tools(example: dict[str, Any], rng: random.Random, reserved: set[str]) -> dict[str, Any] | None:
    """``example`` with every offered tool under another of its names: in the tools, the calls, the ground
    truth and the replies' text. None if a tool has no alias left outside ``reserved`` (names a tool of the
    data already has: a renamed tool must never take another tool's name)."""
    mapping: dict[str, str] = {}
    taken = set(reserved)
    for tool in example["tools"]:
        name = tool["function"]["name"]
        free = [a for a in name_aliases(name) if a not in taken]
        if not free:
            return None
        mapping[name] = rng.choice(free)
        taken.add(mapping[name])
    if not mapping:
        return None
    renamed = with_tool_names(example, mapping)
    return {**renamed, "meta": {**renamed.get("meta", {}), "renamed": mapping}}


def with_tool_names(example: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """``example`` with each tool name ``old`` in ``mapping`` replaced by ``mapping[old]``: in the tools, the
    calls, the ground truth and the assistant's text (whole names only). The inverse mapping of a renamed row
    (``meta.renamed``) gives back the row as it was, less that record.

    >>> row = {"messages": [{"role": "user", "content": "rain in Oslo?"}, {"role": "assistant", "content": "",
    ...        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]}],
    ...        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    ...        "ground_truth": {"kind": "call", "calls": [{"name": "get_weather", "arguments": {"city": ["Oslo"]}}]}}
    >>> new = with_tool_names(row, {"get_weather": "fetchWeather"})
    >>> new["tools"][0]["function"]["name"], new["messages"][1]["tool_calls"][0]["function"]["name"]
    ('fetchWeather', 'fetchWeather')
    >>> with_tool_names(new, {"fetchWeather": "get_weather"}) == row
    True
    """
    patterns = [(_whole_word(old), new) for old, new in mapping.items()]

    def new_name(name: str) -> str:
        return mapping.get(name, name)

    def in_text(text: str) -> str:
        for pattern, new in patterns:
            text = pattern.sub(new, text)
        return text

    def with_function_renamed(item: dict[str, Any]) -> dict[str, Any]:  # a tool or a tool call
        return {**item, "function": {**item["function"], "name": new_name(item["function"]["name"])}}

    messages = []
    for message in example["messages"]:
        message = dict(message)
        if message.get("tool_calls"):
            message["tool_calls"] = [with_function_renamed(c) for c in message["tool_calls"]]
        if message["role"] == "assistant" and message.get("content"):
            message["content"] = in_text(message["content"])
        if "name" in message:
            message["name"] = new_name(message["name"])
        messages.append(message)
    ground_truth = dict(example["ground_truth"])
    if ground_truth.get("calls"):
        ground_truth["calls"] = [{**c, "name": new_name(c["name"])} for c in ground_truth["calls"]]
    tools = [with_function_renamed(t) for t in example["tools"]]
    meta = {k: v for k, v in example.get("meta", {}).items() if k != "renamed"}
    return {**example, "messages": messages, "tools": tools, "ground_truth": ground_truth,
            **({"meta": meta} if "meta" in example else {})}


def rename_split(examples: list[dict[str, Any]], ratio: float, seed: int, split: str) -> dict[str, int]:
    """Rename the tools of ``ratio`` of ``examples`` in place (:func:`rename_tools`); returns how many were
    requested and made (a row whose tools have no free alias keeps its names, and is counted)."""
    rng = random.Random(f"{seed}:{split}:rename")
    reserved = {t["function"]["name"] for e in examples for t in e["tools"]}
    requested = round(ratio * len(examples))
    order = list(range(len(examples)))
    rng.shuffle(order)
    made = 0
    for index in order[:requested]:
        renamed = rename_tools(examples[index], rng, reserved)
        if renamed is not None:
            examples[index] = renamed
            made += 1
    return {"requested": requested, "made": made}
