"""BFCL as the referee: load its AST categories and measure how often fcray's verdict equals its own.

``bfcl-eval`` pins ``numpy==1.26.4`` and many API SDKs, which would break the training stack, so fcray
installs it with ``--no-deps`` plus only what its checker imports (see README, "BFCL"). Scoring needs
no network and no API key.

For every entry of an AST category, the first acceptable answer is rendered as a Hermes completion, and
systematic perturbations of it (wrong function, dropped/extra argument, wrong type, wrong value, swapped
order, int/float, string case and punctuation, missing/duplicated call) are rendered too. fcray judges each
completion text (parse + match); BFCL's ``ast_checker`` judges the same calls as its Qwen handler decodes
them (``json.loads`` of each block). :func:`agreement` reports the rate per category and every disagreement.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fcray.toolcall.match import match_calls
from fcray.toolcall.parse import format_calls, parse_completion
from fcray.toolcall.schema import tool_index

AST_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple",
                  "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
# BFCL compares dotted function names after looking the model up in its table; use a name it knows
# whose handler keeps dots (Qwen3 FC), as fcray's served model does.
BFCL_MODEL_NAME = "Qwen_Qwen3-0.6B-FC"
INSTALL_HINT = ("bfcl-eval is not installed; install it beside the training stack with: "
                "pip install --no-deps bfcl-eval==2026.3.23 tree_sitter==0.21.3 tree-sitter-java==0.21.0 "
                "tree-sitter-javascript==0.21.4 tenacity overrides cohere")


def _bfcl():
    try:
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
        from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    return ast_checker, Language, load_dataset_entry, load_ground_truth_entry


def bfcl_available() -> bool:
    try:
        _bfcl()
    except ImportError:
        return False
    return True


def load_category(category: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(entry, ground truth) pairs of one BFCL category, from the installed package's data."""
    _, _, load_dataset_entry, load_ground_truth_entry = _bfcl()
    entries = load_dataset_entry(category)
    answers = {a["id"]: a for a in load_ground_truth_entry(category)}
    return [(entry, answers[entry["id"]]) for entry in entries]


def to_example(entry: dict[str, Any], answer: dict[str, Any], category: str) -> dict[str, Any]:
    """A fcray example (tools in BFCL's dialect, which fcray.toolcall accepts) for one BFCL entry."""
    calls = [{"name": name, "arguments": args} for item in answer["ground_truth"] for name, args in item.items()]
    messages = [m for turn in entry["question"] for m in turn]
    return {
        "id": entry["id"], "source": "bfcl", "category": category,
        "messages": messages + [{"role": "assistant", "content": ""}],
        "tools": [{"type": "function", "function": f} for f in entry["function"]],
        "ground_truth": {"kind": "call", "calls": calls},
    }


def _first(value: Any) -> Any:
    """The first acceptable value, recursively (dict answers hold lists of acceptable values)."""
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        return {k: _first(v[0]) for k, v in value.items() if v and v[0] != ""}
    if isinstance(value, list):
        return [_first(v) if isinstance(v, dict) else v for v in value]
    return value


def first_answer(example: dict[str, Any]) -> list[dict[str, Any]]:
    """Each expected call with every parameter at its first acceptable value. ``""`` (omit) is taken only
    for a parameter the tool does not require; a required one takes its first real value. A parameter
    with no acceptable value at all (a few live entries) cannot be rendered and is left out."""
    calls = []
    for call in example["ground_truth"]["calls"]:
        schema = tool_index(example["tools"]).parameters.get(call["name"], {})
        required = set(schema.get("required", []))
        arguments = {}
        for name, accepted in call["arguments"].items():
            values = [v for v in accepted if v != ""] if name in required else accepted
            if values and values[0] != "":
                arguments[name] = _first(values[0])
        calls.append({"name": call["name"], "arguments": arguments})
    return calls


def render(calls: list[dict[str, Any]]) -> str:
    return format_calls(calls)


# ---- perturbations ----------------------------------------------------------------------------------


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(value)
    if isinstance(value, str):
        return 7
    if isinstance(value, list):
        return "item"
    if isinstance(value, dict):
        return "object"
    return None


def _wrong_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.5
    if isinstance(value, str):
        return value + " zz"
    if isinstance(value, list):
        return value + value[:1] if value else ["zz"]
    if isinstance(value, dict):
        return {**value, "zz_key": "zz"}
    return "zz"


