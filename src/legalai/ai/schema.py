"""Structured output: parse a model's reply as JSON and validate it against a JSON schema.

The validator covers the subset of JSON Schema the AI layer's callers use: ``type`` (object,
array, string, integer, number, boolean, null, or a list of them), ``properties``, ``required``,
``additionalProperties`` (false or a schema), ``items``, ``enum``, ``const``, ``anyOf``,
``minItems`` / ``maxItems``, ``minLength`` / ``maxLength``, ``minimum`` / ``maximum`` and
``pattern``. Annotations (``title``, ``description``, ``default``, ``examples``, ``format``,
``$schema``) are ignored; any other keyword is refused by :func:`check_schema`, so a schema never
silently promises more than is checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

_VALIDATING = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
}
_ANNOTATIONS = {"title", "description", "default", "examples", "format", "$schema", "$comment"}
_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
MAX_ERRORS = 20


class InvalidOutput(ValueError):
    """The reply is not JSON, or not valid against the schema; ``errors`` lists why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def check_schema(schema: Any, path: str = "$") -> None:
    """Raise ValueError if ``schema`` uses a keyword this validator does not implement."""
    if not isinstance(schema, dict):
        raise ValueError(f"schema at {path} must be an object")
    unknown = set(schema) - _VALIDATING - _ANNOTATIONS
    if unknown:
        raise ValueError(f"schema at {path} uses unsupported keywords: {', '.join(sorted(unknown))}")
    types = schema.get("type")
    for t in types if isinstance(types, list) else [types] if types is not None else []:
        if t not in _TYPES:
            raise ValueError(f"schema at {path} has unknown type {t!r}")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        check_schema(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        check_schema(schema["items"], f"{path}[]")
    for i, sub in enumerate(schema.get("anyOf") or []):
        check_schema(sub, f"{path}.anyOf[{i}]")


def _type_ok(value: Any, t: str) -> bool:
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return value is None  # "null"


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` fails ``schema`` (empty when valid), each naming the JSON path. The
    messages never quote the value (it may quote a document): they are safe to log."""
    errors: list[str] = []
    _validate(value, schema, path, errors)
    return errors[:MAX_ERRORS]


def _validate(value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
    if len(errors) >= MAX_ERRORS:
        return
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, t) for t in allowed):
            errors.append(f"{path}: expected {' or '.join(allowed)}, got {_kind(value)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if "anyOf" in schema:
        options = [validate(value, sub, path) for sub in schema["anyOf"]]
        if all(options):
            errors.append(f"{path}: matches none of the allowed shapes ({options[0][0]})")
    if isinstance(value, dict):
        _validate_object(value, schema, path, errors)
    elif isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: needs at least {schema['minItems']} items, has {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: allows at most {schema['maxItems']} items, has {len(value)}")
        if "items" in schema:
            for i, item in enumerate(value):
                _validate(item, schema["items"], f"{path}[{i}]", errors)
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: does not match the pattern {schema['pattern']!r}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: less than the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: more than the maximum {schema['maximum']}")


def _validate_object(value: dict[str, Any], schema: dict[str, Any], path: str, errors: list[str]) -> None:
    properties: dict[str, Any] = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        child = f"{path}.{name}"
        if name in properties:
            _validate(item, properties[name], child, errors)
        elif extra is False:
            errors.append(f"{path}: unexpected property {name!r}")
        elif isinstance(extra, dict):
            _validate(item, extra, child, errors)


def _kind(value: Any) -> str:
    for t in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _type_ok(value, t):
            return t
    return type(value).__name__


_FENCE = re.compile(r"^```(?:json|JSON)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def parse_json_reply(text: str) -> Any:
    """The JSON value of a model's reply; tolerates a code fence or prose around one object/array."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        return json.loads(stripped)
    except ValueError as first:
        starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
        if starts:
            start = min(starts)
            end = max(stripped.rfind("}"), stripped.rfind("]"))
            if end > start:
                try:
                    return json.loads(stripped[start : end + 1])
                except ValueError:
                    pass
        raise InvalidOutput([f"the reply is not valid JSON ({first})"]) from None


def parse_and_validate(text: str, schema: dict[str, Any]) -> Any:
    """The reply's JSON value if it matches ``schema``; else :class:`InvalidOutput`."""
    value = parse_json_reply(text)
    errors = validate(value, schema)
    if errors:
        raise InvalidOutput(errors)
    return value
