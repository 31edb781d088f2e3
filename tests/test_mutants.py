"""The mutant catalogue: every mutant names real, testable requirements, patches something
that exists, changes behaviour while applied and leaves nothing behind."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime

import pytest

from harness.api.models import Meeting
from harness.catalogue import load_catalogue
from harness.reference import mutants, policy
from harness.reference.mutants import applied, catalogue
from harness.reference.policy import privacy, versions
from harness.reference.providers import microsoft_graph

CATALOGUE = catalogue()


def _bound(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    owner: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        owner = getattr(owner, part)
    return owner


def test_catalogue_is_large_and_names_testable_requirements() -> None:
    testable = {r.id for r in load_catalogue().requirements if r.testable}
    assert len(CATALOGUE) >= 25
    for m in CATALOGUE.values():
        assert m.breaks and set(m.breaks) <= testable, m.name
        assert m.description and m.patches, m.name


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_each_mutant_swaps_its_targets_and_restores_them(name: str) -> None:
    m = CATALOGUE[name]
    before = {p.target: _bound(p.target) for p in m.patches}
    with applied(m):
        for p in m.patches:
            assert _bound(p.target) is not before[p.target], p.target
    for p in m.patches:
        assert _bound(p.target) is before[p.target], p.target


def test_importers_are_patched_too_and_restored() -> None:
    """`from versions import client_gets_prompt` copies (prompts.py) see the mutant."""
    prompts = sys.modules["harness.reference.policy.prompts"]
    original = prompts.client_gets_prompt
    assert versions.client_gets_prompt("5.2.2")
    with applied(mutants.get("prompt-version-off-by-one")):
        assert not prompts.client_gets_prompt("5.2.2")
        assert prompts.client_gets_prompt("5.2.3")
    assert prompts.client_gets_prompt is original and prompts.client_gets_prompt("5.2.2")


def test_only_here_patch_leaves_importers_alone() -> None:
    with applied(mutants.get("domain-restriction-ignored-for-existing")):
        assert not policy.domain_allowed("ann@other.org", ["example.com"])
        conformance = sys.modules["harness.reference.policy.conformance"]
        assert conformance.domain_allowed("ann@other.org", ["example.com"])


def test_edge_mutants_break_exactly_their_edge() -> None:
    with applied(mutants.get("domain-suffix-match")):
        assert policy.domain_allowed("eve@notexample.com", ["example.com"])
    assert not policy.domain_allowed("eve@notexample.com", ["example.com"])
    with applied(mutants.get("scope-calendar-read-widened")):
        assert microsoft_graph.graph_scopes("read", "none") == ["Calendars.ReadWrite"]
    assert microsoft_graph.graph_scopes("read", "none") == ["Calendars.Read"]
    slot = datetime(2026, 1, 5, 9, tzinfo=UTC)
    secret = Meeting(id="m", subject="Board", start=slot, end=slot, location="HQ",
                     join_url="https://zoom.example/j/1", attendees=[], private=True)
    with applied(mutants.get("privacy-leaks-location")):
        shown = privacy.assistant_view([secret], False)[0]
        assert shown.location == "HQ" and shown.subject is None
    assert privacy.assistant_view([secret], False)[0].location is None


def test_unknown_mutant_and_bad_target_are_refused() -> None:
    with pytest.raises(KeyError):
        mutants.get("no-such-mutant")
    bad = mutants.mutant("bad", "LOCK-04", "x", ("harness.reference.policy.versions:nope",
                                                   lambda o: o))
    with pytest.raises(ValueError, match="has no nope"), applied(bad):
        pass


def test_every_testable_requirement_has_a_scenario_and_a_mutant() -> None:
    """The catalogue's guard: a testable requirement (the SYNC ones included, now that sync
    has landed) that no scenario carries or no mutant names has no power figure at all."""
    from pathlib import Path

    from harness.prove import covered_requirements

    features = sorted((Path(__file__).resolve().parent.parent / "features").glob("*.feature"))
    testable = {r.id for r in load_catalogue().requirements if r.testable}
    assert any(r.startswith("SYNC-") for r in testable)
    named = {rid for m in CATALOGUE.values() for rid in m.breaks}
    assert sorted(testable - set(covered_requirements(features))) == []
    assert sorted(testable - named) == []


@pytest.mark.parametrize(("name", "code"), [("reauth-password-change-missed", 50173),
                                            ("reauth-revoked-sessions-missed", 70008),
                                            ("reauth-idle-refresh-token-missed", 700082),
                                            ("reauth-consent-withdrawn-missed", 65001)])
def test_reauth_mutants_miss_one_trigger_each(name: str, code: int) -> None:
    from harness.reference.providers.base import AuthError

    triggers = {c: AuthError("invalid_grant", f"AADSTS{c}: …", [c])
                for c in (50173, 70008, 700082, 65001)}
    assert all(e.reauth for e in triggers.values())
    with applied(mutants.get(name)):
        assert [c for c, e in triggers.items() if not e.reauth] == [code]
        assert AuthError("interaction_required", "", []).reauth
    assert all(e.reauth for e in triggers.values())
