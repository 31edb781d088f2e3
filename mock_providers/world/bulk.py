"""The load population: many mailboxes, each with many events, put straight into the world from
one seed (fast: no faker, no API), partitioned across hub shards by mailbox index.

Everything about mailbox `i` is a function of (seed, i) alone, never of the shard count: the
same seed gives the same mailbox, address, password and events whichever shard holds it, so a
world split over N hub processes (`calharness serve --shards N`) is the same world as one hub
holding it all. Mailbox `i` lives in shard `i % shards`.

- Kinds: mailbox `i` is a Graph, EWS or Google mailbox by a smooth weighted round-robin over the
  weights (6/2/2 gives G G E G O G G E G O …), so any prefix of the population has the mix.
  Graph and EWS mailboxes are users of the `contoso` tenant, Google mailboxes users of the
  Workspace domain.
- Events: `events` per mailbox over `span_days` from two hours after the seeding time, every
  `linked_every`-th one carrying the join link of platform meeting `m<i>x<j>` the way the
  connectors write it (in the location and as the body's last line, `Join the meeting: <link>`,
  the convention harness/reference/connectors/common.py documents); `event_values` gives the
  values, so the platform side of a load can hold the same meetings without asking the hub.
- Claims: each simulated integration claims one mailbox (`claim`), so that however many load
  workers there are, no two integrations share a mailbox.
"""

from __future__ import annotations

import gc
import hashlib
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mock_providers.world.collection import Collection
from mock_providers.world.model import (
    Attendee,
    Calendar,
    ContactFolder,
    Event,
    GoogleUser,
    Mailbox,
    MsUser,
)
from mock_providers.world.seed import change_key
from mock_providers.world.world import World

KINDS = ("graph", "ews", "google")
LINK_PREFIX = "https://meet.calharness.test/j/"
JOIN_PREFIX = "Join the meeting: "
LINK_RE = re.compile(r"https://meet\.calharness\.test/j/([A-Za-z0-9_-]{1,64})")
MAX_MAILBOXES = 200_000
MAX_EVENTS = 100_000
MAX_TOTAL_EVENTS = 5_000_000  # per shard: an event takes ~1.6 KB of the hub's memory (8 GB)


class LoadSeed(BaseModel):
    """What `POST /_control/load/seed` takes. The population is the same for every shard count."""

    model_config = ConfigDict(extra="forbid")

    mailboxes: int = Field(ge=1, le=MAX_MAILBOXES, description="population size, all shards")
    events: int = Field(100, ge=0, le=MAX_EVENTS, description="events per mailbox")
    linked_every: int = Field(2, ge=0, le=MAX_EVENTS,
                              description="every n-th event is tied to a platform meeting; "
                                          "0: none")
    span_days: int = Field(60, ge=1, le=365)
    graph: int = Field(6, ge=0, le=1000, description="weight of Graph mailboxes")
    ews: int = Field(2, ge=0, le=1000, description="weight of EWS mailboxes")
    google: int = Field(2, ge=0, le=1000, description="weight of Google mailboxes")
    shard: int = Field(0, ge=0, le=1023)
    shards: int = Field(1, ge=1, le=1024)

    @model_validator(mode="after")
    def _consistent(self) -> LoadSeed:
        if self.graph + self.ews + self.google == 0:
            raise ValueError("at least one of the graph, ews and google weights must be > 0")
        if self.shard >= self.shards:
            raise ValueError(f"shard {self.shard} is not below shards {self.shards}")
        here = len(range(self.shard, self.mailboxes, self.shards))
        if here * self.events > MAX_TOTAL_EVENTS:
            raise ValueError(f"{here} mailboxes x {self.events} events in one shard is over "
                             f"{MAX_TOTAL_EVENTS:,}: use more shards or fewer events")
        return self

    def weights(self) -> dict[str, int]:
        return {"graph": self.graph, "ews": self.ews, "google": self.google}


def kind_cycle(weights: dict[str, int]) -> tuple[str, ...]:
    """One period of the smooth weighted round-robin over the kinds (nginx's algorithm)."""
    total = sum(weights.values())
    current = dict.fromkeys(KINDS, 0)
    cycle = []
    for _ in range(total):
        for kind in KINDS:
            current[kind] += weights.get(kind, 0)
        chosen = max(KINDS, key=lambda k: (current[k], -KINDS.index(k)))
        current[chosen] -= total
        cycle.append(chosen)
    return tuple(cycle)


