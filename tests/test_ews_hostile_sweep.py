"""Hostile values in every EWS operation's parameters and bodies, through real HTTP against a
running hub (TLS, 127.0.0.1). `test_ews_hostile.py` covers attacks on the XML parser; this sweep
covers what a well-formed envelope can carry.

1. A table: each hostile value (a lone surrogate, as a character reference and as raw bytes;
   control characters XML cannot carry; 5,000-digit and full-width numbers; huge strings; dates
   at year 1 +14:00 and 9999 -11:00; nesting as deep as the parser allows; the wrong type) in
   each slot of CreateItem (calendar items, contacts, recurrence), UpdateItem (with ChangeKey),
   DeleteItem, GetItem, FindItem (IndexedPageItemView, CalendarView, Restriction), SyncFolderItems,
   FindFolder and GetFolder.
2. Hypothesis: calendar items and contacts made of several hostile fields at once, each read back
   (GetItem, FindItem) as soon as it is stored.
3. Text that XML cannot carry, stored through the control API (as Graph or Google could store it),
   then read through every EWS read.

It asserts no server error (a 5xx that is not one of Exchange's SOAP-fault refusals, or an
ErrorInternalServerError), every refusal in Exchange's format (a SOAP fault with e:ResponseCode,
or a ResponseMessage with ResponseClass="Error" and a ResponseCode), no exception text or file
path in any answer, no value the schema refuses accepted, and that afterwards every read of the
mailbox (GetItem of every item, FindItem, CalendarView, SyncFolderItems from scratch, FindFolder)
still answers NoError. The figures are printed at the end through `hostile_support`. Findings
in modules a parallel change owns are named in KNOWN_OPEN (strictly: each must still occur).

Exchange refuses a request that breaks its schema with HTTP 500 and a SOAP fault
(ErrorSchemaValidation): that 500 is Exchange's own answer to bad input, not a server error, and
is counted under "statuses", not under "server errors".
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest
from hostile_support import Tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from harness.control_client import ControlClient
from harness.net import httpx_verify
from mock_providers.microsoft.claims import EXCHANGE_RESOURCE, delegated_access_claims
from mock_providers.server import HubServer
from mock_providers.world import MsUser

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS = {"s": S, "m": M, "t": T, "e": E}
MAX_SECONDS = 5.0  # per request, on a shared and loaded machine
LEAKS = ("Traceback", 'File "', "mock_providers/", "site-packages", "Exception:", "Error:")
SERVER_ERRORS = ("ErrorInternalServerError", "ErrorInternalServerTransientError")
CAL = '<t:DistinguishedFolderId Id="calendar"/>'
CONTACTS = '<t:DistinguishedFolderId Id="contacts"/>'
ALL = "<m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>"
ID_ONLY = "<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"

TALLY = Tally()

# -- hostile values -----------------------------------------------------------------------------
# Each value is XML text as it goes into the envelope (str, encoded UTF-8 with surrogatepass, so
# "\ud800" goes out as the raw bytes ED A0 80: a lone surrogate no UTF-8 reader accepts).
Kind = Literal["text", "capped", "int", "date", "bool", "enum", "id", "nested"]
DEEP = 50  # under the parser's 64 levels once inside an envelope's own depth
VALUES: dict[str, str] = {
    "lone surrogate (raw)": "x\ud800y",
    "lone surrogate (char ref)": "x&#xD800;y",
    "NUL (char ref)": "x&#0;y",
    "U+0001 (char ref)": "x&#1;y",
    "U+0001 (raw)": "x\x01y",
    "U+FFFE (raw)": "x\ufffey",
    "5,000 digits": "9" * 5000,
    "superscript two": "²",
    "full-width digits": "\uff11\uff12",
    "negative": "-1",
    "fraction": "1.5",
    "2**63": str(2**63),
    "empty": "",
    "blank": "   ",
    "300,000 characters": "A" * 300_000,
    "256 characters": "S" * 256,
    "year 1 +14:00": "0001-01-01T00:00:00+14:00",
    "9999 -11:00": "9999-12-31T23:59:59-11:00",
    "not a date": "yesterday",
    "RTL override and emoji": "\u202e\U0001f389",
    "escaped markup": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "nested 50 deep": "<t:X>" * DEEP + "</t:X>" * DEEP,
    "wrong element": "<t:Unknown>1</t:Unknown>",
    "not an id": "AAMkAGI2TG93AAA=",
}
# What the XML parser must refuse wherever the value goes.
NOT_XML = {"lone surrogate (raw)", "lone surrogate (char ref)", "NUL (char ref)",
           "U+0001 (char ref)", "U+0001 (raw)", "U+FFFE (raw)"}
VALID_INT = {"negative", "2**63"}  # ints in form; a slot's range may still refuse them
VALID_DATE: set[str] = set()  # both edge dates leave the range once in UTC


def must_refuse(kind: Kind, name: str) -> bool:
    """True when the schema refuses `name` in a slot of `kind` (a 2xx Success is then wrong)."""
    if name in NOT_XML:
        return True
    if kind == "capped":
        # Exchange cuts a long subject or name to 255 characters (world/limits.py), it does
        # not refuse it; markup inside the text-only element it refuses.
        return name in ("nested 50 deep", "wrong element")
    if kind == "int":
        return name not in VALID_INT
    if kind == "date":
        return name not in VALID_DATE
    return kind in ("bool", "enum")  # no hostile value is a valid boolean or enumeration


def attr(value: str) -> str:
    """`value` for an attribute: element markup cannot go there, so it is escaped."""
    return value.replace("<", "&lt;").replace('"', "&quot;")


# -- the client ---------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    root: Any  # the parsed envelope, or None
    codes: list[str]  # ResponseCode of each message, or the fault's

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.codes) and all(c == "NoError" for c in self.codes)


class Sweep:
    def __init__(self, server: HubServer, user: MsUser) -> None:
        hub = server.hub
        tenant = hub.world.ms_tenants[user.tenant_id]
        token = hub.signer.sign(delegated_access_claims(
            tenant_id=tenant.id, client_id=next(iter(tenant.apps)), resource=EXCHANGE_RESOURCE,
            oid=user.id, upn=user.upn, name=user.display_name, scopes=["EWS.AccessAsUser.All"],
            now=hub.world.clock.timestamp(), lifetime=6 * 3600))
        self.user = user
        self.client = httpx.Client(base_url=server.base_url, timeout=30.0,
                                   verify=httpx_verify(server.ca_bundle),
                                   headers={"Authorization": f"Bearer {token}",
                                            "Content-Type": "text/xml; charset=utf-8"})

    def send(self, operation: str, body: str, *, refuse: bool = False,
             label: str = "") -> Answer:
        """One request, tallied. `refuse`: the schema says no; a NoError answer is wrong."""
        envelope = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" '
                    f'xmlns:m="{M}" xmlns:t="{T}"><s:Header><t:RequestServerVersion '
                    f'Version="Exchange2016"/></s:Header><s:Body>{body}</s:Body></s:Envelope>')
        began = time.monotonic()
        reply = self.client.post("/EWS/Exchange.asmx",
                                 content=envelope.encode("utf-8", "surrogatepass"))
        elapsed = time.monotonic() - began
        label = f"{operation} {label} {body[:100]!r}"
        TALLY.requests += 1
        TALLY.statuses[reply.status_code] += 1
        TALLY.slowest = max(TALLY.slowest, elapsed)
        answer = _read(operation, reply)
        if any(leak in reply.text for leak in LEAKS):
            TALLY.bad_shape.append(f"leak {label}: {reply.text[:300]}")
        if answer.root is None or not answer.codes:
            TALLY.bad_shape.append(f"{reply.status_code} {label}: {reply.text[:300]}")
        if (reply.status_code >= 500 and answer.root is None) \
                or set(answer.codes) & set(SERVER_ERRORS):
            TALLY.five_xx.append(f"{reply.status_code} {answer.codes} {label}")
        if refuse and answer.ok:
            TALLY.wrong_acceptance.append(f"{label}")
        assert elapsed < MAX_SECONDS, label
        return answer


def _read(operation: str, reply: httpx.Response) -> Answer:
    if not reply.headers.get("content-type", "").startswith("text/xml"):
        return Answer(reply.status_code, None, [])
    try:
        root = etree.fromstring(reply.content)
    except etree.XMLSyntaxError:
        return Answer(reply.status_code, None, [])
    fault = root.find("s:Body/s:Fault", NS)
    if fault is not None:
        code = fault.findtext("detail/e:ResponseCode", namespaces=NS)
        return Answer(reply.status_code, root, [code] if code else [])
    if reply.status_code != 200:
        return Answer(reply.status_code, None, [])
    found = root.findall(f"s:Body/m:{operation}Response/m:ResponseMessages/"
                         f"m:{operation}ResponseMessage", NS)
    codes = [m.findtext("m:ResponseCode", namespaces=NS) or "" for m in found]
    classes = {m.get("ResponseClass") for m in found}
    if not classes <= {"Success", "Error", "Warning"} or "" in codes:
        return Answer(reply.status_code, None, [])
    return Answer(reply.status_code, root, codes)


def item_ids(answer: Answer, operation: str) -> list[tuple[str, str]]:
    if answer.root is None:
        return []
    return [(e.get("Id"), e.get("ChangeKey")) for e in answer.root.iterfind(
        f"s:Body/m:{operation}Response/m:ResponseMessages/*/m:Items/*/t:ItemId", NS)]


# -- requests -----------------------------------------------------------------------------------
EVENT_BASE = {"Subject": "hostile", "Start": "2031-01-06T10:00:00Z",
              "End": "2031-01-06T11:00:00Z"}
# (element, kind) of a t:CalendarItem, in the schema's order (Exchange checks order, this mock
# not; the order is kept so that a refusal is about the value)
EVENT_SLOTS: list[tuple[str, Kind]] = [
    ("Subject", "capped"), ("Sensitivity", "enum"), ("Body", "text"), ("Importance", "enum"),
    ("ReminderIsSet", "bool"), ("ReminderMinutesBeforeStart", "int"), ("UID", "text"),
    ("Start", "date"), ("End", "date"), ("IsAllDayEvent", "bool"),
    ("LegacyFreeBusyStatus", "enum"), ("Location", "text")]
CONTACT_SLOTS: list[tuple[str, Kind]] = [
    ("GivenName", "capped"), ("Surname", "capped"), ("DisplayName", "text"),
    ("CompanyName", "text"), ("JobTitle", "text")]


def calendar_item(fields: dict[str, str], extra: str = "") -> str:
    order = [name for name, _ in EVENT_SLOTS]
    inner = "".join(f"<t:{n}>{fields[n]}</t:{n}>" for n in order if n in fields)
    return f"<t:CalendarItem>{inner}{extra}</t:CalendarItem>"


def create_event(sweep: Sweep, fields: dict[str, str], *, extra: str = "", refuse: bool = False,
                 label: str = "") -> Answer:
    return sweep.send("CreateItem", '<m:CreateItem SendMeetingInvitations="SendToNone">'
                      f"<m:SavedItemFolderId>{CAL}</m:SavedItemFolderId><m:Items>"
                      f"{calendar_item(fields, extra)}</m:Items></m:CreateItem>",
                      refuse=refuse, label=label)


def create_contact(sweep: Sweep, inner: str, *, refuse: bool = False, label: str = "") -> Answer:
    return sweep.send("CreateItem", f"<m:CreateItem><m:SavedItemFolderId>{CONTACTS}"
                      f"</m:SavedItemFolderId><m:Items><t:Contact>{inner}</t:Contact></m:Items>"
                      "</m:CreateItem>", refuse=refuse, label=label)


def recurrence(interval: str = "1", day: str = "6", start: str = "2031-01-06",
               count: str = "5") -> str:
    return ("<t:Recurrence><t:AbsoluteMonthlyRecurrence>"
            f"<t:Interval>{interval}</t:Interval><t:DayOfMonth>{day}</t:DayOfMonth>"
            "</t:AbsoluteMonthlyRecurrence><t:NumberedRecurrence>"
            f"<t:StartDate>{start}</t:StartDate><t:NumberOfOccurrences>{count}"
            "</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>")


def update(sweep: Sweep, item: tuple[str, str], uri: str, element: str, *,
           conflict: str = "AlwaysOverwrite", refuse: bool = False, label: str = "",
           owner: str = "CalendarItem") -> Answer:
    item_id, key = item
    return sweep.send(
        "UpdateItem",
        f'<m:UpdateItem ConflictResolution="{conflict}" MessageDisposition="SaveOnly" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item_id}" ChangeKey="{key}"/><t:Updates><t:SetItemField>'
        f'<t:FieldURI FieldURI="{uri}"/><t:{owner}>{element}</t:{owner}></t:SetItemField>'
        "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>", refuse=refuse, label=label)


def find(sweep: Sweep, folder: str, view: str = "", restriction: str = "",
         traversal: str = "Shallow", shape: str = ALL, *, refuse: bool = False,
         label: str = "") -> Answer:
    return sweep.send("FindItem", f'<m:FindItem Traversal="{traversal}">{shape}{view}'
                      f"{restriction}<m:ParentFolderIds>{folder}</m:ParentFolderIds>"
                      "</m:FindItem>", refuse=refuse, label=label)


def sync(sweep: Sweep, folder: str, state: str | None, max_changes: str = "100", *,
         refuse: bool = False, label: str = "") -> Answer:
    state_elem = "" if state is None else f"<m:SyncState>{state}</m:SyncState>"
    return sweep.send("SyncFolderItems", f"<m:SyncFolderItems>{ALL}<m:SyncFolderId>{folder}"
                      f"</m:SyncFolderId>{state_elem}<m:MaxChangesReturned>{max_changes}"
                      "</m:MaxChangesReturned></m:SyncFolderItems>", refuse=refuse, label=label)


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=21, tls=True, state_dir=tmp_path_factory.mktemp("ews-hostile")) as srv:
        TALLY.start(srv.hub)
        yield srv


@pytest.fixture(scope="module")
def owner(server: HubServer) -> MsUser:
    tenant = server.hub.world.tenant("contoso")
    assert tenant is not None
    return sorted(tenant.users.values(), key=lambda u: u.upn)[0]


@pytest.fixture(scope="module")
def sweep(server: HubServer, owner: MsUser) -> Iterator[Sweep]:
    swept = Sweep(server, owner)
    yield swept
    swept.client.close()


@pytest.fixture(scope="module")
def target(sweep: Sweep) -> tuple[str, str]:
    """A calendar item of the sweep's own, which the updates aim at."""
    made = create_event(sweep, EVENT_BASE, label="target")
    assert made.ok
    return item_ids(made, "CreateItem")[0]


