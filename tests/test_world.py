"""The world: deterministic seeding, change tracking, clock, fault plan, audit log."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mock_providers.world import AuditLog, Clock, Collection, FaultPlan, FaultSpec
from mock_providers.world.seed import build_world


def _snapshot(seed: int) -> list[tuple[str, ...]]:
    world = build_world(seed)
    rows = []
    for tenant in world.ms_tenants.values():
        rows.append((tenant.id, tenant.key, *tenant.domains))
        for user in tenant.users.values():
            rows.append((user.id, user.upn, user.password))
            rows.extend((e.id, e.subject, e.start.time().isoformat())
                        for e in user.mailbox.default_calendar.events)
        rows.extend((a.client_id, a.client_secret or "") for a in tenant.apps.values())
    for domain in world.google_domains.values():
        rows.extend((u.email, u.password) for u in domain.users.values())
    return rows


def test_same_seed_builds_the_same_world() -> None:
    assert _snapshot(7) == _snapshot(7)


def test_different_seeds_build_different_worlds() -> None:
    assert _snapshot(7) != _snapshot(8)


def test_default_world_shape() -> None:
    world = build_world(1)
    contoso, fabrikam = world.tenant("contoso"), world.tenant("fabrikam")
    assert contoso is not None and fabrikam is not None
    assert contoso.users_may_consent and not fabrikam.users_may_consent
    assert sum(u.is_admin for u in contoso.users.values()) == 1
    assert any(a.client_secret is None for a in contoso.apps.values()), "no public client app"
    user = next(iter(contoso.users.values()))
    assert world.ms_user(user.upn.upper()) is user, "upn lookup must be case-insensitive"
    assert world.tenant(contoso.domains[1]) is contoso
    # events_per_user single events each; the admin also holds the seeded recurring meetings.
    singles = [e for e in user.mailbox.default_calendar.events if e.recurrence is None]
    assert len(singles) == 8
    admin = next(u for u in contoso.users.values() if u.is_admin)
    assert len([e for e in admin.mailbox.default_calendar.events if e.recurrence]) == 2
    assert world.google_clients and world.google_domains


def test_every_mailbox_and_google_user_has_a_second_calendar_with_events() -> None:
    world = build_world(1)
    mailboxes = [u.mailbox for t in world.ms_tenants.values() for u in t.users.values()]
    google = [u for d in world.google_domains.values() for u in d.users.values()]
    for calendars in [m.calendars for m in mailboxes] + [g.calendars for g in google]:
        others = [c for c in calendars.values() if not c.is_default]
        assert len(others) == 1 and len(others[0].events) == 3
        assert sum(c.is_default for c in calendars.values()) == 1
    assert all(next(c for c in g.calendars.values() if not c.is_default).id.endswith(
        "@group.calendar.google.com") for g in google)
    # Drawn last: the same seed gives the same second calendars, another seed others.
    def ids(seed: int) -> list[str]:
        w = build_world(seed)
        return sorted(c.id for t in w.ms_tenants.values() for u in t.users.values()
                      for c in u.mailbox.calendars.values() if not c.is_default)
    assert ids(1) == ids(1) != ids(2)


def test_collection_changes_since_walks_only_the_changes() -> None:
    coll: Collection[str] = Collection()
    for seq, key in enumerate("abcde", start=1):
        coll.put(key, key.upper(), seq)
    coll.put("b", "B2", 6)
    coll.delete("c", 7)
    changes = coll.changes_since(5)
    assert [(c.item_id, c.seq, c.deleted) for c in changes] == [("b", 6, False), ("c", 7, True)]
    assert coll.last_seq == 7
    assert "c" not in coll and coll.get("b") == "B2"
    assert coll.changes_since(7) == []
    assert [c.item_id for c in coll.changes_since(0)] == ["a", "d", "e", "b", "c"]


def test_collection_changes_after_reads_forward_like_changes_since() -> None:
    """The paged reader (EWS SyncFolderItems, Google sync pages) sees exactly what
    changes_since lists, through re-changes, deletions, log compaction and out-of-order seqs."""
    import random

    rng = random.Random(7)
    coll: Collection[int] = Collection()
    seq = 0
    for step in range(3000):
        seq += rng.choice((1, 1, 1, 0)) if step != 2000 else -5  # one out-of-order sequence
        item = f"i{rng.randrange(40)}"
        if rng.random() < 0.2:
            coll.delete(item, seq)
        else:
            coll.put(item, step, seq)
        if step % 97 == 0:
            since = rng.randrange(seq + 1)
            assert list(coll.changes_after(since)) == coll.changes_since(since)
    for since in (0, seq // 2, seq):
        assert list(coll.changes_after(since)) == coll.changes_since(since)


def test_collection_reinserted_item_is_no_longer_deleted() -> None:
    coll: Collection[int] = Collection()
    coll.put("x", 1, 1)
    coll.delete("x", 2)
    coll.put("x", 2, 3)
    assert [(c.item_id, c.deleted) for c in coll.changes_since(0)] == [("x", False)]


def test_clock_only_moves_forward() -> None:
    clock = Clock()
    before = clock.timestamp()
    after = clock.advance(3600).timestamp()
    assert 3600 <= after - before < 3600 + 5
    assert clock.offset_seconds == 3600
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_fault_plan_matches_counts_and_skips() -> None:
    plan = FaultPlan(seed=1)
    fault = plan.add(FaultSpec(kind="throttle", provider="graph", path=r"/events", times=2,
                               after=1, retry_after=5))
    assert plan.take("identity", "GET", "/x/events") is None, "other provider must not match"
    assert plan.take("graph", "GET", "/me/events") is None, "the first match is let through"
    assert plan.take("graph", "GET", "/me/events") is fault
    assert plan.take("graph", "GET", "/me/events") is fault
    assert plan.take("graph", "GET", "/me/events") is None, "exhausted after `times` hits"
    assert fault.hits == 2 and fault.seen == 3, "an exhausted fault stops observing"


def test_fault_plan_probability_is_reproducible_per_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan(seed)
        plan.add(FaultSpec(kind="status", status=503, times=None, probability=0.5))
        return [plan.take("graph", "GET", "/") is not None for _ in range(64)]

    assert pattern(3) == pattern(3)
    assert pattern(3) != pattern(4)
    assert 10 < sum(pattern(3)) < 54


@pytest.mark.parametrize("bad", [
    {"kind": "explode"},
    {"kind": "status", "provider": "nowhere"},
    {"kind": "status", "path": "(unclosed"},
    {"kind": "status", "status": 200},
    {"kind": "throttle", "unknown_field": 1},
])
def test_fault_spec_refuses_bad_input(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultSpec.model_validate(bad)


def test_audit_log_query_and_capacity() -> None:
    log = AuditLog(capacity=100)
    for i in range(150):
        log.record(float(i), "graph" if i % 2 else "identity", "GET", f"/p{i}", 200,
                   user="A@x.com" if i % 3 == 0 else None, operation="events.list")
    assert len(log) <= 100 and log.last_seq == 150
    graph = log.query(provider="graph", since=140)
    assert [e.seq for e in graph] == [142, 144, 146, 148, 150]
    assert all(e.user == "A@x.com" for e in log.query(user="a@X.com"))
    assert len(log.query(limit=3)) == 3


def test_runtime_ids_come_from_the_seed() -> None:
    def ids(seed: int) -> list[object]:
        world = build_world(seed)
        return [world.new_id(), world.new_token(12), world.new_number(10**18, 10**19)]

    assert ids(5) == ids(5)
    assert all(a != b for a, b in zip(ids(5), ids(6), strict=True))
    world = build_world(5)
    assert len({world.new_id() for _ in range(1000)}) == 1000
