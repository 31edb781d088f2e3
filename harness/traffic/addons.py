"""mitmproxy addons: route real provider host names to the mock hub, record each scenario's
provider traffic (redacted), audit it.

Used in process by `harness.traffic.proxy` and loadable as they are by mitmproxy's own tools:

    mitmdump -s harness/traffic/addons.py --set calharness_hub=https://127.0.0.1:8443 \
        --set calharness_hub_ca=$(calharness ca) --set connection_strategy=lazy

Nothing is ever forwarded to the internet in mock mode: a host outside `routes.ROUTED_HOSTS` is
answered by the proxy itself (403 to a CONNECT, 502 to a plain request), and `server_connect`
refuses any upstream connection but the hub's as a second line.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.proxy import server_hooks

from harness.traffic import routes
from harness.traffic.cassettes import Exchange, write_cassette
from harness.traffic.redact import redact_body, redact_headers, redact_url

REFUSED = ("calharness proxy: {host} is not a provider host calharness mocks; it was not "
           "contacted (no request leaves this machine). Routed hosts: {hosts}.")
TEXT_TYPES = ("json", "html", "xml", "text/", "javascript")
_META = "calharness"


def _refusal(host: str, status: int) -> http.Response:
    body = REFUSED.format(host=host, hosts=", ".join(sorted(routes.ROUTED_HOSTS)))
    return http.Response.make(status, body.encode(), {"Content-Type": "text/plain; charset=utf-8",
                                                      "X-Calharness-Refused": host})


def _discovery(name: str) -> bytes:
    documents = resources.files("googleapiclient") / "discovery_cache" / "documents"
    return (documents / name).read_bytes()


class Route:
    """Real provider host names to the hub; everything else refused."""

    def __init__(self, hub_url: str | None = None, hub_ca: str | None = None,
                 upstream: str = "mock") -> None:
        self._hub_url, self._hub_ca, self._upstream = hub_url, hub_ca, upstream
        self.refused_connections: list[str] = []  # upstream connections refused (a bug if any)
        self.refused_requests: list[str] = []

    # -- options (mitmdump -s) ------------------------------------------------------------------
    def load(self, loader: Any) -> None:
        loader.add_option("calharness_hub", str, self._hub_url or "",
                          "Base URL of the calharness mock hub (https://127.0.0.1:PORT).")
        loader.add_option("calharness_hub_ca", str, self._hub_ca or "",
                          "The harness CA certificate that verifies the hub.")
        loader.add_option("calharness_upstream", str, self._upstream,
                          "mock: route provider hosts to the hub; real: pass them through.")

    def configure(self, updated: set[str]) -> None:
        if "calharness_hub" in updated and ctx.options.calharness_hub:
            self._hub_url = ctx.options.calharness_hub
        if "calharness_upstream" in updated:
            self._upstream = ctx.options.calharness_upstream
        if "calharness_hub_ca" in updated and ctx.options.calharness_hub_ca:
            ctx.options.update(ssl_verify_upstream_trusted_ca=ctx.options.calharness_hub_ca)

    @property
    def hub(self) -> routes.HubAddress | None:
        return routes.HubAddress(self._hub_url) if self._hub_url else None

    @property
    def mock(self) -> bool:
        return self._upstream != "real"

    # -- hooks ----------------------------------------------------------------------------------
    def http_connect(self, flow: http.HTTPFlow) -> None:
        host = flow.request.host
        if not routes.is_routed(host):
            self.refused_requests.append(host)
            flow.response = _refusal(host, 403)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        request = flow.request
        host = request.host
        if not routes.is_routed(host):
            self.refused_requests.append(host)
            flow.response = _refusal(host, 502)
            return
        flow.metadata[_META] = {
            "url": request.pretty_url,
            "headers": [(k, v) for k, v in request.headers.items(multi=True)],
            "body": request.get_content(strict=False),
        }
        document = routes.discovery_document(host, request.path)
        if document is not None:
            flow.response = http.Response.make(200, _discovery(document),
                                               {"Content-Type": "application/json"})
            return
        if not self.mock:
            return
        hub = self.hub
        target = hub.to_hub(request.pretty_url) if hub else None
        if target is None:
            flow.response = _refusal(host, 502)
            return
        request.url = target

    def response(self, flow: http.HTTPFlow) -> None:
        hub = self.hub
        if not self.mock or hub is None or _META not in flow.metadata:
            return
        response = flow.response
        if response is None:
            return
        for name in ("Location", "Content-Location"):
            if name in response.headers:
                response.headers[name] = hub.rewrite_text(response.headers[name])
        content_type = response.headers.get("Content-Type", "").lower()
        if any(t in content_type for t in TEXT_TYPES):
            text = response.get_text(strict=False)
            if text and hub.base_url.split("://", 1)[-1] in text or \
                    (text and "%3A%2F%2F" in text.upper()):
                response.text = hub.rewrite_text(text)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        address = data.server.address
        host = address[0] if address else ""
        if self.mock:
            hub = self.hub
            allowed = hub is not None and (host, address[1]) == (hub.host, hub.port)
        else:
            allowed = routes.is_routed(host)
        if not allowed:
            self.refused_connections.append(f"{host}:{address[1] if address else ''}")
            data.server.error = REFUSED.format(host=host, hosts="the mock hub only")


class _Bucket:
    # A plain class: mitmproxy's script loader runs this file outside sys.modules, where
    # @dataclass cannot resolve its annotations.
    def __init__(self, name: str, exchanges: list[Exchange]) -> None:
        self.name, self.exchanges = name, exchanges


class Record:
    """Each scenario's provider traffic as the client saw it (real host names), redacted."""

    def __init__(self, record_dir: str | None = None) -> None:
        self._lock = threading.Lock()
        self._bucket = _Bucket("traffic", [])
        self._record_dir = record_dir
        self.listeners: list[Callable[[Exchange], None]] = []

    def load(self, loader: Any) -> None:
        loader.add_option("calharness_record_dir", str, self._record_dir or "",
                          "Write each scenario's provider traffic there as vcrpy cassettes.")

    def configure(self, updated: set[str]) -> None:
        if "calharness_record_dir" in updated:
            self._record_dir = ctx.options.calharness_record_dir or None

    def begin(self, name: str) -> list[Exchange]:
        """Start a new bucket (a scenario); returns what the previous one held."""
        with self._lock:
            previous, self._bucket = self._bucket, _Bucket(name, [])
        self._flush(previous)
        return previous.exchanges

    def take(self) -> list[Exchange]:
        with self._lock:
            return list(self._bucket.exchanges)

    def _flush(self, bucket: _Bucket) -> None:
        if self._record_dir and bucket.exchanges:
            from pathlib import Path

            write_cassette(Path(self._record_dir) / f"{bucket.name}.yaml", bucket.exchanges)

    def done(self) -> None:
        with self._lock:
            bucket = _Bucket(self._bucket.name, list(self._bucket.exchanges))
        self._flush(bucket)

    def response(self, flow: http.HTTPFlow) -> None:
        self._add(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._add(flow)

    def _add(self, flow: http.HTTPFlow) -> None:
        seen = flow.metadata.get(_META)
        if seen is None:
            return
        request_type = dict((k.lower(), v) for k, v in seen["headers"]).get("content-type")
        response = flow.response
        exchange = Exchange(
            method=flow.request.method,
            url=redact_url(seen["url"]),
            request_headers=redact_headers(seen["headers"]),
            request_body=redact_body(seen["body"], request_type),
            status=response.status_code if response is not None else 0,
            reason=(response.reason if response is not None else "") or "",
            response_headers=redact_headers(
                [(k, v) for k, v in response.headers.items(multi=True)]) if response else [],
            response_body=redact_body(response.get_content(strict=False),
                                      response.headers.get("Content-Type"))
            if response is not None else (flow.error.msg if flow.error else None),
        )
        with self._lock:
            self._bucket.exchanges.append(exchange)
        for listener in self.listeners:
            listener(exchange)


class Audit:
    """Least-privilege and auth-scheme findings over what `Record` holds (see `audit.py`);
    logged at shutdown when run under mitmdump."""

    def __init__(self, recorder: Record) -> None:
        self.recorder = recorder

    def done(self) -> None:
        from harness.traffic.audit import audit

        for finding in audit(self.recorder.take()):
            logging.warning("calharness audit: %s", json.dumps(finding.as_dict()))


_recorder = Record()
addons = [Route(), _recorder, Audit(_recorder)]
