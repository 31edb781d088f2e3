"""The one way a Google mock reads a request body: the shared intake (`mock_providers.intake`:
bounded, UTF-8, depth scanned before parsing, RFC 8259 numbers, no lone surrogates) with Google's
limits and Google's wording ("Invalid JSON payload received. ..."). Each `IntakeError` kind is
mapped to Google's wire error in errors.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from mock_providers import intake
from mock_providers.intake import IntakeError, has_surrogate, too_deep

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "IntakeError", "has_surrogate", "parse_json",
           "read_capped", "too_deep"]

MAX_BODY_BYTES = 1 << 20  # Google does not publish its limit; event and person bodies are small
MAX_DEPTH = 64  # deeper than any Calendar or People resource (conferenceData is 5 levels)

# The kinds Google words as a payload it could not read; sizes and numbers keep their own text.
_PAYLOAD_KINDS = frozenset({"encoding", "depth", "syntax", "surrogate"})


async def read_capped(chunks: AsyncIterator[bytes], declared_length: str | None,
                      limit: int = MAX_BODY_BYTES) -> bytes:
    return await intake.read_capped(chunks, declared_length, limit)


def parse_json(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `raw` (None for an empty body), or IntakeError in Google's words."""
    try:
        return intake.parse_json(raw, max_depth)
    except IntakeError as err:
        if err.kind not in _PAYLOAD_KINDS:
            raise
        raise IntakeError(err.kind, f"Invalid JSON payload received. {err.message}") from None
