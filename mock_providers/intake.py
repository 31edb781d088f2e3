"""Reading a JSON request body safely, for any mock: bounded, strict, and never an exception
other than `IntakeError`. Each provider maps the error kinds to its own wire error.

1. The body is read with a cap (a declared Content-Length over it is refused before a byte is
   read), so no request makes the hub hold more than the cap.
2. It must be UTF-8 (an encoded surrogate such as ED A0 80 is not UTF-8).
3. Its nesting depth is measured by a linear scan before the JSON parser sees it: Python's parser
   recurses, and a body nested 100,000 deep would otherwise raise RecursionError.
4. The parser refuses what a JSON reader that keeps to RFC 8259 refuses: NaN and Infinity, numbers
   too long to be numbers (and floats that overflow to infinity), and escaped lone surrogates
   (`"x\\ud800y"`), which would be stored and then fail every later attempt to encode a response.

(The Google mock words these errors its own way on top of this module: google/intake.py.)
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any, Literal

MAX_NUMBER_CHARS = 64

IntakeKind = Literal["size", "length", "encoding", "depth", "syntax", "surrogate", "number"]


class IntakeError(Exception):
    def __init__(self, kind: IntakeKind, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def check_declared_length(declared_length: bytes | str | None, limit: int) -> None:
    """IntakeError("length"/"size") for a Content-Length that is not a number or is over
    `limit`: such a body is refused before any of it is read."""
    if declared_length is None:
        return
    value = (
        declared_length.decode("latin-1") if isinstance(declared_length, bytes) else declared_length
    ).strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise IntakeError("length", "Invalid Content-Length.")
    if int(value) > limit:
        raise IntakeError("size", f"Request payload size exceeds the limit: {limit} bytes.")


async def read_capped(
    chunks: AsyncIterator[bytes], declared_length: bytes | str | None, limit: int
) -> bytes:
    """The whole body, or IntakeError("size") as soon as it passes `limit`: never more than
    `limit` plus one network chunk is held."""
    check_declared_length(declared_length, limit)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise IntakeError("size", f"Request payload size exceeds the limit: {limit} bytes.")
    return bytes(body)


def too_deep(text: str, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` outside strings. A body with no more
    opening brackets than `limit` cannot (most bodies): no scan."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    raise IntakeError("number", f"Invalid JSON number: {name}")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise IntakeError("number", "Invalid JSON number: too many digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise IntakeError("number", "Invalid JSON number: too many digits")
    value = float(text)
    if not math.isfinite(value):
        raise IntakeError("number", "Invalid JSON number: out of range")
    return value


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate (not a Unicode scalar value; UTF-8 cannot carry
    it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_strings(value: Any) -> None:
    """Every string (keys too) a valid sequence of Unicode scalar values. Iterative: the depth is
    bounded already, but a wide body must not cost recursion either."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                raise IntakeError(
                    "surrogate", "Invalid Unicode: a lone surrogate is not a character."
                )
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_json(raw: bytes, max_depth: int) -> Any:
    """The JSON value of `raw` (None for an empty body), or IntakeError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IntakeError("encoding", "Invalid UTF-8.") from None
    if not text.strip():
        return None
    if too_deep(text, max_depth):
        raise IntakeError("depth", f"The maximum nesting depth of {max_depth} was exceeded.")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_int, parse_float=_float)
    except json.JSONDecodeError as err:
        raise IntakeError("syntax", f"{err.msg} at position {err.pos}.") from None
    except (ValueError, RecursionError):  # belt and braces: depth and digits are checked above
        raise IntakeError("syntax", "Invalid JSON.") from None
    _check_strings(value)
    return value