def kind_of(index: int, weights: dict[str, int]) -> str:
    cycle = kind_cycle(weights)
    return cycle[index % len(cycle)]


def _digest(seed: int, *parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()


def password_of(seed: int, index: int) -> str:
    return f"Load-{_digest(seed, 'password', index).hex()[:12]}-9x"


def local_part(index: int, kind: str) -> str:
    return f"load-{kind}-{index:06d}"


def meeting_id(index: int, j: int) -> str:
    return f"m{index}x{j}"


def compose_body(description: str, link: str) -> str:
    line = JOIN_PREFIX + link
    return f"{description}\n\n{line}" if description else line


def event_values(index: int, j: int, base: datetime, step_s: int, linked_every: int
                 ) -> tuple[str, str, datetime, datetime, str | None]:
    """(subject, description, start, end, meeting id or None) of event `j` of mailbox `index`."""
    start = base + timedelta(seconds=step_s * j + (index % 7) * 300)
    subject = f"Load meeting {index}-{j}"
    description = f"Agenda for {index}-{j}: status, risks, next steps."
    linked = meeting_id(index, j) if linked_every and j % linked_every == 0 else None
    return subject, description, start, start + timedelta(minutes=30), linked


@dataclass
class LoadMailbox:
    index: int
    kind: str
    address: str
    password: str
    claimed: bool = False

    def view(self, secrets: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "kind": self.kind, "address": self.address}
        if secrets:
            out["password"] = self.password
        return out


@dataclass
class LoadPopulation:
    """What a shard holds of the load population, and which of its mailboxes are claimed."""

    spec: LoadSeed
    base: datetime
    step_s: int
    mailboxes: list[LoadMailbox] = field(default_factory=list)
    by_address: dict[str, LoadMailbox] = field(default_factory=dict)
    seconds: float = 0.0
    events_seeded: int = 0
    _next_claim: int = 0

    def manifest(self) -> dict[str, Any]:
        spec = self.spec
        return {"mailboxes": spec.mailboxes, "events": spec.events,
                "linked_every": spec.linked_every, "span_days": spec.span_days,
                "weights": spec.weights(), "shard": spec.shard, "shards": spec.shards,
                "base": self.base.isoformat(), "step_s": self.step_s,
                "here": len(self.mailboxes), "events_seeded": self.events_seeded,
                "claimed": self._next_claim, "seconds": round(self.seconds, 3)}

    def claim(self) -> LoadMailbox | None:
        """The next unclaimed mailbox of this shard, or None when all are taken."""
        while self._next_claim < len(self.mailboxes):
            mailbox = self.mailboxes[self._next_claim]
            self._next_claim += 1
            if not mailbox.claimed:
                mailbox.claimed = True
                return mailbox
        return None

    def release_all(self) -> None:
        for mailbox in self.mailboxes:
            mailbox.claimed = False
        self._next_claim = 0


def _contoso(world: World) -> Any:
    tenant = next((t for t in world.ms_tenants.values() if t.key == "contoso"), None)
    if tenant is None:
        raise ValueError("the world has no contoso tenant to hold Microsoft load mailboxes")
    return tenant


def seed_load(world: World, spec: LoadSeed, clock_now: datetime | None = None
              ) -> LoadPopulation:
    """Put shard `spec.shard`'s part of the population into `world` (replacing an earlier one
    would leave stale users behind: the control API refuses a second seeding until a reset).

    The cyclic garbage collector is off while seeding and the seeded objects are frozen after
    (`gc.freeze`): a million events would otherwise make every full collection walk them all,
    during seeding (half its time) and under load (a stall per collection)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _seed_load(world, spec, clock_now)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _seed_load(world: World, spec: LoadSeed, clock_now: datetime | None) -> LoadPopulation:
    started = time.perf_counter()
    now = (clock_now or world.now()).replace(microsecond=0)
    base = now.replace(minute=0, second=0) + timedelta(hours=2)
    step_s = max(60, int(spec.span_days * 86400 / max(spec.events, 1)))
    population = LoadPopulation(spec, base, step_s)
    weights = spec.weights()
    cycle = kind_cycle(weights)
    tenant = _contoso(world)
    ms_domain = tenant.domains[-1]
    gdomain = next(iter(world.google_domains.values()), None)
    if gdomain is None and spec.google:
        raise ValueError("the world has no Google domain to hold Google load mailboxes")
    for index in range(spec.shard, spec.mailboxes, spec.shards):
        kind = cycle[index % len(cycle)]
        rng = random.Random(_digest(world.seed, "mailbox", index))
        domain = gdomain.domain if kind == "google" and gdomain else ms_domain
        address = f"{local_part(index, kind)}@{domain}".lower()
        password = password_of(world.seed, index)
        events: Collection[Event] = Collection(world.seq)
        _fill(world, events, index, address, spec, base, step_s, now, rng)
        population.events_seeded += len(events)
        if kind == "google" and gdomain is not None:
            user = GoogleUser(email=address, name=f"Load {kind} {index}", password=password,
                              calendars={}, contacts=Collection(world.seq))
            user.calendars[address] = Calendar(id=address, name=user.name, owner_email=address,
                                               is_default=True, events=events)
            gdomain.users[address] = user
        else:
            ms = MsUser(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), upn=address,
                        display_name=f"Load {kind} {index}", given_name="Load",
                        surname=f"{kind} {index}", password=password, tenant_id=tenant.id,
                        mailbox=Mailbox(calendars={}, contact_folders={}))
            calendar_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ms.mailbox.calendars[calendar_id] = Calendar(
                id=calendar_id, name="Calendar", owner_email=address, is_default=True,
                events=events)
            folder_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ms.mailbox.contact_folders[folder_id] = ContactFolder(
                id=folder_id, name="Contacts", contacts=Collection(world.seq))
            tenant.users[ms.id] = ms
            world.index_ms_user(ms)
        mailbox = LoadMailbox(index, kind, address, password)
        population.mailboxes.append(mailbox)
        population.by_address[address] = mailbox
    population.seconds = time.perf_counter() - started
    return population


def _fill(world: World, events: Collection[Event], index: int, owner: str, spec: LoadSeed,
          base: datetime, step_s: int, now: datetime, rng: random.Random) -> None:
    guest, guest_name = f"guest{index % 17}@example.com", f"Guest {index % 17}"
    for j in range(spec.events):
        subject, description, start, end, linked = event_values(index, j, base, step_s,
                                                                spec.linked_every)
        event_id = f"{rng.getrandbits(128):032x}"
        link = LINK_PREFIX + linked if linked else None
        event = Event(
            id=event_id, subject=subject, start=start, end=end, created=now, last_modified=now,
            ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
            body=compose_body(description, link) if link else description,
            location=link or f"Room {j % 40}", organizer_email=owner,
            attendees=[Attendee(guest, guest_name)])
        events.put(event_id, event, world.next_seq())


def calendar_of(world: World, address: str) -> Calendar | None:
    ms = world.ms_user(address)
    if ms is not None:
        return ms.mailbox.default_calendar
    google = world.google_user(address)
    return google.calendars.get(google.email) if google is not None else None


def link_counts(world: World, population: LoadPopulation, prefix: str,
                claimed_only: bool = True, address: str | None = None
                ) -> dict[str, dict[str, int]]:
    """For each (claimed) mailbox: how many events carry the join link of each meeting whose id
    starts with `prefix` — the provider's side of a convergence check (1 each, or a loss or a
    duplicate)."""
    out: dict[str, dict[str, int]] = {}
    if address is not None:
        one = population.by_address.get(address.lower())
        mailboxes = [one] if one is not None else []
    else:
        mailboxes = population.mailboxes
    for mailbox in mailboxes:
        if claimed_only and not mailbox.claimed:
            continue
        calendar = calendar_of(world, mailbox.address)
        counts: dict[str, int] = {}
        if calendar is not None:
            for event in calendar.events:
                if event.is_cancelled:
                    continue
                text = event.location if "/j/" in event.location else event.body
                found = LINK_RE.search(text or "")
                if found and found.group(1).startswith(prefix):
                    counts[found.group(1)] = counts.get(found.group(1), 0) + 1
        out[mailbox.address] = counts
    return out
