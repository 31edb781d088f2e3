"""Hostile input to every Graph route, through real HTTP against a running hub (TLS, 127.0.0.1).

1. Exact refusals: what Graph refuses (a lone surrogate in a subject or a contact name, malformed
   recurrence, dates out of range, a body over 4 MB, a body nested 100,000 deep, `"birthday":
   "yesterday"`, `{"value": 5}` as an e-mail address, numbers that are not Int32, ...) is refused
   with Graph's own error JSON, nothing of it is stored, and the mailbox still lists.
2. A sweep: a table of hostile values over every route's query options, headers, bodies and ids,
   plus hypothesis-made bodies and queries. Bounded (about 2,000 requests; the slowest is
   printed, not asserted: timing belongs to the benchmarks). It asserts no 5xx (no fault is
   injected), every 4xx in Graph's error shape, no exception text or file path in any answer, no
   refused-by-contract case accepted, and that afterwards the mailbox still lists, pages, expands
   and syncs (events, calendarView and its delta, contacts and their delta). The figures are
   printed at the end: requests tried, 5xx, wrong shapes, wrong acceptances, slowest request, and
   the process's memory (the hub runs in it) before and after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hostile_support import Tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.net import httpx_verify
from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph.bodies import CONTACT_PROPERTIES, EVENT_WRITABLE
from mock_providers.server import HubServer
from mock_providers.world import MsUser

SCOPES = [
    "Calendars.ReadWrite",
    "Contacts.ReadWrite",
    "User.Read",
    "Mail.Read",
    "User.ReadBasic.All",
]
START = {"dateTime": "2031-01-06T10:00:00", "timeZone": "UTC"}
END = {"dateTime": "2031-01-06T11:00:00", "timeZone": "UTC"}
WINDOW = {"startDateTime": "2031-01-01T00:00:00Z", "endDateTime": "2031-02-01T00:00:00Z"}
LEAKS = ("Traceback", 'File "', "mock_providers/", "site-packages", "Exception:", "Error: ")


# -- the tally -----------------------------------------------------------------------------------
TALLY = Tally()


def graph_shape(reply: httpx.Response) -> bool:
    """Graph's error: JSON `{"error": {"code", "message", "innerError": {request-id...}}}`."""
    try:
        body = reply.json()
        error = body["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (
        reply.headers.get("content-type", "").startswith("application/json")
        and set(body) == {"error"}
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and error.get("innerError", {}).get("request-id") == reply.headers.get("request-id")
    )