# -- 1. the table -------------------------------------------------------------------------------
def test_create_calendar_item_fields(sweep: Sweep) -> None:
    for slot, kind in EVENT_SLOTS:
        for name, value in VALUES.items():
            create_event(sweep, {**EVENT_BASE, slot: value}, refuse=must_refuse(kind, name),
                         label=f"{slot}={name}")
    for name, value in VALUES.items():
        for element, kind in (("Categories", "capped"), ("RequiredAttendees", "text")):
            inner = (f"<t:String>{value}</t:String>" if element == "Categories" else
                     f"<t:Attendee><t:Mailbox><t:EmailAddress>{value}</t:EmailAddress>"
                     "</t:Mailbox></t:Attendee>")
            create_event(sweep, EVENT_BASE, extra=f"<t:{element}>{inner}</t:{element}>",
                         refuse=must_refuse(kind, name) and element == "Categories",
                         label=f"{element}={name}")
        create_event(sweep, EVENT_BASE, extra=f'<t:StartTimeZone Id="{attr(value)}"/>',
                     refuse=name in NOT_XML, label=f"StartTimeZone={name}")


def test_create_recurring_item_fields(sweep: Sweep) -> None:
    for name, value in VALUES.items():
        for part in ("interval", "day", "count", "start"):
            kind: Kind = "date" if part == "start" else "int"
            refuse = must_refuse(kind, name) or (kind == "int" and name in VALID_INT)
            create_event(sweep, EVENT_BASE, extra=recurrence(**{part: value}), refuse=refuse,
                         label=f"Recurrence.{part}={name}")
    for interval, day, count in (("0", "6", "5"), ("1000", "6", "5"), ("1", "32", "5"),
                                 ("1", "0", "5"), ("1", "6", "0"), (str(10**15), "6", "5")):
        create_event(sweep, EVENT_BASE, extra=recurrence(interval, day, count=count),
                     refuse=True, label=f"Recurrence {interval}/{day}/{count}")


