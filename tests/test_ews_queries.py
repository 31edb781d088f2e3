"""FindItem restrictions on the fields EWS stores (categories, importance, reminders, calendar
fields, contact fields), FindFolder restrictions on folder fields, Exchange's error where it
refuses a path (ErrorUnsupportedPathForQuery), and CalendarView boundaries as Exchange draws them
(overlap of [start, end)), with exchangelib and, where exchangelib itself refuses, raw SOAP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from exchangelib import DEEP, SHALLOW, CalendarItem, Contact, EWSDateTime, Q
from exchangelib.folders import FolderCollection

from mock_providers.hub import Hub
from mock_providers.world import MsUser
from tests.test_ews_exchangelib import hub, onprem_basic  # noqa: F401

T0 = datetime(2031, 2, 3, 9, 0, tzinfo=UTC)


def _at(hours: float) -> EWSDateTime:
    return EWSDateTime.from_datetime(T0 + timedelta(hours=hours))


def test_restrictions_on_stored_fields(hub: Hub) -> None:  # noqa: F811
    account = onprem_basic(hub, given=True).account
    specs = [("a", "High", True, ["Red"], True), ("b", "Low", False, ["Blue", "Red"], False),
             ("c", "Normal", True, [], True)]
    for subject, importance, reminder, categories, response in specs:
        CalendarItem(account=account, folder=account.calendar, subject=f"q-{subject}",
                     start=_at(0), end=_at(1), importance=importance,
                     reminder_is_set=reminder, categories=categories or None,
                     is_response_requested=response, when="after lunch").save()
    mine = account.calendar.filter(subject__startswith="q-")

    def subjects(query: object) -> list[str]:
        return sorted(i.subject for i in query)  # type: ignore[attr-defined]

    assert subjects(mine.filter(importance="High")) == ["q-a"]
    assert subjects(mine.filter(reminder_is_set=False)) == ["q-b"]
    assert subjects(mine.filter(categories__contains=["Red"])) == ["q-a", "q-b"]
    assert subjects(mine.filter(when="after lunch")) == ["q-a", "q-b", "q-c"]
    assert subjects(mine.filter(legacy_free_busy_status="Busy", is_all_day=False)) == [
        "q-a", "q-b", "q-c"]
    Contact(account=account, folder=account.contacts, display_name="Grace Hopper",
            department="Navy", middle_name="Brewster").save()
    assert [c.display_name for c in account.contacts.filter(department="Navy")] == [
        "Grace Hopper"]
    assert [c.display_name for c in account.contacts.filter(middle_name="Brewster")] == [
        "Grace Hopper"]


def test_calendar_view_boundaries(hub: Hub) -> None:  # noqa: F811
    account = onprem_basic(hub, given=True).account
    for subject, start, end in [("ends-at-start", -1, 0), ("overlaps-start", -1, 0.5),
                                ("inside", 0.25, 0.75), ("zero-at-start", 0, 0),
                                ("starts-at-end", 1, 2), ("zero-at-end", 1, 1)]:
        CalendarItem(account=account, folder=account.calendar, subject=f"v-{subject}",
                     start=_at(start), end=_at(end)).save()
    seen = sorted(i.subject for i in account.calendar.view(start=_at(0), end=_at(1))
                  if i.subject.startswith("v-"))
    assert seen == ["v-inside", "v-overlaps-start", "v-zero-at-start"]


SOAP = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
        'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header>'
        '<t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body>{}</s:Body>'
        '</s:Envelope>')


def _post(the_hub: Hub, user: MsUser, body: str) -> str:
    reply = httpx.post(the_hub.ews_url, content=SOAP.format(body).encode(),
                       headers={"Content-Type": "text/xml; charset=utf-8"},
                       auth=(user.upn, user.password), verify=False)
    assert reply.status_code == 200, reply.text
    return reply.text


def _is_equal(uri: str, value: str) -> str:
    return (f'<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="{uri}"/><t:FieldURIOrConstant>'
            f'<t:Constant Value="{value}"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>')


def test_find_item_answers_exchanges_error_for_a_path_it_cannot_search(
        hub: Hub) -> None:  # noqa: F811
    """calendar:UID and the attendee lists are paths Exchange refuses in a restriction
    (exchangelib marks them is_searchable=False for that reason)."""
    setup = onprem_basic(hub, given=True)
    CalendarItem(account=setup.account, folder=setup.account.calendar, subject="uid-probe",
                 start=_at(0), end=_at(1)).save()
    for uri in ("calendar:UID", "calendar:RequiredAttendees", "item:Culture",
                "calendar:IsResponseRequested"):
        text = _post(hub, setup.owner, '<m:FindItem Traversal="Shallow"><m:ItemShape>'
                     '<t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                     f'{_is_equal(uri, "x")}<m:ParentFolderIds>'
                     '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>')
        assert 'ResponseClass="Error"' in text, uri
        assert "<m:ResponseCode>ErrorUnsupportedPathForQuery</m:ResponseCode>" in text, uri
    # and a searchable one is answered
    text = _post(hub, setup.owner, '<m:FindItem Traversal="Shallow"><m:ItemShape>'
                 '<t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                 f'{_is_equal("item:Subject", "uid-probe")}<m:ParentFolderIds>'
                 '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>')
    assert 'TotalItemsInView="1"' in text


def test_find_folder_applies_restrictions_on_folder_fields(hub: Hub) -> None:  # noqa: F811
    account = onprem_basic(hub, given=True).account
    root = FolderCollection(account=account, folders=[account.msg_folder_root])

    def names(q: Q, depth: str = SHALLOW) -> list[str]:
        return sorted(f.name for f in root.find_folders(q=q, depth=depth))

    every = names(Q())
    assert {"Inbox", "Sent Items", "Calendar", "Contacts", "Tasks"} <= set(every)
    assert names(Q(name="Inbox")) == ["Inbox"]
    # the default calendar and the mailbox's second one (seeded beside it)
    assert names(Q(folder_class="IPF.Appointment")) == ["Calendar", "Team"]
    assert names(Q(folder_class="IPF.Contact") | Q(folder_class="IPF.Task")) == [
        "Contacts", "Tasks"]
    assert names(Q(name__startswith="Sent")) == ["Sent Items"]
    assert names(~Q(folder_class="IPF.Note")) == sorted(
        n for n in every if n in ("Calendar", "Team", "Contacts", "Tasks", "Notes", "Journal"))
    assert names(Q(name="No such folder")) == []
    assert names(Q(name="Inbox"), depth=DEEP) == ["Inbox"]


def test_find_folder_answers_exchanges_error_for_a_path_it_cannot_search(
        hub: Hub) -> None:  # noqa: F811
    setup = onprem_basic(hub, given=True)
    for uri in ("folder:FolderId", "folder:EffectiveRights", "item:Subject"):
        text = _post(hub, setup.owner, '<m:FindFolder Traversal="Shallow"><m:FolderShape>'
                     '<t:BaseShape>Default</t:BaseShape></m:FolderShape>'
                     f'{_is_equal(uri, "x")}<m:ParentFolderIds>'
                     '<t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds>'
                     '</m:FindFolder>')
        assert "<m:ResponseCode>ErrorUnsupportedPathForQuery</m:ResponseCode>" in text, uri
    hidden = ('<m:Restriction><t:IsEqualTo><t:ExtendedFieldURI PropertyTag="0x10f4" '
              'PropertyType="Boolean"/><t:FieldURIOrConstant><t:Constant Value="false"/>'
              '</t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>')
    text = _post(hub, setup.owner, '<m:FindFolder Traversal="Shallow"><m:FolderShape>'
                 '<t:BaseShape>Default</t:BaseShape></m:FolderShape>'
                 f'{hidden}<m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/>'
                 '</m:ParentFolderIds></m:FindFolder>')
    assert 'ResponseClass="Success"' in text and "<t:DisplayName>Inbox</t:DisplayName>" in text
