"""Verifiable tool-call checking: parse, schema, execute, match, result, and the rewards built on them.

Evaluation and GRPO call these same functions, so what is trained for is what is measured.
"""

from fcray.toolcall.execute import DEFAULT_REGISTRY, Execution, ToolError, ToolRegistry
from fcray.toolcall.match import CallMetrics, Verdict, call_metrics, check_call, match_calls, standardize
from fcray.toolcall.parse import (
    Call,
    Parsed,
    as_parsed,
    format_calls,
    format_message,
    parse_completion,
    parse_openai_tool_calls,
)
from fcray.toolcall.reward import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    Judgement,
    Score,
    composite,
    get_reward,
    judge,
    make_trl_reward,
    reference_calls,
    trl_reward_funcs,
)
from fcray.toolcall.schema import ToolIndex, check_calls, to_json_schema, tool_index

__all__ = [
    "COMPONENTS", "Call", "CallMetrics", "DEFAULT_REGISTRY", "DEFAULT_WEIGHTS", "Execution", "Judgement", "Parsed",
    "Score", "ToolError", "ToolIndex", "ToolRegistry", "Verdict", "as_parsed", "call_metrics", "check_call", "check_calls",
    "composite", "format_calls", "format_message", "get_reward", "judge", "make_trl_reward", "match_calls", "parse_completion",
    "parse_openai_tool_calls", "reference_calls", "standardize", "to_json_schema", "tool_index", "trl_reward_funcs",
]