def test_create_contact_fields(sweep: Sweep) -> None:
    for slot, kind in CONTACT_SLOTS:
        for name, value in VALUES.items():
            create_contact(sweep, f"<t:GivenName>Ada</t:GivenName><t:{slot}>{value}</t:{slot}>"
                           if slot != "GivenName" else f"<t:GivenName>{value}</t:GivenName>",
                           refuse=must_refuse(kind, name), label=f"{slot}={name}")
    for name, value in VALUES.items():
        for entries, key in (("EmailAddresses", "EmailAddress1"), ("PhoneNumbers",
                                                                   "BusinessPhone")):
            create_contact(sweep, f'<t:{entries}><t:Entry Key="{key}">{value}</t:Entry>'
                           f"</t:{entries}>", refuse=name in NOT_XML, label=f"{entries}={name}")
            create_contact(sweep, f'<t:{entries}><t:Entry Key="{attr(value)}">x</t:Entry>'
                           f"</t:{entries}>", refuse=name in NOT_XML,
                           label=f"{entries} Key={name}")
        create_contact(sweep, f"<t:Birthday>{value}</t:Birthday>",
                       refuse=must_refuse("date", name), label=f"Birthday={name}")


def test_update_item_fields(sweep: Sweep, target: tuple[str, str]) -> None:
    current = target
    for name, value in VALUES.items():
        for uri, element, kind in (("item:Subject", "Subject", "capped"),
                                   ("item:Body", "Body", "text"),
                                   ("calendar:Location", "Location", "text"),
                                   ("calendar:Start", "Start", "date"),
                                   ("item:ReminderMinutesBeforeStart",
                                    "ReminderMinutesBeforeStart", "int"),
                                   ("calendar:IsAllDayEvent", "IsAllDayEvent", "bool")):
            answer = update(sweep, current, uri, f"<t:{element}>{value}</t:{element}>",
                            refuse=must_refuse(kind, name), label=f"{uri}={name}")
            current = item_ids(answer, "UpdateItem")[0] if answer.ok else current
        update(sweep, current, "calendar:Recurrence", recurrence(interval=value),
               refuse=name not in VALID_INT, label=f"Recurrence={name}")
        # the item's id, its ChangeKey, the conflict mode and the field's URI
        update(sweep, (attr(value), current[1]), "item:Subject", "<t:Subject>s</t:Subject>",
               refuse=True, label=f"ItemId={name}")
        # an empty ChangeKey is no ChangeKey: Exchange then checks nothing
        update(sweep, (current[0], attr(value)), "item:Subject", "<t:Subject>s</t:Subject>",
               conflict="NeverOverwrite", refuse=name != "empty", label=f"ChangeKey={name}")
        update(sweep, current, "item:Subject", "<t:Subject>s</t:Subject>",
               conflict=attr(value), refuse=True, label=f"ConflictResolution={name}")
        update(sweep, current, attr(value), "<t:Subject>s</t:Subject>", refuse=True,
               label=f"FieldURI={name}")
        latest = sweep.send("GetItem", f"<m:GetItem>{ID_ONLY}<m:ItemIds><t:ItemId "
                            f'Id="{current[0]}"/></m:ItemIds></m:GetItem>')
        assert latest.ok
        current = item_ids(latest, "GetItem")[0]


