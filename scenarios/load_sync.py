"""Locust load scenario: simulated integrations running the sync core (harness.sync) against the
mock providers. One Locust user = one integration of one mailbox (Graph, EWS or Google by the
seeded mix); every step is a Locust request event named after the step (`connect`,
`sync.initial`, `sync.incremental`, `push.create`, `push.update`, `push.delete`,
`connect.reauth`, `sync.settle`, `verify.converged`), typed by the integration's kind.

    locust -f scenarios/load_sync.py                               # web UI; starts its own hub
    locust -f scenarios/load_sync.py --headless -u 50 -r 10 -t 60s --csv out/load \
        --html out/load.html
    calharness serve --shards 2 --json > hubs.json &               # or: a (sharded) hub of yours
    locust -f scenarios/load_sync.py --hubs hubs.json --mailboxes 1000 --events 1000 ...
    locust -f scenarios/load_sync.py --master --expect-workers 2 --headless -u 100 -t 60s
    locust -f scenarios/load_sync.py --worker                      # x2 (elsewhere: --master-host)
    locust -f scenarios/load_sync.py --target http://127.0.0.1:8111 ...  # a vendor's build

Its own options (--hubs, --shards, --mailboxes, --events, --linked-every, --mix, --steps,
--pace, --settle, --plan, --target, --load-seed, --bare) are not in `locust -f
scenarios/load_sync.py --help`: Locust prints its help before it loads the locustfile. See them
with `python scenarios/load_sync.py --help` (this file run as a script), in the web UI's start
form (under "Custom parameters"), or in docs/load.md; `calharness load --help` lists the same
knobs for the one-command runner.

This file is a thin layer: the integration, the seeding, the plan and the checks are in
harness/load/ (no Locust there). See docs/load.md.
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import User, events, task
from locust.exception import StopUser
from locust.runners import WorkerRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.load import locust_support as support

log = logging.getLogger("calharness.load")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    support.add_options(parser)


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    support.prepare_master(environment.parsed_options, log.info)


@events.test_start.add_listener
def _test_start(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    support.start_run(options, log.info)
    finish_in = support.seconds_to_finish(options)
    if finish_in is not None:
        gevent.spawn_later(max(0.0, finish_in - 0.5), support.end_faults, options, log.info)
    if support.revoker_of(options) is not None:
        gevent.spawn(_revocations, options)


def _revocations(options: Any) -> None:
    revoker = support.revoker_of(options)
    while revoker is not None and not support.faults_over(options):
        try:
            revoker.tick(time.time())
        except Exception as exc:  # a revocation that failed is not the run's failure
            log.warning("revocation failed: %s", exc)
        gevent.sleep(1.0)


@events.test_stopping.add_listener
def _stopping(environment: Any, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        support.end_faults(environment.parsed_options, log.info)


@events.quitting.add_listener
def _quitting(environment: Any, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        support.report_provider_side(environment.parsed_options, log.info)
        support.stop_hub()


_counter = itertools.count()


class SyncIntegration(User):
    """One integration of one mailbox, at the pace of --pace seconds between steps."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        runner = self.environment.runner
        first = (getattr(runner, "worker_index", 0) or 0) + next(_counter)
        self.finished = False
        self.paced = support.Pacer(options.pace)
        self.integration = support.new_integration(options, first, self._fire)
        if self.integration is None:
            self._fire("load", "connect", 0.0, 0, support.StepFailed("no load mailbox left"))
            self.finished = True
            raise StopUser()
        if self.integration.connect():
            self.integration.initial()
        # else: the next step connects again (then runs the initial sync)

    def _fire(self, kind: str, name: str, ms: float, size: int, error: Exception | None) -> None:
        self.environment.events.request.fire(request_type=kind, name=name, response_time=ms,
                                             response_length=size, exception=error,
                                             context={})

    @task
    def step(self) -> None:
        options = self.environment.parsed_options
        if self.finished:
            gevent.sleep(1.0)
            return
        if support.time_to_finish(options):
            self._finish(support.settle_deadline(options))
            return
        if not options.bare:  # the ceiling runs flat out
            self.paced.wait(support.time_left_before_finish(options))
        if not support.time_to_finish(options):
            self.integration.step()

    def _finish(self, deadline: float) -> None:
        if self.finished or self.integration is None:
            return
        self.finished = True
        self.integration.settle(deadline)
        self.integration.verify()

    def on_stop(self) -> None:
        # Stopped before the deadline (web UI, Ctrl+C, a run without --run-time): settle and
        # check now, within --settle seconds.
        integration = getattr(self, "integration", None)
        if integration is None:
            return
        try:
            if not self.finished:
                self._finish(time.monotonic() + support.settle_budget(
                    self.environment.parsed_options))
        finally:
            integration.close()


def _print_options() -> None:
    """`python scenarios/load_sync.py --help`: this locustfile's own options, which Locust's
    --help cannot show (it prints before loading the locustfile)."""
    from locust.argument_parser import LocustArgumentParser

    parser = LocustArgumentParser(
        prog="locust -f scenarios/load_sync.py", add_help=False,
        description="The options this locustfile adds to Locust's own (`locust --help`); "
                    "docs/load.md.")
    support.add_options(parser)
    parser.print_help()


if __name__ == "__main__":
    _print_options()
