"""TLS-pinned HTTP clients for the harness and the reference implementation."""

from __future__ import annotations

import ssl
from typing import Any

import requests


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


def httpx_verify(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """What httpx wants for `verify` (a path string is deprecated there)."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
