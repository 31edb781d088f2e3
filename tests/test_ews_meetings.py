"""Distinguished folders and meetings across mailboxes on EWS, with exchangelib: every mailbox
has Inbox, Sent Items, Deleted Items… (world.folders); an organizer's invitation reaches the
attendees of the tenant (world.meetings), their answers reach the organizer, a cancellation
reaches them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchangelib import (
    IMPERSONATION,
    Account,
    Attendee,
    CalendarItem,
    Configuration,
    EWSDateTime,
    Mailbox,
)
from exchangelib.folders import DeletedItems, Inbox, SentItems
from exchangelib.items import (
    SEND_TO_ALL_AND_SAVE_COPY,
    MeetingCancellation,
    MeetingRequest,
    MeetingResponse,
)

from mock_providers.hub import Hub
from mock_providers.world import MsUser
from tests.test_ews_exchangelib import hub, online_app, users, world_id  # noqa: F401


def _as(setup_account: Account, user: MsUser) -> Account:
    config: Configuration = setup_account.protocol.config
    return Account(user.upn, config=config, autodiscover=False, access_type=IMPERSONATION)


def test_distinguished_folders_exist(hub: Hub) -> None:  # noqa: F811
    account = online_app(hub, given=True).account
    assert isinstance(account.inbox, Inbox) and account.inbox.name == "Inbox"
    assert isinstance(account.sent, SentItems) and account.sent.name == "Sent Items"
    assert isinstance(account.trash, DeletedItems)
    assert account.inbox.folder_class == "IPF.Note"
    assert account.inbox.all().count() == 0
    names = {f.name for f in account.root.walk()}
    assert {"Top of Information Store", "Inbox", "Sent Items", "Deleted Items", "Drafts",
            "Outbox", "Junk Email", "Calendar", "Contacts", "Tasks"} <= names
    assert account.tasks.folder_class == "IPF.Task"


def test_invitation_response_and_cancellation(hub: Hub) -> None:  # noqa: F811
    setup = online_app(hub, given=True)
    organizer_account = setup.account
    attendee = users(hub, "contoso")[1]
    attendee_account = _as(organizer_account, attendee)
    start = EWSDateTime.from_datetime(datetime.now(UTC).replace(microsecond=0)
                                      + timedelta(days=2))
    item = CalendarItem(
        account=organizer_account, folder=organizer_account.calendar, subject="Design review",
        start=start, end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=attendee.upn),
                                     response_type="Unknown"),
                            Attendee(mailbox=Mailbox(email_address="guest@example.com"),
                                     response_type="Unknown")])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    requests = list(attendee_account.inbox.all())
    assert [(type(r), r.subject) for r in requests] == [(MeetingRequest, "Design review")]
    assert requests[0].start == start
    copy = next(i for i in attendee_account.calendar.all() if i.subject == "Design review")
    assert copy.legacy_free_busy_status == "Tentative" and copy.my_response_type == "Unknown"
    assert [type(s) for s in organizer_account.sent.all()] == [MeetingRequest]

    requests[0].accept(body="See you there")
    organizer_item = organizer_account.calendar.get(id=item.id)
    responses = {a.mailbox.email_address: a.response_type
                 for a in organizer_item.required_attendees}
    assert responses[attendee.upn] == "Accept"
    assert responses["guest@example.com"] == "Unknown"
    answer = list(organizer_account.inbox.all())
    assert [(type(a), a.subject) for a in answer] == [(MeetingResponse, "Accepted: Design review")]
    copy.refresh()
    assert copy.legacy_free_busy_status == "Busy"

    organizer_item.cancel(body="Cancelled, sorry")
    assert organizer_account.calendar.filter(subject="Design review").count() == 0
    cancellations = [m for m in attendee_account.inbox.all()
                     if isinstance(m, MeetingCancellation)]
    assert [c.subject for c in cancellations] == ["Canceled: Design review"]
    copy.refresh()
    assert copy.subject == "Canceled: Design review" and copy.is_cancelled
    world_copy = attendee.mailbox.default_calendar.events.get(world_id(copy.id))
    assert world_copy is not None and world_copy.is_cancelled


def test_declining_removes_the_copy_and_delete_with_cancellations(hub: Hub) -> None:  # noqa: F811
    setup = online_app(hub, given=True)
    organizer_account = setup.account
    first, second = users(hub, "contoso")[1:3]
    start = EWSDateTime.from_datetime(datetime.now(UTC).replace(microsecond=0)
                                      + timedelta(days=3))
    item = CalendarItem(
        account=organizer_account, folder=organizer_account.calendar, subject="Retro",
        start=start, end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=u.upn),
                                     response_type="Unknown") for u in (first, second)])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    first_account = _as(organizer_account, first)
    copy = next(i for i in first_account.calendar.all() if i.subject == "Retro")
    copy.decline()
    assert first_account.calendar.filter(subject="Retro").count() == 0
    item.refresh()
    assert {a.mailbox.email_address: a.response_type
            for a in item.required_attendees}[first.upn] == "Decline"
    item.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    second_account = _as(organizer_account, second)
    assert [type(m) for m in second_account.inbox.all()] == [MeetingCancellation,
                                                              MeetingRequest]
