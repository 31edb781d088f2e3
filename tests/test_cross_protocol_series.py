"""One recurring meeting, three protocols: a weekly series (Monday 09:00 Europe/Berlin, six
occurrences across the start of summer time) with its 2nd occurrence moved and renamed and its
3rd cancelled, written through one protocol's official client and read back through the other
two: Graph by msgraph-sdk (calendarView, instances), EWS by exchangelib (CalendarView, the
master's ModifiedOccurrences/DeletedOccurrences) and Google by google-api-python-client
(singleEvents=true, the master's RRULE/EXDATE lines, instance ids).

The world has no account that is at once a Microsoft mailbox and a Google calendar (nor does the
real one), so the test lends the Microsoft user's calendar to a Google user of the world (the
same `Calendar` object, an alias, not a copy) and the Google client opens it by its id: the three
mocks then render the very same neutral series (world/recurrence.py) and every write through one
is seen by the other two. That is the nearest honest equivalent of "a Google-side user"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import google_auth_httplib2
import httplib2
import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import Recurrence, WeeklyPattern
from google_support import connect, users_of
from googleapiclient.discovery import Resource, build
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.day_of_week import DayOfWeek
from msgraph.generated.models.event import Event
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph.generated.users.item.events.item.instances.instances_request_builder import (
    InstancesRequestBuilder,
)
from test_graph_sdk import run, sdk_client

from mock_providers.hub import Hub
from mock_providers.server import HubServer
from mock_providers.world import Calendar, MsUser
from tests.test_ews_exchangelib import Setup, hub, online_app, world_id  # noqa: F401

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2032, 3, 15)  # a Monday; summer time starts on 2032-03-28
SUBJECT = "Cross sync"
MOVED = "Cross sync (moved)"
GCAL = "https://www.googleapis.com/auth/calendar"


def originals() -> list[datetime]:
    return [
        datetime.combine(FIRST_DAY + timedelta(weeks=n), datetime.min.time())
        .replace(hour=9, tzinfo=BERLIN)
        .astimezone(UTC)
        for n in range(6)
    ]


def moved_start() -> datetime:
    return originals()[1] + timedelta(hours=3)


WINDOW = (datetime(2032, 3, 14, tzinfo=UTC), datetime(2032, 4, 30, tzinfo=UTC))


@dataclass(frozen=True)
class Seen:
    """What one client reads of the series in the window: live instances by start (start in
    UTC, subject, is-exception), and the originals its master says are cancelled."""

    instances: list[tuple[datetime, str, bool]]
    cancelled: set[datetime]
    modified: set[datetime]


def expected() -> Seen:
    live = [(o, SUBJECT, False) for o in originals()]
    live[1] = (moved_start(), MOVED, True)
    del live[2]
    return Seen(live, {originals()[2]}, {originals()[1]})


# -- clients ---------------------------------------------------------------------------------------
@dataclass
class Clients:
    server: HubServer
    hub: Hub
    ews: Setup
    google: Resource
    calendar: Calendar

    @property
    def user(self) -> MsUser:
        return self.ews.owner


@pytest.fixture
def clients(hub_server: HubServer, hub: Hub) -> Clients:  # noqa: F811
    setup = online_app(hub, given=True)
    calendar = setup.owner.mailbox.default_calendar
    guser = users_of(hub_server)[0]
    guser.calendars[calendar.id] = calendar  # the alias: see the module's docstring
    creds = connect(hub_server, guser, [GCAL])
    http = google_auth_httplib2.AuthorizedHttp(
        creds, http=httplib2.Http(ca_certs=hub_server.ca_bundle)
    )
    google = build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": f"{hub_server.base_url}/calendar/v3/"},
    )
    return Clients(hub_server, hub, setup, google, calendar)


# -- writers: the series is found afterwards by its subject ----------------------------------------
def write_graph(c: Clients) -> None:
    async def go() -> None:
        client, _ = sdk_client(c.server, c.user)
        master = await client.me.events.post(
            Event(
                subject=SUBJECT,
                start=DateTimeTimeZone(
                    date_time=f"{FIRST_DAY}T09:00:00", time_zone="Europe/Berlin"
                ),
                end=DateTimeTimeZone(date_time=f"{FIRST_DAY}T09:30:00", time_zone="Europe/Berlin"),
                recurrence=PatternedRecurrence(
                    pattern=RecurrencePattern(
                        type=RecurrencePatternType.Weekly,
                        interval=1,
                        days_of_week=[DayOfWeek.Monday],
                        first_day_of_week=DayOfWeek.Monday,
                    ),
                    range=RecurrenceRange(
                        type=RecurrenceRangeType.Numbered,
                        start_date=FIRST_DAY,
                        number_of_occurrences=6,
                        recurrence_time_zone="Europe/Berlin",
                    ),
                ),
            )
        )
        assert master is not None and master.id
        config = RequestConfiguration(
            query_parameters=InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
                start_date_time=_z(WINDOW[0]), end_date_time=_z(WINDOW[1])
            )
        )
        listed = await client.me.events.by_event_id(master.id).instances.get(config)
        assert listed is not None and listed.value is not None and len(listed.value) == 6
        second, third = listed.value[1], listed.value[2]
        new = moved_start()
        await client.me.events.by_event_id(second.id).patch(
            Event(
                subject=MOVED,
                start=DateTimeTimeZone(
                    date_time=new.strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"
                ),
                end=DateTimeTimeZone(
                    date_time=(new + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                    time_zone="UTC",
                ),
            )
        )
        await client.me.events.by_event_id(third.id).delete()

    run(go())


def write_ews(c: Clients) -> None:
    account = c.ews.account
    tz = EWSTimeZone("Europe/Berlin")
    start = EWSDateTime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, 9, tzinfo=tz)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject=SUBJECT,
        start=start,
        end=start + timedelta(minutes=30),
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
            start=EWSDate(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day),
            number=6,
        ),
    )
    item.save()
    master = account.calendar.get(id=item.id)
    second = master.occurrence(2)
    second.refresh()
    new = EWSDateTime.from_datetime(moved_start())
    second.subject, second.start, second.end = MOVED, new, new + timedelta(minutes=30)
    second.save(update_fields=["subject", "start", "end"])
    third = master.occurrence(3)
    third.refresh()
    third.delete()


def write_google(c: Clients) -> None:
    events = c.google.events()
    master = events.insert(
        calendarId=c.calendar.id,
        body={
            "summary": SUBJECT,
            "start": {"dateTime": f"{FIRST_DAY}T09:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": f"{FIRST_DAY}T09:30:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6"],
        },
    ).execute()
    listed = events.instances(calendarId=c.calendar.id, eventId=master["id"]).execute()
    second, third = listed["items"][1], listed["items"][2]
    new = moved_start()
    events.patch(
        calendarId=c.calendar.id,
        eventId=second["id"],
        body={
            "summary": MOVED,
            "start": {"dateTime": _z(new)},
            "end": {"dateTime": _z(new + timedelta(minutes=30))},
        },
    ).execute()
    events.delete(calendarId=c.calendar.id, eventId=third["id"]).execute()


# -- readers ---------------------------------------------------------------------------------------
def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_time(value: DateTimeTimeZone) -> datetime:
    assert value.time_zone == "UTC"
    return datetime.fromisoformat(value.date_time[:19]).replace(tzinfo=UTC)


def read_graph(c: Clients) -> Seen:
    async def go() -> Seen:
        client, _ = sdk_client(c.server, c.user)
        config = RequestConfiguration(
            query_parameters=CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
                start_date_time=_z(WINDOW[0]), end_date_time=_z(WINDOW[1]), top=100
            )
        )
        page = await client.me.calendar_view.get(config)
        assert page is not None and page.value is not None
        mine = [e for e in page.value if (e.subject or "").startswith(SUBJECT)]
        masters = {e.series_master_id for e in mine}
        assert len(masters) == 1 and None not in masters
        live = [(_graph_time(e.start), e.subject or "", e.type.value == "exception") for e in mine]
        master = await client.me.events.by_event_id(masters.pop()).get()
        assert master is not None and master.type.value == "seriesMaster"
        assert master.recurrence.range.number_of_occurrences == 6
        originals_live = {e.original_start for e in mine}
        cancelled = {o for o in originals() if o not in originals_live}
        modified = {e.original_start for e in mine if e.type.value == "exception"}
        return Seen(live, cancelled, modified)

    return run(go())


def read_ews(c: Clients) -> Seen:
    account = c.ews.account
    view = [
        i
        for i in account.calendar.view(
            start=EWSDateTime.from_datetime(WINDOW[0]), end=EWSDateTime.from_datetime(WINDOW[1])
        )
        if (i.subject or "").startswith(SUBJECT)
    ]
    live = [
        (datetime.fromtimestamp(i.start.timestamp(), UTC), i.subject, i.type == "Exception")
        for i in view
    ]
    master = view[0].recurring_master()
    master.refresh()
    assert master.type == "RecurringMaster" and master.recurrence.boundary.number == 6
    cancelled = {
        datetime.fromtimestamp(o.start.timestamp(), UTC) for o in master.deleted_occurrences or []
    }
    modified = {
        datetime.fromtimestamp(o.original_start.timestamp(), UTC)
        for o in master.modified_occurrences or []
    }
    return Seen(live, cancelled, modified)


def read_google(c: Clients) -> Seen:
    events = c.google.events()
    page = events.list(
        calendarId=c.calendar.id,
        singleEvents=True,
        orderBy="startTime",
        timeMin=_z(WINDOW[0]),
        timeMax=_z(WINDOW[1]),
    ).execute()
    mine = [i for i in page["items"] if i.get("summary", "").startswith(SUBJECT)]
    masters = {i["recurringEventId"] for i in mine}
    assert len(masters) == 1
    master_id = masters.pop()
    live = []
    modified = set()
    for item in mine:
        start = datetime.fromisoformat(item["start"]["dateTime"]).astimezone(UTC)
        original = datetime.fromisoformat(item["originalStartTime"]["dateTime"]).astimezone(UTC)
        assert item["id"] == f"{master_id}_{original:%Y%m%dT%H%M%SZ}"
        if start != original or item["summary"] != SUBJECT:
            modified.add(original)
        live.append((start, item["summary"], start != original or item["summary"] != SUBJECT))
    master = events.get(calendarId=c.calendar.id, eventId=master_id).execute()
    rule, *rest = master["recurrence"]
    assert rule.startswith("RRULE:FREQ=WEEKLY") and "COUNT=6" in rule and "BYDAY=MO" in rule
    assert len(rest) == 1 and rest[0].startswith("EXDATE;TZID=Europe/Berlin:")
    cancelled = {
        datetime.strptime(v, "%Y%m%dT%H%M%S").replace(tzinfo=BERLIN).astimezone(UTC)
        for v in rest[0].split(":", 1)[1].split(",")
    }
    stub = events.get(
        calendarId=c.calendar.id, eventId=f"{master_id}_{originals()[2]:%Y%m%dT%H%M%SZ}"
    ).execute()
    assert stub["status"] == "cancelled"
    return Seen(live, cancelled, modified)


WRITERS: dict[str, Callable[[Clients], None]] = {
    "graph": write_graph,
    "ews": write_ews,
    "google": write_google,
}
READERS: dict[str, Callable[[Clients], Seen]] = {
    "graph": read_graph,
    "ews": read_ews,
    "google": read_google,
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_series_written_through_one_protocol_reads_the_same_through_all(
    clients: Clients, writer: str
) -> None:
    WRITERS[writer](clients)
    want = expected()
    seen: dict[str, Any] = {name: read(clients) for name, read in READERS.items()}
    for name, got in seen.items():
        assert got == want, (writer, name, got)
