"""`calharness serve --shards N`: N hub processes from one seed, described as one JSON object.

Each shard is a `HubServer` in a child process of its own (a core each: the world is state in a
process, so one hub cannot use more than one core); the load population is partitioned across
them when it is seeded (mailbox i in shard i mod N). The JSON is shard 0's description plus
`shard_count` and `shards` (every shard's description), see `harness.load.hubs`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.load.hubproc import HubProcess, start_shards
from harness.load.hubs import HubsError, combined


def run_shards(count: int, *, seed: int, host: str, port: int, tls: bool,
               state_dir: Path | None, server: str | None,
               show: Callable[[dict[str, Any]], None], advertise_host: str | None = None
               ) -> None:
    """Serve `count` shards until SIGINT/SIGTERM; `show` gets the combined description."""
    from mock_providers.advertise import AdvertiseError, advertised_host

    try:  # checked here, once, rather than failing in every child
        advertised = advertised_host(host, advertise_host)
    except AdvertiseError as exc:
        raise RuntimeError(f"--advertise-host: {exc}") from None
    options: dict[str, Any] = {"host": host, "tls": tls, "advertise_host": advertised}
    if server:
        options["server"] = server
    shards = start_shards(count, seed, state_dir=str(state_dir) if state_dir else None,
                          life=None, port=port, **options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        show(combined([s.description for s in shards]))
        while not stop.wait(1.0):
            if not all(s.process.is_alive() for s in shards):
                print("calharness: a hub shard stopped; stopping the others", file=sys.stderr)
                break
    finally:
        for shard in shards:
            shard.stop()


def _die_with_parent() -> None:
    """Linux: the hub gets SIGTERM when the process that started it dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ServedHubs:
    """`calharness serve --shards N --json` in a subprocess, for a process that must not host a
    hub itself (a gevent-patched Locust master): its description, and stop()."""

    def __init__(self, count: int, seed: int, *, tls: bool = True,
                 state_dir: str | None = None, timeout: float = 120.0) -> None:
        command = [sys.executable, "-m", "harness", "serve", "--json", "--shards", str(count),
                   "--seed", str(seed)]
        if not tls:
            command.append("--no-tls")
        if state_dir:
            command += ["--state-dir", state_dir]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                        preexec_fn=_die_with_parent)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout)
            raise HubsError(f"calharness serve --shards {count} did not start "
                            f"(exit {self.process.returncode})")
        self.description: dict[str, Any] = json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


__all__ = ["HubProcess", "ServedHubs", "run_shards"]