def perturbations(calls: list[dict[str, Any]], tools: list[dict[str, Any]],
                  rng: random.Random) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield "first_answer", calls

    def edited(i: int, **arguments_change: Any) -> list[dict[str, Any]]:
        out = copy.deepcopy(calls)
        out[i]["arguments"] = arguments_change["arguments"]
        return out

    names = [t["function"]["name"] for t in tools]
    for i, call in enumerate(calls):
        other = [n for n in names if n != call["name"]]
        renamed = copy.deepcopy(calls)
        renamed[i]["name"] = rng.choice(other) if other else call["name"] + "_v2"
        yield "wrong_function", renamed
        yield "extra_argument", edited(i, arguments={**call["arguments"], "unexpected_arg": "x"})
        for arg, value in call["arguments"].items():
            rest = {k: v for k, v in call["arguments"].items() if k != arg}
            yield "drop_argument", edited(i, arguments=rest)
            yield "wrong_type", edited(i, arguments={**call["arguments"], arg: _wrong_type(value)})
            yield "wrong_value", edited(i, arguments={**call["arguments"], arg: _wrong_value(value)})
            if isinstance(value, float) and value.is_integer():
                yield "float_as_int", edited(i, arguments={**call["arguments"], arg: int(value)})
            if isinstance(value, int) and not isinstance(value, bool):
                yield "int_as_float", edited(i, arguments={**call["arguments"], arg: float(value)})
            if isinstance(value, list) and value and all(isinstance(v, float) and v.is_integer() for v in value):
                yield "float_list_as_ints", edited(i, arguments={**call["arguments"], arg: [int(v) for v in value]})
            if isinstance(value, str) and value:
                yield "string_upper", edited(i, arguments={**call["arguments"], arg: value.upper()})
                yield "string_punctuation", edited(i, arguments={**call["arguments"], arg: value.replace(" ", "-") + "."})
                yield "string_quote", edited(i, arguments={**call["arguments"], arg: value.replace('"', "'")})
    if len(calls) > 1:
        yield "swapped_order", list(reversed(calls))
        yield "missing_call", calls[:-1]
    yield "duplicated_call", calls + calls[:1]


# ---- agreement ----------------------------------------------------------------------------------------


@dataclass
class Disagreement:
    id: str
    perturbation: str
    fcray_valid: bool
    bfcl_valid: bool
    fcray_reason: str
    bfcl_error: str
    output: str


@dataclass
class CategoryAgreement:
    category: str
    cases: int = 0
    agreed: int = 0
    first_answer_fcray_ok: int = 0
    first_answer_bfcl_ok: int = 0
    entries: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.agreed / self.cases if self.cases else 1.0


def fcray_verdict(completion: str, example: dict[str, Any]) -> tuple[bool, str]:
    parsed = parse_completion(completion)
    if not parsed.ok:
        return False, parsed.status
    verdict = match_calls(parsed.calls, example["ground_truth"]["calls"], tool_index(example["tools"]).parameters)
    return verdict.valid, verdict.error_type or "ok"


def bfcl_verdict(completion: str, entry: dict[str, Any], answer: dict[str, Any], category: str) -> tuple[bool, str]:
    ast_checker, Language, _, _ = _bfcl()
    import re

    decoded = []
    for block in re.findall(r"<tool_call>\n(.*?)\n</tool_call>", completion, re.DOTALL):  # BFCL's Qwen handler
        call = json.loads(block)
        decoded.append({call["name"]: call["arguments"]})
    result = ast_checker(entry["function"], decoded, answer["ground_truth"], Language.PYTHON, category, BFCL_MODEL_NAME)
    return bool(result["valid"]), result.get("error_type", "ok") if not result["valid"] else "ok"


def agreement(categories: tuple[str, ...] = AST_CATEGORIES, seed: int = 0) -> dict[str, CategoryAgreement]:
    rng = random.Random(seed)
    results = {}
    for category in categories:
        stats = CategoryAgreement(category)
        for entry, answer in load_category(category):
            example = to_example(entry, answer, category)
            stats.entries += 1
            for name, calls in perturbations(first_answer(example), example["tools"], rng):
                completion = render(calls)
                ours, our_reason = fcray_verdict(completion, example)
                theirs, their_error = bfcl_verdict(completion, entry, answer, category)
                stats.cases += 1
                if name == "first_answer":
                    stats.first_answer_fcray_ok += ours
                    stats.first_answer_bfcl_ok += theirs
                if ours == theirs:
                    stats.agreed += 1
                else:
                    stats.disagreements.append(Disagreement(entry["id"], name, ours, theirs, our_reason, their_error,
                                                            completion))
        results[category] = stats
    return results
