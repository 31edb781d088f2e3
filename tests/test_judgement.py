"""How the steps read the providers' audit log: every meeting response, as each mock names it,
is a write (so read-only forbids it) and is recognised as a response; a contact created through
EWS breaks the contacts permission, not the calendar's."""

from __future__ import annotations

from typing import Any

import pytest

from harness.steps.judgement import is_meeting_response, is_write, write_requirement

# Shaped like the entries the mocks record (seen in a run's results.json).
GRAPH_ACCEPT = {"provider": "graph", "method": "POST", "operation": "events.accept",
                "path": "/graph/v1.0/me/events/e1/accept", "status": 403}
EWS_DECLINE = {"provider": "ews", "method": "POST", "operation": "CreateItem", "status": 200,
               "detail": {"items": ["DeclineItem"], "disposition": "SendAndSaveCopy"}}
GOOGLE_ANSWER = {"provider": "google-calendar", "method": "PATCH", "operation": "events.patch",
                 "status": 403}


@pytest.mark.parametrize("entry", [
    GRAPH_ACCEPT, {**GRAPH_ACCEPT, "operation": "events.tentativelyAccept"},
    {**GRAPH_ACCEPT, "operation": "events.decline"}, EWS_DECLINE,
    {**EWS_DECLINE, "detail": {"items": ["AcceptItem"]}},
    {**EWS_DECLINE, "detail": {"items": ["TentativelyAcceptItem"]}}, GOOGLE_ANSWER,
])
def test_every_meeting_response_is_a_write_on_the_calendar(entry: dict[str, Any]) -> None:
    assert is_meeting_response(entry) and is_write(entry)
    assert write_requirement(entry) == "PERM-02"


@pytest.mark.parametrize("entry", [
    {"provider": "graph", "method": "POST", "operation": "events.create"},
    {"provider": "graph", "method": "GET", "operation": "events.delta"},
    {"provider": "ews", "method": "POST", "operation": "CreateItem",
     "detail": {"items": ["CalendarItem"]}},
    {"provider": "ews", "method": "POST", "operation": "GetItem"},
    {"provider": "google-calendar", "method": "GET", "operation": "events.list"},
])
def test_other_requests_are_not_responses(entry: dict[str, Any]) -> None:
    assert not is_meeting_response(entry)


def test_a_contact_created_through_ews_breaks_the_contacts_permission() -> None:
    entry = {"provider": "ews", "method": "POST", "operation": "CreateItem",
             "detail": {"items": ["Contact"]}}
    assert is_write(entry) and write_requirement(entry) == "PERM-04"
