from __future__ import annotations

import pytest

from fcray.data.xlam_types import TypeConversionError, convert_parameters, convert_type

INT, NUM, STR, BOOL = {"type": "integer"}, {"type": "number"}, {"type": "string"}, {"type": "boolean"}


@pytest.mark.parametrize(
    ("text", "schema", "optional"),
    [
        ("str", STR, False),
        ("int", INT, False),
        ("float", NUM, False),
        ("bool", BOOL, False),
        ("string", STR, False),
        ("integer", INT, False),
        ("number", NUM, False),
        ("boolean", BOOL, False),
        ("List[int]", {"type": "array", "items": INT}, False),
        ("List[str]", {"type": "array", "items": STR}, False),
        ("List[float]", {"type": "array", "items": NUM}, False),
        ("List[List[int]]", {"type": "array", "items": {"type": "array", "items": INT}}, False),
        ("List[Dict[str, Any]]", {"type": "array", "items": {"type": "object"}}, False),
        ("list", {"type": "array"}, False),
        ("List", {"type": "array"}, False),
        ("Set[int]", {"type": "array", "items": INT}, False),
        ("typing.List[str]", {"type": "array", "items": STR}, False),
        ("Dict", {"type": "object"}, False),
        ("dict", {"type": "object"}, False),
        ("Dict[str, Any]", {"type": "object"}, False),
        ("Dict[str, int]", {"type": "object", "additionalProperties": INT}, False),
        ("Any", {}, False),
        ("str, optional", STR, True),
        ("int, optional", INT, True),
        ("float, optional", NUM, True),
        ("bool, optional", BOOL, True),
        ("List[str], optional", {"type": "array", "items": STR}, True),
        ("str, Optional", STR, True),
        ("str, optional, default='x'", STR, True),
        ("int, default=5", INT, False),  # the default makes it optional in convert_parameters, not the type
        ("Optional[int]", INT, True),
        ("Optional[List[str]]", {"type": "array", "items": STR}, True),
        ("Union[int, float]", {"type": ["integer", "number"]}, False),
        ("Union[str, None]", STR, True),
        ("Union[int, Any]", {}, False),
        ("Union[List[int], str]", {"anyOf": [{"type": "array", "items": INT}, STR]}, False),
        ("int or float", {"type": ["integer", "number"]}, False),
        ("List[Union[int, float]]", {"type": "array", "items": {"type": ["integer", "number"]}}, False),
        ("Tuple[int, int]", {"type": "array", "items": INT}, False),
        ("Tuple[float, ...]", {"type": "array", "items": NUM}, False),
        ("Tuple[str, int]", {"type": "array", "prefixItems": [STR, INT], "minItems": 2, "maxItems": 2}, False),
        ("tuple", {"type": "array"}, False),
        ("  List[ int ]  ", {"type": "array", "items": INT}, False),
    ],
)
def test_type_forms(text, schema, optional):
    assert convert_type(text) == (schema, optional)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Callable[[float], float]", "no JSON Schema equivalent (a function is not JSON data)"),
        ("function", "no JSON Schema equivalent"),
        ("datetime", "no JSON Schema equivalent ('datetime')"),
        ("List[int", "expected ]"),
        ("List[int]]", "unexpected ']'"),
        ("", "non-empty string"),
        ("int; DROP", "cannot parse"),
    ],
)
def test_unconvertible_types_say_why(text, reason):
    with pytest.raises(TypeConversionError, match=None) as info:
        convert_type(text)
    assert reason in str(info.value)


def test_parameters_required_unless_default_or_optional():
    schema = convert_parameters(
        {
            "a": {"type": "str", "description": "no default"},
            "b": {"type": "int", "description": "has default", "default": 3},
            "c": {"type": "str, optional", "description": "optional type"},
            "d": {"type": "Optional[float]", "description": "optional wrapper"},
            "e": {"type": "List[int]", "description": "required list"},
        },
        "tool 'f'",
    )
    assert schema["type"] == "object"
    assert schema["required"] == ["a", "e"]
    assert schema["properties"]["b"] == {"type": "integer", "description": "has default", "default": 3}
    assert set(schema["properties"]) == {"a", "b", "c", "d", "e"}


def test_parameters_errors_name_tool_and_parameter():
    with pytest.raises(TypeConversionError, match="tool 'f': parameter 'cb': type 'Callable"):
        convert_parameters({"cb": {"type": "Callable", "description": ""}}, "tool 'f'")
    with pytest.raises(TypeConversionError, match="tool 'f': parameter 'x' has no 'type'"):
        convert_parameters({"x": {"description": ""}}, "tool 'f'")
    assert convert_parameters({}, "tool 'f'") == {"type": "object", "properties": {}, "required": []}


def test_parameters_already_json_schema_pass_through():
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    assert convert_parameters(schema, "tool 'f'") == schema
