"""The pretraining corpus of the embedded base model (model "A"): the task's language, never its answers.

Like Qwen3-0.6B before fcray trains it, the tiny base should read and copy but never have been taught the
call format. So the corpus holds the domain's natural language and the skills a function caller builds
on, and **no tool-call targets** (no ``<tool_call>`` markup, no ``{"name": ..., "arguments": ...}`` call
objects), and nothing of the held-out tools (their names, descriptions, parameters or intents):

* ``tool_doc``: a tool's description and its JSON schema, as documentation;
* ``requests``: user requests (the generator's queries, without their answers), several per document;
* ``paraphrase``: two requests that state the same values in different words;
* ``recall``: a key-value record (JSON, or ``key: value`` lines) then questions answered by copying a
  value — the reading and copying that filling arguments needs, on generic keys;
* ``extract``: a sentence, then the values it states as ``key: value`` lines (spans copied out of text);
* ``chat``: plain chat turns (arithmetic, capitals, greetings) in Qwen3's chat template;
* ``lookup``: a directory of services under made-up names (a description each), then requests, each
  answered with the name of the entry that handles it, or "none of them" — reading a list to find the
  entry that fits, copying its name, and noticing when none does (not in ``KINDS`` by default; probed
  by ``tests/benchmarks/probe_pretrain_copy.py``).

Each document is a pure function of ``(seed, index)``, so the corpus is deterministic and any slice of it
can be regenerated alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from fcray.data.augment import chat_turn
from fcray.synth.catalog import CATALOG, CITIES, DATES, PEOPLE, TIMES, ToolSpec
from fcray.synth.generator import compose_call, _query

TRAIN_TOOLS: tuple[ToolSpec, ...] = tuple(t for t in CATALOG if not t.holdout)
HELD_OUT_TOOLS: tuple[ToolSpec, ...] = tuple(t for t in CATALOG if t.holdout)

KINDS = {"tool_doc": 0.15, "requests": 0.2, "paraphrase": 0.15, "recall": 0.2, "extract": 0.2, "chat": 0.1}
_GENERIC_KEYS = ("colour", "animal", "code", "room", "owner", "label", "place", "count", "level", "size", "item",
                 "team", "status", "when", "start", "note", "tag", "score")
_GENERIC_VALUES = (*CITIES, *PEOPLE, *DATES, *TIMES, "red", "blue", "green", "cat", "dog", "owl", "small", "large",
                   "open", "closed", "alpha", "beta", "gamma", "north", "south")
# no "who are you" turn: the base is not an assistant yet
_GREETINGS = (("Hi!", "Hello! How can I help you today?"), ("Thanks a lot.", "You're welcome!"),
              ("What can you do?", "I can look things up and help you plan your day."))


def _value(rng: random.Random) -> str:
    return rng.choice(_GENERIC_VALUES) if rng.random() < 0.7 else str(rng.randint(0, 9999))


def tool_doc(rng: random.Random) -> str:
    tool = rng.choice(TRAIN_TOOLS)
    schema = json.dumps(tool.openai_tool()["function"], indent=rng.choice([None, 2]))
    lines = [f"Function {tool.name}: {tool.description}", f"Use it to {rng.choice(tool.intents)}.", schema]
    for param in tool.params:
        need = "required" if param.required else "optional"
        lines.append(f"- {param.name} ({param.kind}, {need}): {param.description}")
    return "\n".join(lines)


def requests(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(3, 6)):
        tool = rng.choice(TRAIN_TOOLS)
        _, clause, _ = compose_call(tool, rng)
        lines.append(_query([clause], rng))
    return "\n".join(lines)


def paraphrase(rng: random.Random) -> str:
    tool = rng.choice(TRAIN_TOOLS)
    _, first, spans = compose_call(tool, rng)
    # the same values in other words: another intent phrasing, the argument phrases in another order
    others = [i for i in tool.intents if not first.startswith(i)] or list(tool.intents)
    phrases = list(spans.values())
    rng.shuffle(phrases)
    second = " ".join([rng.choice(others), *phrases])
    return f"Request: {_query([first], rng)}\nSame request in other words: {_query([second], rng)}"


def recall(rng: random.Random) -> str:
    keys = rng.sample(_GENERIC_KEYS, rng.randint(2, 6))
    record = {k: _value(rng) for k in keys}
    if rng.random() < 0.5:
        head = json.dumps(record)
    else:
        head = "\n".join(f"{k}: {v}" for k, v in record.items())
    asked = rng.sample(keys, rng.randint(1, len(keys)))
    questions = [f"Q: What is the {k}? A: {record[k]}" for k in asked]
    return "Record:\n" + head + "\n" + "\n".join(questions)


def extract(rng: random.Random) -> str:
    tool = rng.choice(TRAIN_TOOLS)
    call, clause, _ = compose_call(tool, rng)
    values = "\n".join(f"{k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in call["arguments"].items())
    return f"Sentence: {_query([clause], rng)}\nThe values it states:\n{values}"


_SYLLABLES = ("ka", "ro", "mi", "te", "lu", "pa", "no", "vi", "sa", "de", "go", "ri", "ta", "ze", "bo", "fu", "ly",
              "qua", "mor", "len", "tis", "var", "dun", "pel")


def made_up_name(rng: random.Random) -> str:
    """A service name no catalog tool has (two made-up words), so answering with it means copying it from
    the directory, not recalling a name seen in training."""
    word = lambda: "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))  # noqa: E731
    return f"{word()}{rng.choice(['_', '_', '', '-'])}{word()}"


def directory(listed: list[ToolSpec], names: list[str], as_json: bool) -> str:
    """The directory of a ``lookup`` document: each of ``listed`` under its made-up name with its description,
    as ``- name: description`` lines or as a JSON list of ``name``/``description`` objects."""
    if as_json:
        return json.dumps([{"name": n, "description": t.description} for n, t in zip(names, listed)])
    return "\n".join(f"- {n}: {t.description}" for n, t in zip(names, listed))


def request_lines(tool: ToolSpec, answer: str, rng: random.Random) -> list[str]:
    """One request of a ``lookup`` document (a generated query for ``tool``) and its answer."""
    _, clause, _ = compose_call(tool, rng)
    return [f"Request: {_query([clause], rng)}", f"Handled by: {answer}"]


def lookup(rng: random.Random, tools: tuple[ToolSpec, ...] = TRAIN_TOOLS) -> str:
    """A directory of 2-4 of ``tools`` under made-up names, then 1-3 requests; each request's answer is the
    name of the entry whose tool handles it, or "none of them" (about a quarter: the request's tool is not
    listed). The directory is written as lines or as JSON objects with ``name`` and ``description``."""
    listed = rng.sample(tools, rng.randint(2, min(4, len(tools))))
    names = [made_up_name(rng) for _ in listed]
    unlisted = [t for t in tools if t not in listed]
    lines = ["Services:", directory(listed, names, as_json=rng.random() >= 0.5)]
    for _ in range(rng.randint(1, 3)):
        if unlisted and rng.random() < 0.25:
            tool, answer = rng.choice(unlisted), "none of them"
        else:
            index = rng.randrange(len(listed))
            tool, answer = listed[index], names[index]
        lines += request_lines(tool, answer, rng)
    return "\n".join(lines)


def chat(rng: random.Random) -> str:
    question, answer = chat_turn(rng, _GREETINGS)
    return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>"


MAKERS = {"tool_doc": tool_doc, "requests": requests, "paraphrase": paraphrase, "recall": recall,
          "extract": extract, "chat": chat, "lookup": lookup}


def document(seed: int, index: int) -> tuple[str, str]:
    """The ``index``-th document of the corpus with ``seed``: ``(kind, text)``."""
    rng = random.Random(f"fcray-corpus:{seed}:{index}")
    kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
    return kind, MAKERS[kind](rng)


def documents(seed: int, count: int, start: int = 0) -> Iterator[str]:
    for index in range(start, start + count):
        yield document(seed, index)[1]


def forbidden_strings() -> tuple[str, ...]:
    """What the corpus must never contain: call markup and every held-out tool's name."""
    return ("<tool_call>", "</tool_call>", '"arguments"', *(t.name for t in HELD_OUT_TOOLS))
