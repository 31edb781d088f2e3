"""A set of hub shards as a load sees it: read from `calharness serve --shards N --json` (or a
plain `serve --json`, one shard), seeded with the load population, asked for their audit.

The description of a sharded hub is the first shard's description (every key a plain
`serve --json` has, so single-hub tools keep working against shard 0) plus `shards`: the list of
every shard's own description, in shard order. Shards may be on other machines: a description
is only URLs, the control token and the CA bundle's path (copy the CA file to the workers'
machines, or serve without TLS on a private network; docs/load.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.control_client import ControlClient, ControlError

SCHEMA = "calharness.hub/1"


class HubsError(ValueError):
    """A hub description that cannot be used; one line."""


def combined(descriptions: list[dict[str, Any]]) -> dict[str, Any]:
    """The description `serve --shards N --json` prints: shard 0's keys plus `shards`."""
    if not descriptions:
        raise HubsError("no shard")
    return {**descriptions[0], "shard_count": len(descriptions),
            "shards": [{**d, "shard": i} for i, d in enumerate(descriptions)]}


def shards_of(description: dict[str, Any]) -> list[dict[str, Any]]:
    """Every shard's description (one for a hub that is not sharded)."""
    if not isinstance(description, dict) or description.get("schema") != SCHEMA:
        raise HubsError(f"not a calharness hub description (schema {SCHEMA!r} expected)")
    shards = description.get("shards") or [description]
    for shard in shards:
        if not shard.get("control_token"):
            raise HubsError("the hub description has no control_token: use the JSON that "
                            "`calharness serve --json` printed (it includes the secrets)")
    return list(shards)


def read_description(path: Path) -> dict[str, Any]:
    """The first JSON object in the file (`serve --json > hubs.json` keeps writing logs after)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HubsError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        description, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        raise HubsError(f"{path} is not a hub description (JSON): {exc.msg}") from None
    shards_of(description)
    return dict(description)


def trimmed(shard: dict[str, Any]) -> dict[str, Any]:
    """A shard's description without its user lists: what `ReferenceConfig.from_hub` needs (the
    app registrations and endpoints), small enough to hand to every worker."""
    ms = dict(shard["microsoft"])
    ms["tenants"] = [{**t, "users": []} for t in ms["tenants"]]
    google = dict(shard.get("google") or {})
    google["users"] = []
    return {**shard, "microsoft": ms, "google": google, "shards": None}


@dataclass
class Shard:
    index: int
    description: dict[str, Any]

    @property
    def control_url(self) -> str:
        return str(self.description["control"])

    @property
    def ca_bundle(self) -> str | None:
        return self.description.get("ca_bundle")

    def control(self, timeout: float = 120.0) -> ControlClient:
        return ControlClient(self.control_url, self.ca_bundle,
                             str(self.description["control_token"]), timeout=timeout)


def shard_list(description: dict[str, Any]) -> list[Shard]:
    return [Shard(i, d) for i, d in enumerate(shards_of(description))]


STALE_HINT = ("is the hub description stale? Start the hub again "
              "(`calharness serve --json > hubs.json`) and use what it prints")


@contextmanager
def talking_to(shard: Shard, doing: str) -> Iterator[None]:
    """A shard that does not answer, or refuses, becomes one HubsError line (a stale hubs.json
    names a hub that has stopped, or a new hub on the same port with another control token)."""
    try:
        yield
    except ControlError as exc:
        if exc.code in ("invalidControlToken", "controlTokenRequired", "hostNotAllowed"):
            raise HubsError(f"hub shard {shard.index} at {shard.control_url} refused the "
                            f"description's credentials ({exc.code}): {STALE_HINT}") from None
        raise HubsError(f"hub shard {shard.index}: {doing}: {_one_line(exc)}") from None
    except (httpx.HTTPError, OSError) as exc:
        raise HubsError(f"hub shard {shard.index} at {shard.control_url} does not answer "
                        f"({type(exc).__name__}: {_one_line(exc)}): {STALE_HINT}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def load_info(shard: Shard) -> dict[str, Any] | None:
    """The shard's load manifest (None: no population yet); a short timeout: it only reads."""
    with talking_to(shard, "reading its load population"), shard.control(timeout=15) as control:
        return control.load_info()


def seed_population(description: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """Seed every shard with its part of the population (in parallel: one process each).
    Returns {seconds, shards: [manifest...]}; a shard seeded already keeps what it has. A shard
    that does not answer (a stale description) is a HubsError, found within seconds and before
    anything is seeded: every shard is first asked what it holds, with a short timeout."""
    shards = shard_list(description)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(shards)) as pool:
        found = list(pool.map(load_info, shards))  # every shard answers before any is seeded

    def one(shard: Shard) -> dict[str, Any]:
        info = found[shard.index]
        if info is not None:
            return {**info, "reused": True}
        with talking_to(shard, "seeding"), shard.control(timeout=3600) as control:
            return control.load_seed(**spec, shard=shard.index, shards=len(shards))

    with ThreadPoolExecutor(max_workers=len(shards)) as pool:
        manifests = list(pool.map(one, shards))
    return {"seconds": time.perf_counter() - started, "shards": manifests}


def claimed_count(description: dict[str, Any]) -> int | None:
    """Load mailboxes claimed so far over every shard (None: a shard holds no population).
    A shard claims in order and releases all at once, so its cursor is its count."""
    total = 0
    for shard in shard_list(description):
        info = load_info(shard)
        if info is None:
            return None
        total += int(info.get("claimed", 0))
    return total


def audit_summaries(description: dict[str, Any], since: list[int]) -> tuple[list[int], list[Any]]:
    """New audit summary rows of every shard since the given positions; (positions, rows with
    the shard index appended)."""
    positions, rows = [], []
    for shard, position in zip(shard_list(description), since, strict=True):
        with shard.control() as control:
            summary = control.audit_summary(position)
        positions.append(int(summary["last_seq"]))
        rows.extend([*row, shard.index] for row in summary["rows"])
    return positions, rows
