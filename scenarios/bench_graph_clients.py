"""Why the reference connector calls Graph through a thin httpx client: measured client cost.

Runs the same calendarView delta rounds (N events, pages of P) through msgraph-sdk and through
httpx + json against the Graph mock, which runs in its own process (`calharness serve`), so the
CPU time measured here is the client's alone. Prints wall time, client CPU time per event, and
the ratio. Loopback only; every loop is bounded by the number of pages a round can have.

    python scenarios/bench_graph_clients.py [--events 2000] [--page 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msal
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph_core import GraphClientFactory

from harness.net import pinned_session

MAX_PAGES = 10_000


class StaticToken:
    """azure.core AsyncTokenCredential handing out one token."""

    def __init__(self, token: str) -> None:
        self._token = AccessToken(token, int(time.time()) + 3600)

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._token

    async def close(self) -> None:
        return None


def start_hub(state_dir: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--json", "--seed", "7",
                             "--state-dir", state_dir], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    if not ready:
        proc.kill()
        raise SystemExit("the hub did not start")
    return proc, json.loads(proc.stdout.readline())  # type: ignore[union-attr]


def seed(info: dict[str, Any], events: int) -> tuple[str, str]:
    """Fill one mailbox with `events` meetings; return (upn, application token)."""
    ca = info["ca_bundle"]
    tenant = next(t for t in info["microsoft"]["tenants"] if t["key"] == "contoso")
    upn = next(u["upn"] for u in tenant["users"] if not u["is_admin"])
    app = next(a for a in tenant["apps"] if a["client_secret"])
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), timeout=30) as control:
        control.put(f"{info['control']}/microsoft/graph/limits",
                    json={"concurrency": None, "per_10_min": None}).raise_for_status()
        day0 = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
        for i in range(events):
            start = day0 + timedelta(days=i % 60, minutes=15 * (i // 60 % 36))
            control.post(f"{info['control']}/mailboxes/{upn}/events", json={
                "subject": f"Bench meeting {i}", "start": start.isoformat(),
                "end": (start + timedelta(minutes=15)).isoformat()}).raise_for_status()
    confidential = msal.ConfidentialClientApplication(
        app["client_id"], client_credential=app["client_secret"],
        authority=f"{info['microsoft']['authority_host']}/{tenant['id']}",
        http_client=pinned_session(ca), instance_discovery=False)
    result = confidential.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    return upn, str(result["access_token"])


def window() -> tuple[str, str]:
    now = datetime.now(UTC)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (now - timedelta(days=2)).strftime(fmt), (now + timedelta(days=70)).strftime(fmt)


def httpx_round(info: dict[str, Any], upn: str, token: str, page: int) -> tuple[int, int]:
    start, end = window()
    url = (f"{info['microsoft']['graph']}/users/{upn}/calendarView/delta"
           f"?startDateTime={start}&endDateTime={end}")
    headers = {"Authorization": f"Bearer {token}", "Prefer": f"odata.maxpagesize={page}"}
    items = pages = 0
    with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_bundle"])) as http:
        for _ in range(MAX_PAGES):
            body = http.get(url, headers=headers).json()
            pages += 1
            items += len(body.get("value", []))
            if "@odata.nextLink" not in body:
                return items, pages
            url = body["@odata.nextLink"]
    raise RuntimeError("the delta round did not end")


async def sdk_round(info: dict[str, Any], upn: str, token: str, page: int) -> tuple[int, int]:
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=info["ca_bundle"]))
    http = GraphClientFactory.create_with_default_middleware(client=http)
    auth = AzureIdentityAuthenticationProvider(StaticToken(token),  # type: ignore[arg-type]
                                               scopes=["https://graph.microsoft.com/.default"],
                                               allowed_hosts=["127.0.0.1"])
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = info["microsoft"]["graph"]
    client = GraphServiceClient(request_adapter=adapter)
    start, end = window()
    params = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
        start_date_time=start, end_date_time=end)
    config = RequestConfiguration(query_parameters=params)
    config.headers.add("Prefer", f"odata.maxpagesize={page}")
    builder = client.users.by_user_id(upn).calendar_view.delta
    result = await builder.get(request_configuration=config)
    items = 0
    for pages in range(1, MAX_PAGES + 1):
        items += len(result.value or []) if result else 0
        if result is None or not result.odata_next_link:
            await http.aclose()
            return items, pages
        result = await builder.with_url(result.odata_next_link).get()
    raise RuntimeError("the delta round did not end")


def measure(name: str, fn: Any, rounds: int) -> dict[str, float]:
    fn()  # warm-up: imports, connection pools, JIT-less caches
    walls, cpus, items, pages = [], [], 0, 0
    for _ in range(rounds):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        items, pages = fn()
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
    best_wall, best_cpu = min(walls), min(cpus)
    return {"name": name, "items": items, "pages": pages, "wall": best_wall, "cpu": best_cpu,
            "cpu_us_per_event": best_cpu / max(items, 1) * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        proc, info = start_hub(state)
        try:
            upn, token = seed(info, args.events)
            rows = [
                measure("httpx + json", lambda: httpx_round(info, upn, token, args.page),
                        args.rounds),
                measure("msgraph-sdk", lambda: asyncio.run(sdk_round(info, upn, token,
                                                                     args.page)), args.rounds),
            ]
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    print(f"calendarView delta round, {args.events} seeded events, pages of {args.page}, "
          f"best of {args.rounds} (Graph mock in its own process, TLS on)")
    print(f"{'client':<14} {'events':>7} {'pages':>6} {'wall s':>8} {'client CPU s':>13} "
          f"{'CPU us/event':>13}")
    for r in rows:
        print(f"{r['name']:<14} {r['items']:>7} {r['pages']:>6} {r['wall']:>8.3f} "
              f"{r['cpu']:>13.3f} {r['cpu_us_per_event']:>13.1f}")
    ratio = rows[1]["cpu"] / rows[0]["cpu"] if rows[0]["cpu"] else float("nan")
    print(f"msgraph-sdk / httpx client CPU: {ratio:.1f}x")


if __name__ == "__main__":
    main()