def test_get_and_delete_item_parameters(sweep: Sweep) -> None:
    for name, value in VALUES.items():
        sweep.send("GetItem", f'<m:GetItem>{ALL}<m:ItemIds><t:ItemId Id="{attr(value)}"/>'
                   "</m:ItemIds></m:GetItem>", refuse=True, label=f"Id={name}")
        sweep.send("GetItem", f"<m:GetItem><m:ItemShape><t:BaseShape>{value}</t:BaseShape>"
                   f'</m:ItemShape><m:ItemIds><t:ItemId Id="x"/></m:ItemIds></m:GetItem>',
                   refuse=True, label=f"BaseShape={name}")
        sweep.send("GetItem", "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
                   f'<t:AdditionalProperties><t:FieldURI FieldURI="{attr(value)}"/>'
                   '</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="x"/>'
                   "</m:ItemIds></m:GetItem>", refuse=True, label=f"FieldURI={name}")
        sweep.send("GetItem", f"<m:GetItem>{ALL}<m:ItemIds><t:OccurrenceItemId "
                   f'RecurringMasterId="x" InstanceIndex="{attr(value)}"/></m:ItemIds>'
                   "</m:GetItem>", refuse=True, label=f"InstanceIndex={name}")
        sweep.send("DeleteItem", '<m:DeleteItem DeleteType="HardDelete" '
                   'SendMeetingCancellations="SendToNone"><m:ItemIds>'
                   f'<t:ItemId Id="{attr(value)}"/></m:ItemIds></m:DeleteItem>', refuse=True,
                   label=f"Id={name}")
        victim = create_event(sweep, EVENT_BASE, label="delete victim")
        (victim_id, _), = item_ids(victim, "CreateItem")
        sweep.send("DeleteItem", f'<m:DeleteItem DeleteType="{attr(value)}" '
                   'SendMeetingCancellations="SendToNone"><m:ItemIds>'
                   f'<t:ItemId Id="{victim_id}"/></m:ItemIds></m:DeleteItem>', refuse=True,
                   label=f"DeleteType={name}")


