"""EWS dates at the edges and the session time zone: t:TimeZoneContext (what exchangelib sends
from its account's default_timezone) is the zone a time without offset is read in and the zone a
new calendar item without StartTimeZone gets; output stays UTC with Z, as Exchange writes it.
Instants outside the years a DateTime holds are a schema fault, calendar times outside the range
every zone can render ErrorCalendarOutOfRange, never a 500 ErrorInternalServerError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from exchangelib import DELEGATE, Account, CalendarItem, EWSDateTime, EWSTimeZone

from mock_providers.hub import Hub
from mock_providers.microsoft.ews.render import ews_datetime
from mock_providers.world import MsUser
from tests.test_ews_exchangelib import hub, onprem_basic  # noqa: F401

ENVELOPE = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
            'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
            'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header>'
            '<t:RequestServerVersion Version="Exchange2016"/>{header}</s:Header>'
            '<s:Body>{body}</s:Body></s:Envelope>')
TOKYO = ('<t:TimeZoneContext><t:TimeZoneDefinition Id="Tokyo Standard Time"/>'
         '</t:TimeZoneContext>')


def _post(the_hub: Hub, user: MsUser, body: str, header: str = "") -> httpx.Response:
    return httpx.post(the_hub.ews_url,
                      content=ENVELOPE.format(header=header, body=body).encode(),
                      headers={"Content-Type": "text/xml; charset=utf-8"},
                      auth=(user.upn, user.password), verify=False)


def _create(start: str, end: str, subject: str = "edge") -> str:
    return ('<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
            '<t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items>'
            f'<t:CalendarItem><t:Subject>{subject}</t:Subject><t:Start>{start}</t:Start>'
            f'<t:End>{end}</t:End></t:CalendarItem></m:Items></m:CreateItem>')


def _view(start: str, end: str) -> str:
    return ('<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape>'
            f'</m:ItemShape><m:CalendarView StartDate="{start}" EndDate="{end}"/>'
            '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>'
            '</m:FindItem>')


def test_times_without_offset_are_read_in_the_session_zone(hub: Hub) -> None:  # noqa: F811
    owner = onprem_basic(hub, given=True).owner
    reply = _post(hub, owner, _create("2031-01-01T09:00:00", "2031-01-01T10:00:00", "tokyo"),
                  TOKYO)
    assert reply.status_code == 200 and 'ResponseClass="Success"' in reply.text, reply.text
    stored = next(e for e in owner.mailbox.default_calendar.events if e.subject == "tokyo")
    assert stored.start == datetime(2031, 1, 1, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert stored.time_zone == "Tokyo Standard Time"  # no StartTimeZone: the session's

    in_tokyo = _post(hub, owner, _view("2031-01-01T08:30:00", "2031-01-01T10:30:00"), TOKYO)
    assert "<t:Subject>tokyo</t:Subject>" in in_tokyo.text
    assert "<t:Start>2031-01-01T00:00:00Z</t:Start>" in in_tokyo.text  # output stays UTC
    in_utc = _post(hub, owner, _view("2031-01-01T08:30:00", "2031-01-01T10:30:00"))
    assert 'ResponseClass="Success"' in in_utc.text
    assert "<t:Subject>tokyo</t:Subject>" not in in_utc.text

    # without the header a time without offset is UTC, and the item's zone too
    _post(hub, owner, _create("2031-01-02T09:00:00", "2031-01-02T10:00:00", "utc"))
    plain = next(e for e in owner.mailbox.default_calendar.events if e.subject == "utc")
    assert (plain.start, plain.time_zone) == (datetime(2031, 1, 2, 9, tzinfo=UTC), "UTC")


def test_a_time_zone_context_without_its_definition_is_a_schema_fault(
        hub: Hub) -> None:  # noqa: F811
    owner = onprem_basic(hub, given=True).owner
    reply = _post(hub, owner, _view("2031-01-01T08:30:00", "2031-01-01T10:30:00"),
                  "<t:TimeZoneContext/>")
    assert reply.status_code == 500
    assert "ErrorSchemaValidation" in reply.text and "TimeZoneDefinition" in reply.text


def test_exchangelib_in_another_zone_round_trips(hub: Hub) -> None:  # noqa: F811
    """exchangelib sends its account's default_timezone as t:TimeZoneContext on every call."""
    setup = onprem_basic(hub, given=True)
    config = setup.account.protocol.config
    tokyo = EWSTimeZone("Asia/Tokyo")
    account = Account(setup.owner.upn, config=config, autodiscover=False, access_type=DELEGATE,
                      default_timezone=tokyo)
    start = EWSDateTime(2031, 3, 4, 9, 0, tzinfo=tokyo)
    CalendarItem(account=account, folder=account.calendar, subject="zoned", start=start,
                 end=start + timedelta(hours=1)).save()
    got = [i for i in account.calendar.view(start=start - timedelta(hours=1),
                                            end=start + timedelta(hours=2))
           if i.subject == "zoned"]
    assert [i.start for i in got] == [start]
    assert got[0].start.astimezone(EWSTimeZone("UTC")) == EWSDateTime(
        2031, 3, 4, 0, 0, tzinfo=EWSTimeZone("UTC"))


def test_out_of_range_dates_get_exchanges_errors_not_a_500(hub: Hub) -> None:  # noqa: F811
    owner = onprem_basic(hub, given=True).owner
    # Not a DateTime at all: its UTC time is before year 1 or after 9999.
    for start, end in (("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00Z"),
                       ("9999-12-30T00:00:00Z", "9999-12-31T22:00:00-11:00")):
        for body in (_create(start, end), _view(start, end)):
            reply = _post(hub, owner, body)
            assert reply.status_code == 500, reply.text
            assert "ErrorSchemaValidation</e:ResponseCode>" in reply.text, reply.text
            assert "ErrorInternalServerError" not in reply.text
        # the same edges as times without offset, read in a session zone
        reply = _post(hub, owner, _view("0001-01-01T00:00:00", "0001-01-02T00:00:00"), TOKYO)
        assert reply.status_code == 500 and "ErrorSchemaValidation" in reply.text
    # A DateTime, but one a calendar item cannot have (another zone could not render it).
    for start, end in (("0001-01-01T05:00:00Z", "0001-01-01T06:00:00Z"),
                       ("9999-12-31T20:00:00Z", "9999-12-31T21:00:00Z")):
        for body in (_create(start, end), _view(start, end)):
            reply = _post(hub, owner, body)
            assert reply.status_code == 200, reply.text
            assert 'ResponseClass="Error"' in reply.text
            assert "<m:ResponseCode>ErrorCalendarOutOfRange</m:ResponseCode>" in reply.text
    assert not [e for e in owner.mailbox.default_calendar.events if e.subject == "edge"]


def test_years_below_1000_are_written_with_four_digits() -> None:
    assert ews_datetime(datetime(5, 3, 4, 1, 2, 3, tzinfo=UTC)) == "0005-03-04T01:02:03Z"
