"""Client and Exchange version comparison, the MAPI / hybrid / SSO prerequisite rules, sign-in
prompt decisions, integration conformance after locks, and the assistant's view of private
events."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from property_support import examples

from harness.api.models import Meeting
from harness.reference.policy import (
    DEFAULTS,
    Conflict,
    IntegrationFacts,
    Resolved,
    SignInFacts,
    conflicts,
    decide,
    graph_environment_refusal,
    mapi_refusals,
)
from harness.reference.policy.privacy import assistant_view
from harness.reference.policy.rules import settings_refusals
from harness.reference.policy.setup import connect_refusals
from harness.reference.policy.versions import (
    client_gets_prompt,
    compare,
    older_than_exchange_2016_cu3,
    parse_version,
)

HARNESS_SEED = int(os.environ.get("CALHARNESS_SEED", "42"))


# -- versions -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "prompted"), [
    ("5.2.2", True), ("5.2.2.1234", True), ("5.2.10", True), ("5.10.0", True), ("6.0", True),
    ("5.17.11 (31580)", True), ("5.2.1", False), ("5.1.99", False), ("4.6.20000", False),
    ("5.2 (3000)", False), ("v5.3.0", True),
])
def test_prompt_needs_client_5_2_2(version: str, prompted: bool) -> None:
    assert client_gets_prompt(version) is prompted


@pytest.mark.parametrize("text", ["", "5.x", "five", "5..2", "5.2.2-beta", "-1.0"])
def test_bad_versions_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a version number"):
        parse_version(text)


@pytest.mark.parametrize(("build", "older"), [
    ("15.1.466.34", True),  # Exchange 2016 CU2
    ("15.0.1236.3", True),  # Exchange 2013
    ("15.1.544.27", False),  # Exchange 2016 CU3
    ("15.1.2507.6", False),
    ("15.2.1118.7", False),  # Exchange 2019
])
def test_exchange_2016_cu3(build: str, older: bool) -> None:
    assert older_than_exchange_2016_cu3(build) is older


@seed(HARNESS_SEED)
@settings(max_examples=examples(300), database=None, deadline=None)
@given(st.lists(st.integers(0, 99999), min_size=1, max_size=4),
       st.lists(st.integers(0, 99999), min_size=1, max_size=4))
def test_version_order_is_numeric_and_ignores_trailing_zeros(a: list[int], b: list[int]) -> None:
    left, right = parse_version(".".join(map(str, a))), parse_version(".".join(map(str, b)))
    assert compare(left, right) == -compare(right, left)
    assert compare(left, left + (0,)) == 0
    width = max(len(a), len(b))
    padded = (a + [0] * (width - len(a)), b + [0] * (width - len(b)))
    assert (compare(left, right) < 0) == (padded[0] < padded[1])


# -- rules over settings ------------------------------------------------------------------------
def _settings(**values: Any) -> dict[str, Any]:
    return {**DEFAULTS, **values}


def test_graph_and_hybrid() -> None:
    assert graph_environment_refusal("full", None) is None
    generic = graph_environment_refusal("hybrid", "15.1.544.27")
    assert generic is not None and generic.code == "graph_hybrid_unsupported"
    old = graph_environment_refusal("hybrid", "15.1.466.34")
    assert old is not None and old.code == "hybrid_exchange_before_cu3"
    assert "15.1.544.27" in old.message and "EWS URL" in old.message


def test_settings_rules() -> None:
    assert settings_refusals(_settings()) == []
    codes = [r.code for r in settings_refusals(_settings(authorize_with="ews"))]
    assert codes == ["ews_url_required"]
    bad_url = settings_refusals(_settings(ews_url="http://mail.example.com/EWS"))
    assert [r.code for r in bad_url] == ["invalid_ews_url"]
    bad_build = settings_refusals(_settings(exchange_onprem_build="CU2"))
    assert [r.code for r in bad_build] == ["invalid_build"]
    ews_hybrid = _settings(authorize_with="ews", ews_url="https://mail.example.com/EWS",
                           office365_environment="hybrid", exchange_onprem_build="15.1.466.34")
    assert settings_refusals(ews_hybrid) == []
    google_hybrid = _settings(default_calendar_service="google", office365_environment="hybrid")
    assert settings_refusals(google_hybrid) == []


def test_sso_prerequisites_name_every_failed_condition() -> None:
    codes = {r.code for r in settings_refusals(_settings(
        ask_to_integrate_on_sign_in="every_sign_in", office365_environment="on_premises",
        calendar_integration=False))}
    assert codes == {"sso_not_configured", "idp_not_federated", "on_premises_unsupported",
                     "office365_integration_required"}
    ready = _settings(ask_to_integrate_on_sign_in="first_sign_in", sso_configured=True,
                      idp_federated=True)
    assert settings_refusals(ready) == []


def test_automatic_integration_is_office365_only_and_needs_user_consent() -> None:
    ready = _settings(auto_integrate_on_login=True, sso_configured=True, idp_federated=True,
                      office365_users_can_consent=True)
    assert settings_refusals(ready) == []
    google = [r.code for r in settings_refusals({**ready, "default_calendar_service": "google"})]
    assert google == ["office365_only"]
    no_consent = [r.code for r in settings_refusals({**ready,
                                                     "office365_users_can_consent": False})]
    assert no_consent == ["users_cannot_consent"]


@pytest.mark.parametrize(("platform", "enabled", "locked", "codes"), [
    ("windows", True, True, []),
    ("mac", True, True, ["mapi_windows_only"]),
    ("windows", False, True, ["mapi_not_enabled"]),
    ("windows", True, False, ["mapi_not_locked"]),
    ("ios", False, False, ["mapi_windows_only", "mapi_not_enabled", "mapi_not_locked"]),
])
def test_mapi(platform: str, enabled: bool, locked: bool, codes: list[str]) -> None:
    assert [r.code for r in mapi_refusals(platform, enabled, locked)] == codes


# -- the set-up flow and conformance ------------------------------------------------------------
def _policy(locked: tuple[str, ...] = (), **values: Any) -> dict[str, Resolved]:
    merged = _settings(**values)
    return {n: Resolved(v, "account", "account" if n in locked else None)
            for n, v in merged.items()}


def test_connect_refusals() -> None:
    user = "ann@example.com"
    assert connect_refusals(user, _policy(), service=None, calendar="read", contacts=None) == []
    locked = connect_refusals(user, _policy(("calendar_permission",), calendar_permission="write"),
                              service=None, calendar="read", contacts=None)
    assert [r.code for r in locked] == ["locked"]
    assert "locked at the account level" in locked[0].message
    more = connect_refusals(user, _policy(), service=None, calendar="write", contacts=None)
    assert [r.code for r in more] == ["permission_not_allowed"]
    outside = connect_refusals(user, _policy(allowed_domains=["example.org"]), service=None,
                               calendar=None, contacts=None)
    assert [r.code for r in outside] == ["domain_not_allowed"]
    off = connect_refusals(user, _policy(calendar_integration=False), service=None,
                           calendar=None, contacts=None)
    assert [r.code for r in off] == ["integration_disabled"]


def _facts(**values: Any) -> IntegrationFacts:
    base: dict[str, Any] = {"user": "ann@example.com", "service": "office365",
                            "authorize_with": "graph", "calendar": "write", "contacts": "read"}
    return IntegrationFacts(**{**base, **values})


def test_conflicts_only_for_locked_differences() -> None:
    assert conflicts(_facts(), _policy(calendar_permission="read")) == []  # not locked
    found = conflicts(_facts(), _policy(("calendar_permission",), calendar_permission="read"))
    assert [c.kind for c in found] == ["lock"]
    same = conflicts(_facts(calendar="read"),
                     _policy(("calendar_permission",), calendar_permission="read"))
    assert same == []
    domain = conflicts(_facts(), _policy(allowed_domains=["example.org"]))
    assert [c.kind for c in domain] == ["domain"]
    mapi = conflicts(_facts(service="exchange", authorize_with=None, desktop_mapi=True),
                     _policy(mapi=True))
    assert [c.kind for c in mapi] == ["mapi"]


# -- sign-in prompts ----------------------------------------------------------------------------
def _sign_in(**values: Any) -> SignInFacts:
    base: dict[str, Any] = {"method": "sso", "first_sign_in": True, "client_version": "5.17.0",
                            "connected": False, "conflicts": (), "ask_mode": "off",
                            "auto_integrate": False, "service": "office365"}
    return SignInFacts(**{**base, **values})


LOCK = Conflict("lock", "the admin locked the calendar permission to read")
DOMAIN = Conflict("domain", "the user's domain example.com is not among the allowed domains")


@pytest.mark.parametrize(("facts", "prompt", "redirect"), [
    (_sign_in(conflicts=(LOCK,), client_version="5.2.2"), "reintegrate", False),
    (_sign_in(conflicts=(LOCK,), client_version="5.2.1"), "none", False),
    (_sign_in(conflicts=(DOMAIN,), client_version="5.0.0"), "reintegrate", False),
    (_sign_in(ask_mode="first_sign_in"), "integrate_office365", True),
    (_sign_in(ask_mode="first_sign_in", first_sign_in=False), "none", False),
    (_sign_in(ask_mode="every_sign_in", first_sign_in=False), "integrate_office365", True),
    (_sign_in(ask_mode="every_sign_in", connected=True), "none", False),
    (_sign_in(ask_mode="every_sign_in", method="password"), "none", False),
    (_sign_in(ask_mode="every_sign_in", service="google"), "none", False),
    (_sign_in(auto_integrate=True, first_sign_in=False), "integrate_office365", True),
])
def test_sign_in_decisions(facts: SignInFacts, prompt: str, redirect: bool) -> None:
    decision = decide(facts)
    assert (decision.prompt, decision.start_office365) == (prompt, redirect)


# -- private events -----------------------------------------------------------------------------
def test_assistant_sees_a_time_slot_only() -> None:
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    private = Meeting(id="1", subject="Board", start=start, end=start + timedelta(hours=1),
                      location="HQ", join_url="https://meet.example/j/1",
                      attendees=["x@example.com"], private=True)
    public = Meeting(id="2", subject="Sync", start=start, end=start + timedelta(hours=1),
                     attendees=["y@example.com"])
    hidden, shown = assistant_view([private, public], manage_private_events=False)
    assert (hidden.subject, hidden.join_url, hidden.attendees, hidden.location) == (
        None, None, [], None)
    assert (hidden.start, hidden.end, hidden.private) == (private.start, private.end, True)
    assert shown == public
    assert assistant_view([private], manage_private_events=True) == [private]