def test_find_item_views_and_restrictions(sweep: Sweep) -> None:
    for name, value in VALUES.items():
        a = attr(value)
        refuse_int = must_refuse("int", name)
        find(sweep, CAL, f'<m:IndexedPageItemView MaxEntriesReturned="{a}" Offset="0" '
             'BasePoint="Beginning"/>', refuse=refuse_int or name == "negative",
             label=f"MaxEntriesReturned={name}")
        find(sweep, CAL, '<m:IndexedPageItemView MaxEntriesReturned="5" '
             f'Offset="{a}" BasePoint="Beginning"/>', refuse=refuse_int or name == "negative",
             label=f"Offset={name}")
        find(sweep, CAL, '<m:IndexedPageItemView MaxEntriesReturned="5" Offset="0" '
             f'BasePoint="{a}"/>', refuse=True, label=f"BasePoint={name}")
        find(sweep, CAL, traversal=a, refuse=True, label=f"Traversal={name}")
        for bound in ("StartDate", "EndDate"):
            other = "EndDate" if bound == "StartDate" else "StartDate"
            find(sweep, CAL, f'<m:CalendarView {bound}="{a}" {other}="2031-01-06T00:00:00Z"/>',
                 refuse=must_refuse("date", name), label=f"CalendarView {bound}={name}")
        find(sweep, CAL, '<m:CalendarView StartDate="2031-01-01T00:00:00Z" '
             f'EndDate="2031-02-01T00:00:00Z" MaxEntriesReturned="{a}"/>',
             refuse=refuse_int or name == "negative",
             label=f"CalendarView MaxEntriesReturned={name}")
        for uri in ("item:Subject", "calendar:Start", "calendar:IsAllDayEvent",
                    "item:ReminderMinutesBeforeStart", "contacts:Birthday"):
            folder = CONTACTS if uri.startswith("contacts:") else CAL
            find(sweep, folder, restriction=f'<m:Restriction><t:IsEqualTo><t:FieldURI '
                 f'FieldURI="{uri}"/><t:FieldURIOrConstant><t:Constant Value="{a}"/>'
                 "</t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>",
                 refuse=name in NOT_XML, label=f"Restriction {uri}={name}")
        find(sweep, CAL, restriction='<m:Restriction><t:Contains ContainmentMode="Substring" '
             f'ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="{a}"/>'
             '<t:Constant Value="x"/></t:Contains></m:Restriction>', refuse=True,
             label=f"Restriction FieldURI={name}")
    for depth in (10, 25, 27):
        nested = "<t:Not>" * depth + ('<t:Exists><t:FieldURI FieldURI="item:Subject"/>'
                                      "</t:Exists>") + "</t:Not>" * depth
        find(sweep, CAL, restriction=f"<m:Restriction>{nested}</m:Restriction>",
             label=f"Restriction {depth} deep")
        both = "<t:And>" * depth + ('<t:Exists><t:FieldURI FieldURI="item:Subject"/>'
                                    "</t:Exists>") * 2 + "</t:And>" * depth
        find(sweep, CAL, restriction=f"<m:Restriction>{both}</m:Restriction>",
             label=f"Restriction And {depth} deep")


