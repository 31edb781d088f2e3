"""Run the mock hub on a real socket: in a background thread (tests, `calharness run`) or in the
foreground (`calharness serve`), on granian (the default) or uvicorn.

The world is state in this process (the control API mutates it, tests reach `server.hub`), so
either server runs in-process with one worker: uvicorn's `Server.run` in a thread, or granian's
embedded server on its own event loop in a thread. Both serve a socket HubServer binds itself
(a port-0 port is known before anything starts; a port in use is a one-line error).

Timeouts, on both servers: a request head (request line and headers) must arrive within
`header_timeout` seconds, and a declared body in full within `body_timeout` seconds of the head;
otherwise the connection is closed (a late body is answered 408 first). Idle keep-alive
connections are closed after 30 s on uvicorn and after `header_timeout` on granian (hyper's
header timer runs while a connection waits for its next request).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast, get_args

import uvicorn

from mock_providers.advertise import WILDCARDS, AdvertiseError, advertised_host, url_host
from mock_providers.app import create_app
from mock_providers.hub import GRAPH_PREFIX, Hub
from mock_providers.tls import ServerCert, default_state_dir, issue_server_cert
from mock_providers.world.seed import WorldProfile

ServerName = Literal["granian", "uvicorn"]
SERVERS: tuple[ServerName, ...] = get_args(ServerName)
DEFAULT_SERVER: ServerName = "granian"
HEADER_TIMEOUT = 10.0  # s for a request head to arrive
BODY_TIMEOUT = 30.0  # s for a declared request body to arrive in full, from its head
KEEP_ALIVE_TIMEOUT = 30  # s an idle keep-alive connection is kept (uvicorn)
STOP_GRACE = 2.0  # s in-flight requests get when the hub stops

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _QuietShutdown(logging.Filter):
    """uvicorn reports 'Cancel 0 running task(s)' as an ERROR when only idle keep-alive
    connections outlived the graceful window: nothing was lost, so it is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Cancel 0 running task(s)" not in record.getMessage()


