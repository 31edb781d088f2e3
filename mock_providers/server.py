"""Run the mock hub on a real socket: in a background thread (tests, `calharness run`) or in the
foreground (`calharness serve`)."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from mock_providers.app import create_app
from mock_providers.hub import Hub
from mock_providers.tls import ServerCert, default_state_dir, issue_server_cert
from mock_providers.world.seed import WorldProfile


class _QuietShutdown(logging.Filter):
    """uvicorn reports 'Cancel 0 running task(s)' as an ERROR when only idle keep-alive
    connections outlived the graceful window: nothing was lost, so it is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Cancel 0 running task(s)" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietShutdown())


class HubServerError(RuntimeError):
    """A hub that could not start (port in use, bad host); the message is one line."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every keep-alive response waits ~40 ms on Nagle's algorithm.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise HubServerError(f"port {port} on {host} is already in use") from None
        raise HubServerError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class HubServer:
    """The hub on `host:port` (port 0 picks a free one), TLS with the local CA unless tls=False."""

    def __init__(self, *, seed: int = 42, host: str = "127.0.0.1", port: int = 0,
                 tls: bool = True, state_dir: Path | None = None,
                 profile: WorldProfile | None = None, log_level: str = "warning") -> None:
        self.seed, self.host, self.port, self.tls = seed, host, port, tls
        self.state_dir = state_dir or default_state_dir()
        self.profile = profile
        self.log_level = log_level
        self.cert: ServerCert | None = None
        self.hub: Hub
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return self.hub.base_url

    @property
    def ca_bundle(self) -> str | None:
        return str(self.cert.ca_bundle) if self.cert else None

    @property
    def ca_bundle_with_system(self) -> str | None:
        return str(self.cert.ca_bundle_with_system) if self.cert else None

    def start(self, timeout: float = 10.0) -> HubServer:
        self._sock = _bind(self.host, self.port)
        port = self._sock.getsockname()[1]
        if self.tls:
            self.cert = issue_server_cert(self.state_dir, [self.host])
        host_in_url = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls else "http"
        self.hub = Hub.seeded(self.seed, f"{scheme}://{host_in_url}:{port}", self.ca_bundle,
                              self.profile, ca_bundle_with_system=self.ca_bundle_with_system)
        config = uvicorn.Config(
            create_app(self.hub), log_level=self.log_level, lifespan="off",
            access_log=False, timeout_keep_alive=30,
            # Idle TLS keep-alive clients would hold a graceful shutdown for up to 30 s
            # (asyncio waits for their close_notify); in-flight requests get 2 s.
            timeout_graceful_shutdown=2,
            ssl_certfile=str(self.cert.cert_file) if self.cert else None,
            ssl_keyfile=str(self.cert.key_file) if self.cert else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name="calharness-hub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise HubServerError("the mock hub did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        if self.cert is not None:
            for path in (self.cert.cert_file, self.cert.key_file):
                path.unlink(missing_ok=True)
        self._server = self._thread = self._sock = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