def test_sync_and_folder_parameters(sweep: Sweep) -> None:
    for name, value in VALUES.items():
        a = attr(value)
        sync(sweep, CAL, None, value, refuse=True, label=f"MaxChangesReturned={name}")
        # an empty SyncState is a first sync
        sync(sweep, CAL, value, refuse=name != "empty", label=f"SyncState={name}")
        sync(sweep, f'<t:DistinguishedFolderId Id="{a}"/>', None, refuse=True,
             label=f"SyncFolderId={name}")
        sync(sweep, f'<t:FolderId Id="{a}"/>', None, refuse=True, label=f"FolderId={name}")
        sweep.send("GetFolder", "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
                   f'</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="{a}"/>'
                   "</m:FolderIds></m:GetFolder>", refuse=True, label=f"GetFolder Id={name}")
        sweep.send("GetFolder", "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
                   f'</m:FolderShape><m:FolderIds><t:FolderId Id="{a}"/></m:FolderIds>'
                   "</m:GetFolder>", refuse=True, label=f"GetFolder FolderId={name}")
        sweep.send("FindFolder", f'<m:FindFolder Traversal="{a}"><m:FolderShape><t:BaseShape>'
                   "Default</t:BaseShape></m:FolderShape><m:ParentFolderIds>"
                   '<t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds>'
                   "</m:FindFolder>", refuse=True, label=f"FindFolder Traversal={name}")
        sweep.send("FindFolder", '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>'
                   "Default</t:BaseShape></m:FolderShape><m:IndexedPageFolderView "
                   f'MaxEntriesReturned="{a}" Offset="0" BasePoint="Beginning"/>'
                   '<m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/>'
                   "</m:ParentFolderIds></m:FindFolder>",
                   refuse=must_refuse("int", name) or name == "negative",
                   label=f"FindFolder MaxEntriesReturned={name}")