class _QuietGranian(logging.Filter):
    """granian warns at every start that its embedded server is 'experimental': the hub chose it
    knowingly (tests cover it), so a user need not read it each time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is experimental" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietShutdown())
logging.getLogger("_granian").addFilter(_QuietGranian())


class HubServerError(RuntimeError):
    """A hub that could not start (port in use, bad host, unknown server); the message is one
    line."""


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


# -- what both servers put in front of the hub's app ---------------------------------------------
_TIMED_OUT: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"24"),
    (b"connection", b"close")]
_CUT: Message = {"type": "http.response.body", "body": b"", "more_body": True}


# Larger than any provider accepts (Graph 4 MB, EWS/Google/control 1 MiB): such a request goes to
# the app unread, which refuses it by its declared length at once, rather than waiting here for a
# body that may be a terabyte long.
PASS_THROUGH_OVER = 8 << 20


def _declared_over_caps(value: bytes) -> bool:
    return not value.isdigit() or len(value) > 12 or int(value) > PASS_THROUGH_OVER


class ServerApp:
    """The hub's app as both servers run it, so that they behave alike:

    - Body read timeout. A request that declares a body (Content-Length > 0 or
      Transfer-Encoding) has it read in full, within `body_timeout` seconds, before the app runs;
      a body that does not arrive in time is answered `408 Request Timeout` with
      `Connection: close`, and the app never sees the request. Neither server has a body timeout
      of its own (uvicorn waits forever; granian's `header_read_timeout` covers the head only).
      Requests without a body pass straight through. `abort()` (on the server's loop) ends every
      body read in progress the same way, so a stop does not wait for a client that dribbles.
      A client that goes away mid-body: the app still gets the request and the disconnect
      (the Graph mock audits it as 499), and what it raises about it is not logged.
    - The Graph mock directly. Graph requests (`/graph/v1.0/...`) go straight to the Graph route,
      without Starlette's error and exception middleware, router and mount in front: those cost
      ~7 us a request, as much as the mock's own work (docs/performance.md). Only when the app is
      a Starlette app without user middleware or exception handlers whose router sends Graph
      paths to a mount whose single route takes them all (the Graph mock's route answers every
      error itself, Graph-style); anything else keeps the full stack. See `_direct_route`.
    - An app that raises after it started its response has the connection cut mid-response
      (the mocks' `drop` faults rely on it): uvicorn does so by itself, granian holds back a
      response start until the first body chunk and would answer 500 instead, so an empty chunk
      goes out before the exception does. (After a complete response, e.g. Starlette's 500,
      that chunk is refused and nothing changes.)
    """

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app, self.body_timeout = app, body_timeout
        self.direct = _direct_route(app)
        self._reads: set[asyncio.Future[Message]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        app = self.app
        direct = self.direct
        if direct is not None and scope["path"].startswith(direct[0]) and \
                not scope.get("root_path"):
            scope["root_path"] = GRAPH_PREFIX  # as the mount sets it
            app = direct[1]
        try:
            for name, value in scope["headers"]:
                if name == b"content-length" and value != b"0" and _declared_over_caps(value):
                    break  # every provider refuses it by its declared length, unread
                if (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
                    return await self._with_body(app, scope, receive, send)
            await app(scope, receive, send)
        except Exception:
            with contextlib.suppress(Exception):  # refused after a complete response
                await send(_CUT)
            raise

    async def _with_body(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        loop = self._loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        chunks: list[bytes] = []
        queue: list[Message]
        gone = False
        while True:
            # A future of our own, so that abort() can end the wait from the loop.
            read = asyncio.ensure_future(receive())
            self._reads.add(read)
            try:
                await asyncio.wait((read,), timeout=max(0.0, deadline - loop.time()))
            finally:
                self._reads.discard(read)
            if not read.done() or read.cancelled():
                read.cancel()
                await send({"type": "http.response.start", "status": 408,
                            "headers": _TIMED_OUT})
                await send({"type": "http.response.body", "body": b"request body timed out\r\n"})
                return
            message = read.result()
            if message["type"] != "http.request":  # the client went away: the app hears it
                queue = [{"type": "http.request", "body": b"".join(chunks), "more_body": True},
                         message]
                gone = True
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                queue = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break
        queue.reverse()

        async def replay() -> Message:
            return queue.pop() if queue else await receive()

        if gone:
            # The Graph mock audits the request (499); what an app raises about it (Starlette's
            # ClientDisconnect) has nobody to answer and is not a server error to log.
            with contextlib.suppress(Exception):
                await app(scope, replay, send)
            return
        await app(scope, replay, send)

    def abort(self) -> None:
        """From any thread: end the body reads in progress (each is answered 408)."""
        loop = self._loop
        if loop is not None and self._reads:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        for read in list(self._reads):
            read.cancel()


def _direct_route(app: ASGIApp) -> tuple[str, ASGIApp] | None:
    """(path prefix, handler) of the Graph route when requests under the prefix may skip the
    Starlette stack in front of it, else None. Checked with Starlette's own matching: a Graph
    path must reach, as its first full match, a mount at GRAPH_PREFIX whose only route fully
    matches it with no path parameters (the Graph mock's route matches every HTTP request)."""
    from starlette.applications import Starlette
    from starlette.routing import Match, Mount

    if not isinstance(app, Starlette) or app.user_middleware or app.exception_handlers:
        return None
    for method in ("GET", "POST"):
        probe: Scope = {"type": "http", "method": method, "path": f"{GRAPH_PREFIX}/me/events",
                        "root_path": "", "headers": [], "query_string": b""}
        found = next(((route, child) for route in app.routes
                      for match, child in [route.matches(probe)] if match == Match.FULL), None)
        if found is None:
            return None
        mount, child = found
        if not isinstance(mount, Mount) or mount.path != GRAPH_PREFIX or len(mount.routes) != 1:
            return None
        match, grandchild = mount.routes[0].matches({**probe, **child})
        if match != Match.FULL or grandchild or child.get("root_path") != GRAPH_PREFIX:
            return None
    return f"{GRAPH_PREFIX}/", mount.routes[0].handle


# -- uvicorn ---------------------------------------------------------------------------------------
class _HeaderDeadline:
    """Mixin for uvicorn's HTTP protocol classes (httptools or h11): close a connection whose
    request head has not arrived `header_timeout` seconds after the connection was made or after
    the first bytes of a next request (uvicorn has no such timeout; its keep-alive timer covers
    only the idle time between requests). A request head that is late is answered 408."""

    header_timeout: float = HEADER_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    # attributes of uvicorn's protocol classes
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        if self._head_timer is None and (cycle is None or cycle.response_complete):
            self._arm_head_timer()  # the first bytes of the next request's head
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not cycle:  # a request head was parsed: its cycle started
            self._disarm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # no response under way
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
                                 b"connection: close\r\n\r\n")
        self.transport.close()


def _uvicorn_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return cast(type[asyncio.Protocol], type(
        "HubHTTPProtocol", (_HeaderDeadline, AutoHTTPProtocol), {"header_timeout": header_timeout}))


class _Uvicorn:
    def __init__(self, app: ServerApp, sock: socket.socket, cert: ServerCert | None,
                 log_level: str, header_timeout: float) -> None:
        self.app = app
        config = uvicorn.Config(
            app, log_level=log_level, lifespan="off", access_log=False,
            http=_uvicorn_protocol(header_timeout), timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
            # Idle TLS keep-alive clients would hold a graceful shutdown for up to 30 s
            # (asyncio waits for their close_notify); in-flight requests get 2 s.
            timeout_graceful_shutdown=int(STOP_GRACE),
            ssl_certfile=str(cert.cert_file) if cert else None,
            ssl_keyfile=str(cert.key_file) if cert else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       name="calharness-hub", daemon=True)

    def start(self, deadline: float) -> None:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise HubServerError("the mock hub did not start in time")
            time.sleep(0.01)

    def stop(self) -> None:
        self.app.abort()
        self.server.should_exit = True
        self.thread.join(timeout=10)


# -- granian ---------------------------------------------------------------------------------------
class _Granian:
    """granian's embedded server (one worker, HTTP/1.1) on its own event loop in a thread."""

    def __init__(self, app: ServerApp, sock: socket.socket, cert: ServerCert | None,
                 log_level: str, header_timeout: float) -> None:
        self.app, self.sock, self.cert = app, sock, cert
        self.address: tuple[str, int] = sock.getsockname()[:2]
        self.log_level, self.header_timeout = log_level, header_timeout
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="calharness-hub", daemon=True)

    def _new_server(self) -> Any:
        from granian.constants import HTTPModes, Interfaces, SSLProtocols, TaskImpl
        from granian.http import HTTP1Settings
        from granian.log import LogLevels
        from granian.server.embed import Server

        listener = self.sock

        class Embedded(Server):  # type: ignore[misc]
            def _init_shared_socket(self) -> None:
                # Serve HubServer's socket rather than bind again: granian takes its own
                # descriptor of it (and closes that at shutdown).
                fd = os.dup(listener.fileno())
                try:
                    from granian._granian import SocketHolder

                    self._shd = SocketHolder(fd, False, self.backlog)
                except (ImportError, TypeError):
                    # A granian that cannot adopt a socket: give it the port HubServer found
                    # free (a port-0 port is resolved already); a port taken in between is
                    # reported as in use by start().
                    os.close(fd)
                    listener.close()
                    super()._init_shared_socket()
                    return
                self._sfd = self._shd.get_fd()
                self._ssp = None

        level = self.log_level if self.log_level in LogLevels.__members__ else "warning"
        tls: dict[str, Any] = {}
        if self.cert is not None:
            tls = {"ssl_cert": self.cert.cert_file, "ssl_key": self.cert.key_file,
                   "ssl_protocol_min": SSLProtocols.tls12}  # as uvicorn (Python's ssl) accepts
        host, port = self.address
        return Embedded(
            self.app, address=host, port=port, interface=Interfaces.ASGINL,
            # asyncio tasks, not granian's Rust task implementation (Python < 3.12, a little
            # faster): its stand-in task object sits in asyncio's task registry, and in this
            # process any asyncio.all_tasks() (asyncio.run's clean-up, uvicorn's) then raises
            # "Future object is not initialized"; asyncio.current_task() is not a real task.
            runtime_threads=1, task_impl=TaskImpl.asyncio, http=HTTPModes.http1,
            websockets=False, backlog=2048,
            http1_settings=HTTP1Settings(header_read_timeout=int(self.header_timeout * 1000)),
            log_level=LogLevels(level),
            # granian calls logging.config.dictConfig at construction; incremental, it only sets
            # its own logger's level instead of replacing this process's logging handlers.
            log_dictconfig={"incremental": True, "formatters": {}, "handlers": {},
                            "loggers": {}},
            **tls,
        )

    def _run(self) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # uvloop comes with uvicorn[standard], except on Windows
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.server = self._new_server()
            self.loop = loop
            loop.run_until_complete(self.server.serve())
        except BaseException as exc:  # reported by start(); the thread must not print it
            self.error = exc
        finally:
            loop.close()

    def _probe(self) -> bool:
        """True once granian answers on the socket: a byte string that is neither HTTP nor TLS
        gets a 400 or a TLS alert from granian itself (the app never sees it) and a close."""
        host, port = self.address
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        try:
            with socket.create_connection((host, port), timeout=0.5) as probe:
                probe.sendall(b"\x00calharness-probe\r\n\r\n")
                probe.recv(1)
            return True
        except OSError:
            return False

    def start(self, deadline: float) -> None:
        self.thread.start()
        while not (self.loop is not None and self._probe()):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                error = self.error
                if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
                    host, port = self.address
                    raise HubServerError(f"port {port} on {host} is already in use")
                detail = f": {' '.join(str(error).split())}" if error else " in time"
                raise HubServerError(f"the mock hub did not start{detail}")
            time.sleep(0.01)

    def stop(self) -> None:
        loop = self.loop
        if loop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.server.stop)
        self.app.abort()  # body reads in progress end now (408); other requests finish
        # The listener closes at once; granian then drains its connections: idle ones close at
        # once, a half-sent request head lasts at most header_timeout. Past the grace the thread
        # is left to finish that by itself (daemon): stop() does not wait for slow clients.
        self.thread.join(timeout=STOP_GRACE + 1)


# -- the hub's server ------------------------------------------------------------------------------
class HubServer:
    """The hub on `host:port` (port 0 picks a free one), TLS with the local CA unless tls=False,
    on granian (default) or uvicorn. Timeouts: see the module docstring. Its URLs (and the TLS
    certificate) name `advertise_host`: by default the bound host, or for a wildcard bind the
    machine's name or primary address (mock_providers/advertise.py)."""

    def __init__(self, *, seed: int = 42, host: str = "127.0.0.1", port: int = 0,
                 tls: bool = True, state_dir: Path | None = None,
                 profile: WorldProfile | None = None, log_level: str = "warning",
                 server: ServerName = DEFAULT_SERVER, header_timeout: float = HEADER_TIMEOUT,
                 body_timeout: float = BODY_TIMEOUT, advertise_host: str | None = None) -> None:
        if server not in SERVERS:
            raise HubServerError(f"unknown server {server!r}; choose one of "
                                 f"{', '.join(SERVERS)}")
        if header_timeout <= 0 or body_timeout <= 0:
            raise HubServerError("header_timeout and body_timeout must be positive")
        self.seed, self.host, self.port, self.tls = seed, host, port, tls
        try:
            self.advertise_host = advertised_host(host, advertise_host)
        except AdvertiseError as exc:
            raise HubServerError(f"--advertise-host: {exc}") from None
        self.state_dir = state_dir or default_state_dir()
        self.profile = profile
        self.log_level = log_level
        self.server: ServerName = server
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        self.cert: ServerCert | None = None
        self.hub: Hub
        self._backend: _Uvicorn | _Granian | None = None
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
        if self.tls:  # the advertised name first (the subject), then the bound address
            names = [self.advertise_host, *([] if self.host in WILDCARDS else [self.host])]
            self.cert = issue_server_cert(self.state_dir, names)
        scheme = "https" if self.tls else "http"
        self.hub = Hub.seeded(self.seed, f"{scheme}://{url_host(self.advertise_host)}:{port}",
                              self.ca_bundle, self.profile,
                              ca_bundle_with_system=self.ca_bundle_with_system)
        app = ServerApp(cast(ASGIApp, create_app(self.hub)), self.body_timeout)
        backend = _Granian if self.server == "granian" else _Uvicorn
        self._backend = backend(app, self._sock, self.cert, self.log_level, self.header_timeout)
        try:
            self._backend.start(time.monotonic() + timeout)
        except HubServerError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._backend is not None:
            self._backend.stop()
        if self._sock is not None:
            self._sock.close()
        if self.cert is not None:
            for path in (self.cert.cert_file, self.cert.key_file):
                path.unlink(missing_ok=True)
        self._backend = self._sock = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
