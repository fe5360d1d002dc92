"""Convert xlam's Python-style parameter types into JSON Schema.

xlam-function-calling-60k describes parameters as ``{"type": "List[int]", "description": ..., "default"?: ...}``
with type strings such as ``str``, ``int``, ``float``, ``bool``, ``List[int]``, ``Dict[str, Any]``,
``str, optional``, ``Optional[int]``, ``Union[int, float]``, ``Tuple[int, int]``, ``int or float``.
:func:`convert_type` parses such a string into a JSON Schema fragment and tells whether the type itself
says the parameter is optional. A parameter is required when it has no default and its type does not
say optional (:func:`convert_parameters`).
"""

from __future__ import annotations

import re
from typing import Any


class TypeConversionError(ValueError):
    """A type string that has no JSON Schema equivalent (e.g. ``Callable``) or does not parse."""


# Lower-cased Python / JSON type names -> JSON Schema type. Container names are handled separately.
_SCALARS = {
    "str": "string", "string": "string", "text": "string",
    "int": "integer", "integer": "integer",
    "float": "number", "number": "number", "double": "number", "decimal": "number",
    "bool": "boolean", "boolean": "boolean",
    "none": "null", "nonetype": "null", "null": "null",
}
_ARRAYS = {"list", "array", "sequence", "iterable", "set", "frozenset", "tuple"}
_OBJECTS = {"dict", "object", "mapping", "json"}
_ANY = {"any"}
_TOKEN = re.compile(r"\s*(\[|\]|,|\.\.\.|[A-Za-z_][A-Za-z0-9_.]*)")
_OPTIONAL_SUFFIX = re.compile(r"\s*,\s*optional\b.*$", re.IGNORECASE)
_DEFAULT_SUFFIX = re.compile(r"\s*,\s*default\b.*$", re.IGNORECASE)


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise TypeConversionError(f"cannot parse type '{text}' at '{text[pos:]}'")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> tuple[dict[str, Any], bool]:
        schema, optional = self._type()
        if self.pos != len(self.tokens):
            raise TypeConversionError(f"cannot parse type '{self.text}': unexpected '{self.tokens[self.pos]}'")
        return schema, optional

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token != expected):
            raise TypeConversionError(f"cannot parse type '{self.text}': expected {expected or 'a type'}")
        self.pos += 1
        return token

    def _args(self) -> list[tuple[dict[str, Any], bool]]:
        if self._peek() != "[":
            return []
        self._take("[")
        args = [self._type()]
        while self._peek() == ",":
            self._take(",")
            args.append(self._type())
        self._take("]")
        return args

    def _type(self) -> tuple[dict[str, Any], bool]:
        """Parse one type; returns (schema, says_optional)."""
        first, optional = self._single()
        options = [first]
        while self._peek() == "or":  # "int or float"
            self._take("or")
            schema, opt = self._single()
            options.append(schema)
            optional = optional or opt
        return (_union(options) if len(options) > 1 else first), optional

    def _single(self) -> tuple[dict[str, Any], bool]:
        name = self._take()
        if name == "...":  # Tuple[int, ...]: the repeat marker
            return {"...": True}, False
        if name in "[],":
            raise TypeConversionError(f"cannot parse type '{self.text}': unexpected '{name}'")
        key = name.lower().rsplit(".", 1)[-1]  # typing.List -> list
        if key in ("callable", "function", "lambda"):
            raise TypeConversionError(f"type '{self.text}' has no JSON Schema equivalent (a function is not JSON data)")
        args = self._args()
        if key == "optional":
            if len(args) != 1:
                raise TypeConversionError(f"type '{self.text}': Optional takes exactly one type")
            return args[0][0], True
        if key == "union":
            schemas = [a[0] for a in args]
            non_null = [s for s in schemas if s.get("type") != "null"]
            says_optional = len(non_null) < len(schemas) or any(a[1] for a in args)
            return (_union(non_null) if len(non_null) > 1 else non_null[0]), says_optional
        if key in _SCALARS:
            return {"type": _SCALARS[key]}, False
        if key in _ANY:
            return {}, False
        if key in _ARRAYS:
            schema: dict[str, Any] = {"type": "array"}
            if key == "tuple" and args:
                items = [a[0] for a in args if a[0] != {"...": True}]
                if len(items) == 1 or all(i == items[0] for i in items):
                    schema["items"] = items[0]
                else:
                    schema["prefixItems"] = items
                    schema["minItems"] = schema["maxItems"] = len(items)
            elif args:
                schema["items"] = args[0][0]
            return schema, False
        if key in _OBJECTS:
            schema = {"type": "object"}
            if len(args) == 2 and args[1][0]:
                schema["additionalProperties"] = args[1][0]
            return schema, False
        raise TypeConversionError(f"type '{self.text}' has no JSON Schema equivalent ('{name}')")


def _union(options: list[dict[str, Any]]) -> dict[str, Any]:
    if any(not o for o in options):  # Union with Any is Any
        return {}
    if all(set(o) == {"type"} for o in options):
        types = []
        for o in options:
            if o["type"] not in types:
                types.append(o["type"])
        return {"type": types if len(types) > 1 else types[0]}
    return {"anyOf": options}


def convert_type(type_string: str) -> tuple[dict[str, Any], bool]:
    """Parse an xlam type string. Returns ``(json_schema_fragment, type_says_optional)``."""
    if not isinstance(type_string, str) or not type_string.strip():
        raise TypeConversionError(f"type must be a non-empty string, got {type_string!r}")
    text = type_string.strip()
    optional = False
    if _OPTIONAL_SUFFIX.search(text):
        text, optional = _OPTIONAL_SUFFIX.sub("", text), True
    text = _DEFAULT_SUFFIX.sub("", text)
    if text.lower() == "optional":  # the bare word: any value, optional
        return {}, True
    schema, says_optional = _Parser(text).parse()
    return schema, optional or says_optional


def convert_parameters(parameters: Any, where: str) -> dict[str, Any]:
    """Convert xlam's ``{param: {"type", "description", "default"?}}`` into an object JSON Schema.

    ``where`` names the tool for error messages. Raises :class:`TypeConversionError`.
    """
    if parameters in (None, {}, []):
        return {"type": "object", "properties": {}, "required": []}
    if not isinstance(parameters, dict):
        raise TypeConversionError(f"{where}: parameters must be an object, got {type(parameters).__name__}")
    if parameters.get("type") in ("object", "dict") and isinstance(parameters.get("properties"), dict):
        return _normalise_json_schema(parameters)  # already JSON Schema (some rows are)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in parameters.items():
        if not isinstance(spec, dict):
            raise TypeConversionError(f"{where}: parameter '{name}' must be an object with a 'type'")
        if "type" not in spec:
            raise TypeConversionError(f"{where}: parameter '{name}' has no 'type'")
        try:
            schema, optional = convert_type(spec["type"])
        except TypeConversionError as exc:
            raise TypeConversionError(f"{where}: parameter '{name}': {exc}") from None
        prop = dict(schema)
        if spec.get("description"):
            prop["description"] = str(spec["description"])
        if "default" in spec:
            prop["default"] = spec["default"]
        properties[name] = prop
        if not optional and "default" not in spec:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def _normalise_json_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    schema = dict(parameters)
    schema["type"] = "object"
    schema.setdefault("required", [])
    return schema
