"""Salesforce/xlam-function-calling-60k (and xlam-format files such as xlam-irrelevance-7.5k).

A record is ``{"id", "query", "tools": "<JSON list>", "answers": "<JSON list>"}`` where tools use
xlam's Python-style type dialect (converted by :mod:`fcray.data.xlam_types`). Empty ``answers``
(xlam-irrelevance) becomes a no-call example.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fcray.config import DataConfig
from fcray.data.replies import no_call_reply
from fcray.data.report import LoadReport
from fcray.data.schema import (
    as_openai_tool,
    assistant_tool_calls,
    call_category,
    ground_truth_for,
)
from fcray.data.sources.base import canonical, convert_rows, parse_json_field, register_source
from fcray.data.xlam_types import TypeConversionError, convert_parameters


def convert_xlam_record(row: Any, location: str, source: str = "xlam") -> dict[str, Any]:
    """Convert one xlam row; raises ``ValueError`` with the reason when the row cannot be converted."""
    if not isinstance(row, dict):
        raise ValueError(f"row must be an object, got {type(row).__name__}")
    for field in ("query", "tools", "answers"):
        if field not in row:
            raise ValueError(f"missing field '{field}'")
    query = row["query"]
    if not isinstance(query, str) or not query.strip():
        raise ValueError("'query' must be a non-empty string")
    raw_tools = parse_json_field(row["tools"], "tools")
    raw_answers = parse_json_field(row["answers"], "answers")
    if not isinstance(raw_tools, list):
        raise ValueError("'tools' must be a JSON list")
    if not isinstance(raw_answers, list):
        raise ValueError("'answers' must be a JSON list")

    tools = []
    for index, tool in enumerate(raw_tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"].strip():
            raise ValueError(f"tool #{index} has no name")
        try:
            parameters = convert_parameters(tool.get("parameters"), f"tool '{tool['name']}'")
        except TypeConversionError as exc:
            raise ValueError(f"schema type cannot be converted: {exc}") from None
        tools.append(as_openai_tool(tool["name"], str(tool.get("description", "")), parameters))
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}

    calls = []
    for index, answer in enumerate(raw_answers):
        if not isinstance(answer, dict) or not isinstance(answer.get("name"), str):
            raise ValueError(f"answer #{index} has no name")
        if answer["name"] not in schemas:
            raise ValueError(f"answer names unknown tool '{answer['name']}' (tools: {sorted(schemas)})")
        arguments = answer.get("arguments", {})
        if not isinstance(arguments, dict):
            raise ValueError(f"answer #{index} ('{answer['name']}'): arguments must be an object")
        calls.append({"name": answer["name"], "arguments": arguments})
    # (validate_example below checks that each reference call satisfies its tool's schema.)

    record_id = str(row.get("id", location.rsplit("#", 1)[-1]))
    example_id = f"{source}-{record_id}"
    reference = assistant_tool_calls(calls) if calls else {"role": "assistant", "content": no_call_reply(example_id)}
    example = {
        "id": example_id,
        "source": source,
        "category": call_category(calls, len(tools)),
        "messages": [{"role": "user", "content": query}, reference],
        "tools": tools,
        "ground_truth": ground_truth_for(calls, tools),
        "meta": {"location": location},
    }
    return canonical(example)


@register_source("xlam")
class XlamSource:
    name = "xlam"

    def load(self, config: DataConfig, report: LoadReport) -> Iterator[dict[str, Any]]:
        return convert_rows(config, report, convert_xlam_record)
