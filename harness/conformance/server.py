"""Serve a conformance app on a loopback (or given) socket in a background thread: what
`calharness reference serve` runs in the foreground and tests run beside a feature run."""

from __future__ import annotations

import errno
import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI


class ServerError(RuntimeError):
    """The server could not start (port in use, bad host); the message is one line."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # without it each keep-alive answer waits ~40 ms on Nagle's algorithm.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(f"port {port} on {host} is already in use") from None
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except (OverflowError, socket.gaierror) as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host}:{port}: {exc}") from None
    sock.listen(128)
    return sock


class ConformanceServer:
    """`app` on `host:port` (port 0 picks a free one), plain HTTP."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        self.app, self.host, self.port, self.log_level = app, host, port, log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ConformanceServer:
        self._sock = bind(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=self.log_level, lifespan="off",
                                access_log=False, timeout_keep_alive=30,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name="calharness-conformance", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerError("the conformance API server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        host = getattr(self.app.state, "calharness_host", None)
        if host is not None:
            host.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> ConformanceServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
