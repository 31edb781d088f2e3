"""Recorded provider traffic as standard vcrpy cassettes (YAML, format version 1), written and
read with vcrpy's own serializer so plain vcrpy and pytest-recording replay them.

What is written is already redacted (`redact.py`) and made deterministic: headers that change on
every request (dates, request ids, telemetry) get a fixed value; bodies are stored decoded, so
`Content-Encoding`/`Transfer-Encoding` are dropped and `Content-Length` matches the stored body.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from vcr.request import Request
from vcr.serialize import deserialize, serialize
from vcr.serializers import yamlserializer

VOLATILE_HEADERS = frozenset({
    "date", "expires", "last-modified", "age", "request-id", "client-request-id",
    "x-ms-request-id", "x-request-id", "x-ms-ags-diagnostic", "traceparent", "tracestate",
    "x-client-current-telemetry", "x-client-last-telemetry", "x-ms-lib-capability",
    "x-client-sku", "x-client-ver", "x-client-os", "x-client-cpu", "x-app-name", "x-app-ver",
    "return-client-request-id", "x-anchormailbox", "user-agent", "x-goog-api-client",
    "x-ms-diagnostics", "x-calharness-trace", "x-ms-clitelem", "set-cookie-trace",
})
DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "connection",
                             "keep-alive", "proxy-connection"})
VOLATILE = "<volatile>"


# The answer properties that carry paging and sync cursors (compared by presence, mapped on
# replay): Graph's next and delta links, Google's page and sync tokens.
PAGING_KEYS = ("@odata.nextLink", "@odata.deltaLink", "nextPageToken", "nextSyncToken")


def json_or_none(text: str | None) -> Any:
    """A recorded or answered body as JSON, None when it is empty or not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


class CassetteError(ValueError):
    """A cassette that is missing or not a vcrpy cassette."""


@dataclass
class Exchange:
    """One request and its response, as the client saw them (real host names), redacted."""

    method: str
    url: str
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: str | None = None
    status: int = 0
    reason: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str | None = None

    def header(self, name: str, *, response: bool = True) -> str | None:
        headers = self.response_headers if response else self.request_headers
        lowered = name.lower()
        return next((v for k, v in headers if k.lower() == lowered), None)


def _headers_dict(headers: list[tuple[str, str]], body: str | None,
                  *, deterministic: bool) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in DROPPED_HEADERS:
            continue
        if lowered == "content-length":
            continue
        if deterministic and lowered in VOLATILE_HEADERS:
            value = VOLATILE
        out.setdefault(name, []).append(value)
    if body:
        out["Content-Length"] = [str(len(body.encode("utf-8")))]
    return out


def to_interaction(exchange: Exchange, *, deterministic: bool = True
                   ) -> tuple[Request, dict[str, Any]]:
    request = Request(exchange.method, exchange.url, exchange.request_body or None,
                      _headers_dict(exchange.request_headers, exchange.request_body,
                                    deterministic=deterministic))
    try:
        message = exchange.reason or HTTPStatus(exchange.status).phrase
    except ValueError:
        message = exchange.reason
    response = {
        "status": {"code": exchange.status, "message": message},
        "headers": _headers_dict(exchange.response_headers, exchange.response_body,
                                 deterministic=deterministic),
        "body": {"string": exchange.response_body or ""},
    }
    return request, response


def cassette_text(exchanges: list[Exchange], *, deterministic: bool = True) -> str:
    pairs = [to_interaction(e, deterministic=deterministic) for e in exchanges]
    return serialize({"requests": [p[0] for p in pairs], "responses": [p[1] for p in pairs]},
                     yamlserializer)


def write_cassette(path: Path, exchanges: list[Exchange], *, deterministic: bool = True) -> Path:
    """Write atomically: a reader never sees half a cassette."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = cassette_text(exchanges, deterministic=deterministic)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "getvalue"):  # BytesIO bodies of old cassettes
        return _text(value.getvalue())
    return str(value)


def _pairs(headers: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, values in (headers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            out.append((str(name), _text(value) or ""))
    return out


def read_cassette(path: Path) -> list[Exchange]:
    """Any vcrpy cassette (recorded by calharness, by vcrpy, by pytest-recording)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteError(f"cassette {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteError(f"cassette {path} cannot be read: {exc}") from None
    try:
        loaded = deserialize(text, yamlserializer)
    except Exception as exc:  # vcrpy raises ValueError, yaml errors, KeyError, TypeError
        raise CassetteError(f"cassette {path} is not a vcrpy cassette: "
                            f"{type(exc).__name__}: {exc}") from None
    requests, responses = loaded[0], loaded[1]
    exchanges = []
    for request, response in zip(requests, responses, strict=True):
        try:
            status = response["status"]
            exchanges.append(Exchange(
                method=request.method, url=request.uri,
                request_headers=_pairs(dict(request.headers)),
                request_body=_text(request.body),
                status=int(status["code"]), reason=str(status.get("message") or ""),
                response_headers=_pairs(response.get("headers") or {}),
                response_body=_text((response.get("body") or {}).get("string")),
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise CassetteError(f"cassette {path}: interaction {len(exchanges) + 1} is "
                                f"malformed: {exc}") from None
    return exchanges
