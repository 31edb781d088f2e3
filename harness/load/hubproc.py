"""The mock hub in child processes: one per shard, each with a core of its own.

A child runs `HubServer` (TLS with the local CA unless told otherwise) and answers commands over a
pipe: `("call", fn, *args)` runs `fn(hub, *args)` in the hub's process and sends back the result
(a benchmark seeds or edits the world there directly: fast, not through the API), `("stop",)`
ends it. A child stops by itself when `life` runs out or when its parent goes away (the pipe
closes), so no hub outlives the run that started it.

Shards: `start_shards(n)` starts n children from one seed. Each serves the same base world (the
seed's tenants, users and apps); the load population (`mock_providers.world.bulk`) is partitioned
across them by mailbox index when it is seeded (`harness.load.hubs.seed_population`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 60.0


def _hub_child(conn: Connection, seed: int, state_dir: str | None, life: float | None,
               options: dict[str, Any]) -> None:
    from mock_providers.describe import describe
    from mock_providers.server import HubServer, HubServerError

    try:
        server = HubServer(seed=seed, state_dir=Path(state_dir) if state_dir else None,
                           **options).start()
    except HubServerError as exc:
        conn.send({"error": str(exc)})
        return
    try:
        hub = server.hub
        conn.send({**describe(hub, secrets=True), "server": server.server})
        deadline = None if life is None else time.monotonic() + life
        while deadline is None or time.monotonic() < deadline:  # bounded: stops by itself
            try:
                if not conn.poll(1.0):
                    continue
                command, *args = conn.recv()
            except (EOFError, OSError):  # the parent went away
                break
            if command == "stop":
                break
            if command == "call":
                fn, *rest = args
                try:
                    conn.send(("ok", fn(hub, *rest)))
                except Exception as exc:  # reported to the caller, the hub keeps serving
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        server.stop()


@dataclass
class HubProcess:
    """A hub in a child process: its description (as `calharness serve --json` prints it)."""

    conn: Connection
    process: Any
    description: dict[str, Any]
    _lock: Any = field(default=None, repr=False)

    @property
    def control_url(self) -> str:
        return str(self.description["control"])

    @property
    def ca_bundle(self) -> str | None:
        return self.description.get("ca_bundle")

    @property
    def control_token(self) -> str:
        return str(self.description["control_token"])

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 600) -> Any:
        """`fn(hub, *args)` in the hub's process (fn must be importable there: a module-level
        function)."""
        self.conn.send(("call", fn, *args))
        if not self.conn.poll(timeout):
            raise RuntimeError(f"the hub did not answer {getattr(fn, '__name__', fn)!r}")
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"in the hub: {value}")
        return value

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError, BrokenPipeError):
            self.conn.send(("stop",))
        self.process.join(15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)


def spawn_hub(seed: int, *, state_dir: str | None = None, life: float | None = 3600.0,
              **options: Any) -> HubProcess:
    """Start a hub child; `options` are HubServer's (host, port, tls, server, log_level)."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_hub_child, args=(child, seed, state_dir, life, options), daemon=True,
        name="calharness-hub-shard")
    process.start()
    child.close()
    try:
        if not parent.poll(START_TIMEOUT_S):
            raise RuntimeError(f"the hub did not start within {START_TIMEOUT_S:.0f} s")
        info = parent.recv()
    except BaseException:
        process.terminate()
        raise
    if "error" in info:
        process.join(5)
        raise RuntimeError(info["error"])
    return HubProcess(parent, process, info)


def start_shards(count: int, seed: int, *, state_dir: str | None = None,
                 life: float | None = 3600.0, port: int = 0, **options: Any
                 ) -> list[HubProcess]:
    """`count` hub children from one seed; with a port, shard i listens on port + i."""
    shards: list[HubProcess] = []
    try:
        for index in range(count):
            shards.append(spawn_hub(seed, state_dir=state_dir, life=life,
                                    port=port + index if port else 0, **options))
    except BaseException:
        for shard in shards:
            shard.stop()
        raise
    return shards


@contextmanager
def hub_process(seed: int, life: float = 3600.0, **options: Any) -> Iterator[HubProcess]:
    """One hub child with a private state folder (its CA), stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="calharness-bench-hub-") as state_dir:
        hub = spawn_hub(seed, state_dir=state_dir, life=life, **{"tls": True, **options})
        try:
            yield hub
        finally:
            hub.stop()