class Sweep:
    def __init__(self, server: HubServer, token: str) -> None:
        self.server, self.token = server, token
        self.client = httpx.Client(
            base_url=server.hub.graph_url, timeout=30.0, verify=httpx_verify(server.ca_bundle)
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        refuse: bool = False,
        params: dict[str, Any] | list[tuple[str, str]] | None = None,
        content: bytes | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request, tallied. `refuse`: the contract says 4xx; a 2xx is a wrong acceptance."""
        sent: dict[str, Any] = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            content = json.dumps(body).encode()
        if content is not None:
            sent["Content-Type"] = "application/json"
        # Header values go out as UTF-8 bytes: what a hostile client sends, not what httpx likes.
        sent.update({k: v.encode() for k, v in (headers or {}).items()})
        began = time.monotonic()
        reply = self.client.request(method, path, params=params, content=content, headers=sent)
        elapsed = time.monotonic() - began
        label = f"{method} {path[:80]} {str(params)[:80]} {(content or b'')[:80]!r}"
        TALLY.requests += 1
        TALLY.statuses[reply.status_code] += 1
        TALLY.slowest = max(TALLY.slowest, elapsed)
        if reply.status_code >= 500:
            TALLY.five_xx.append(f"{reply.status_code} {label}: {reply.text[:200]}")
        elif reply.status_code >= 400 and not graph_shape(reply):
            TALLY.bad_shape.append(f"{reply.status_code} {label}: {reply.text[:200]}")
        if refuse and reply.status_code < 400:
            TALLY.wrong_acceptance.append(f"{reply.status_code} {label}")
        if reply.status_code >= 400 and any(leak in reply.text for leak in LEAKS):
            TALLY.bad_shape.append(f"leak {label}: {reply.text[:200]}")
        return reply


def owner_of(hub: Hub) -> MsUser:
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    return sorted(tenant.users.values(), key=lambda u: u.upn)[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=18, tls=True, state_dir=tmp_path_factory.mktemp("graph-hostile")) as srv:
        TALLY.start(srv.hub)
        yield srv


@pytest.fixture(scope="module")
def owner(server: HubServer) -> MsUser:
    return owner_of(server.hub)


@pytest.fixture(scope="module")
def sweep(server: HubServer, owner: MsUser) -> Iterator[Sweep]:
    hub = server.hub
    tenant = hub.world.ms_tenants[owner.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    token = hub.signer.sign(
        delegated_access_claims(
            tenant_id=tenant.id,
            client_id=client_id,
            resource=GRAPH_RESOURCE,
            oid=owner.id,
            upn=owner.upn,
            name=owner.display_name,
            scopes=SCOPES,
            now=hub.world.clock.timestamp(),
            lifetime=3 * 3600,
        )
    )
    swept = Sweep(server, token)
    yield swept
    swept.client.close()


@pytest.fixture(scope="module")
def before(sweep: Sweep) -> dict[str, str]:
    """Delta links taken before anything hostile was sent."""
    links = {}
    for name, path, params in (
        ("events", "/me/calendarView/delta", WINDOW),
        ("contacts", "/me/contacts/delta", None),
    ):
        reply = sweep.send("GET", path, params=params, headers={"Prefer": "odata.maxpagesize=1000"})
        page = reply.json()
        for _ in range(100):
            if "@odata.deltaLink" in page:
                break
            page = sweep.client.get(
                page["@odata.nextLink"], headers={"Authorization": f"Bearer {sweep.token}"}
            ).json()
        links[name] = page["@odata.deltaLink"]
    return links


def event(**members: Any) -> dict[str, Any]:
    return {"subject": "ok", "start": START, "end": END, **members}


def raw_event(subject_json: bytes) -> bytes:
    """An event body whose subject is written as given (bytes json.dumps would not produce)."""
    return (
        b'{"subject": ' + subject_json + b', "start": {"dateTime": "2031-01-06T10:00:00", '
        b'"timeZone": "UTC"}, "end": {"dateTime": "2031-01-06T11:00:00", "timeZone": "UTC"}}'
    )


def recurrence(pattern: dict[str, Any], rng: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "pattern": {"type": "daily", "interval": 1, **pattern},
        "range": {"type": "noEnd", "startDate": "2031-01-06", **(rng or {})},
    }


def nested(depth: int) -> bytes:
    return ('{"subject": "deep", "location": ' + "[" * depth + "]" * depth + "}").encode()


def deep_pattern(depth: int) -> bytes:
    inner = '{"a": ' * depth + "1" + "}" * depth
    return (
        '{"subject": "x", "recurrence": {"pattern": {"type": "daily", "interval": 1, '
        f'"junk": {inner}}}, "range": {{"type": "noEnd", "startDate": "2031-01-06"}}}}'
    ).encode()


# -- 1. exact refusals -----------------------------------------------------------------------------
REFUSED_EVENTS: list[tuple[str, bytes, int, str]] = [
    # (case, body, status, Graph's code)
    ("lone high surrogate", raw_event(b'"x\\ud800y"'), 400, "BadRequest"),
    ("lone low surrogate", raw_event(b'"\\udc00"'), 400, "BadRequest"),
    ("surrogate in a key", b'{"subj\\ud800ect": "x"}', 400, "BadRequest"),
    ("encoded surrogate bytes", raw_event(b'"x\xed\xa0\x80y"'), 400, "BadRequest"),
    ("not UTF-8", raw_event(b'"\xff\xfe"'), 400, "BadRequest"),
    ("NaN", b'{"subject": "x", "reminderMinutesBeforeStart": NaN}', 400, "BadRequest"),
    ("Infinity", b'{"subject": "x", "reminderMinutesBeforeStart": 1e999}', 400, "BadRequest"),
    ("5,000 digits", b'{"reminderMinutesBeforeStart": ' + b"9" * 5000 + b"}", 400, "BadRequest"),
    ("nested 100,000 deep", nested(100_000), 400, "BadRequest"),
    ("900-deep unknown structure in recurrence.pattern", deep_pattern(900), 400, "BadRequest"),
    (
        "unknown member in recurrence.pattern",
        json.dumps(event(recurrence=recurrence({"junk": {"a": 1}}))).encode(),
        400,
        "RequestBodyRead",
    ),
    ("top level array", b"[]", 400, "RequestBodyRead"),
    ("subject an object", json.dumps(event(subject={"a": 1})).encode(), 400, "RequestBodyRead"),
    (
        "attendee address a number",
        json.dumps(event(attendees=[{"emailAddress": {"address": 5}}])).encode(),
        400,
        "RequestBodyRead",
    ),
    (
        "{value: 5} as an e-mail address",
        json.dumps(event(attendees=[{"emailAddress": {"value": 5}}])).encode(),
        400,
        "RequestBodyRead",
    ),
    (
        "Int32 overflow",
        json.dumps(event(reminderMinutesBeforeStart=2**40)).encode(),
        400,
        "RequestBodyRead",
    ),
    (
        "interval abc",
        json.dumps(event(recurrence=recurrence({"interval": "abc"}))).encode(),
        400,
        "InvalidRequest",
    ),
    (
        "month 13",
        json.dumps(
            event(recurrence=recurrence({"type": "absoluteYearly", "month": 13, "dayOfMonth": 1}))
        ).encode(),
        400,
        "InvalidRequest",
    ),
    (
        "interval 10^15",
        json.dumps(event(recurrence=recurrence({"interval": 10**15}))).encode(),
        400,
        "InvalidRequest",
    ),
    (
        "day name",
        json.dumps(
            event(recurrence=recurrence({"type": "weekly", "daysOfWeek": ["someday"]}))
        ).encode(),
        400,
        "InvalidRequest",
    ),
    (
        "range start year 1",
        json.dumps(event(recurrence=recurrence({}, {"startDate": "0001-01-01"}))).encode(),
        400,
        "InvalidRequest",
    ),
    (
        "year 1 +14:00",
        json.dumps(
            event(start={"dateTime": "0001-01-01T00:00:00", "timeZone": "Pacific/Kiritimati"})
        ).encode(),
        400,
        "ErrorInvalidRequest",
    ),
    (
        "year 9999 -11:00",
        json.dumps(
            event(end={"dateTime": "9999-12-31T23:00:00", "timeZone": "Pacific/Pago_Pago"})
        ).encode(),
        400,
        "ErrorInvalidRequest",
    ),
    (
        "February 30",
        json.dumps(event(start={"dateTime": "2031-02-30T10:00:00", "timeZone": "UTC"})).encode(),
        400,
        "ErrorInvalidRequest",
    ),
    (
        "10,000-character zone",
        json.dumps(
            event(start={"dateTime": "2031-01-06T10:00:00", "timeZone": "Europe/" + "x" * 10_000})
        ).encode(),
        400,
        "TimeZoneNotSupportedException",
    ),
    (
        "zone path",
        json.dumps(
            event(start={"dateTime": "2031-01-06T10:00:00", "timeZone": "../../../etc/passwd"})
        ).encode(),
        400,
        "TimeZoneNotSupportedException",
    ),
    (
        "end before start",
        json.dumps(event(end={"dateTime": "2031-01-06T09:00:00", "timeZone": "UTC"})).encode(),
        400,
        "ErrorCalendarEndDateIsEarlierThanStartDate",
    ),
    ("showAs", json.dumps(event(showAs="maybe")).encode(), 400, "RequestBodyRead"),
    (
        "location member",
        json.dumps(event(location={"displayName": "x", "shoe": 1})).encode(),
        400,
        "RequestBodyRead",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "code"), REFUSED_EVENTS, ids=[c[0] for c in REFUSED_EVENTS]
)
def test_events_refused_with_graphs_error_and_nothing_stored(
    sweep: Sweep,
    owner: MsUser,
    before: dict[str, str],
    case: str,
    body: bytes,
    status: int,
    code: str,
) -> None:
    events = owner.mailbox.default_calendar.events
    last_change = events.last_seq
    created = sweep.send("POST", "/me/events", content=body, refuse=True)
    assert created.status_code == status, (case, created.text[:300])
    assert created.json()["error"]["code"] == code, created.text[:300]
    assert events.last_seq == last_change  # nothing stored
    assert sweep.send("GET", "/me/events", params={"$top": "1000"}).status_code == 200


REFUSED_CONTACTS: list[tuple[str, bytes, str]] = [
    ("lone surrogate in a name", b'{"givenName": "x\\ud800y"}', "BadRequest"),
    ("birthday yesterday", b'{"birthday": "yesterday"}', "RequestBodyRead"),
    ("birthday without offset", b'{"birthday": "1990-01-01T00:00:00"}', "RequestBodyRead"),
    ("{value: 5} as an e-mail address", b'{"emailAddresses": [{"value": 5}]}', "RequestBodyRead"),
    ("e-mail address a number", b'{"emailAddresses": [{"address": 5}]}', "RequestBodyRead"),
    ("address member", b'{"homeAddress": {"street": "x", "shoe": 1}}', "RequestBodyRead"),
    ("address street an object", b'{"homeAddress": {"street": {"a": [1]}}}', "RequestBodyRead"),
    ("phones a string", b'{"businessPhones": "123"}', "RequestBodyRead"),
    (
        "nested 100,000 deep",
        b'{"children": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "BadRequest",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "code"), REFUSED_CONTACTS, ids=[c[0] for c in REFUSED_CONTACTS]
)
def test_contacts_refused_with_graphs_error_and_nothing_stored(
    sweep: Sweep, owner: MsUser, case: str, body: bytes, code: str
) -> None:
    contacts = owner.mailbox.default_contacts.contacts
    last_change = contacts.last_seq
    reply = sweep.send("POST", "/me/contacts", content=body, refuse=True)
    assert reply.status_code == 400, (case, reply.text[:300])
    assert reply.json()["error"]["code"] == code, reply.text[:300]
    assert contacts.last_seq == last_change
    assert sweep.send("GET", "/me/contacts", params={"$top": "1000"}).status_code == 200


def test_a_body_over_4_mb_is_413(sweep: Sweep) -> None:
    big = sweep.send("POST", "/me/events", body=event(subject="x" * (10 << 20)), refuse=True)
    assert big.status_code == 413, big.text[:300]
    assert big.json()["error"]["message"] == "The maximum request length supported is 4MB."


def test_a_birthday_graph_writes_is_accepted(sweep: Sweep) -> None:
    created = sweep.send(
        "POST", "/me/contacts", body={"givenName": "B", "birthday": "1990-05-17T00:00:00Z"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["birthday"] == "1990-05-17T00:00:00Z"


def test_a_series_running_past_what_zones_render_still_reads(sweep: Sweep) -> None:
    """Yearly from 9000-12-31 every 999 years: the second occurrence, 9999-12-31, cannot be
    written at +14:00; it is left out, and every read of the series answers."""
    created = sweep.send(
        "POST",
        "/me/events",
        body={
            "subject": "Far",
            "start": {"dateTime": "9000-12-31T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "9000-12-31T11:00:00", "timeZone": "UTC"},
            "recurrence": recurrence(
                {"type": "absoluteYearly", "interval": 999, "month": 12, "dayOfMonth": 31},
                {"startDate": "9000-12-31"},
            ),
        },
    )
    assert created.status_code == 201, created.text[:300]
    master = created.json()["id"]
    kiritimati = {"Prefer": 'outlook.timezone="Pacific/Kiritimati"'}
    for path, params in (
        (
            f"/me/events/{master}/instances",
            {"startDateTime": "9000-06-01T00:00:00Z", "endDateTime": "9004-06-01T00:00:00Z"},
        ),
        (
            "/me/calendarView",
            {"startDateTime": "8999-01-01T00:00:00Z", "endDateTime": "9003-12-01T00:00:00Z"},
        ),
    ):
        reply = sweep.send("GET", path, params=params, headers=kiritimati)
        assert reply.status_code == 200, reply.text[:300]
        assert [
            i["start"]["dateTime"][:10]
            for i in reply.json()["value"]
            if i.get("seriesMasterId") == master
        ] == ["9001-01-01"]
    assert (
        sweep.send("GET", f"/me/events/{master}_99991231T100000Z", headers=kiritimati).status_code
        == 404
    )


@pytest.mark.parametrize("value", ["9" * 5000, "²", "５", "-1", "1e3", " 5", "2147483648", ""])
def test_paging_numbers_are_ascii_int32(sweep: Sweep, value: str) -> None:
    for name in ("$top", "$skip"):
        reply = sweep.send("GET", "/me/events", params={name: value}, refuse=True)
        assert reply.status_code == 400, (name, value, reply.text[:200])
        assert reply.json()["error"]["code"] == "BadRequest"
    # A preference Graph cannot read is ignored: the default page size applies. (Blanks around
    # a preference's "=" are allowed, so " 5" is the 5 it says.)
    reply = sweep.send("GET", "/me/events", headers={"Prefer": f"odata.maxpagesize={value}"})
    applied = "odata.maxpagesize=5" if value == " 5" else None
    assert reply.status_code == 200 and reply.headers.get("preference-applied") == applied


# -- 2. the sweep ---------------------------------------------------------------------------------
HOSTILE = [
    "",
    "²",
    "５",
    "9" * 5000,
    "-1",
    "0",
    "1_0",
    " 5",
    "true",
    "yes",
    "x" * 10_000,
    "\x01",
    "\u202e",
    "😀",
    "../../../etc/passwd",
    "%",
    "Europe/" + "x" * 10_000,
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:00:00-11:00",
    "2031-13-45T99:99:99Z",
    "null",
    "[]",
    "a=b",
    "=",
    "'",
    "subject eq 'x",
    "\ufffd",
    "<script>x</script>",
    "start/dateTime ge '0001-01-01T00:00:00'",
    "(((((((((",
    "2147483647",
]
HOSTILE_IDS = [
    "x" * 10_000,
    "%00",
    "..",
    "UPPERCASE",
    "a" * 1025,
    "\u202e",
    "id;drop",
    "AAMk_20310106T100000Z",
    "x_99999999T999999Z",
    "nobody@nowhere.invalid",
]
OPTIONS = (
    "$top",
    "$skip",
    "$select",
    "$filter",
    "$orderby",
    "$count",
    "$expand",
    "$search",
    "$skiptoken",
    "$deltatoken",
    "$format",
    "startDateTime",
    "endDateTime",
    "$unknown",
)


def values_for(index: int, count: int = 6) -> list[str]:
    """A different slice of HOSTILE for each parameter, every value used somewhere."""
    return [HOSTILE[(index * 5 + k) % len(HOSTILE)] for k in range(count)]


def list_routes(sweep: Sweep) -> list[tuple[str, dict[str, str]]]:
    """Every list route of the mailbox, with the parameters it needs."""
    folder = sweep.send("GET", "/me/mailFolders").json()["value"][0]["id"]
    return [
        ("/me/events", {}),
        ("/me/calendar/events", {}),
        ("/me/calendars", {}),
        ("/me/calendarView", WINDOW),
        ("/me/calendar/calendarView", WINDOW),
        ("/me/calendarView/delta", WINDOW),
        ("/me/contacts", {}),
        ("/me/contacts/delta", {}),
        ("/me/contactFolders", {}),
        ("/me/mailFolders", {}),
        (f"/me/mailFolders/{folder}/messages", {}),
        ("/me/messages", {}),
        ("/users", {}),
    ]


def test_sweep_query_options(sweep: Sweep) -> None:
    for index, name in enumerate(OPTIONS):
        for path, needed in list_routes(sweep):
            for value in values_for(index + len(path), 4):
                sweep.send("GET", path, params={**needed, name: value})


def test_sweep_headers(sweep: Sweep) -> None:
    target = sweep.send("POST", "/me/events", body=event(subject="Target")).json()
    for index, value in enumerate(HOSTILE):
        if value and (value[0] == " " or value[0] == "\x01"):
            continue  # not a header value a client can send
        for path, needed in list_routes(sweep)[:6]:
            sweep.send(
                "GET",
                path,
                params=needed,
                headers={"Prefer": f'outlook.timezone="{value}", odata.maxpagesize={value}'},
            )
        sweep.send(
            "GET", f"/me/events/{target['id']}", headers={"Prefer": f'outlook.timezone="{value}"'}
        )
        sweep.send(
            "PATCH",
            f"/me/events/{target['id']}",
            body={"subject": "If"},
            headers={"If-Match": value},
            refuse=value not in ("", "*"),
        )
        sweep.send("GET", "/me", headers={"client-request-id": value[:200] or "x"})
        if index % 3 == 0:
            sweep.send("GET", "/me/events", headers={"Prefer": value})


def test_sweep_ids_in_paths(sweep: Sweep) -> None:
    for bad in HOSTILE_IDS:
        item = quote(bad, safe="")
        for kind in (
            "events",
            "calendar/events",
            f"calendars/{item}/events",
            "contacts",
            f"contactFolders/{item}/contacts",
        ):
            sweep.send("GET", f"/me/{kind}/{item}")
            sweep.send(
                "PATCH",
                f"/me/{kind}/{item}",
                body={"subject": "x"} if "events" in kind else {"givenName": "x"},
            )
            sweep.send("DELETE", f"/me/{kind}/{item}")
        for sub in ("instances", "accept", "decline", "cancel", "tentativelyAccept", item):
            method = "GET" if sub == "instances" else "POST"
            sweep.send(
                method,
                f"/me/events/{item}/{sub}",
                params=WINDOW if method == "GET" else None,
                body=None if method == "GET" else {},
            )
        sweep.send("GET", f"/users/{item}/events")
        sweep.send("GET", f"/me/calendars/{item}")
        sweep.send("GET", f"/me/mailFolders/{item}/messages")
        sweep.send("GET", f"/me/messages/{item}")


EVENT_BODIES: list[tuple[bytes, bool]] = [(body, True) for _, body, _, _ in REFUSED_EVENTS] + [
    # (body, must be refused)
    (json.dumps(event(subject="nul\x00 and \x01 control")).encode(), False),
    (json.dumps(event(subject="\u202eevil", body={"content": "😀" * 1000})).encode(), False),
    (json.dumps(event(body={"contentType": "html", "content": "d" * 900_000})).encode(), False),
    (json.dumps(event(location=None, locations=[], categories=[])).encode(), False),
    (
        json.dumps(
            event(
                recurrence=recurrence({"type": "weekly", "daysOfWeek": ["monday"], "interval": 999})
            )
        ).encode(),
        False,
    ),
    (json.dumps(event(recurrence=recurrence({"interval": "2"}))).encode(), False),
    (
        json.dumps(
            event(recurrence=recurrence({}, {"type": "numbered", "numberOfOccurrences": 10**9}))
        ).encode(),
        True,
    ),
    (
        json.dumps(
            event(recurrence=recurrence({}, {"type": "endDate", "endDate": "9999-12-31"}))
        ).encode(),
        False,
    ),
    (
        json.dumps(event(start={"dateTime": "0001-01-02T00:00:00", "timeZone": "UTC"})).encode(),
        False,
    ),
    (json.dumps(event(isAllDay=True)).encode(), True),
    (json.dumps(event(transactionId="t" * 10_000)).encode(), False),
    (
        json.dumps(
            event(attendees=[{"emailAddress": {"address": "a@b.c"}, "type": "boss"}])
        ).encode(),
        True,
    ),
    (b"", True),
    (b"null", True),
    (b'"x"', True),
    (b"5", True),
    (b'{"subject": ', True),
    (b"\xff\xfe{}", True),
    (b"{" * 200 + b"}" * 200, True),
]


def test_sweep_event_bodies(sweep: Sweep) -> None:
    target = sweep.send("POST", "/me/events", body=event(subject="Target")).json()
    path = f"/me/events/{target['id']}"
    for body, must_refuse in EVENT_BODIES:
        sweep.send("POST", "/me/events", content=body, refuse=must_refuse)
        sweep.send("POST", "/me/calendar/events", content=body, refuse=must_refuse)
        sweep.send("PATCH", path, content=body, refuse=must_refuse)
        for action in ("accept", "cancel"):
            sweep.send("POST", f"{path}/{action}", content=body)
    for method in ("PUT", "POST", "OPTIONS"):
        sweep.send(method, path, refuse=True)


def test_sweep_contact_bodies(sweep: Sweep) -> None:
    target = sweep.send("POST", "/me/contacts", body={"givenName": "Target"}).json()
    path = f"/me/contacts/{target['id']}"
    bodies = [(body, True) for _, body, _ in REFUSED_CONTACTS] + [
        (json.dumps({"givenName": "nul\x00"}).encode(), False),
        (json.dumps({"emailAddresses": [], "businessPhones": None}).encode(), True),
        (json.dumps({"businessHomePage": "javascript:alert(1)"}).encode(), False),
        (json.dumps({"birthday": "0001-01-01T00:00:00+14:00"}).encode(), True),
        (json.dumps({"birthday": None, "homeAddress": None}).encode(), False),
        (json.dumps({"imAddresses": [None]}).encode(), True),
        (b"[]", True),
        (b"", True),
        (b'{"givenName": "x"', True),
    ]
    for body, must_refuse in bodies:
        sweep.send("POST", "/me/contacts", content=body, refuse=must_refuse)
        sweep.send("PATCH", path, content=body, refuse=must_refuse)


# -- hypothesis: bodies and queries nobody thought of ----------------------------------------------
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
date_times = st.fixed_dictionaries(
    {
        "dateTime": st.sampled_from(
            [
                "0001-01-01T00:00:00",
                "9999-12-31T23:59:59",
                "2031-01-06",
                "2031-01-06T10:00:00.1234567",
                "2031-01-06T10:00:00+14:00",
            ]
        )
        | st.text(max_size=25),
        "timeZone": st.sampled_from(
            ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Pacific Standard Time", "x" * 200]
        )
        | st.text(max_size=10),
    }
)
patterns = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "daily",
                "weekly",
                "absoluteMonthly",
                "relativeMonthly",
                "absoluteYearly",
                "relativeYearly",
                "hourly",
            ]
        ),
        "interval": st.integers(-2, 2**33) | st.text(max_size=4),
        "month": st.integers(-1, 14),
        "dayOfMonth": st.integers(-1, 32),
        "daysOfWeek": st.lists(st.sampled_from(["monday", "friday", "x"]), max_size=3),
        "index": st.sampled_from(["first", "last", "fifth"]),
    }
)
ranges = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["noEnd", "endDate", "numbered"]),
        "startDate": st.sampled_from(["2031-01-06", "0001-01-01", "9000-12-31", "2031-02-30"]),
        "endDate": st.sampled_from(["2031-03-01", "0001-01-01", "9999-12-31"]),
        "numberOfOccurrences": st.integers(-1, 2000),
    }
)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(
    members=st.dictionaries(st.sampled_from(sorted(EVENT_WRITABLE)), json_values, max_size=4),
    start=date_times,
    end=date_times,
    times=st.booleans(),
)
def test_hypothesis_event_bodies(
    sweep: Sweep, members: dict[str, Any], start: dict[str, str], end: dict[str, str], times: bool
) -> None:
    body = {**(event(start=start, end=end) if times else {}), **members}
    sweep.send("POST", "/me/events", body=body)


@SETTINGS
@given(pattern=patterns, rng=ranges, zone=st.sampled_from(["UTC", "Pacific/Kiritimati"]))
def test_hypothesis_recurrences(
    sweep: Sweep, pattern: dict[str, Any], rng: dict[str, Any], zone: str
) -> None:
    created = sweep.send(
        "POST", "/me/events", body=event(recurrence={"pattern": pattern, "range": rng})
    )
    if created.status_code == 201:  # whatever was stored must expand and render, in any zone
        reply = sweep.send(
            "GET",
            f"/me/events/{created.json()['id']}/instances",
            params={"startDateTime": "9995-01-01T00:00:00Z", "endDateTime": "9999-12-31T00:00:00Z"},
            headers={"Prefer": f'outlook.timezone="{zone}"'},
        )
        assert reply.status_code == 200, reply.text[:300]
        # the whole range is more than Graph's 1825 days: refused, never expanded
        wide = sweep.send(
            "GET",
            f"/me/events/{created.json()['id']}/instances",
            params={"startDateTime": "0001-01-01T00:00:00Z", "endDateTime": "9999-12-31T00:00:00Z"},
        )
        assert wide.status_code == 400 and wide.json()["error"]["code"] == "ErrorInvalidRequest"


@SETTINGS
@given(
    members=st.dictionaries(st.sampled_from(sorted(CONTACT_PROPERTIES)), json_values, max_size=4)
)
def test_hypothesis_contact_bodies(sweep: Sweep, members: dict[str, Any]) -> None:
    sweep.send("POST", "/me/contacts", body=members)


@SETTINGS
@given(
    params=st.lists(st.tuples(st.sampled_from(OPTIONS), st.text(max_size=30)), max_size=4),
    path=st.sampled_from(
        [
            "/me/events",
            "/me/calendarView",
            "/me/contacts",
            "/me/calendarView/delta",
            "/me/contacts/delta",
        ]
    ),
)
def test_hypothesis_list_queries(sweep: Sweep, params: list[tuple[str, str]], path: str) -> None:
    sweep.send("GET", path, params=params)


# -- afterwards: the mailbox still works, and the figures ------------------------------------------
def _follow(sweep: Sweep, path: str, params: dict[str, str] | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    reply = sweep.send("GET", path, params=params, headers={"Prefer": "odata.maxpagesize=200"})
    for _ in range(200):
        assert reply.status_code == 200, reply.text[:300]
        page = reply.json()
        items += page["value"]
        link = page.get("@odata.nextLink")
        if not link:
            return items
        reply = sweep.send("GET", link.split("/graph/v1.0", 1)[1])
    raise AssertionError("more than 200 pages")


def test_after_the_sweep_the_mailbox_lists_and_syncs(sweep: Sweep, before: dict[str, str]) -> None:
    events = _follow(sweep, "/me/events", None)
    assert events
    for item in events[:40]:
        assert sweep.send("GET", f"/me/events/{item['id']}").status_code == 200
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        view = sweep.send(
            "GET",
            "/me/calendarView",
            params={
                "startDateTime": "0001-01-01T00:00:00Z",
                "endDateTime": "9999-12-31T00:00:00Z",
                "$top": "1000",
            },
            headers={"Prefer": f'outlook.timezone="{zone}"'},
        )
        assert view.status_code == 400, view.text[:300]  # over Graph's 1825 days
        for start, end in (("0001-01-01", "0005-12-01"), ("9995-01-01", "9999-12-31")):
            edge = sweep.send(
                "GET",
                "/me/calendarView",
                params={"startDateTime": f"{start}T00:00:00Z", "endDateTime": f"{end}T00:00:00Z",
                        "$top": "1000"},
                headers={"Prefer": f'outlook.timezone="{zone}"'},
            )
            assert edge.status_code == 200, edge.text[:300]
    assert _follow(sweep, "/me/calendarView", WINDOW) is not None
    assert _follow(sweep, "/me/contacts", None)
    for name in ("events", "contacts"):
        assert _follow(sweep, before[name].split("/graph/v1.0", 1)[1], None) is not None
    assert _follow(sweep, "/me/calendarView/delta", WINDOW)
    assert _follow(sweep, "/me/contacts/delta", None)


def test_sweep_figures(server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(TALLY.figures("Graph", server.hub))
    assert TALLY.requests >= 1000
    assert TALLY.five_xx == []
    assert TALLY.bad_shape == []
    assert TALLY.wrong_acceptance == []
