"""The Google mock's intake and validators, in-process: whatever they are given they return a
value every later step can use or raise the one error type their callers turn into Google's 400.
Property tests (hypothesis) over arbitrary bytes and text, and tables of the cases that matter."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mock_providers.app import create_app
from mock_providers.google import calendar as calendar_module
from mock_providers.google import oauth as oauth_module
from mock_providers.google import validate
from mock_providers.google.discovery import document
from mock_providers.google.errors import GoogleError, dumps
from mock_providers.google.event_body import parse_event
from mock_providers.google.intake import MAX_DEPTH, IntakeError, parse_json
from mock_providers.google.person_body import parse_person
from mock_providers.google.render import UPDATE_FIELDS
from mock_providers.google.tokens import google_tokens
from mock_providers.hub import Hub

CAL_SCOPE = "https://www.googleapis.com/auth/calendar"

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_parse_json_returns_encodable_json_or_an_intake_error(raw: bytes) -> None:
    try:
        value = parse_json(raw)
    except IntakeError:
        return
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


@pytest.mark.parametrize("raw", [
    b'"x\\ud800y"', b'{"\\udfff": 1}', b"[NaN]", b"-Infinity", b"1e999", b"9" * 5000,
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), b"[" * 100_000, b"\xed\xa0\x80",
    b'{"a": 1', b"\xff",
])
def test_parse_json_refuses(raw: bytes) -> None:
    with pytest.raises(IntakeError):
        parse_json(raw)


def test_parse_json_takes_what_json_allows() -> None:
    assert parse_json(b'{"a": ["\\u00e9", 1.5, -3, true, null, "\\ud83d\\ude00"]}') == {
        "a": ["é", 1.5, -3, True, None, "😀"]}
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    assert parse_json(b"  ") is None


@SETTINGS
@given(st.text(max_size=40))
def test_query_validators_raise_only_googles_error(text: str) -> None:
    params = {"n": text}
    for check in (lambda: validate.query_int(params, "n", 1, 1, 2500),
                  lambda: validate.query_bool(params, "n"),
                  lambda: validate.query_timestamp(params, "n"),
                  lambda: validate.query_zone(params, "n"),
                  lambda: validate.recurrence_lines([text])):
        try:
            check()
        except GoogleError as err:
            assert err.code == 400
    assert validate.zone(text) is None or text in validate._zone_names()


@pytest.mark.parametrize("raw", ["²", "５", "1_0", " 5", "5 ", "+5", "-1", "0", "9" * 5000, "0x1"])
def test_query_int_is_ascii_digits(raw: str) -> None:
    with pytest.raises(GoogleError):
        validate.query_int({"maxResults": raw}, "maxResults", 250, 1, 2500)


def test_query_int_clamps_above_the_maximum() -> None:
    assert validate.query_int({"m": "99999"}, "m", 250, 1, 2500) == 2500


@pytest.mark.parametrize(("text", "expected"), [
    ("2031-05-06T10:00:00Z", datetime(2031, 5, 6, 10, tzinfo=UTC)),
    ("2031-05-06T12:00:00+02:00", datetime(2031, 5, 6, 10, tzinfo=UTC)),
    ("2031-05-06t10:00:00.123456789z", datetime(2031, 5, 6, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2031-05-06T12:00:00 02:00", datetime(2031, 5, 6, 10, tzinfo=UTC)),  # an unencoded +
])
def test_query_timestamp_reads_rfc3339(text: str, expected: datetime) -> None:
    assert validate.query_timestamp({"t": text}, "t") == expected


@pytest.mark.parametrize("text", ["2031-05-06", "2031-05-06T10:00:00", "20310506T100000Z",
                                  "2031-05-06T10:00Z", "0001-01-01T00:00:00+14:00",
                                  "9999-12-31T23:59:59-11:00", "2031-02-30T10:00:00Z",
                                  "2031-05-06T10:00:00+24:00"])
def test_query_timestamp_refuses(text: str) -> None:
    with pytest.raises(GoogleError):
        validate.query_timestamp({"t": text}, "t")


@pytest.mark.parametrize("name", ["", "Mars/Base", "Europe/" + "x" * 10_000, "../etc/passwd",
                                  "/etc/localtime", "europe/berlin", "Europe/Berlin\x00"])
def test_zone_refuses_what_is_not_a_tz_name(name: str) -> None:
    assert validate.zone(name) is None


@pytest.mark.parametrize("line", [
    "RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10",
    "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20311231T235959Z", "RRULE:FREQ=YEARLY;BYMONTH=2;"
    "BYMONTHDAY=-1;INTERVAL=4", "RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
    "EXDATE;TZID=Europe/Berlin:20310113T100000,20310115T100000", "EXDATE:20310113T090000Z",
    "RDATE;VALUE=DATE:20310601,20310701", "rrule:freq=daily;wkst=mo",
])
def test_recurrence_lines_google_writes(line: str) -> None:
    validate.recurrence_lines([line])


@pytest.mark.parametrize("line", [
    "RRULE:FREQ=DAILY;INTERVAL=abc", "RRULE:FREQ=YEARLY;BYMONTH=13",
    "RRULE:FREQ=DAILY;INTERVAL=1000000000000000", "RRULE:FREQ=DAILY;INTERVAL=0",
    "RRULE:FREQ=DAILY;COUNT=1000", "RRULE:FREQ=DAILY;COUNT=2;UNTIL=20310101",
    "RRULE:INTERVAL=2", "RRULE:FREQ=FORTNIGHTLY", "RRULE:FREQ=DAILY;FREQ=WEEKLY",
    "RRULE:FREQ=WEEKLY;BYDAY=XX", "RRULE:FREQ=MONTHLY;BYDAY=54MO", "RRULE:FREQ=DAILY;BYHOUR=24",
    "RRULE:FREQ=DAILY;BYMONTHDAY=0", "RRULE:FREQ=DAILY;BYMONTH=-1", "RRULE:FREQ=DAILY;X-Y=1",
    "RRULE:FREQ=DAILY;UNTIL=20310230", "RRULE;X=1:FREQ=DAILY", "EXDATE:2031011", "EXDATE:",
    "EXDATE;TZID=Mars/Base:20310113T100000", "RDATE;VALUE=DATE:20310601T100000", "FOO:BAR",
    "no colon", "",
])
def test_recurrence_lines_refused(line: str) -> None:
    with pytest.raises(GoogleError) as caught:
        validate.recurrence_lines([line])
    assert caught.value.code == 400 and caught.value.reason == "invalid"


EVENT_MEMBERS = sorted(document("calendar", "v3")["schemas"]["Event"]["properties"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3), max_leaves=8)


@SETTINGS
@given(st.dictionaries(st.sampled_from(EVENT_MEMBERS), json_values, max_size=5),
       st.booleans(), st.sampled_from([0, 1]))
def test_parse_event_raises_only_googles_error(body: dict[str, object], partial: bool,
                                               version: int) -> None:
    try:
        parse_event(body, None, partial=partial, conference_version=version, gid="abcde")
    except GoogleError as err:
        assert err.code == 400


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(UPDATE_FIELDS)), json_values, max_size=4))
def test_parse_person_raises_only_googles_error(body: dict[str, object]) -> None:
    try:
        parse_person(body, sorted(body))
    except GoogleError as err:
        assert err.code == 400


def test_a_surrogate_stored_by_another_protocol_does_not_break_a_google_read() -> None:
    assert json.loads(dumps({"summary": "x\ud800y"})) == {"summary": "x?y"}
    assert dumps({"summary": "é"}) == '{"summary":"é"}'.encode()


def test_an_unexpected_exception_is_googles_500_without_its_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in a handler: Google's error body (REST or OAuth shape), never exception text."""

    async def broken(*_: object) -> None:
        raise RuntimeError("/srv/secret/handler.py exploded")

    monkeypatch.setattr(calendar_module._CalendarApi, "calendar_get", broken)
    monkeypatch.setattr(oauth_module._OAuth, "certs", broken)
    hub = Hub.seeded(3, "http://testserver")
    user = next(u for d in hub.world.google_domains.values() for u in d.users.values())
    token = google_tokens(hub.world).issue_access(user.email, "client", [CAL_SCOPE],
                                                  hub.world.clock.timestamp())
    with TestClient(create_app(hub), raise_server_exceptions=False) as client:
        rest = client.get("/google/calendar/v3/calendars/primary",
                          headers={"Authorization": f"Bearer {token.token}"})
        oauth = client.get("/oauth2/v3/certs")
    assert rest.status_code == 500 and rest.json()["error"]["errors"][0]["reason"] == \
        "backendError"
    assert oauth.status_code == 500 and oauth.json()["error"] == "internal_failure"
    for reply in (rest, oauth):
        assert "secret" not in reply.text and "exploded" not in reply.text
