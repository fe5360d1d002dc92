"""Compare parsed calls with an example's ground truth the way BFCL's AST checker does, plus finer signals.

The verdict follows ``bfcl_eval/eval_checker/ast_eval/ast_checker.py`` (bfcl-eval 2026.3.23) rule for rule,
so fcray's training reward and BFCL agree (tests/toolcall/test_bfcl_agreement.py measures it):

* the number of calls must equal the number of expected calls; expected calls are matched greedily, in
  order, to the first unmatched call that passes (order-insensitive parallel calls, as BFCL);
* a call fails on: a missing required parameter, a parameter the tool or the answer does not list, a
  value of the wrong type, a value outside its acceptable values, or an expected parameter left out
  whose acceptable values lack ``""``;
* types come from the tool schema (standard JSON Schema or BFCL's dialect). Type checks are exact (a
  bool is not an int); an int is accepted where a float/number is expected at the top level but not
  inside a float array (BFCL only checks element types against list-valued acceptable answers, so an
  optional array — one whose answers include ``""`` — skips that element check, as in BFCL);
* strings compare case-insensitively ignoring spaces and ``,./-_*^`` (and ``'`` as ``"``), also inside
  lists and dicts; a value whose type differs from the schema but equals the type of the acceptable
  answers is a "variable" and compares exactly, as in BFCL;
* ``any`` is checked as a string, as BFCL does.

Beyond the verdict, :func:`call_metrics` gives function-name accuracy, argument precision/recall/F1 and
hallucinated argument values (values that appear nowhere in the conversation or the tool schemas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fcray.toolcall.parse import Call

_STANDARDIZE = re.compile(r"[ ,./\-_*^]")
_PY_TYPES: dict[str, type] = {
    "string": str, "integer": int, "float": float, "number": float, "boolean": bool,
    "array": list, "tuple": list, "dict": dict, "object": dict, "any": str,
}


@dataclass(slots=True)
class Verdict:
    valid: bool
    error_type: str = ""
    detail: str = ""


_OK = Verdict(True)


def standardize(text: str) -> str:
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def _std(value: Any) -> Any:
    return standardize(value) if type(value) is str else value


def _answer_type(possible: list[Any]) -> type | None:
    for answer in possible:
        if answer != "":
            return type(answer)
    return None


def _type_check(value: Any, possible: list[Any], expected: type, nested: type | None) -> tuple[bool, bool]:
    """(valid, is_variable) — BFCL's type_checker."""
    answer_type = _answer_type(possible)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        for item in possible:
            if type(item) is list and not all(_type_check(v, item, nested, None)[0] for v in value):
                continue
            return True, is_variable  # a non-list answer (e.g. "") skips the element check, as in BFCL
        return False, False
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, False


def _string_ok(value: str, possible: list[Any]) -> bool:
    return standardize(value) in [standardize(p) for p in possible if type(p) is str]


def _list_ok(value: list[Any], possible: list[Any]) -> bool:
    # BFCL iterates every answer as a sequence: "" becomes [], so [] matches an omittable parameter.
    return [_std(v) for v in value] in [[_std(x) for x in p] for p in possible if isinstance(p, (list, str))]


def _accepted(values: Any) -> list[Any]:
    return values if isinstance(values, list) else [values]  # tolerate a bare value: never crash on data


def _dict_ok(value: dict[str, Any], possible: list[Any]) -> bool:
    for answer in possible:
        if answer == "" or not isinstance(answer, dict):
            continue
        if all(key in answer and _std(v) in [_std(a) for a in _accepted(answer[key])] for key, v in value.items()) and all(
            key in value or "" in _accepted(accepted) for key, accepted in answer.items()
        ):
            return True
    return False


def _list_of_dicts_ok(value: list[Any], possible: list[Any]) -> bool:
    for answer in possible:
        if not isinstance(answer, (list, str)) or len(value) != len(answer):
            continue
        if all(type(v) is dict and _dict_ok(v, [a]) for v, a in zip(value, answer)):
            return True
    return False


def _property_types(prop: dict[str, Any]) -> tuple[type | None, type | None, str]:
    kind = prop.get("type") if isinstance(prop, dict) else None
    if not isinstance(kind, str):
        return None, None, ""
    expected = _PY_TYPES.get(kind)
    nested = None
    if kind in ("array", "tuple"):
        items = prop.get("items")
        item_kind = items.get("type") if isinstance(items, dict) else None
        nested = _PY_TYPES.get(item_kind) if isinstance(item_kind, str) else None
    return expected, nested, kind


def check_value(param: str, value: Any, prop: dict[str, Any], accepted: list[Any]) -> Verdict:
    """Is ``value`` an acceptable value for ``param`` (schema ``prop``, acceptable values ``accepted``)?"""
    expected, nested, kind = _property_types(prop)
    if kind in ("float", "number") and type(value) is int:
        value = float(value)  # BFCL: int accepted for float at the top level
    is_variable = False
    if expected is not None:
        valid, is_variable = _type_check(value, accepted, expected, nested)
        if not valid:
            return Verdict(False, "type_error", f"{param}: expected {kind}, got {type(value).__name__} {value!r}")
    if not is_variable:
        checker = None
        shape = expected if expected is not None else type(value)
        if shape is dict:
            checker = _dict_ok
        elif shape is list and nested is dict:
            checker = _list_of_dicts_ok
        elif shape is str:
            checker = _string_ok
        elif shape is list:
            checker = _list_ok
        if checker is not None:
            if checker(value, accepted):
                return _OK
            return Verdict(False, "value_error", f"{param}: {value!r} is not one of {accepted}")
    if value not in accepted:
        return Verdict(False, "value_error", f"{param}: {value!r} is not one of {accepted}")
    return _OK


