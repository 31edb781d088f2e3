"""Hostile input to every Google route, through real HTTP against a running hub (TLS, 127.0.0.1).

1. Exact refusals: what the real services refuse (a lone surrogate in a summary or a contact
   name, malformed recurrence, dates out of range, a 10 MB body, a body nested 100,000 deep,
   strict numbers, an unknown Person member, ...) is refused with Google's own error, nothing of
   it is stored, and every list still works.
2. A sweep: a table of hostile values over every route's parameters, bodies and headers (under
   /google and at the root paths), plus hypothesis-made bodies and queries. Bounded (a few hundred
   requests). It asserts no 5xx (no fault is injected), every 4xx in its API's error shape
   (Calendar/People JSON errors, OAuth JSON errors, or the sign-in error pages), no exception
   text or file path in any answer, no refused-by-contract case accepted, and that afterwards the
   mailbox still lists and syncs (events, contacts, calendar list, free/busy). The figures are
   printed at the end: requests tried, 5xx, wrong shapes, wrong acceptances, slowest request,
   and the process's memory (the hub runs in it) before and after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from google_support import RawConnection, access_token, users_of
from hostile_support import Tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.net import httpx_verify
from mock_providers.google.calendar_query import LIST_PARAMS
from mock_providers.google.discovery import document
from mock_providers.google.intake import MAX_BODY_BYTES
from mock_providers.server import HubServer
from mock_providers.world import GoogleUser

AUTH = "https://www.googleapis.com/auth/"
SCOPES = [AUTH + "calendar", AUTH + "contacts", "openid", "email", "profile"]
CAL = "/google/calendar/v3"
EVENTS = CAL + "/calendars/primary/events"
PEOPLE = "/google/v1"
START, END = {"dateTime": "2031-01-06T10:00:00Z"}, {"dateTime": "2031-01-06T11:00:00Z"}
MAX_SECONDS = 5.0  # per request, on a shared and loaded machine
LEAKS = ("Traceback", 'File "', "mock_providers/", "site-packages", "Exception:")


# -- the tally -----------------------------------------------------------------------------------
TALLY = Tally()


def _rest_shape(reply: httpx.Response) -> bool:
    try:
        error = reply.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (reply.headers.get("content-type", "").startswith("application/json")
            and isinstance(error, dict) and error.get("code") == reply.status_code
            and isinstance(error.get("message"), str) and bool(error.get("errors"))
            and all(isinstance(e.get("reason"), str) for e in error["errors"]))


def _oauth_shape(reply: httpx.Response) -> bool:
    try:
        body = reply.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def _page_shape(reply: httpx.Response) -> bool:
    return (reply.headers.get("content-type", "").startswith("text/html")
            and "Error" in reply.text) or _oauth_shape(reply)


SHAPES = {"rest": _rest_shape, "oauth": _oauth_shape, "page": _page_shape}


class Sweep:
    def __init__(self, server: HubServer, token: str) -> None:
        self.server, self.token = server, token
        self.client = httpx.Client(base_url=server.base_url, verify=httpx_verify(
            server.ca_bundle), timeout=30.0)

    def send(self, method: str, path: str, *, shape: str = "rest", refuse: bool = False,
             params: dict[str, Any] | list[tuple[str, str]] | None = None,
             content: bytes | None = None, body: Any = None,
             headers: dict[str, str] | None = None, auth: bool = True) -> httpx.Response:
        """One request, tallied. `refuse`: the contract says 4xx; a 2xx is a wrong acceptance."""
        sent = {"Authorization": f"Bearer {self.token}"} if auth else {}
        if body is not None:
            content = json.dumps(body).encode()
        if content is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        began = time.monotonic()
        reply = self.client.request(method, path, params=params, content=content, headers=sent)
        elapsed = time.monotonic() - began
        label = f"{method} {path[:80]} {str(params)[:80]} {(content or b'')[:80]!r}"
        TALLY.requests += 1
        TALLY.statuses[reply.status_code] += 1
        TALLY.slowest = max(TALLY.slowest, elapsed)
        if reply.status_code >= 500:
            TALLY.five_xx.append(f"{reply.status_code} {label}: {reply.text[:200]}")
        elif reply.status_code >= 400 and not SHAPES[shape](reply):
            TALLY.bad_shape.append(f"{reply.status_code} {label}: {reply.text[:200]}")
        if refuse and reply.status_code < 400:
            TALLY.wrong_acceptance.append(f"{reply.status_code} {label}")
        if any(leak in reply.text for leak in LEAKS):
            TALLY.bad_shape.append(f"leak {label}: {reply.text[:200]}")
        assert elapsed < MAX_SECONDS, label
        return reply


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=17, tls=True, state_dir=tmp_path_factory.mktemp("hostile-hub")) as srv:
        TALLY.start(srv.hub)
        yield srv


@pytest.fixture(scope="module")
def owner(server: HubServer) -> GoogleUser:
    return users_of(server)[0]


@pytest.fixture(scope="module")
def token(server: HubServer, owner: GoogleUser) -> str:
    return access_token(server, owner, SCOPES)


@pytest.fixture(scope="module")
def sweep(server: HubServer, token: str) -> Iterator[Sweep]:
    swept = Sweep(server, token)
    yield swept
    swept.client.close()


@pytest.fixture(scope="module")
def before(sweep: Sweep) -> dict[str, str]:
    """Sync tokens taken before anything hostile was sent."""
    events = sweep.send("GET", EVENTS, params={"maxResults": "2500"}).json()
    people = sweep.send("GET", PEOPLE + "/people/me/connections", params={
        "personFields": "names", "pageSize": "1000", "requestSyncToken": "true"}).json()
    return {"events": events["nextSyncToken"], "people": people["nextSyncToken"]}


def event(**members: Any) -> dict[str, Any]:
    return {"summary": "ok", "start": START, "end": END, **members}


def raw_event(summary_json: bytes) -> bytes:
    """An event body whose summary is written as given (bytes json.dumps would not produce)."""
    return (b'{"summary": ' + summary_json + b', "start": {"dateTime": "2031-01-06T10:00:00Z"}, '
            b'"end": {"dateTime": "2031-01-06T11:00:00Z"}}')


def nested(depth: int) -> bytes:
    return ('{"summary": "deep", "extendedProperties": ' + "[" * depth + "]" * depth
            + "}").encode()


# -- 1. exact refusals -----------------------------------------------------------------------------
REFUSED_EVENTS: list[tuple[str, bytes, str]] = [
    # (case, body, Google's reason)
    ("lone high surrogate", raw_event(b'"x\\ud800y"'), "parseError"),
    ("lone low surrogate", raw_event(b'"\\udc00"'), "parseError"),
    ("surrogate in a key", b'{"summ\\ud800ary": "x"}', "parseError"),
    ("encoded surrogate bytes", raw_event(b'"x\xed\xa0\x80y"'), "parseError"),
    ("not UTF-8", raw_event(b'"\xff\xfe"'), "parseError"),
    ("NaN", b'{"summary": "x", "sequence": NaN}', "parseError"),
    ("Infinity", b'{"summary": "x", "sequence": 1e999}', "parseError"),
    ("5,000 digits", b'{"summary": "x", "sequence": ' + b"9" * 5000 + b"}", "parseError"),
    ("nested 100,000 deep", nested(100_000), "parseError"),
    ("top level array", b"[]", "parseError"),
    ("summary object", json.dumps(event(summary={"a": 1})).encode(), "parseError"),
    ("attendees string", json.dumps(event(attendees="all")).encode(), "parseError"),
    ("attendee null", json.dumps(event(attendees=[None])).encode(), "parseError"),
    ("e-mail a number", json.dumps(event(attendees=[{"email": 5}])).encode(), "parseError"),
    ("extendedProperties list", json.dumps(event(extendedProperties=[1])).encode(), "parseError"),
    ("map value object", json.dumps(event(extendedProperties={"private": {"k": {}}})).encode(),
     "parseError"),
    ("int32 overflow", json.dumps(event(sequence=2**40)).encode(), "invalid"),
    ("interval abc", json.dumps(event(recurrence=["RRULE:FREQ=DAILY;INTERVAL=abc"])).encode(),
     "invalid"),
    ("month 13", json.dumps(event(recurrence=["RRULE:FREQ=YEARLY;BYMONTH=13"])).encode(),
     "invalid"),
    ("interval 10^15", json.dumps(event(
        recurrence=["RRULE:FREQ=DAILY;INTERVAL=1000000000000000"])).encode(), "invalid"),
    ("count and until", json.dumps(event(
        recurrence=["RRULE:FREQ=DAILY;COUNT=2;UNTIL=20310101"])).encode(), "invalid"),
    ("no FREQ", json.dumps(event(recurrence=["RRULE:INTERVAL=2"])).encode(), "invalid"),
    ("unknown line", json.dumps(event(recurrence=["X-FOO:BAR"])).encode(), "invalid"),
    ("EXDATE day 32", json.dumps(event(recurrence=["EXDATE:20310132T100000Z"])).encode(),
     "invalid"),
    ("recurrence a string", json.dumps(event(recurrence="RRULE:FREQ=DAILY")).encode(),
     "parseError"),
    ("year 1 +14:00", json.dumps(event(start={"dateTime": "0001-01-01T00:00:00+14:00"})).encode(),
     "invalid"),
    ("year 9999 -11:00", json.dumps(event(end={"dateTime": "9999-12-31T23:00:00-11:00"})).encode(),
     "invalid"),
    ("February 30", json.dumps(event(start={"dateTime": "2031-02-30T10:00:00Z"})).encode(),
     "invalid"),
    ("10,000-character zone", json.dumps(event(start={
        "dateTime": "2031-01-06T10:00:00", "timeZone": "Europe/" + "x" * 10_000})).encode(),
     "invalid"),
    ("zone path", json.dumps(event(start={"dateTime": "2031-01-06T10:00:00",
                                          "timeZone": "../../../etc/passwd"})).encode(),
     "invalid"),
    ("no offset, no zone", json.dumps(event(start={"dateTime": "2031-01-06T10:00:00"})).encode(),
     "required"),
    ("six reminders", json.dumps(event(reminders={"useDefault": False, "overrides": [
        {"method": "popup", "minutes": 1}] * 6})).encode(), "invalid"),
    ("visibility", json.dumps(event(visibility="secret")).encode(), "invalid"),
    ("status cancelled", json.dumps(event(status="cancelled")).encode(), "invalid"),
]


@pytest.mark.parametrize(("case", "body", "reason"), REFUSED_EVENTS,
                         ids=[c[0] for c in REFUSED_EVENTS])
def test_calendar_refuses_with_googles_error_and_stores_nothing(
        sweep: Sweep, owner: GoogleUser, before: dict[str, str], case: str, body: bytes,
        reason: str) -> None:
    calendar = sweep.server.hub.world.google_calendar(owner, "primary")
    assert calendar is not None
    last_change = calendar.events.last_seq
    created = sweep.send("POST", EVENTS, content=body, refuse=True)
    assert created.status_code == 400, (case, created.text[:300])
    assert created.json()["error"]["errors"][0]["reason"] == reason, created.text[:300]
    assert calendar.events.last_seq == last_change  # nothing stored
    assert sweep.send("GET", EVENTS, params={"syncToken": before["events"]}).status_code == 200


def test_a_body_over_the_cap_is_refused_unread(sweep: Sweep) -> None:
    big = sweep.send("POST", EVENTS, body=event(summary="x" * 10_000_000), refuse=True)
    assert big.status_code == 400
    assert big.json()["error"]["message"] == (
        f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.")
    # A declared length over the cap is refused before a byte of the body is read.
    conn = RawConnection(sweep.server)
    conn.start("POST", EVENTS, sweep.token, b"", length=1 << 40)
    status, reply = conn.finish()
    TALLY.requests += 1
    assert status == 400 and reply["error"]["code"] == 400


def test_a_refused_patch_changes_nothing(sweep: Sweep) -> None:
    target = sweep.send("POST", EVENTS, body=event(summary="Kept")).json()
    path = f"{EVENTS}/{target['id']}"
    for refused in ({"summary": "Changed", "start": {"dateTime": "junk"}},
                    {"summary": "Changed", "recurrence": ["RRULE:FREQ=DAILY;INTERVAL=0"]}):
        assert sweep.send("PATCH", path, body=refused, refuse=True).status_code == 400
    # conferenceDataVersion is read before anything changes (it used to be checked after).
    reply = sweep.send("PATCH", path, body={"summary": "Changed"}, refuse=True,
                       params={"conferenceDataVersion": "5"})
    assert reply.status_code == 400
    got = sweep.send("GET", path).json()
    assert (got["summary"], got["etag"]) == ("Kept", target["etag"])


def test_patch_merges_extended_properties_as_google_does(sweep: Sweep) -> None:
    target = sweep.send("POST", EVENTS, body=event(extendedProperties={
        "private": {"a": "1", "b": "2"}})).json()
    path = f"{EVENTS}/{target['id']}"
    patched = sweep.send("PATCH", path, body={"extendedProperties": {
        "private": {"b": None, "c": "3"}}}).json()
    assert patched["extendedProperties"] == {"private": {"a": "1", "c": "3"}}
    listed = sweep.send("GET", EVENTS, params={"privateExtendedProperty": "c=3"}).json()
    assert [i["id"] for i in listed["items"]] == [target["id"]]


def test_recurrence_google_writes_is_accepted(sweep: Sweep) -> None:
    lines = ["RRULE:FREQ=WEEKLY;WKST=SU;BYDAY=MO,WE,-1FR;UNTIL=20311231T235959Z",
             "EXDATE;TZID=Europe/Berlin:20310113T100000,20310115T100000",
             "RDATE;VALUE=DATE:20310601"]
    created = sweep.send("POST", EVENTS, body=event(
        start={"dateTime": "2031-01-06T10:00:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2031-01-06T11:00:00", "timeZone": "Europe/Berlin"},
        recurrence=lines))
    assert created.status_code == 200, created.text
    assert created.json()["recurrence"] == lines


REFUSED_PEOPLE: list[tuple[str, bytes, str]] = [
    ("lone surrogate in a name", b'{"names": [{"givenName": "x\\ud800y"}]}', "Invalid JSON"),
    ("unknown member", b'{"birthday": "yesterday"}',
     'Invalid JSON payload received. Unknown name "birthday" at \'person\': Cannot find field.'),
    ("e-mail a number", b'{"emailAddresses": [{"value": 5}]}',
     "Invalid value at 'person.email_addresses[0].value' (TYPE_STRING), 5"),
    ("month 13", b'{"birthdays": [{"date": {"year": 1990, "month": 13, "day": 1}}]}',
     "Invalid value at 'person.birthdays[0].date.month'"),
    ("names an object", b'{"names": {"givenName": "x"}}', "Invalid value at 'person.names'"),
    ("nested unknown", b'{"names": [{"givenName": "x", "shoe": 1}]}', 'Unknown name "shoe"'),
    ("nested 100,000 deep", b'{"names": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "Invalid JSON"),
]


@pytest.mark.parametrize(("case", "body", "message"), REFUSED_PEOPLE,
                         ids=[c[0] for c in REFUSED_PEOPLE])
def test_people_refuses_with_googles_error_and_stores_nothing(
        sweep: Sweep, owner: GoogleUser, before: dict[str, str], case: str, body: bytes,
        message: str) -> None:
    last_change = owner.contacts.last_seq
    reply = sweep.send("POST", PEOPLE + "/people:createContact", content=body, refuse=True)
    assert reply.status_code == 400, (case, reply.text[:300])
    error = reply.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and message in error["message"], error
    assert owner.contacts.last_seq == last_change  # nothing stored
    changes = sweep.send("GET", PEOPLE + "/people/me/connections", params={
        "personFields": "names", "syncToken": before["people"]})
    assert changes.status_code == 200


# -- 2. the sweep ---------------------------------------------------------------------------------
HOSTILE = ["", "²", "５", "9" * 5000, "-1", "0", "1_0", " 5", "true", "yes", "x" * 10_000,
           "\x00", "\u202e", "😀", "../../../etc/passwd", "%", "Europe/" + "x" * 10_000,
           "0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-11:00", "2031-13-45T99:99:99Z",
           "null", "[]", "a=b", "=", "bm90LWEtdG9rZW4", "\ufffd", "<script>x</script>"]
HOSTILE_IDS = ["x" * 10_000, "%00", "..", "UPPERCASE", "a" * 1025, "\u202e", "primary;drop",
               "nobody@nowhere.invalid"]


def values_for(index: int, count: int = 7) -> list[str]:
    """A different slice of HOSTILE for each parameter, every value used somewhere."""
    return [HOSTILE[(index * 3 + k) % len(HOSTILE)] for k in range(count)]


def test_sweep_query_options(sweep: Sweep, owner: GoogleUser) -> None:
    for index, name in enumerate(sorted(LIST_PARAMS)):
        for value in values_for(index):
            sweep.send("GET", EVENTS, params={name: value})
    calendar_list = CAL + "/users/me/calendarList"
    for index, name in enumerate(("maxResults", "pageToken", "minAccessRole", "showDeleted",
                                  "showHidden")):
        for value in values_for(index, 4):
            sweep.send("GET", calendar_list, params={name: value})
    for index, name in enumerate(("pageSize", "pageToken", "sortOrder", "syncToken",
                                  "requestSyncToken", "personFields")):
        for value in values_for(index, 4):
            params = {"personFields": "names", name: value}
            sweep.send("GET", PEOPLE + "/people/me/connections", params=params)
    for value in values_for(1, 5):
        sweep.send("GET", f"{PEOPLE}/people/me", params={"personFields": value})
        sweep.send("GET", f"{EVENTS}/nosuchevent", params={"timeZone": value})


def test_sweep_ids_in_paths(sweep: Sweep, owner: GoogleUser) -> None:
    for bad in HOSTILE_IDS:
        item = quote(bad, safe="")
        for prefix in ("/google", ""):
            cal = f"{prefix}/calendar/v3"
            sweep.send("GET", f"{cal}/users/me/calendarList/{item}")
            sweep.send("GET", f"{cal}/calendars/{item}")
            sweep.send("GET", f"{cal}/calendars/{item}/events")
        sweep.send("GET", f"{EVENTS}/{item}")
        sweep.send("PATCH", f"{EVENTS}/{item}", body={"summary": "x"})
        sweep.send("DELETE", f"{EVENTS}/{item}")
        sweep.send("GET", f"{PEOPLE}/people/{item}", params={"personFields": "names"})
        sweep.send("PATCH", f"{PEOPLE}/people/{item}:updateContact",
                   params={"updatePersonFields": "names"}, body={"etag": "x"})
        sweep.send("DELETE", f"{PEOPLE}/people/{item}:deleteContact")
        if bad != "..":  # dot segments leave the route: the root path then belongs to nobody
            sweep.send("GET", f"/discovery/v1/apis/{item}/{item}/rest")
        sweep.send("GET", "/$discovery/rest", params={"version": bad})


EVENT_BODIES: list[tuple[bytes, bool]] = [(body, True) for _, body, _ in REFUSED_EVENTS] + [
    # (body, must be refused)
    (json.dumps(event(summary="nul\x00 and \x01 control")).encode(), False),
    (json.dumps(event(summary="\u202eevil", description="😀" * 1000)).encode(), False),
    (json.dumps(event(description="d" * 900_000)).encode(), False),
    (json.dumps(event(unknownMember={"x": [1, 2, {"y": None}]})).encode(), False),
    (json.dumps(event(colorId=None, reminders=None, extendedProperties=None)).encode(), False),
    (json.dumps(event(attendees=[{"email": "a@b.c", "responseStatus": "maybe"}])).encode(),
     False),
    (b"", True), (b"null", True), (b'"x"', True), (b"5", True), (b'{"summary": ', True),
    (b"\xff\xfe{}", True),
]


def test_sweep_event_bodies(sweep: Sweep) -> None:
    target = sweep.send("POST", EVENTS, body=event(summary="Target")).json()
    path = f"{EVENTS}/{target['id']}"
    for body, must_refuse in EVENT_BODIES:
        sweep.send("POST", EVENTS, content=body, refuse=must_refuse)
        sweep.send("PUT", path, content=body, refuse=must_refuse)
        sweep.send("PATCH", path, content=body, refuse=must_refuse and body not in (b"", b"null"))
    for version in ("1", "0"):
        for data in ("meet", {"createRequest": {"requestId": 5}},
                     {"createRequest": {"conferenceSolutionKey": {"type": "zoom"}}},
                     {"entryPoints": [{"entryPointType": "video", "uri": None}]},
                     {"conferenceSolution": None, "entryPoints": [{}]}):
            sweep.send("PATCH", path, params={"conferenceDataVersion": version},
                       body={"conferenceData": data})
    for if_match in ('"', "x" * 10_000, "*", 'W/"1"', ""):
        sweep.send("PATCH", path, body={"summary": "If"}, headers={"If-Match": if_match})
    for method in ("OPTIONS", "HEAD", "POST"):
        sweep.send(method, path)


def test_sweep_free_busy(sweep: Sweep, owner: GoogleUser) -> None:
    ok = {"timeMin": "2031-01-01T00:00:00Z", "timeMax": "2031-01-08T00:00:00Z",
          "items": [{"id": owner.email}]}
    for changed in ({"items": 5}, {"items": [5]}, {"items": [{"id": {"x": 1}}]},
                    {"items": [{"id": f"u{i}@x.invalid"} for i in range(60)]},
                    {"timeMin": "0001-01-01T00:00:00+14:00"}, {"timeMax": "yesterday"},
                    {"timeMin": 5}, {"timeZone": "x" * 10_000}, {"calendarExpansionMax": 10**6},
                    {"timeMin": "2031-01-09T00:00:00Z"}, {"timeMin": None}):
        sweep.send("POST", CAL + "/freeBusy", body={**ok, **changed})
    sweep.send("POST", CAL + "/freeBusy", content=b"\xed\xa0\x80", refuse=True)


def test_sweep_people_bodies(sweep: Sweep) -> None:
    person = sweep.send("POST", PEOPLE + "/people:createContact",
                        body={"names": [{"givenName": "Target"}]}).json()
    update = f"{PEOPLE}/{person['resourceName']}:updateContact"
    bodies = [(body, True) for _, body, _ in REFUSED_PEOPLE] + [
        (json.dumps({"names": [{"givenName": "nul\x00"}]}).encode(), False),
        (json.dumps({"names": [], "emailAddresses": None}).encode(), False),
        (json.dumps({"urls": [{"value": "javascript:alert(1)"}]}).encode(), False),
        (json.dumps({"birthdays": [{"date": {"year": 0, "month": 0, "day": 0}}]}).encode(),
         False),
        (b"[]", True), (b"", False), (b'{"names": [{"givenName": "x"}', True),
    ]
    for body, must_refuse in bodies:
        sweep.send("POST", PEOPLE + "/people:createContact", content=body,
                   refuse=must_refuse)
        etag = sweep.send("GET", f"{PEOPLE}/{person['resourceName']}",
                          params={"personFields": "names"}).json()["etag"]
        parsed = _json_or_none(body)
        if isinstance(parsed, dict):
            body = json.dumps({**parsed, "etag": etag}).encode()
        sweep.send("PATCH", update, params={"updatePersonFields": "names,emailAddresses,urls"},
                   content=body, refuse=must_refuse)
    for mask in ("", "names,shoeSize", "person.names", ",,,", "x" * 10_000):
        sweep.send("PATCH", update, params={"updatePersonFields": mask}, body={"etag": "x"})


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def test_sweep_oauth(sweep: Sweep, server: HubServer) -> None:
    client = next(iter(server.hub.world.google_clients.values()))
    for prefix in ("/google", ""):
        for field_name in ("grant_type", "code", "refresh_token", "client_id", "redirect_uri",
                           "code_verifier", "scope"):
            for value in values_for(len(field_name), 3):
                form = {"grant_type": "authorization_code", "client_id": client.client_id,
                        "client_secret": client.client_secret, field_name: value}
                sweep.send("POST", prefix + "/token", shape="oauth", refuse=True, auth=False,
                           content="&".join(f"{k}={quote(v)}" for k, v in form.items()).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        for content in (b'{"grant_type": "x\\ud800"}', nested(100_000), b"\xed\xa0\x80",
                        b"x" * (MAX_BODY_BYTES + 1)):
            sweep.send("POST", prefix + "/token", shape="oauth", refuse=True, auth=False,
                       content=content)
        for value in values_for(2, 4):
            sweep.send("GET", prefix + "/tokeninfo", shape="oauth", refuse=True, auth=False,
                       params={"access_token": value})
            sweep.send("POST", prefix + "/revoke", shape="oauth", refuse=True, auth=False,
                       params={"token": value})
            sweep.send("GET", prefix + "/v1/userinfo", shape="oauth", refuse=True, auth=False,
                       headers={"Authorization": f"Bearer {quote(value)}"})
        for name in ("client_id", "redirect_uri", "response_type", "scope", "prompt",
                     "access_type", "code_challenge_method", "login_hint", "state"):
            for value in values_for(len(name), 2):
                params = {"client_id": client.client_id, "redirect_uri": client.redirect_uris[0],
                          "response_type": "code", "scope": "openid", name: value}
                sweep.send("GET", prefix + "/o/oauth2/v2/auth", shape="page", auth=False,
                           params=params)
        for path in ("/signin", "/consent"):
            for value in values_for(3, 3):
                sweep.send("POST", prefix + path, shape="page", auth=False,
                           content=f"flow={quote(value)}&identifier=x&Passwd=y".encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        for path in ("/.well-known/openid-configuration", "/oauth2/v3/certs", "/token"):
            sweep.send("PUT", prefix + path, shape="oauth", refuse=True, auth=False)


def test_sweep_unknown_paths(sweep: Sweep) -> None:
    for path in ("/google/nope", "/google/calendar/v3/nope", "/google/v1/nope",
                 f"{EVENTS}/someid/instances", "/calendar/v3/calendars/primary/acl",
                 "/v1/contactGroups", "/google/v1/people:batchGet", "/google/"):
        for method in ("GET", "POST", "DELETE"):
            sweep.send(method, path, refuse=True)


# -- hypothesis: bodies and queries nobody thought of ----------------------------------------------
json_leaves = (st.none() | st.booleans() | st.integers(-(2**40), 2**40)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)
EVENT_MEMBERS = sorted(document("calendar", "v3")["schemas"]["Event"]["properties"])
PERSON_MEMBERS = sorted(document("people", "v1")["schemas"]["Person"]["properties"])
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@SETTINGS
@given(members=st.dictionaries(st.sampled_from(EVENT_MEMBERS), json_values, max_size=4),
       times=st.booleans())
def test_hypothesis_event_bodies(sweep: Sweep, members: dict[str, Any], times: bool) -> None:
    body = {**(event() if times else {}), **members}
    sweep.send("POST", EVENTS, body=body)


@SETTINGS
@given(members=st.dictionaries(st.sampled_from(PERSON_MEMBERS), json_values, max_size=3))
def test_hypothesis_person_bodies(sweep: Sweep, members: dict[str, Any]) -> None:
    sweep.send("POST", PEOPLE + "/people:createContact", body=members)


@SETTINGS
@given(params=st.lists(st.tuples(st.sampled_from(sorted(LIST_PARAMS)), st.text(max_size=30)),
                       max_size=4))
def test_hypothesis_list_queries(sweep: Sweep, params: list[tuple[str, str]]) -> None:
    sweep.send("GET", EVENTS, params=params)


# -- afterwards: the mailbox still works, and the figures ------------------------------------------
def test_after_the_sweep_the_mailbox_lists_and_syncs(sweep: Sweep, before: dict[str, str],
                                                    owner: GoogleUser) -> None:
    for prefix in ("/google", ""):
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"maxResults": "250", "showDeleted": "true"}
        for _ in range(50):
            page = sweep.send("GET", f"{prefix}/calendar/v3/calendars/primary/events",
                              params=params)
            assert page.status_code == 200, page.text[:300]
            items += page.json()["items"]
            if "nextPageToken" not in page.json():
                break
            params["pageToken"] = page.json()["nextPageToken"]
        assert items
        for item in items[:40]:
            got = sweep.send("GET", f"{prefix}/calendar/v3/calendars/primary/events/{item['id']}")
            assert got.status_code == 200
        synced = sweep.send("GET", f"{prefix}/calendar/v3/calendars/primary/events",
                            params={"syncToken": before["events"], "maxResults": "2500"})
        assert synced.status_code == 200 and synced.json()["items"]
        people = sweep.send("GET", f"{prefix}/v1/people/me/connections", params={
            "personFields": ",".join(sorted(PERSON_FIELDS_ALL)), "pageSize": "1000"})
        assert people.status_code == 200 and people.json()["connections"]
        synced_people = sweep.send("GET", f"{prefix}/v1/people/me/connections", params={
            "personFields": "names,emailAddresses", "syncToken": before["people"]})
        assert synced_people.status_code == 200
        assert sweep.send("GET", f"{prefix}/calendar/v3/users/me/calendarList").status_code == 200
        busy = sweep.send("POST", f"{prefix}/calendar/v3/freeBusy", body={
            "timeMin": "2031-01-01T00:00:00Z", "timeMax": "2031-02-01T00:00:00Z",
            "items": [{"id": owner.email}]})
        assert busy.status_code == 200


PERSON_FIELDS_ALL = ("addresses", "biographies", "birthdays", "emailAddresses", "names",
                     "organizations", "phoneNumbers", "urls", "userDefined", "metadata")


def test_sweep_figures(server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(TALLY.figures("Google", server.hub))
    assert TALLY.requests >= 300
    assert TALLY.five_xx == []
    assert TALLY.bad_shape == []
    assert TALLY.wrong_acceptance == []
