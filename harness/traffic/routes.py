"""Which real provider host names calharness answers for, and where each lives on the mock hub.

Pure mapping, no I/O: `to_hub` turns a real URL (https://graph.microsoft.com/v1.0/me) into the
hub's (https://127.0.0.1:PORT/graph/v1.0/me); `to_real` turns a hub URL found in a response (a
nextLink, a login form's action, a Location) back into the real one the client expects, so a
client that only knows real host names never sees the hub's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# (real host, real path prefix, hub path prefix). The first rule whose host matches and whose
# prefix matches the path wins, so a host's specific prefixes come before its catch-all.
RULES: tuple[tuple[str, str, str], ...] = (
    ("graph.microsoft.com", "/v1.0", "/graph/v1.0"),
    ("outlook.office365.com", "/EWS/", "/EWS/"),
    ("login.microsoftonline.com", "/", "/"),
    ("www.googleapis.com", "/calendar/v3", "/google/calendar/v3"),
    ("www.googleapis.com", "/oauth2/", "/google/oauth2/"),
    ("openidconnect.googleapis.com", "/v1/userinfo", "/google/v1/userinfo"),
    ("people.googleapis.com", "/v1/", "/google/v1/"),
    ("oauth2.googleapis.com", "/token", "/google/token"),
    ("oauth2.googleapis.com", "/revoke", "/google/revoke"),
    ("oauth2.googleapis.com", "/tokeninfo", "/google/oauth2/v3/tokeninfo"),
    ("accounts.google.com", "/", "/google/"),
)

# Discovery documents the Google clients fetch when not told to use their bundled copies: the
# proxy answers these itself from google-api-python-client's bundled documents.
DISCOVERY: dict[tuple[str, str], str] = {
    ("www.googleapis.com", "/discovery/v1/apis/calendar/v3/rest"): "calendar.v3.json",
    ("www.googleapis.com", "/discovery/v1/apis/people/v1/rest"): "people.v1.json",
    ("calendar-json.googleapis.com", "/$discovery/rest"): "calendar.v3.json",
    ("people.googleapis.com", "/$discovery/rest"): "people.v1.json",
}

ROUTED_HOSTS: frozenset[str] = frozenset(
    {host for host, _, _ in RULES} | {host for host, _ in DISCOVERY})

# Hub paths that are not a provider: never mapped back to a real host.
_HUB_ONLY = ("/_control",)


def _prefix_matches(path: str, prefix: str) -> bool:
    if prefix.endswith("/"):
        return path.startswith(prefix) or path == prefix[:-1]
    return path == prefix or path.startswith((prefix + "/", prefix + "?"))


def is_routed(host: str) -> bool:
    return host.lower().rstrip(".") in ROUTED_HOSTS


def discovery_document(host: str, path: str) -> str | None:
    """The bundled discovery document's file name for a discovery request, else None."""
    return DISCOVERY.get((host.lower().rstrip("."), path.split("?", 1)[0]))


def hub_path(host: str, path: str) -> str | None:
    """The hub path (with query) for `path` on a real `host`, or None if the host is not ours."""
    host = host.lower().rstrip(".")
    for real_host, real_prefix, hub_prefix in RULES:
        if real_host == host and _prefix_matches(path, real_prefix):
            return hub_prefix + path[len(real_prefix):]
    return None


@dataclass(frozen=True)
class HubAddress:
    """The hub's scheme://host:port (`calharness serve --json`'s base_url)."""

    base_url: str

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def to_hub(self, url: str) -> str | None:
        parts = urlsplit(url)
        path = parts.path or "/"
        mapped = hub_path(parts.hostname or "", path)
        if mapped is None:
            return None
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url.rstrip('/')}{mapped}{query}"

    def to_real(self, hub_path_and_query: str) -> str | None:
        """`/graph/v1.0/me?x` -> `https://graph.microsoft.com/v1.0/me?x`; None for hub-only
        paths (the control API)."""
        path = hub_path_and_query or "/"
        if path.startswith(_HUB_ONLY):
            return None
        best: tuple[int, str, str, str] | None = None
        for real_host, real_prefix, hub_prefix in RULES:
            if _prefix_matches(path, hub_prefix) and (best is None or len(hub_prefix) > best[0]):
                best = (len(hub_prefix), real_host, real_prefix, hub_prefix)
        if best is None:
            return None
        _, real_host, real_prefix, hub_prefix = best
        return f"https://{real_host}{real_prefix}{path[len(hub_prefix):]}"

    def rewrite_text(self, text: str) -> str:
        """Every hub URL in `text` (plain or percent-encoded, as in a redirect parameter)
        replaced by its real-host URL."""
        base = self.base_url.rstrip("/")
        plain = re.compile(re.escape(base) + r"(?P<rest>[^\s\"'<>\\]*)")
        text = plain.sub(lambda m: self.to_real(m.group("rest")) or m.group(0), text)
        encoded = quote(base, safe="")
        if encoded.lower() in text.lower():
            pattern = re.compile(re.escape(encoded) + r"(?P<rest>(?:%2F|/)[^\s\"'<>&]*)?",
                                 re.IGNORECASE)

            def encoded_sub(m: re.Match[str]) -> str:
                rest = (m.group("rest") or "").replace("%2F", "/").replace("%2f", "/")
                real = self.to_real(rest or "/")
                return quote(real, safe="") if real else m.group(0)

            text = pattern.sub(encoded_sub, text)
        return text
