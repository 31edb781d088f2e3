"""A test run's provider traffic: the proxy in front of the session's hub, the implementation
configured with the real provider host names (proxy + harness CA only), each scenario's traffic
recorded, audited and optionally written as a vcrpy cassette.

The proxy is set process-wide through HTTPS_PROXY/HTTP_PROXY (what MSAL's requests, httpx and
exchangelib read), with NO_PROXY for the hub's own address so the harness's control client and
anything still configured with a hub URL go direct; the previous values come back at `close`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from harness.drift.responses import SchemaTally
from harness.traffic.audit import audit
from harness.traffic.cassettes import write_cassette
from harness.traffic.proxy import TrafficProxy
from harness.traffic.routes import HubAddress

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                   "no_proxy")
TRAFFIC_EVIDENCE_LIMIT = 200


def httplib2_honours_proxies() -> bool:
    """google-api-python-client's transport, httplib2, uses a proxy only with PySocks
    installed; without it, it silently connects directly: to the real Google."""
    try:
        import httplib2
    except ImportError:
        return False
    return getattr(httplib2, "socks", None) is not None


def real_host_description(description: dict[str, Any], *, google: bool | None = None
                          ) -> dict[str, Any]:
    """The hub description with every provider URL on its real host name (what a deployment
    against the real services is configured with); the CA stays the harness CA.

    Google's URLs stay on the hub when `google` is false (default: when httplib2 cannot use
    the proxy), so no request can ever reach the real Google."""
    if google is None:
        google = httplib2_honours_proxies()
    hub = HubAddress(description["base_url"])

    def real(url: str) -> str:
        path = url[len(hub.base_url):] if url.startswith(hub.base_url) else None
        mapped = hub.to_real(path or "/") if path is not None else None
        return mapped or url

    out = dict(description)
    ms = dict(description["microsoft"])
    ms["authority_host"] = "https://login.microsoftonline.com"
    ms["graph"], ms["ews"] = real(ms["graph"]), real(ms["ews"])
    out["microsoft"] = ms
    if google and description.get("google"):
        g = dict(description["google"])
        for key in ("auth_uri", "token_uri", "calendar"):
            g[key] = real(g[key])
        g["people"] = "https://people.googleapis.com/"
        out["google"] = g
    return out


class TrafficSession:
    def __init__(self, hub_url: str, ca_bundle: str, state_dir: Path,
                 cassette_dir: Path | None = None, *, port: int = 0,
                 schema_check: bool = False) -> None:
        self.proxy = TrafficProxy(hub_url, ca_bundle, state_dir, port=port)
        self.cassette_dir = cassette_dir
        # --schema-check: every Graph/Google JSON answer against the published schemas
        self.schemas = SchemaTally() if schema_check else None
        self._saved: dict[str, str | None] = {}
        self.hub = HubAddress(hub_url)

    def start(self) -> TrafficSession:
        self.proxy.start()
        self._saved = {name: os.environ.get(name) for name in PROXY_VARIABLES}
        bypass = ",".join(dict.fromkeys([self.hub.host, "127.0.0.1", "localhost", "::1"]))
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            os.environ[name] = self.proxy.url
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = bypass
        return self

    def close(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.proxy.stop()

    def __enter__(self) -> TrafficSession:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def begin(self, name: str) -> None:
        self.proxy.recorder.begin(name)

    def finish(self, name: str, *, oauth_enforced: bool = False) -> list[dict[str, Any]]:
        """Evidence for the scenario that just ran: its provider traffic (redacted, compact)
        and the audit's findings; its cassette written if asked for."""
        exchanges = self.proxy.recorder.begin("between-scenarios")
        evidence: list[dict[str, Any]] = []
        if not exchanges:
            return evidence
        if self.cassette_dir is not None:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:120] or "scenario"
            write_cassette(self.cassette_dir / f"{safe}.yaml", exchanges)
        shown = exchanges[-TRAFFIC_EVIDENCE_LIMIT:]
        label = f"provider traffic through the proxy ({len(exchanges)} requests, redacted"
        label += f", last {TRAFFIC_EVIDENCE_LIMIT} shown)" if len(exchanges) > len(shown) else ")"
        evidence.append({"label": label, "data": {"exchanges": [
            {"method": e.method, "url": e.url, "status": e.status,
             "auth": (e.header("authorization", response=False) or "").split(" ", 1)[0]
             or None} for e in shown]}})
        if self.schemas is not None:
            checked = self.schemas.checked
            found = [v for e in exchanges
                     for v in self.schemas.add(e.method, e.url, e.status, e.response_body)]
            evidence.append({"label": f"schema check ({self.schemas.checked - checked} "
                                      f"response(s), {len(found)} violation(s))",
                             "data": {"violations": found}})
        findings = audit(exchanges, oauth_enforced=oauth_enforced)
        if findings:
            evidence.append({"label": f"traffic audit ({len(findings)} finding(s))",
                             "data": {"findings": [f.as_dict() for f in findings]}})
        return evidence