def check_call(call: Call, parameters: dict[str, Any], expected_arguments: dict[str, list[Any]]) -> Verdict:
    """One call against one expected call of the same function (BFCL's simple_function_checker)."""
    properties = parameters.get("properties", {}) or {}
    for param in parameters.get("required", []) or []:
        if param not in call.arguments:
            return Verdict(False, "missing_required", f"missing required parameter '{param}'")
    for param, value in call.arguments.items():
        if param not in properties or param not in expected_arguments:
            return Verdict(False, "unexpected_param", f"unexpected parameter '{param}'")
        verdict = check_value(param, value, properties[param], expected_arguments[param])
        if not verdict.valid:
            return verdict
    for param, accepted in expected_arguments.items():
        if param not in call.arguments and "" not in accepted:
            return Verdict(False, "missing_optional", f"parameter '{param}' is expected but missing")
    return _OK


def match_calls(calls: list[Call], expected_calls: list[dict[str, Any]],
                parameters_by_name: dict[str, dict[str, Any]]) -> Verdict:
    """All ``calls`` against all expected calls (order-insensitive, greedy as BFCL)."""
    if len(calls) != len(expected_calls):
        return Verdict(False, "wrong_count", f"{len(calls)} calls, expected {len(expected_calls)}")
    matched: set[int] = set()
    for position, expected in enumerate(expected_calls):
        name = expected["name"]
        last = Verdict(False, "wrong_func_name", f"no call of '{name}'")
        for index, call in enumerate(calls):
            if index in matched:
                continue
            if call.name != name:
                last = Verdict(False, "wrong_func_name", f"expected '{name}', got '{call.name}'")
                continue
            last = check_call(call, parameters_by_name.get(name, {}), expected["arguments"])
            if last.valid:
                matched.add(index)
                break
        else:
            detail = last.detail if len(expected_calls) == 1 else f"expected call {position + 1} ('{name}'): {last.detail}"
            return Verdict(False, last.error_type, detail)
    return _OK


def asks_for(content: str, missing: list[str]) -> bool:
    """Does ``content`` ask for every missing argument? (Each argument's name, or one of its words of 3+
    letters, must appear: "from_currency" is asked for by "which currency?")."""
    text = content.lower()
    if not text.strip():
        return False
    for name in missing:
        words = [w for w in re.split(r"[_\W]+", name.lower()) if len(w) >= 3] or [name.lower()]
        if name.lower() not in text and name.lower().replace("_", " ") not in text and not any(w in text for w in words):
            return False
    return True


# ---- finer signals ------------------------------------------------------------------------------------


@dataclass(slots=True)
class CallMetrics:
    name_correct: bool          # the multiset of called function names equals the expected one
    args_true_positive: int     # predicted arguments whose value is acceptable (in a call of the right name)
    args_predicted: int         # all predicted arguments
    args_expected: int          # expected arguments that must be given, plus optional ones correctly given
    hallucinated: int           # predicted arguments with a value found nowhere in the conversation or tools

    @property
    def precision(self) -> float:
        return self.args_true_positive / self.args_predicted if self.args_predicted else float(self.args_expected == 0)

    @property
    def recall(self) -> float:
        return self.args_true_positive / self.args_expected if self.args_expected else float(self.args_predicted == 0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _leaves(value: Any):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")


def _stated(leaf: Any, haystack: str) -> bool:
    if isinstance(leaf, bool) or leaf is None:
        return True  # booleans are stated by phrases, not literally
    if isinstance(leaf, float) and leaf.is_integer():
        leaf = int(leaf)
    if isinstance(leaf, int) and 0 <= leaf < len(_NUMBER_WORDS) and re.search(rf"\b{_NUMBER_WORDS[leaf]}\b", haystack, re.IGNORECASE):
        return True
    if isinstance(leaf, (int, float)):
        return str(leaf) in haystack
    return standardize(str(leaf)) in haystack


def haystack_for(context_text: str) -> str:
    """Text that argument values are searched in: the context as written and standardised."""
    return standardize(context_text) + " " + context_text


def call_metrics(calls: list[Call], expected_calls: list[dict[str, Any]],
                 parameters_by_name: dict[str, dict[str, Any]], context_text: str,
                 haystack: str | None = None) -> CallMetrics:
    """Name accuracy, argument P/R counts and hallucinations. ``context_text`` is the conversation and
    tool schemas as text (where a correct value can come from); ``haystack`` its precomputed
    :func:`haystack_for`."""
    name_correct = sorted(c.name for c in calls) == sorted(e["name"] for e in expected_calls)
    haystack = haystack_for(context_text) if haystack is None else haystack
    remaining = list(range(len(expected_calls)))
    tp = predicted = hallucinated = 0
    expected_total = sum(1 for e in expected_calls for accepted in e["arguments"].values() if "" not in accepted)
    for call in calls:
        predicted += len(call.arguments)
        hallucinated += sum(1 for v in call.arguments.values() if not all(_stated(l, haystack) for l in _leaves(v)))
        best, best_tp, best_optional = None, -1, 0
        for position in remaining:  # pair with the same-name expected call this call agrees with most
            expected = expected_calls[position]
            if expected["name"] != call.name:
                continue
            properties = parameters_by_name.get(call.name, {}).get("properties", {}) or {}
            good = optional = 0
            for param, value in call.arguments.items():
                accepted = expected["arguments"].get(param)
                if accepted is not None and check_value(param, value, properties.get(param, {}), accepted).valid:
                    good += 1
                    optional += "" in accepted
            if good > best_tp:
                best, best_tp, best_optional = position, good, optional
        if best is not None:
            remaining.remove(best)
            tp += best_tp
            expected_total += best_optional
    return CallMetrics(name_correct, tp, predicted, expected_total, hallucinated)
