"""Request bodies checked against the discovery document's schemas before anything is stored.

`conform(value, "Event", doc)` walks the value along the schema: every member of a known name has
the JSON type the schema gives it (strings are strings, int32 fits in 32 bits, a map's values are
what `additionalProperties` says, an enum member is one of its values), so nothing stored can later
break a reader (a string where an object was expected, a list where a map was). `null` stays
`null` (it means "unset" in an insert or update, "delete" in a patch; the caller decides). Unknown
members are dropped (Calendar, whose Apiary front end ignores them) or refused (People, whose
proto JSON parser answers "Unknown name ... Cannot find field."). People's `Date` (birthdays,
events) is range-checked as its schema describes: year 0–9999, month 0–12, day 0–31.

The walk recurses along the value; the intake's depth cap (`intake.MAX_DEPTH`) bounds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

Unknown = Literal["drop", "refuse"]

_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
               "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}
_INT_TEXT = re.compile(r"-?[0-9]{1,20}")
_TYPE_NAMES = {"string": "TYPE_STRING", "integer": "TYPE_INT32", "number": "TYPE_DOUBLE",
               "boolean": "TYPE_BOOL", "object": "TYPE_MESSAGE", "array": "TYPE_MESSAGE"}


class SchemaError(Exception):
    """A body member that does not fit its schema. `path` uses the JSON names
    (`attendees[0].email`); `expected` is the discovery type."""

    def __init__(self, kind: Literal["unknown", "type", "enum", "range", "null"], path: str,
                 expected: str, value: Any) -> None:
        super().__init__(f"{kind} at {path}")
        self.kind, self.path, self.expected, self.value = kind, path, expected, value

    @property
    def proto_type(self) -> str:
        return _TYPE_NAMES.get(self.expected, "TYPE_MESSAGE")


def snake_path(path: str) -> str:
    """`names[0].givenName` → `names[0].given_name`, as proto error messages name fields."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), path)


def without_nulls(value: Any) -> Any:
    """A stored copy: `null` members of objects removed (they mean "unset")."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def conform(value: Any, schema_name: str, doc: dict[str, Any], *, unknown: Unknown = "drop",
            path: str = "") -> Any:
    """`value` checked against the named schema of `doc`; unknown members dropped or refused."""
    return _Walker(doc, unknown).walk(value, {"$ref": schema_name}, path)


class _Walker:
    def __init__(self, doc: dict[str, Any], unknown: Unknown) -> None:
        self.schemas: dict[str, Any] = doc["schemas"]
        self.unknown = unknown
        self.checks: dict[str, Callable[[dict[str, Any], str], None]] = {"Date": _check_date}

    def walk(self, value: Any, schema: dict[str, Any], path: str) -> Any:
        ref = schema.get("$ref")
        if ref is not None:
            resolved = self.schemas[ref]
            out = self.walk(value, resolved, path)
            check = self.checks.get(ref)
            if check is not None and isinstance(out, dict):
                check(out, path)
            return out
        if value is None:
            return None
        kind = schema.get("type", "any")
        if kind == "any":
            return value
        if kind == "object":
            if not isinstance(value, dict):
                raise SchemaError("type", path, "object", value)
            return self.walk_object(value, schema, path)
        if kind == "array":
            if not isinstance(value, list):
                raise SchemaError("type", path, "array", value)
            items = schema.get("items", {})
            out_list = []
            for index, item in enumerate(value):
                if item is None:
                    raise SchemaError("null", f"{path}[{index}]", items.get("type", "object"),
                                      item)
                out_list.append(self.walk(item, items, f"{path}[{index}]"))
            return out_list
        if kind == "string":
            if not isinstance(value, str):
                raise SchemaError("type", path, "string", value)
            enum = schema.get("enum")
            if enum is not None and value not in enum:
                raise SchemaError("enum", path, "string", value)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise SchemaError("type", path, "boolean", value)
            return value
        if kind == "integer":
            return _integer(value, schema.get("format", "int32"), path)
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SchemaError("type", path, "number", value)
            return value
        return value

    def walk_object(self, value: dict[str, Any], schema: dict[str, Any], path: str
                    ) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, member in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if self.unknown == "refuse":
                    raise SchemaError("unknown", _join(path, key), "object", member)
                continue
            out[key] = self.walk(member, sub, _join(path, key))
        return out


def _integer(value: Any, fmt: str, path: str) -> int | str:
    low, high = _INT_BOUNDS.get(fmt, _INT_BOUNDS["int32"])
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**64:
        number = int(value)
    else:
        raise SchemaError("type", path, "integer", value)
    if not low <= number <= high:
        raise SchemaError("range", path, "integer", value)
    # Google writes 64-bit integers as JSON strings, 32-bit ones as numbers.
    return str(number) if fmt in ("int64", "uint64") else number


def _check_date(value: dict[str, Any], path: str) -> None:
    for member, high in (("year", 9999), ("month", 12), ("day", 31)):
        number = value.get(member)
        if number is not None and not 0 <= int(number) <= high:
            raise SchemaError("range", _join(path, member), "integer", number)
