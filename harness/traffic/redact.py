"""The one redaction every piece of recorded provider traffic goes through (the proxy's recorder,
cassettes, report evidence): tokens, authorization codes, passwords, client secrets and cookies
become `REDACTED`, keeping what evidence and drift checks need (header names, the auth scheme,
parameter names, JSON property names and value types, paging cursors).

Pure functions on text and bytes; no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MARK = "REDACTED"

# Headers whose whole value is a credential; the scheme word (Bearer, Basic, NTLM...) is kept.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-calharness-control-token",
                            "x-api-key", "x-goog-api-key"})
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})

# Paging cursors carry no credential and the drift check compares them: never redacted.
PAGING = frozenset({"$skiptoken", "$deltatoken", "skiptoken", "deltatoken", "pagetoken",
                    "synctoken", "nextpagetoken", "nextsynctoken", "syncstate"})
# Names that are secrets wherever they appear (query, form, JSON, hidden inputs).
_SECRET_NAMES = frozenset({"code", "password", "passwd", "pwd", "client_secret", "assertion",
                           "client_assertion", "code_verifier", "key", "api_key", "apikey",
                           "session_state", "sessionid", "session", "flow", "ctx", "cookie"})
_SECRET_PARTS = ("token", "secret", "password", "passwd", "credential")
# In JSON, `code` is an error code (Graph, Google, EWS JSON): kept.
# Names about a credential rather than holding one (token_type, token_endpoint...).
_DESCRIPTIVE = ("_type", "_endpoint", "_supported", "_uri", "_url", "_in", "_at", "_hint",
                "_method", "_methods", "_lifetime")
_JSON_NOT_SECRET = frozenset({"code", "session", "key"})

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# Google-style opaque credentials: access tokens, refresh tokens, authorization codes.
_GOOGLE_OPAQUE = re.compile(r"\b(?:ya29\.[A-Za-z0-9_-]{8,}|1//0[A-Za-z0-9_-]{8,}"
                            r"|4/0A[A-Za-z0-9_-]{8,})")
# The identity platform's opaque authorization codes and refresh tokens (M.C…, 0.A…/1.A…).
_MS_OPAQUE = re.compile(r"(?<![A-Za-z0-9_.-])(?:M\.C\d_[A-Za-z0-9_-]{16,}"
                        r"|[01]\.A[A-Za-z0-9]{1,4}_[A-Za-z0-9_-]{16,})")
_HIDDEN_INPUT = re.compile(r"(<input\b[^>]*\bname=\"(?P<name>[^\"]*)\"[^>]*\bvalue=\")"
                           r"(?P<value>[^\"]*)(\")", re.IGNORECASE)
_PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                      re.DOTALL)


def is_secret_name(name: str, *, json_key: bool = False) -> bool:
    lowered = name.strip().lower()
    if lowered in PAGING or lowered.lstrip("@").split(".")[-1] in PAGING:
        return False
    if json_key and lowered in _JSON_NOT_SECRET:
        return False
    if lowered in _SECRET_NAMES:
        return True
    if lowered.endswith(_DESCRIPTIVE):
        return False
    compact = lowered.replace("-", "_")
    if compact.endswith("_code") and compact not in {"error_code", "status_code",
                                                      "response_code"}:
        return True
    return any(part in compact for part in _SECRET_PARTS)


def scrub_text(text: str) -> str:
    """Credentials recognisable by their shape wherever they appear: JWTs, Google's opaque
    tokens and codes, PEM private keys."""
    text = _JWT.sub(MARK, text)
    text = _GOOGLE_OPAQUE.sub(MARK, text)
    text = _MS_OPAQUE.sub(MARK, text)
    return _PEM_KEY.sub(MARK, text)


def redact_header(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        scheme, sep, rest = value.strip().partition(" ")
        return f"{scheme} {MARK}" if sep and rest else MARK
    if lowered == "cookie":
        return "; ".join(f"{part.split('=', 1)[0].strip()}={MARK}"
                         for part in value.split(";") if part.strip())
    if lowered == "set-cookie":
        first, _, attributes = value.partition(";")
        cookie = f"{first.split('=', 1)[0].strip()}={MARK}"
        return f"{cookie};{attributes}" if attributes else cookie
    if lowered in {"location", "content-location", "referer"}:
        return redact_url(value)
    return scrub_text(value)


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, redact_header(name, value)) for name, value in headers]


def _redact_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, MARK if is_secret_name(k) and v else scrub_text(v)) for k, v in pairs]


def redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(_redact_pairs(pairs), safe="$:/,@")


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub_text(url)
    query = redact_query(parts.query)
    # Implicit-flow style fragments (#access_token=...) too.
    fragment = redact_query(parts.fragment) if "=" in parts.fragment else parts.fragment
    return scrub_text(urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment)))


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MARK if is_secret_name(k, json_key=True) and isinstance(v, str) and v
                    else redact_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            return redact_url(value)
        return scrub_text(value)
    return value


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def redact_body(body: bytes | str | None, content_type: str | None) -> str | None:
    """The body as text, redacted by its media type, then swept for credential shapes. Binary
    bodies become a placeholder with their size: the proxy never records bytes it cannot read."""
    if body is None:
        return None
    if isinstance(body, bytes):
        if not body:
            return ""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes of binary content, not recorded>"
    else:
        text = body
    media = _media_type(content_type)
    if media == "application/x-www-form-urlencoded" or (
            not media and "=" in text and not text.lstrip().startswith(("{", "[", "<"))):
        return redact_query(text)
    if media.endswith("json") or text.lstrip().startswith(("{", "[")):
        try:
            return json.dumps(redact_json(json.loads(text)), ensure_ascii=False,
                              separators=(",", ":"))
        except ValueError:
            pass
    if "html" in media:
        text = _HIDDEN_INPUT.sub(
            lambda m: m.group(0) if not is_secret_name(m.group("name"))
            else f"{m.group(1)}{MARK}{m.group(4)}", text)
    # URLs inside any text body (login pages, redirects, SOAP).
    text = re.sub(r"https?://[^\s\"'<>]+", lambda m: redact_url(m.group(0)), text)
    return scrub_text(text)


def find_secrets(text: str, secrets: list[str]) -> list[str]:
    """Which of `secrets` (known values: passwords, client secrets, issued tokens) occur in
    `text`; plus anything credential-shaped. For the scans of reports, cassettes and logs."""
    found = [s for s in secrets if s and len(s) >= 6 and s in text]
    found += _JWT.findall(text) + _GOOGLE_OPAQUE.findall(text) + _MS_OPAQUE.findall(text)
    return found
