"""Every member google-api-python-client writes reads back: driven by the discovery documents the
client ships (Calendar v3's `Event` schema, People v1's `Person` schema), random values from
hypothesis, written and read with the client unchanged. A member of the schema the test neither
generates nor skips for a stated reason fails `test_every_schema_member_is_generated_or_skipped`,
so a member a new discovery document adds shows up."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google_support import connect, users_of
from googleapiclient.discovery import Resource, build
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.drift.schemas import check_google
from mock_providers.google.discovery import document
from mock_providers.server import HubServer

AUTH = "https://www.googleapis.com/auth/"
# Each example is a few HTTPS requests; shrinking took minutes on the shared machine and the
# failing member is named in the assertion anyway.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
FAST = settings(
    max_examples=12,
    deadline=None,
    phases=NO_SHRINK,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EVENT_SKIPPED = {
    "kind": "constant",
    "etag": "server-assigned",
    "id": "test_google_calendar.py (client ids)",
    "htmlLink": "server-assigned",
    "created": "server-assigned",
    "updated": "server-assigned",
    "creator": "server-assigned",
    "organizer": "the calendar's owner (checked below)",
    "iCalUID": "server-assigned (import is not modelled)",
    "hangoutLink": "from conferenceData",
    "conferenceData": "test_google_calendar.py (createRequest, conferenceDataVersion)",
    "recurrence": "tests/test_google_recurrence.py",
    "recurringEventId": "an instance's",
    "originalStartTime": "an instance's",
    "sequence": "server-kept (moves bump it)",
    "privateCopy": "not modelled",
    "locked": "read-only",
    "endTimeUnspecified": "not modelled",
    "eventType": "only default events exist in the world",
    "gadget": "deprecated by Google",
    "attendeesOmitted": "set with maxAttendees, which the mock ignores",
    "outOfOfficeProperties": "other event types",
    "focusTimeProperties": "other event types",
    "workingLocationProperties": "other event types",
    "birthdayProperties": "other event types",
    "start": "generated with end and timeZone",
    "end": "generated with start and timeZone",
    "eventLabelId": "event labels need the calendar's labelProperties and eventLabelVersion=1: "
    "not modelled",
}
PERSON_SKIPPED = {
    "resourceName": "server-assigned",
    "etag": "server-assigned",
    "metadata": "server-assigned",
    "photos": "read-only (updateContactPhoto)",
    "coverPhotos": "read-only",
    "ageRange": "deprecated, read-only",
    "ageRanges": "read-only",
    "memberships": "contact groups: not modelled",
    "residences": "deprecated",
    "braggingRights": "deprecated",
    "relationshipInterests": "deprecated, read-only",
    "relationshipStatuses": "deprecated, read-only",
    "taglines": "deprecated, read-only",
    "skills": "read-only for contacts",
}

_TEXT = (
    st.text(alphabet=string.ascii_letters + string.digits + " .,-_'éüß", min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)
_EMAIL = st.from_regex(r"[a-z]{1,10}@[a-z]{1,8}\.example", fullmatch=True)
_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]


def _one(strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, min_size=1, max_size=2)


EVENT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "summary": _TEXT,
    "description": _TEXT,
    "location": _TEXT,
    "colorId": st.integers(1, 11).map(str),
    "status": st.sampled_from(["confirmed", "tentative"]),
    "transparency": st.sampled_from(["opaque", "transparent"]),
    "visibility": st.sampled_from(["default", "public", "private", "confidential"]),
    "attendees": st.lists(
        st.fixed_dictionaries(
            {
                "email": _EMAIL,
                "displayName": _TEXT,
                "responseStatus": st.sampled_from(
                    ["needsAction", "accepted", "declined", "tentative"]
                ),
                "optional": st.booleans(),
            }
        ),
        max_size=3,
        unique_by=lambda a: a["email"],
    ),
    "reminders": st.one_of(
        st.just({"useDefault": True}),
        st.fixed_dictionaries(
            {
                "useDefault": st.just(False),
                "overrides": st.lists(
                    st.fixed_dictionaries(
                        {
                            "method": st.sampled_from(["email", "popup"]),
                            "minutes": st.integers(0, 40320),
                        }
                    ),
                    max_size=5,
                ),
            }
        ),
    ),
    "extendedProperties": st.fixed_dictionaries(
        {
            "private": st.dictionaries(
                st.from_regex(r"[a-z]{1,8}", fullmatch=True), _TEXT, max_size=2
            ),
            "shared": st.dictionaries(
                st.from_regex(r"[a-z]{1,8}", fullmatch=True), _TEXT, max_size=2
            ),
        }
    ),
    "guestsCanInviteOthers": st.booleans(),
    "guestsCanModify": st.booleans(),
    "guestsCanSeeOtherGuests": st.booleans(),
    "anyoneCanAddSelf": st.booleans(),
    "source": st.fixed_dictionaries(
        {
            "title": _TEXT,
            "url": st.from_regex(r"https://[a-z]{3,8}\.example/[a-z]{1,8}", fullmatch=True),
        }
    ),
    "attachments": st.lists(
        st.fixed_dictionaries(
            {
                "fileUrl": st.from_regex(r"https://drive\.example/[a-z]{4,8}", fullmatch=True),
                "title": _TEXT,
            }
        ),
        max_size=2,
    ),
}

_DATE = st.dates(date(1950, 1, 1), date(2020, 12, 31)).map(
    lambda d: {"year": d.year, "month": d.month, "day": d.day}
)
PERSON_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "names": st.fixed_dictionaries({"givenName": _TEXT, "familyName": _TEXT}).map(lambda n: [n]),
    "emailAddresses": st.lists(
        st.fixed_dictionaries(
            {"value": _EMAIL, "type": st.sampled_from(["home", "work", "other"])}
        ),
        min_size=1,
        max_size=2,
        unique_by=lambda e: e["value"],
    ),
    "phoneNumbers": st.lists(
        st.fixed_dictionaries(
            {
                "value": st.from_regex(r"\+1 555 [0-9]{4}", fullmatch=True),
                "type": st.sampled_from(["work", "mobile", "home"]),
            }
        ),
        max_size=2,
        unique_by=lambda p: p["value"],
    ),
    "organizations": st.fixed_dictionaries(
        {"name": _TEXT, "title": _TEXT, "department": _TEXT}
    ).map(lambda o: [o]),
    "birthdays": _DATE.map(lambda d: [{"date": d}]),
    "biographies": _TEXT.map(lambda t: [{"value": t, "contentType": "TEXT_PLAIN"}]),
    "nicknames": _one(st.fixed_dictionaries({"value": _TEXT})),
    "addresses": _one(
        st.fixed_dictionaries(
            {
                "streetAddress": _TEXT,
                "city": _TEXT,
                "postalCode": st.from_regex(r"[0-9]{5}", fullmatch=True),
                "country": _TEXT,
                "type": st.sampled_from(["home", "work"]),
            }
        )
    ),
    "urls": _one(
        st.fixed_dictionaries(
            {
                "value": st.from_regex(r"https://[a-z]{3,8}\.example", fullmatch=True),
                "type": st.sampled_from(["homePage", "work"]),
            }
        )
    ),
    "imClients": _one(
        st.fixed_dictionaries({"username": _TEXT, "protocol": st.sampled_from(["jabber", "skype"])})
    ),
    "relations": _one(
        st.fixed_dictionaries({"person": _TEXT, "type": st.sampled_from(["spouse", "child"])})
    ),
    "occupations": _one(st.fixed_dictionaries({"value": _TEXT})),
    "events": _one(
        st.fixed_dictionaries({"date": _DATE, "type": st.sampled_from(["anniversary", "other"])})
    ),
    "userDefined": _one(st.fixed_dictionaries({"key": _TEXT, "value": _TEXT})),
    "miscKeywords": _one(st.fixed_dictionaries({"value": _TEXT, "type": st.just("OUTLOOK_USER")})),
    "clientData": _one(st.fixed_dictionaries({"key": _TEXT, "value": _TEXT})),
    "sipAddresses": _one(
        st.fixed_dictionaries(
            {
                "value": st.from_regex(r"sip:[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True),
                "type": st.just("work"),
            }
        )
    ),
    "calendarUrls": _one(
        st.fixed_dictionaries(
            {
                "url": st.from_regex(r"https://cal\.example/[a-z]{1,8}", fullmatch=True),
                "type": st.just("freeBusy"),
            }
        )
    ),
    "externalIds": _one(st.fixed_dictionaries({"value": _TEXT, "type": st.just("account")})),
    "genders": st.sampled_from(["male", "female", "unspecified"]).map(lambda g: [{"value": g}]),
    "fileAses": _one(st.fixed_dictionaries({"value": _TEXT})),
    "interests": _one(st.fixed_dictionaries({"value": _TEXT})),
    "locales": _one(st.fixed_dictionaries({"value": st.sampled_from(["en", "de", "fr-CA"])})),
    "locations": _one(st.fixed_dictionaries({"value": _TEXT, "type": st.just("desk")})),
}


def test_every_schema_member_is_generated_or_skipped() -> None:
    for api, version, schema, strategies, skipped in (
        ("calendar", "v3", "Event", EVENT_STRATEGIES, EVENT_SKIPPED),
        ("people", "v1", "Person", PERSON_STRATEGIES, PERSON_SKIPPED),
    ):
        members = set(document(api, version)["schemas"][schema]["properties"])
        assert members - set(strategies) - set(skipped) == set(), schema
        assert set(strategies) | set(skipped) <= members, schema


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=12, tls=True, state_dir=tmp_path_factory.mktemp("fields-hub")) as srv:
        yield srv


def _http(server: HubServer, scopes: list[str]) -> Any:
    creds = connect(server, users_of(server)[0], scopes)
    return google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(ca_certs=server.ca_bundle))


@pytest.fixture(scope="module")
def calendar(server: HubServer) -> Resource:
    return build(
        "calendar",
        "v3",
        http=_http(server, [AUTH + "calendar"]),
        static_discovery=True,
        client_options={"api_endpoint": f"{server.base_url}/calendar/v3/"},
    )


@pytest.fixture(scope="module")
def people(server: HubServer) -> Resource:
    return build(
        "people",
        "v1",
        http=_http(server, [AUTH + "contacts"]),
        static_discovery=True,
        client_options={"api_endpoint": f"{server.base_url}/"},
    )


def _times(all_day: bool, zone: str, day: int, hour: int) -> tuple[dict[str, str], dict[str, str]]:
    base = date(2034, 1, 2) + timedelta(days=day)
    if all_day:
        return {"date": str(base)}, {"date": str(base + timedelta(days=1 + day % 3))}
    return (
        {"dateTime": f"{base}T{hour:02d}:15:00", "timeZone": zone},
        {"dateTime": f"{base}T{hour + 1:02d}:45:00", "timeZone": zone},
    )


def _instant(when: dict[str, str], zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(when["dateTime"].replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))).astimezone(UTC)


def _event_member(name: str, value: Any) -> Any:
    """A member as the client should see it again (Google leaves defaults out)."""
    if name == "visibility":
        return value or "default"
    if name == "status":
        return value or "confirmed"
    if name == "transparency":
        return value or "opaque"
    if name == "attendees":
        return [
            (
                a["email"],
                a.get("displayName"),
                bool(a.get("optional")),
                a.get("responseStatus", "needsAction"),
            )
            for a in value or []
        ]
    if name == "extendedProperties":
        return {k: v for k, v in (value or {}).items() if v}
    if name == "attachments":
        return [(a["fileUrl"], a.get("title")) for a in value or []]
    return value


@FAST
@given(
    values=st.fixed_dictionaries(EVENT_STRATEGIES),
    all_day=st.booleans(),
    zone=st.sampled_from(_ZONES),
    day=st.integers(0, 300),
    hour=st.integers(0, 20),
)
def test_event_members_round_trip(
    calendar: Resource, values: dict[str, Any], all_day: bool, zone: str, day: int, hour: int
) -> None:
    start, end = _times(all_day, zone, day, hour)
    created = (
        calendar.events()
        .insert(
            calendarId="primary",
            supportsAttachments=True,
            body={**values, "start": start, "end": end},
        )
        .execute()
    )
    got = calendar.events().get(calendarId="primary", eventId=created["id"]).execute()
    for label, read in (("inserted", created), ("read", got)):
        for name, sent in values.items():
            assert _event_member(name, read.get(name)) == _event_member(name, sent), (
                label,
                name,
                sent,
                read.get(name),
            )
        if all_day:
            assert (read["start"], read["end"]) == (start, end), label
        else:
            assert read["start"]["timeZone"] == zone, label
            assert _instant(read["start"], zone) == _instant(start, zone), label
            assert _instant(read["end"], zone) == _instant(end, zone), label
    assert check_google("calendar.v3", "Event", got) == []


def _person_member(name: str, value: Any) -> Any:
    """A member without what the server adds (metadata, formatted values, display names); an
    empty list is left out, as Google leaves it out."""
    if not isinstance(value, list) or not value:
        return value or None
    out = []
    for entry in value:
        kept = {
            k: v
            for k, v in entry.items()
            if k != "metadata"
            and not k.startswith("formatted")
            and k not in ("displayName", "displayNameLastFirst", "unstructuredName")
        }
        out.append(kept)
    return out


@FAST
@given(values=st.fixed_dictionaries(PERSON_STRATEGIES))
def test_person_members_round_trip(people: Resource, values: dict[str, Any]) -> None:
    fields = ",".join(sorted(values))
    created = people.people().createContact(body=values, personFields=fields).execute()
    got = people.people().get(resourceName=created["resourceName"], personFields=fields).execute()
    for label, read in (("created", created), ("read", got)):
        for name, sent in values.items():
            assert _person_member(name, read.get(name)) == _person_member(name, sent), (
                label,
                name,
                sent,
                read.get(name),
            )
    assert check_google("people.v1", "Person", got) == []
