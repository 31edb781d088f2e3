"""TLS-pinned HTTP clients for the harness and the reference implementation."""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters


class PinnedSession(requests.Session):
    """A requests Session whose `verify` wins over the environment.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `Session.verify` for every request
    that does not pass `verify` itself — which MSAL never does — so a pinned CA bundle would be
    silently replaced by the system one on machines that set those variables.
    """

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return settings


def pinned_session(ca_bundle: str | None) -> requests.Session:
    session = PinnedSession()
    session.verify = ca_bundle or True
    return session


_CONTEXTS: dict[tuple[str, int, int], ssl.SSLContext] = {}


def httpx_verify(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """What httpx wants for `verify` (a path string is deprecated there). One context per CA
    file as it is on disk: building one parses the bundle, which under load (thousands of
    integrations in a Locust worker, each with its own clients) was ~7% of a worker's CPU."""
    if not ca_bundle:
        return True
    stat = os.stat(ca_bundle)
    key = (ca_bundle, stat.st_mtime_ns, stat.st_size)
    context = _CONTEXTS.get(key)
    if context is None:
        if len(_CONTEXTS) >= 64:
            _CONTEXTS.clear()
        context = _CONTEXTS[key] = ssl.create_default_context(cafile=ca_bundle)
    return context


# exchangelib builds its own requests sessions through a class-level adapter
# (BaseProtocol.HTTP_ADAPTER_CLS, its documented hook for custom CAs). Several hubs with their own
# CAs can live in one process (tests), so the adapter looks up the CA by the request's origin.
_CA_BY_ORIGIN: dict[str, str] = {}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def register_ca(url: str, ca_bundle: str | None) -> None:
    """Verify TLS for `url`'s origin with `ca_bundle` in adapters from `pinned_adapter_class`."""
    if ca_bundle:
        _CA_BY_ORIGIN[_origin(url)] = ca_bundle


class PinnedCAAdapter(requests.adapters.HTTPAdapter):
    """Verifies against the CA registered for the request's origin, whatever `verify` requests
    computed from the environment (REQUESTS_CA_BUNDLE would otherwise win)."""

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, _CA_BY_ORIGIN.get(_origin(url), verify), cert)

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None,
                                        cert: Any = None) -> Any:
        ca = _CA_BY_ORIGIN.get(_origin(request.url), verify)
        return super().get_connection_with_tls_context(request, ca, proxies, cert)
