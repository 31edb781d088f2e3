"""The load scenarios' parts that need no Locust: the population and its partition across
shards, claims and the convergence count at the provider, fault plans, knobs, the hub set, the
audit summary and the report. (Locust itself only runs as subprocesses: test_load_locust.py.)"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.load.hubs import HubsError, combined, read_description, shards_of, trimmed
from harness.load.integration import error_kind
from harness.load.options import OptionError, parse_mix, parse_steps, settle_seconds
from harness.load.plan import LoadPlan, PlanError, load_plan, parse_plan
from harness.load.report import collect, headline, read_audit, render, summary, write_report
from harness.load.run import LoadError, LoadSettings
from harness.sync import ReauthRequired, RoundIncomplete, RoundReport
from mock_providers.app import create_app
from mock_providers.hub import CONTROL_PREFIX, Hub
from mock_providers.world.bulk import (
    LINK_PREFIX,
    LoadSeed,
    event_values,
    kind_cycle,
    link_counts,
    seed_load,
)
from mock_providers.world.seed import build_world

BASE = "https://127.0.0.1:9"


# -- the population and its shards ----------------------------------------------------------------
def test_kind_cycle_keeps_the_mix_in_every_prefix() -> None:
    cycle = kind_cycle({"graph": 6, "ews": 2, "google": 2})
    assert len(cycle) == 10
    assert cycle.count("graph") == 6 and cycle.count("ews") == 2 and cycle.count("google") == 2
    assert cycle[:5].count("graph") == 3  # smooth: no run of one kind first
    assert kind_cycle({"graph": 0, "ews": 1, "google": 0}) == ("ews",)


def test_shards_partition_one_population_whatever_their_number() -> None:
    spec = {"mailboxes": 23, "events": 6, "linked_every": 3}
    whole = seed_load(build_world(7), LoadSeed(**spec))
    parts = [seed_load(build_world(7), LoadSeed(**spec, shard=i, shards=3)) for i in range(3)]
    by_index = {m.index: m for m in whole.mailboxes}
    seen: list[int] = []
    for shard, part in enumerate(parts):
        for mailbox in part.mailboxes:
            assert mailbox.index % 3 == shard
            same = by_index[mailbox.index]
            assert (mailbox.kind, mailbox.address, mailbox.password) == \
                (same.kind, same.address, same.password)
            seen.append(mailbox.index)
    assert sorted(seen) == list(range(23)), "every mailbox in exactly one shard"
    assert sum(p.events_seeded for p in parts) == whole.events_seeded == 23 * 6


def test_seeded_mailboxes_sign_in_and_hold_the_linked_events() -> None:
    world = build_world(7)
    population = seed_load(world, LoadSeed(mailboxes=4, events=5, linked_every=2, graph=1,
                                           ews=1, google=1))
    kinds = [m.kind for m in population.mailboxes]
    assert set(kinds) == {"graph", "ews", "google"}
    for mailbox in population.mailboxes:
        user = world.ms_user(mailbox.address) or world.google_user(mailbox.address)
        assert user is not None and user.password == mailbox.password
    first = population.mailboxes[0]
    events = sorted(world.ms_user(first.address).mailbox.default_calendar.events,  # type: ignore[union-attr]
                    key=lambda e: e.start)
    subject, description, start, end, meeting = event_values(
        0, 0, population.base, population.step_s, 2)
    assert events[0].subject == subject and events[0].start == start and meeting == "m0x0"
    assert events[0].location == LINK_PREFIX + "m0x0" and events[0].body.startswith(description)
    assert LINK_PREFIX not in events[1].location  # j = 1 is not tied to a meeting


def test_claims_are_unique_and_run_out() -> None:
    world = build_world(7)
    population = seed_load(world, LoadSeed(mailboxes=5, events=1, shard=1, shards=2))
    claimed = [population.claim() for _ in range(3)]
    assert [m.index for m in claimed if m] == [1, 3]
    assert claimed[2] is None
    counts = link_counts(world, population, "")
    assert set(counts) == {m.address for m in population.mailboxes}
    assert all(c == {f"m{m.index}x0": 1} for m, c in zip(population.mailboxes,
                                                            counts.values(), strict=True))


def test_seed_spec_is_validated() -> None:
    with pytest.raises(ValueError, match="shard 2 is not below shards 2"):
        LoadSeed(mailboxes=4, shard=2, shards=2)
    with pytest.raises(ValueError, match="at least one of the graph"):
        LoadSeed(mailboxes=4, graph=0, ews=0, google=0)
    with pytest.raises(ValueError, match="use more shards"):
        LoadSeed(mailboxes=200_000, events=100_000)


def test_control_api_seeds_claims_counts_and_summarises_the_audit() -> None:
    hub = Hub.seeded(11, BASE)
    # application/json on every request: the control API wants it on body-less writes too
    with TestClient(create_app(hub), base_url=BASE,
                    headers={"Authorization": f"Bearer {hub.control_token}",
                             "Content-Type": "application/json"}) as client:
        def call(method: str, path: str, **kw: Any) -> Any:
            return client.request(method, CONTROL_PREFIX + path, **kw)

        assert call("GET", "/load").json()["error"]["code"] == "loadNotSeeded"
        made = call("POST", "/load/seed", json={"mailboxes": 3, "events": 4})
        assert made.status_code == 201 and made.json()["here"] == 3
        assert call("POST", "/load/seed", json={"mailboxes": 3}).status_code == 409
        claim = call("POST", "/load/claim").json()
        assert {"index", "kind", "address", "password", "base", "step_s"} <= claim.keys()
        assert [m["address"] for m in call("GET", "/load/mailboxes",
                                           params={"claimed": "true"}).json()["mailboxes"]] \
            == [claim["address"]]
        links = call("GET", "/load/links", params={"address": claim["address"]}).json()
        assert links["mailboxes"] == {claim["address"]: {"m0x0": 1, "m0x2": 1}}
        call("POST", "/load/claim"), call("POST", "/load/claim")
        assert call("POST", "/load/claim").json()["error"]["code"] == "loadExhausted"
        summary_rows = call("GET", "/audit/summary").json()
        assert summary_rows["last_seq"] == hub.world.audit.last_seq
        assert call("GET", "/audit/summary", params={"since": "x"}).status_code == 400
        assert call("POST", "/reset", json={}).status_code == 200
        assert call("GET", "/load").status_code == 404  # a reset forgets the population


def test_audit_summary_counts_by_second_provider_status_and_outcome() -> None:
    world = build_world(1)
    for status, outcome in ((200, "ok"), (429, "TooManyRequests"), (429, "TooManyRequests")):
        world.audit.record(100.4, "graph", "GET", "/x", status, outcome=outcome)
    world.audit.record(101.0, "ews", "POST", "/EWS", 500, outcome="ErrorServerBusy")
    assert world.audit.summary() == [(100, "graph", 200, "ok", 1),
                                     (100, "graph", 429, "TooManyRequests", 2),
                                     (101, "ews", 500, "ErrorServerBusy", 1)]
    assert world.audit.summary(since=world.audit.last_seq - 1) == [
        (101, "ews", 500, "ErrorServerBusy", 1)]


# -- plans and knobs -------------------------------------------------------------------------------
def test_a_plan_file_is_validated_on_load(tmp_path: Path) -> None:
    good = tmp_path / "plan.yaml"
    good.write_text("faults:\n  - {kind: throttle, rate: 0.05, retry_after: 1, provider: graph}\n"
                    "  - {kind: status, status: 503, rate: 0.01}\n"
                    "  - {kind: latency, delay_ms: 50, rate: 0.1}\n"
                    "revocations: {per_minute: 3}\n")
    plan = load_plan(good)
    assert plan.throttling == "real" and len(plan.faults) == 3
    assert plan.faults[0].fault_spec() == {"kind": "throttle", "probability": 0.05,
                                           "times": None, "provider": "graph",
                                           "retry_after": 1}
    as_json = tmp_path / "plan.json"
    as_json.write_text(json.dumps({"throttling": "off"}))
    assert load_plan(as_json).throttling == "off"
    assert LoadPlan().describe() == "throttling real"


@pytest.mark.parametrize(("text", "fragment"), [
    ("faults: [{kind: throttle, rate: 2}]", "faults.0.rate: Input should be less than or equal"),
    ("faults: [{kind: latency, rate: 0.1}]", "a latency fault needs delay_ms > 0"),
    ("faults: [{kind: status, rate: 0.1}]", "a status fault needs a status"),
    ("faults: [{kind: explode, rate: 0.1}]", "faults.0.kind: Input should be"),
    ("faults: [{kind: drop, rate: 0.1, provider: nowhere}]", "faults.0.provider"),
    ("throttling: maybe", "throttling: Input should be 'real' or 'off'"),
    ("revocations: {per_minute: 0}", "revocations.per_minute"),
    ("surprise: 1", "surprise: Extra inputs are not permitted"),
    ("- just\n- a list", "the plan is a mapping"),
    ("faults: [unclosed", "is not valid YAML"),
])
def test_a_bad_plan_is_one_clear_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PlanError) as info:
        load_plan(path)
    message = str(info.value)
    assert fragment in message and "\n" not in message and str(path) in message, message


def test_a_missing_plan_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read plan"):
        load_plan(tmp_path / "none.yaml")
    assert parse_plan(None).faults == []


def test_knobs() -> None:
    assert parse_mix("graph=1") == {"graph": 1, "ews": 0, "google": 0}
    assert parse_steps("push.create=2")["push.create"] == 2
    for bad in ("graph", "teams=1", "graph=0", "graph=-1"):
        with pytest.raises(OptionError):
            parse_mix(bad)
    assert settle_seconds(10, None) == 4 and settle_seconds(400, None) == 30
    assert settle_seconds(60, 7) == 7


def test_step_errors_are_named_by_kind() -> None:
    report = RoundReport()
    assert error_kind(ReauthRequired("x")) == "reauth required"
    assert error_kind(RoundIncomplete(report, ["CreateEvent: Graph 429 TooManyRequests"])) \
        == "throttled (retries exhausted)"
    assert error_kind(RoundIncomplete(report, ["reading changes: Graph 503"])).startswith(
        "server error")
    assert error_kind(ValueError("x")) == "ValueError"


# -- the hub set -----------------------------------------------------------------------------------
def _description(n: int) -> dict[str, Any]:
    return {"schema": "calharness.hub/1", "control": f"https://h{n}/_control",
            "control_token": "t", "ca_bundle": None, "base_url": f"https://h{n}",
            "microsoft": {"tenants": [{"users": [{"upn": "a"}], "apps": []}]},
            "google": {"users": [{"email": "b"}], "clients": []}}


def test_hub_descriptions_of_one_or_many_shards(tmp_path: Path) -> None:
    many = combined([_description(0), _description(1)])
    assert many["base_url"] == "https://h0" and many["shard_count"] == 2
    assert [s["base_url"] for s in shards_of(many)] == ["https://h0", "https://h1"]
    assert shards_of(_description(5)) == [_description(5)]
    small = trimmed(_description(0))
    assert small["microsoft"]["tenants"][0]["users"] == [] and small["google"]["users"] == []
    path = tmp_path / "hubs.json"
    path.write_text(json.dumps(many) + "\nlog lines after the JSON\n")
    assert read_description(path)["shard_count"] == 2
    with pytest.raises(HubsError, match="no control_token"):
        shards_of({**_description(0), "control_token": None})
    path.write_text("{}")
    with pytest.raises(HubsError, match="not a calharness hub description"):
        read_description(path)


# -- the report ------------------------------------------------------------------------------------
STATS_HEADER = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time",
                "Average Response Time", "Min Response Time", "Max Response Time",
                "Average Content Size", "Requests/s", "Failures/s", "50%", "66%", "75%", "80%",
                "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
HISTORY_HEADER = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%",
                  "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
                  "Total Request Count", "Total Failure Count", "Total Median Response Time",
                  "Total Average Response Time", "Total Min Response Time",
                  "Total Max Response Time", "Total Average Content Size"]


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _stats(kind: str, name: str, count: int, fails: int, size: float, p50: int, p99: int
           ) -> list[Any]:
    return [kind, name, count, fails, p50, p50, 1, p99, size, count / 10, 0, p50, p50, p50, p50,
            p99, p99, p99, p99, p99, p99, p99]


def test_report_counts_steps_errors_providers_and_convergence(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _write(Path(f"{prefix}_stats.csv"), STATS_HEADER, [
        _stats("graph", "sync.incremental", 100, 2, 3, 10, 90),
        _stats("ews", "sync.incremental", 50, 0, 3, 20, 150),
        _stats("graph", "push.create", 40, 1, 1, 15, 120),
        _stats("graph", "verify.converged", 8, 1, 30.5, 5, 9),
        _stats("ews", "verify.converged", 2, 0, 10, 5, 9),
        ["", "Aggregated", *[0] * 20]])
    _write(Path(f"{prefix}_stats_history.csv"), HISTORY_HEADER, [
        [1000 + t, 5, kind, name, 1, 0, 10, 10, 10, 10, 10, 10, 10, 40, 40, 40, 40, 10 * t, 0,
         10, 10, 1, 40, 1] for t in range(6) for kind, name in (("graph", "sync.incremental"),
                                                               ("ews", "push.create"))
    ] + [[1000 + t, 5, "", "Aggregated", *[0] * 20] for t in range(6)])
    _write(Path(f"{prefix}_failures.csv"), ["Method", "Name", "Error", "Occurrences"], [
        ["graph", "sync.incremental", "StepFailed('throttled (retries exhausted)')", 2],
        ["graph", "push.create", "StepFailed('reauth required')", 1],
        ["graph", "verify.converged", "StepFailed('not converged: lost 2, duplicated 1')", 1]])
    audit = [[5000, "graph", 200, "ok", 90, 0], [5000, "graph", 429, "TooManyRequests", 7, 0],
             [5001, "ews", 500, "ErrorServerBusy", 3, 1], [5001, "ews", 503, "x", 2, 1]]
    results = collect(prefix, audit)
    data = summary(results, {"users": 10})
    assert data["rounds"] == 190
    assert data["steps"]["sync.incremental"]["count"] == 150
    assert data["steps"]["sync.incremental"]["p99_ms"] == 150  # the worst kind
    assert data["errors_by_kind"]["throttled (retries exhausted)"] == 2
    assert data["errors_by_kind"]["not converged: lost n, duplicated n"] == 1
    assert data["provider_side"]["graph"] == {"requests": 97, "throttled": 7,
                                              "server errors": 0, "client errors": 0}
    assert data["provider_side"]["ews"]["throttled"] == 3  # ErrorServerBusy
    assert data["provider_side"]["ews"]["server errors"] == 2
    conv = data["convergence"]
    assert conv == {"converged": False, "integrations": 10, "started": 0, "unchecked": 0,
                    "meetings": 264, "failed_checks": 1, "lost": 2, "duplicated": 1, "stale": 0}
    page = render(results, {"users": 10})
    for chart in ("throughput", "latency", "users", "providers", "errors"):
        assert f'id="chart-{chart}"' in page
    assert "Plotly.newPlot" in page and "NOT converged" in page
    assert "https://cdn" not in page.split("<script>", 1)[0]  # the JavaScript is inlined
    assert len(page) > 1_000_000
    write_report(tmp_path, prefix, audit, {"users": 10})
    assert read_audit(tmp_path / "audit_summary.csv") == audit


def _checked_run(prefix: Path, connected: int, checked: int, rounds: int) -> None:
    """Locust's CSVs of a run whose checks all passed: `connected` integrations connected,
    `checked` of them were checked, `rounds` incremental rounds ran."""
    _write(Path(f"{prefix}_stats.csv"), STATS_HEADER, [
        _stats("graph", "connect", connected + 1, 1, 1, 50, 90),  # one failure, retried
        _stats("graph", "sync.incremental", rounds, 0, 3, 10, 90),
        _stats("graph", "verify.converged", checked, 0, 4, 5, 9)])


def test_every_integration_that_ran_must_have_been_checked(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _checked_run(prefix, connected=5, checked=4, rounds=40)
    short = summary(collect(prefix), {"users": 5})["convergence"]  # counted from `connect`
    assert short["started"] == 5 and short["unchecked"] == 1 and not short["converged"], short
    claimed = collect(prefix, started=6)  # the hub's claims win over Locust's connections
    assert claimed.convergence.unchecked == 2 and not claimed.convergence.converged
    page = render(claimed, {"users": 6})
    assert "NOT converged" in page and "2 of the 6 integrations that ran were not checked" in page
    whole = collect(prefix, started=4)
    assert whole.convergence.converged and whole.convergence.unchecked == 0
    data = write_report(tmp_path, prefix, [], {"users": 6, "integrations_started": 6})[1]
    assert data["convergence"]["unchecked"] == 2 and not data["convergence"]["converged"]


def test_the_headline_gives_a_rate_only_over_enough_rounds(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    _checked_run(prefix, connected=2, checked=2, rounds=3)
    few = headline(summary(collect(prefix), {"run_time": 5}))
    assert few == "3 sync rounds by 2 integrations over 5 s (too few rounds for a rate)", few
    _checked_run(prefix, connected=2, checked=2, rounds=400)
    many = headline(summary(collect(prefix), {"run_time": 60}))
    assert many.startswith("400 sync rounds by 2 integrations over 60 s, ") and \
        many.endswith(" rounds/s on average"), many


def _bench_load() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_load", Path(__file__).resolve().parent.parent / "scenarios" / "bench_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_load", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_bench_load_gives_every_size_the_time_to_connect(tmp_path: Path) -> None:
    bench = _bench_load()
    big = bench.schedule(10_000, steady=60, spawn_rate=100, connect_rate=20)
    assert big.spawn_rate == 20 and big.ramp >= 10_000 / 20  # spawned no faster than connects
    assert big.run_time >= big.ramp + big.steady + big.settle and big.settle >= 100
    assert bench.schedule(100, steady=60, spawn_rate=100, connect_rate=20).run_time < 120
    history = tmp_path / "history.csv"  # 10 connect in the first 10 s, then rounds at 5/s
    _write(history, HISTORY_HEADER, [
        [1000 + t, 10, "graph", name, 0, 0, *[1] * 11, total, 0, 1, 1, 1, 1, 1]
        for t in range(40) for name, total in (("sync.initial", min(10, t)),
                                               ("sync.incremental", 20 * t if t < 10
                                                else 200 + 5 * (t - 10)))])
    at, connected = bench.connected_by(history, 0.95)
    assert (at, connected) == (1010, 10)
    assert bench.best_window_rate(history, ("sync.incremental",)) == 210 / 12  # the ramp
    assert bench.best_window_rate(history, ("sync.incremental",), after=at) == 5


def test_an_empty_run_still_renders(tmp_path: Path) -> None:
    results = collect(tmp_path / "nothing", [])
    assert summary(results, {})["convergence"]["converged"] is False
    assert "not checked" in render(results, {})


# -- the command line ------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_load_help_and_a_bad_plan_before_anything_starts(tmp_path: Path) -> None:
    shown = _cli("load", "--help")
    assert shown.returncode == 0
    for option in ("--users", "--run-time", "--workers", "--shards", "--plan", "--target"):
        assert option in shown.stdout
    plan = tmp_path / "plan.yaml"
    plan.write_text("faults: [{kind: throttle, rate: 7}]")
    bad = _cli("load", "--plan", str(plan), "--out", str(tmp_path / "out"))
    assert bad.returncode == 2, bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("calharness: error: ") and \
        "faults.0.rate" in lines[0], bad.stderr
    with pytest.raises(LoadError, match="--users must be"):
        LoadSettings(users=0).check()
    with pytest.raises(LoadError, match="--settle must leave time"):
        LoadSettings(run_time=10, settle=8).check()


def test_serve_shards_describes_every_shard_and_stops_them_all(tmp_path: Path) -> None:
    import signal

    import httpx

    from harness.net import httpx_verify

    proc = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--shards", "2", "--json",
                             "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        description = json.loads(proc.stdout.readline())
        shards = shards_of(description)
        assert description["shard_count"] == 2 and [s["shard"] for s in shards] == [0, 1]
        assert description["base_url"] == shards[0]["base_url"] != shards[1]["base_url"]
        assert shards[0]["control_token"] != shards[1]["control_token"]
        for shard in shards:
            health = httpx.get(f"{shard['control']}/health",
                               verify=httpx_verify(shard["ca_bundle"]), timeout=10)
            assert health.json()["seed"] == 42
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    for shard in shards:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{shard['control']}/health", verify=httpx_verify(shard["ca_bundle"]),
                      timeout=3)


def test_the_load_package_imports_neither_locust_nor_gevent() -> None:
    code = ("import sys, pkgutil, importlib, harness.load\n"
            "for m in pkgutil.iter_modules(harness.load.__path__):\n"
            "    importlib.import_module('harness.load.' + m.name)\n"
            "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('locust', 'gevent'))\n"
            "print(bad)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


class _FakeControl:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def clear_faults(self) -> None:
        self.calls.append(("clear",))

    def set_graph_limits(self, concurrency: Any, per_10_min: Any) -> None:
        self.calls.append(("limits", concurrency, per_10_min))

    def _call(self, method: str, path: str, **kw: Any) -> None:
        self.calls.append((method, path))

    def add_fault(self, **spec: Any) -> None:
        self.calls.append(("fault", spec["kind"], spec["probability"]))


def test_a_plan_goes_to_every_shard_with_the_real_limits_unless_lifted() -> None:
    from harness.load.plan import clear, install

    shards = [_FakeControl(), _FakeControl()]
    install(parse_plan({"faults": [{"kind": "drop", "rate": 0.5}]}), shards)
    for control in shards:
        assert control.calls == [("clear",), ("DELETE", "/microsoft/graph/limits"),
                                 ("fault", "drop", 0.5)]
    lifted = _FakeControl()
    install(parse_plan({"throttling": "off"}), [lifted])
    assert lifted.calls == [("clear",), ("limits", None, None)]
    clear([lifted])
    assert lifted.calls[-1] == ("clear",)