# -- 2. hypothesis ------------------------------------------------------------------------------
HOSTILE = st.sampled_from(sorted(VALUES))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from([n for n, _ in EVENT_SLOTS]), HOSTILE,
                              min_size=1, max_size=4),
       series=st.one_of(st.none(), st.tuples(HOSTILE, HOSTILE)))
def test_hypothesis_calendar_items_read_back(sweep: Sweep, fields: dict[str, str],
                                             series: tuple[str, str] | None) -> None:
    body = {**EVENT_BASE, **{slot: VALUES[name] for slot, name in fields.items()}}
    extra = recurrence(VALUES[series[0]], count=VALUES[series[1]]) if series else ""
    made = create_event(sweep, body, extra=extra, label=f"hypothesis {fields} {series}")
    for item_id, _ in item_ids(made, "CreateItem"):
        read = sweep.send("GetItem", f'<m:GetItem>{ALL}<m:ItemIds><t:ItemId Id="{item_id}"/>'
                          "</m:ItemIds></m:GetItem>")
        assert read.ok, read.codes
    assert find(sweep, CAL, '<m:CalendarView StartDate="2030-06-01T00:00:00Z" '
                'EndDate="2032-06-01T00:00:00Z"/>').ok


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from([n for n, _ in CONTACT_SLOTS] + ["Birthday"]),
                              HOSTILE, min_size=1, max_size=4))
def test_hypothesis_contacts_read_back(sweep: Sweep, fields: dict[str, str]) -> None:
    order = [n for n, _ in CONTACT_SLOTS] + ["Birthday"]
    inner = "".join(f"<t:{n}>{VALUES[fields[n]]}</t:{n}>" for n in order if n in fields)
    made = create_contact(sweep, inner, label=f"hypothesis contact {fields}")
    for item_id, _ in item_ids(made, "CreateItem"):
        read = sweep.send("GetItem", f'<m:GetItem>{ALL}<m:ItemIds><t:ItemId Id="{item_id}"/>'
                          "</m:ItemIds></m:GetItem>")
        assert read.ok, read.codes
    assert find(sweep, CONTACTS).ok


# -- 3. stored through another door -------------------------------------------------------------
def test_text_xml_cannot_carry_stored_elsewhere_still_reads(server: HubServer, owner: MsUser,
                                                            sweep: Sweep) -> None:
    """The control API (like Graph's and Google's JSON) can store U+0000, U+0001 and U+FFFE,
    which XML 1.0 cannot carry: EWS leaves them out, every read still answers NoError."""
    with ControlClient(f"{server.base_url}/_control", server.ca_bundle,
                       server.hub.control_token) as control:
        from datetime import UTC, datetime
        made = control.create_event(owner.upn, "nul\x00ctl\x01end\ufffe",
                                    datetime(2031, 1, 7, 9, tzinfo=UTC),
                                    datetime(2031, 1, 7, 10, tzinfo=UTC))
    assert made["id"]
    view = find(sweep, CAL, '<m:CalendarView StartDate="2031-01-07T00:00:00Z" '
                'EndDate="2031-01-08T00:00:00Z"/>')
    assert view.ok
    subjects = [e.text for e in view.root.iterfind(".//t:CalendarItem/t:Subject", NS)]
    assert "nulctlend" in subjects, subjects


# -- afterwards ---------------------------------------------------------------------------------
def _all_ids(sweep: Sweep, folder: str) -> list[tuple[str, str]]:
    ids: list[tuple[str, str]] = []
    for offset in range(0, 100_000, 200):  # bounded: at most 500 pages
        page = find(sweep, folder, f'<m:IndexedPageItemView MaxEntriesReturned="200" '
                    f'Offset="{offset}" BasePoint="Beginning"/>', shape=ID_ONLY)
        assert page.ok, page.codes
        found = [(e.get("Id"), e.get("ChangeKey"))
                 for e in page.root.iterfind(".//m:RootFolder/t:Items/*/t:ItemId", NS)]
        ids += found
        if page.root.find(".//m:RootFolder", NS).get("IncludesLastItemInRange") == "true":
            return ids
    raise AssertionError("FindItem never reached the last item")


