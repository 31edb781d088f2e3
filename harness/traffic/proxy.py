"""mitmproxy in process: a thread with its own event loop runs a `DumpMaster` with the route,
record and audit addons, listening on loopback only.

Host certificates are signed by the harness CA (mitmproxy's confdir holds it as
`mitmproxy-ca.pem`, key and certificate), so an implementation trusts one CA, the one it already
trusts for the hub, and sets one proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives import serialization

from harness.traffic.addons import Audit, Record, Route

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


class ProxyError(RuntimeError):
    """The proxy could not start (port in use, bad CA): one line for the user."""


def write_confdir(confdir: Path, state_dir: Path) -> Path:
    """mitmproxy's confdir with the harness CA (key + certificate) as its signing CA."""
    from mock_providers.tls import ensure_ca

    cert, key = ensure_ca(state_dir)
    confdir.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + \
        cert.public_bytes(serialization.Encoding.PEM)
    path = confdir / "mitmproxy-ca.pem"
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return path


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ProxyError(f"port {port} on {host} is in use") from None
            raise ProxyError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


class TrafficProxy:
    """`upstream="mock"`: provider hosts go to the hub at `hub_url`; `"real"`: they pass through
    to the real services (recording against a real tenant). Anything else is always refused."""

    def __init__(self, hub_url: str | None, hub_ca: str | None, state_dir: Path, *,
                 host: str = "127.0.0.1", port: int = 0, upstream: str = "mock",
                 record_dir: Path | None = None) -> None:
        if upstream not in ("mock", "real"):
            raise ProxyError(f"--upstream must be mock or real, not {upstream!r}")
        if upstream == "mock" and not hub_url:
            raise ProxyError("mock upstream needs the hub's URL")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ProxyError("the proxy listens on loopback only")
        self.host, self.port = host, port
        self.state_dir = state_dir
        self.route = Route(hub_url, hub_ca, upstream)
        self.recorder = Record(str(record_dir) if record_dir else None)
        self.audit = Audit(self.recorder)
        self._hub_ca = hub_ca
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master: object | None = None
        self._error: BaseException | None = None
        self._confdir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TrafficProxy:
        _check_port(self.host, self.port)
        self._confdir = Path(tempfile.mkdtemp(prefix="calharness-proxy-"))
        write_confdir(self._confdir, self.state_dir)
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True,
                                        name="calharness-proxy")
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise ProxyError(f"the proxy did not start: {self._error}")
            port = self._bound_port() if ready.is_set() else None
            if port:
                self.port = port
                return self
            time.sleep(0.02)
        self.stop()
        raise ProxyError(f"the proxy did not listen on {self.host}:{self.port} within "
                         f"{START_TIMEOUT_S:.0f}s")

    def _bound_port(self) -> int | None:
        master = self._master
        if master is None:
            return None
        server = master.addons.get("proxyserver")  # type: ignore[attr-defined]
        for addr in server.listen_addrs():
            return int(addr[1])
        return None

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # SystemExit from mitmproxy's errorcheck included
            self._error = exc
        finally:
            with contextlib.suppress(Exception):
                # mitmproxy leaves per-connection watchdogs behind: end them, bounded
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.wait_for(
                    asyncio.gather(*pending, return_exceptions=True), STOP_TIMEOUT_S))
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        from mitmproxy.options import Options
        from mitmproxy.tools.dump import DumpMaster

        options = Options()
        master = DumpMaster(options, with_termlog=False, with_dumper=False)
        master.addons.add(self.route, self.recorder, self.audit)
        update: dict[str, object] = dict(
            listen_host=self.host, listen_port=self.port, confdir=str(self._confdir),
            connection_strategy="lazy", upstream_cert=False, mode=["regular"],
            http2=True, ssl_insecure=False)
        if self._hub_ca:
            update["ssl_verify_upstream_trusted_ca"] = self._hub_ca
        options.update(**update)
        self._master = master
        ready.set()
        await master.run()

    def stop(self) -> None:
        master, loop, thread = self._master, self._loop, self._thread
        if master is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(master.shutdown)  # type: ignore[attr-defined]
        if thread is not None:
            thread.join(STOP_TIMEOUT_S)
        self._master = None
        if self._confdir is not None:
            shutil.rmtree(self._confdir, ignore_errors=True)
            self._confdir = None

    def __enter__(self) -> TrafficProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