def test_after_the_sweep_every_read_still_works(sweep: Sweep) -> None:
    for folder in (CAL, CONTACTS):
        ids = _all_ids(sweep, folder)
        assert ids
        for start in range(0, len(ids), 50):
            batch = "".join(f'<t:ItemId Id="{i}"/>' for i, _ in ids[start:start + 50])
            read = sweep.send("GetItem", f"<m:GetItem>{ALL}<m:ItemIds>{batch}</m:ItemIds>"
                              "</m:GetItem>")
            assert read.ok, read.codes
        state, pages = None, 0
        while pages < 500:  # bounded
            page = sync(sweep, folder, state, "200")
            assert page.ok, page.codes
            message = page.root.find(".//m:SyncFolderItemsResponseMessage", NS)
            state, pages = message.findtext("m:SyncState", namespaces=NS), pages + 1
            if message.findtext("m:IncludesLastItemInRange", namespaces=NS) == "true":
                break
        assert pages < 500
    for uri, folder, value in (("contacts:Birthday", CONTACTS, "2000-01-01T00:00:00Z"),
                               ("calendar:Start", CAL, "2031-01-06T10:00:00Z"),
                               ("item:ReminderMinutesBeforeStart", CAL, "15")):
        # a restriction reads every stored value of the field, hostile ones included
        for op in ("IsEqualTo", "IsGreaterThan"):
            assert find(sweep, folder, restriction=f"<m:Restriction><t:{op}><t:FieldURI "
                        f'FieldURI="{uri}"/><t:FieldURIOrConstant><t:Constant Value="{value}"/>'
                        f"</t:FieldURIOrConstant></t:{op}></m:Restriction>").ok
        for order in ("Ascending", "Descending"):  # so does a sort on it
            assert find(sweep, folder, restriction=f'<m:SortOrder><t:FieldOrder Order="{order}">'
                        f'<t:FieldURI FieldURI="{uri}"/></t:FieldOrder></m:SortOrder>').ok
    # (the first and last day of the years are out of a calendar's range in some zone)
    for start, end in (("0001-01-02T00:00:00Z", "0002-12-01T00:00:00Z"),
                       ("2030-06-01T00:00:00Z", "2032-06-01T00:00:00Z"),
                       ("9998-01-01T00:00:00Z", "9999-12-30T00:00:00Z")):
        assert find(sweep, CAL, f'<m:CalendarView StartDate="{start}" EndDate="{end}"/>').ok
    assert sweep.send("FindFolder", '<m:FindFolder Traversal="Deep"><m:FolderShape>'
                      "<t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>"
                      '<m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/>'
                      "</m:ParentFolderIds></m:FindFolder>").ok


# Findings in modules another change of issue 16 owns (EWS context.py, fields.py, folders.py),
# named here so that the sweep stays strict about everything else. Each must still occur: once
# fixed there, its line leaves this table (the test says which).
KNOWN_OPEN: dict[str, str] = {
    # A pattern per open problem, each with where it lives; every entry must still occur (so a
    # fix removes its line). Empty: the sweep finds nothing open.
}


def test_sweep_figures(server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    problems = TALLY.five_xx + TALLY.bad_shape + TALLY.wrong_acceptance
    known = {pattern: [p for p in problems if re.search(pattern, p)] for pattern in KNOWN_OPEN}
    with capsys.disabled():
        print(TALLY.figures("EWS", server.hub, five_xx_label="server errors (5xx other than "
                            "Exchange's SOAP-fault refusals, or ErrorInternalServerError)",
                            extra={"of them known open elsewhere": sum(map(len,
                                                                           known.values()))}))
        for pattern, hits in known.items():
            print(f"  known open ({len(hits)}): {KNOWN_OPEN[pattern]}")
    unexpected = [p for p in problems if not any(re.search(k, p) for k in KNOWN_OPEN)]
    assert "\n".join(unexpected) == ""
    fixed = [KNOWN_OPEN[k] for k, hits in known.items() if not hits]
    assert fixed == [], "fixed now: remove these from KNOWN_OPEN"
    assert TALLY.requests >= 1000
