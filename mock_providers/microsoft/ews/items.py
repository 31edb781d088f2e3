"""Items: EventRef / ContactRef (a world item with its mailbox and folder), resolving an ItemId,
rendering an item, and the GetItem, CreateItem, UpdateItem and DeleteItem operations.

- GetItem; CreateItem (t:CalendarItem into calendars, t:Contact into contact folders);
- UpdateItem (SetItemField / AppendToItemField / DeleteItemField; a stale ChangeKey under
  NeverOverwrite or AutoResolve is ErrorIrresolvableConflict; a FieldURI outside the schema's
  `prefix:Name` form is ErrorSchemaValidation, an item carrying other than one property
  ErrorIncorrectUpdatePropertyCount);
- DeleteItem (all DeleteTypes remove the item from the world's folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lxml import etree

from mock_providers.microsoft.ews.context import (
    ACCESS_DENIED,
    MALFORMED,
    SESSION_ZONE,
    ItemError,
    OpContext,
    first_child,
    owner_of,
    read_shape,
)
from mock_providers.microsoft.ews.fields import (
    Patch,
    apply_contact,
    apply_event,
    delete_patch,
    merge_patch,
    read_contact_fields,
    read_event_fields,
)
from mock_providers.microsoft.ews.folders import FolderRef, folder_rights, resolve_folder
from mock_providers.microsoft.ews.render import (
    DecodedId,
    Rights,
    Shape,
    calendar_item,
    contact_item,
    decode_id,
    error,
    message_item,
    split_occurrence_key,
    success,
)
from mock_providers.microsoft.ews.xml import local, m, schema_error, t, text
from mock_providers.world import Calendar, Contact, ContactFolder, Event, MsUser, meetings
from mock_providers.world.folders import MailFolder, MailMessage, mail_folders
from mock_providers.world.meetings import Response
from mock_providers.world.recurrence import Instance, find_instance, instance_at_index
from mock_providers.world.seed import change_key
from mock_providers.world.series import cancel_occurrence, modify_occurrence

if TYPE_CHECKING:
    from mock_providers.world import World

_NOT_FOUND = "The specified object was not found in the store."


@dataclass(frozen=True, slots=True)
class EventRef:
    owner: MsUser
    event: Event  # the series master when `instance` is set
    calendar: Calendar
    instance: Instance | None = None  # one occurrence of the series `event` is the master of

    @property
    def folder(self) -> FolderRef:
        return FolderRef("calendar", self.owner, calendar=self.calendar)


@dataclass(frozen=True, slots=True)
class ContactRef:
    owner: MsUser
    contact: Contact
    contacts: ContactFolder

    @property
    def folder(self) -> FolderRef:
        return FolderRef("contacts", self.owner, contacts=self.contacts)


@dataclass(frozen=True, slots=True)
class MessageRef:
    owner: MsUser
    message: MailMessage
    mail: MailFolder

    @property
    def folder(self) -> FolderRef:
        return FolderRef("mail", self.owner, mail=self.mail)


ItemRef = EventRef | ContactRef | MessageRef


_DELETED_OCCURRENCE = "Occurrence with this index was previously deleted from the recurrence."
_OUT_OF_RANGE = "Occurrence index is out of recurrence range."


def resolve_item(ctx: OpContext, elem: etree._Element) -> ItemRef:
    """t:ItemId (an item, or an occurrence id this mock issued), t:OccurrenceItemId
    (RecurringMasterId + InstanceIndex) or t:RecurringMasterItemId (an occurrence's master)."""
    kind = local(elem)
    if kind == "OccurrenceItemId":
        master = _master(ctx, elem.get("RecurringMasterId") or "")
        index = (elem.get("InstanceIndex") or "").strip()
        if not index.isascii() or not index.isdigit() or len(index) > 6:
            raise schema_error(f"The 'InstanceIndex' attribute is invalid - The value "
                               f"'{index[:20]}' is invalid according to its datatype 'xs:int'.")
        rec = master.event.recurrence
        assert rec is not None
        original = instance_at_index(rec, master.event.start, int(index))
        if original is None:
            raise ItemError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", _OUT_OF_RANGE)
        return _occurrence(master, original)
    if kind == "RecurringMasterItemId":
        decoded = decode_id(elem.get("OccurrenceId") or "")
        if decoded is None or decoded.kind != "occurrence":
            raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
        split = split_occurrence_key(decoded.key)
        if split is None:
            raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
        return _event_ref(ctx, decoded, split[0])
    if kind != "ItemId":
        raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
    decoded = decode_id(elem.get("Id") or "")
    if decoded is None or decoded.kind == "folder":
        raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
    if decoded.kind == "occurrence":
        split = split_occurrence_key(decoded.key)
        if split is None:
            raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
        master = _event_ref(ctx, decoded, split[0])
        if master.event.recurrence is None:
            raise ItemError("ErrorItemNotFound", _NOT_FOUND)
        return _occurrence(master, split[1])
    owner = owner_of(ctx, decoded)
    if owner is not None and decoded.kind == "message":
        well_known, _, message_id = decoded.key.partition("|")
        mail = mail_folders(ctx.world, owner).get(well_known)
        message = mail.messages.get(message_id) if mail is not None else None
        if mail is not None and message is not None:
            return MessageRef(owner, message, mail)
    elif owner is not None:
        box = owner.mailbox
        if decoded.kind == "event":
            for calendar in box.calendars.values():
                event = calendar.events.get(decoded.key)
                if event is not None:
                    return EventRef(owner, event, calendar)
        else:
            for folder in box.contact_folders.values():
                contact = folder.contacts.get(decoded.key)
                if contact is not None:
                    return ContactRef(owner, contact, folder)
    raise ItemError("ErrorItemNotFound", _NOT_FOUND)


def _event_ref(ctx: OpContext, decoded: DecodedId, event_id: str) -> EventRef:
    owner = owner_of(ctx, decoded)
    if owner is not None:
        for calendar in owner.mailbox.calendars.values():
            event = calendar.events.get(event_id)
            if event is not None:
                return EventRef(owner, event, calendar)
    raise ItemError("ErrorItemNotFound", _NOT_FOUND)


def _master(ctx: OpContext, value: str) -> EventRef:
    decoded = decode_id(value)
    if decoded is None or decoded.kind != "event":
        raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
    ref = _event_ref(ctx, decoded, decoded.key)
    if ref.event.recurrence is None:
        raise ItemError("ErrorCalendarCannotUseIdForRecurringMasterId",
                        "The Id is not the Id of a recurring master.")
    return ref


def _occurrence(master: EventRef, original: datetime) -> EventRef:
    event = master.event
    assert event.recurrence is not None
    if original in event.exceptions.cancelled:
        raise ItemError("ErrorCalendarOccurrenceIsDeletedFromRecurrence", _DELETED_OCCURRENCE)
    found = find_instance(event.recurrence, event.start, event.end, event.exceptions, original)
    if found is None:
        raise ItemError("ErrorItemNotFound", _NOT_FOUND)
    return EventRef(master.owner, event, master.calendar, found)


def world_id(ref: ItemRef) -> str:
    if isinstance(ref, MessageRef):
        return ref.message.id
    return ref.event.id if isinstance(ref, EventRef) else ref.contact.id


def render_item(parent: etree._Element, ref: ItemRef, shape: Shape, rights: Rights) -> None:
    if isinstance(ref, EventRef):
        calendar_item(parent, ref.event, ref.owner, ref.calendar, shape, rights, ref.instance)
    elif isinstance(ref, MessageRef):
        message_item(parent, ref.message, ref.owner, ref.mail, shape, rights)
    else:
        contact_item(parent, ref.contact, ref.owner, ref.contacts, shape, rights)


def item_ref(ref: FolderRef, item: Event | Contact) -> ItemRef:
    if isinstance(item, Event) and ref.calendar is not None:
        return EventRef(ref.owner, item, ref.calendar)
    if isinstance(item, Contact) and ref.contacts is not None:
        return ContactRef(ref.owner, item, ref.contacts)
    if isinstance(item, MailMessage) and ref.mail is not None:
        return MessageRef(ref.owner, item, ref.mail)
    raise ValueError("the item does not belong to this folder")


def get_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("ItemShape")))
    ids = op.find(m("ItemIds"))
    if ids is None:
        raise schema_error("GetItem needs m:ItemIds.")
    messages: list[etree._Element] = []
    for elem in ids:
        if not isinstance(elem.tag, str):
            continue
        try:
            ref = resolve_item(ctx, elem)
            rights = folder_rights(ctx, ref.folder)
        except ItemError as err:
            messages.append(error("GetItem", err.code, err.text))
            continue
        if isinstance(ref, EventRef):  # the audit names the calendars read
            read = ctx.detail.setdefault("calendars", [])
            if ref.calendar.id not in read:
                read.append(ref.calendar.id)
        message = success("GetItem")
        render_item(etree.SubElement(message, m("Items")), ref, shape, rights)
        messages.append(message)
    return messages


SEND_INVITATIONS = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")


def create_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    invitations = op.get("SendMeetingInvitations") or "SendToNone"
    disposition = op.get("MessageDisposition") or "SaveOnly"
    if invitations not in SEND_INVITATIONS or disposition not in (
            "SaveOnly", "SendOnly", "SendAndSaveCopy"):
        raise schema_error("SendMeetingInvitations or MessageDisposition has an invalid value.")
    items = op.find(m("Items"))
    if items is None:
        raise schema_error("CreateItem needs m:Items.")
    # The kinds of the items (CalendarItem, Contact, AcceptItem, DeclineItem, ...): the audit
    # says what a CreateItem wrote, a meeting response or a contact as well as an event.
    ctx.detail.update(invitations=invitations, disposition=disposition, created=[],
                      items=[local(i) for i in items if isinstance(i.tag, str)])
    target_elem = first_child(op.find(m("SavedItemFolderId")))
    messages: list[etree._Element] = []
    for item in items:
        if not isinstance(item.tag, str):
            continue
        try:
            messages.append(_create_one(ctx, item, target_elem))
        except ItemError as err:
            messages.append(error("CreateItem", err.code, err.text))
    return messages


_REPLIES: dict[str, Response] = {"AcceptItem": "accepted",
                                 "TentativelyAcceptItem": "tentativelyAccepted",
                                 "DeclineItem": "declined"}


def _reply(ctx: OpContext, item: etree._Element, send: bool) -> etree._Element:
    """t:AcceptItem / TentativelyAcceptItem / DeclineItem (the attendee's answer, from their
    calendar item or the meeting request) and t:CancelCalendarItem (the organizer's), through
    world.meetings so every protocol sees the same responses and cancellations."""
    kind = local(item)
    reference = item.find(t("ReferenceItemId"))
    if reference is None:
        raise schema_error(f"t:{kind} needs t:ReferenceItemId.")
    ref_elem = etree.Element(t("ItemId"), Id=reference.get("Id") or "")
    ref = resolve_item(ctx, ref_elem)
    if isinstance(ref, MessageRef):
        found = _event_of_message(ref)
        if found is None:
            raise ItemError("ErrorItemNotFound", _NOT_FOUND)
        ref = found
    if not isinstance(ref, EventRef) or ref.instance is not None:
        raise ItemError("ErrorInvalidOperation" if not isinstance(ref, EventRef) else
                        "ErrorCalendarCannotUseIdForOccurrenceId",
                        f"t:{kind} needs a meeting or a meeting request.")
    folder_rights(ctx, ref.folder, write=True)
    comment = text(item, t("Body")) or ""
    try:
        if kind == "CancelCalendarItem":
            meetings.cancel(ctx.world, ref.owner, ref.event, comment=comment)
        else:
            meetings.respond(ctx.world, ref.owner, ref.event, _REPLIES[kind], comment=comment,
                             send_response=send)
    except meetings.MeetingError as exc:
        reason = str(exc)
        code = ("ErrorCalendarIsOrganizerForAccept" if "organizer cannot" in reason else
                "ErrorCalendarIsNotOrganizer" if "only the organizer" in reason else
                "ErrorCalendarMeetingRequestIsOutOfDate" if "cancelled" in reason else
                "ErrorInvalidOperation")
        raise ItemError(code, str(exc)) from None
    ctx.detail.setdefault("responses", []).append({"kind": kind, "event": ref.event.id})
    message = success("CreateItem")
    etree.SubElement(message, m("Items"))
    return message


def _event_of_message(ref: MessageRef) -> EventRef | None:
    event_id = ref.message.event_id
    for calendar in ref.owner.mailbox.calendars.values():
        event = calendar.events.get(event_id) if event_id else None
        if event is not None:
            return EventRef(ref.owner, event, calendar)
    return None


def _create_one(ctx: OpContext, item: etree._Element,
                target_elem: etree._Element | None) -> etree._Element:
    kind = local(item)
    if kind in _REPLIES or kind == "CancelCalendarItem":
        return _reply(ctx, item, ctx.detail.get("disposition") != "SaveOnly")
    if kind not in ("CalendarItem", "Contact"):
        raise ItemError("ErrorInvalidOperation", f"This server only stores calendar items and "
                        f"contacts; '{kind}' cannot be created.")
    if target_elem is not None:
        ref = resolve_folder(ctx, target_elem)
    elif kind == "CalendarItem":
        ref = FolderRef("calendar", ctx.acting, calendar=ctx.acting.mailbox.default_calendar)
    else:
        ref = FolderRef("contacts", ctx.acting, contacts=ctx.acting.mailbox.default_contacts)
    if kind == "CalendarItem" and ref.calendar is None:
        raise ItemError("ErrorCannotCreateCalendarItemInNonCalendarFolder",
                        "Calendar items can only be created in a calendar folder.")
    if kind == "Contact" and ref.contacts is None:
        raise ItemError("ErrorCannotCreateContactInNonContactFolder",
                        "Contacts can only be created in a contacts folder.")
    rights = folder_rights(ctx, ref, write=True)
    message = success("CreateItem")
    container = etree.SubElement(message, m("Items"))
    world = ctx.world
    created: ItemRef
    if ref.calendar is not None:
        event = _new_event(world, ref.owner, read_event_fields(item))
        ref.calendar.events.put(event.id, event, world.next_seq())
        created = EventRef(ref.owner, event, ref.calendar)
        if ctx.detail.get("invitations") not in (None, "SendToNone") and event.attendees:
            reached = meetings.deliver_invitation(world, ref.owner, event)
            ctx.detail.setdefault("invited", []).extend(u.upn for u in reached)
    elif ref.contacts is not None:
        contact = _new_contact(world, read_contact_fields(item))
        ref.contacts.contacts.put(contact.id, contact, world.next_seq())
        created = ContactRef(ref.owner, contact, ref.contacts)
    ctx.detail["created"].append(world_id(created))
    render_item(container, created, Shape(everything=False), rights)
    return message


def _new_event(world: World, owner: MsUser, patch: Patch) -> Event:
    now = world.now()
    event_id = world.new_id()
    start = patch.get("start") or (now + timedelta(minutes=30 - now.minute % 30)).replace(
        second=0, microsecond=0)
    end = patch.get("end") or start + timedelta(minutes=30)
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    event = Event(id=event_id, subject="", start=start, end=end, created=now, last_modified=now,
                  ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
                  organizer_email=owner.upn, organizer_name=owner.display_name)
    apply_event(event, {k: v for k, v in patch.items() if k not in ("start", "end")})
    if "time_zone" not in patch:  # no StartTimeZone: the session's t:TimeZoneContext, or UTC
        event.time_zone = SESSION_ZONE.get().name
    if not event.ical_uid:
        event.ical_uid = f"{event_id}@calharness"
    return event


def _new_contact(world: World, patch: Patch) -> Contact:
    now = world.now()
    contact_id = world.new_id()
    contact = Contact(id=contact_id, display_name="", created=now, last_modified=now,
                      change_key=change_key(contact_id, "ews-contact", world.seq))
    apply_contact(contact, patch)
    if not contact.display_name:
        contact.display_name = " ".join(p for p in (contact.given_name, contact.surname) if p) \
            or (contact.emails[0] if contact.emails else "")
    return contact


_CONFLICT_MODES = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")


def update_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    conflict = op.get("ConflictResolution") or "AutoResolve"
    if conflict not in _CONFLICT_MODES:
        raise schema_error(f"The value '{conflict}' is invalid for ConflictResolution.")
    changes = op.find(m("ItemChanges"))
    if changes is None:
        raise schema_error("UpdateItem needs m:ItemChanges.")
    ctx.detail.update(conflict_resolution=conflict, updated=[],
                      invitations=op.get("SendMeetingInvitationsOrCancellations"))
    messages: list[etree._Element] = []
    for change in changes:
        if not isinstance(change.tag, str):
            continue
        try:
            messages.append(_update_one(ctx, change, conflict))
        except ItemError as err:
            messages.append(error("UpdateItem", err.code, err.text))
    return messages


def _update_one(ctx: OpContext, change: etree._Element, conflict: str) -> etree._Element:
    id_elem = next((c for c in change if isinstance(c.tag, str)), None)
    updates = change.find(t("Updates"))
    if id_elem is None or updates is None:
        raise schema_error("t:ItemChange needs an item id and t:Updates.")
    ref = resolve_item(ctx, id_elem)
    rights = folder_rights(ctx, ref.folder, write=True)
    is_event = isinstance(ref, EventRef)
    current = ref.event.change_key if isinstance(ref, EventRef) else ref.contact.change_key
    sent_key = id_elem.get("ChangeKey")
    if sent_key and sent_key != current and conflict != "AlwaysOverwrite":
        raise ItemError("ErrorIrresolvableConflict",
                        "The send or update operation could not be performed because the change "
                        "key passed in the request does not match the current change key for the "
                        "item.")
    if isinstance(ref, EventRef) and rights.redact_private and ref.event.sensitivity == "private":
        raise ItemError("ErrorAccessDenied", ACCESS_DENIED)
    patch: Patch = {}
    for update in updates:
        if not isinstance(update.tag, str):
            continue
        kids = [c for c in update if isinstance(c.tag, str)]
        if not kids:
            raise schema_error(f"t:{local(update)} needs a field.")
        if local(update) == "DeleteItemField":
            patch.update(delete_patch(kids[0], is_event))
        elif len(kids) == 2 and local(update) in ("SetItemField", "AppendToItemField"):
            _check_path(kids[0], kids[1])
            read = read_event_fields if is_event else read_contact_fields
            merge_patch(patch, read(kids[1]))
        else:
            raise ItemError("ErrorInvalidPropertySet",
                            f"t:{local(update)} must name a field and carry the item.")
    world = ctx.world
    if isinstance(ref, EventRef) and ref.instance is not None:
        ref = _update_occurrence(ctx, ref, patch)
        _tell_attendees(ctx, ref)
    elif isinstance(ref, EventRef):
        event = ref.event
        _apply_event_update(event, patch)
        event.last_modified = world.now()
        event.sequence += 1
        event.change_key = change_key(event.id, event.sequence)
        ref.calendar.events.put(event.id, event, world.next_seq())
        _tell_attendees(ctx, ref)
    else:
        contact = ref.contact
        apply_contact(contact, patch)
        seq = world.next_seq()
        contact.last_modified = world.now()
        contact.change_key = change_key(contact.id, "ews-contact", seq)
        ref.contacts.contacts.put(contact.id, contact, seq)
    ctx.detail["updated"].append(world_id(ref))
    message = success("UpdateItem")
    render_item(etree.SubElement(message, m("Items")), ref, Shape(everything=False), rights)
    conflicts = etree.SubElement(message, m("ConflictResults"))
    etree.SubElement(conflicts, t("Count")).text = "0"
    return message


# The schema's UnindexedFieldURIType is an enumeration of "prefix:Name" values; this mock
# checks the form, not every member (an unknown Name in a known prefix is still ignored).
_FIELD_URI = re.compile(r"(?:item|calendar|contacts|message|meeting|meetingRequest|task|"
                        r"postitem|distributionlist|conversation|persona):[A-Za-z0-9]{1,64}")


def _check_path(path: etree._Element, item: etree._Element) -> None:
    """A SetItemField/AppendToItemField names one property and carries exactly that one:
    a path outside the schema is ErrorSchemaValidation, an item with other than one property
    ErrorIncorrectUpdatePropertyCount, as Exchange answers them."""
    if local(path) == "FieldURI" and not _FIELD_URI.fullmatch(path.get("FieldURI") or ""):
        raise schema_error(f"The 'FieldURI' attribute is invalid - The value "
                           f"'{(path.get('FieldURI') or '')[:64]}' is invalid according to its "
                           "datatype 'UnindexedFieldURIType' - The Enumeration constraint "
                           "failed.")
    if sum(1 for c in item if isinstance(c.tag, str)) != 1:
        raise ItemError("ErrorIncorrectUpdatePropertyCount",
                        "An object within a change description must contain one and only one "
                        "property to modify.")


_OCCURRENCE_FIELDS = {"subject", "body", "location", "sensitivity", "show_as", "start", "end"}


def _update_occurrence(ctx: OpContext, ref: EventRef, patch: Patch) -> EventRef:
    """An UpdateItem on one occurrence: the series gets (or changes) an exception, kept in the
    world's SeriesExceptions under the occurrence's original start."""
    assert ref.instance is not None
    if "recurrence" in patch:
        raise ItemError("ErrorInvalidPropertySet",
                        "An occurrence's recurrence cannot be set; change the master.")
    instance = ref.instance
    start, end = patch.get("start", instance.start), patch.get("end", instance.end)
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    changes = {k: v for k, v in patch.items() if isinstance(k, str) and k in _OCCURRENCE_FIELDS}
    updated = modify_occurrence(ctx.world, ref.calendar, ref.event, instance.original_start,
                                **changes)
    return EventRef(ref.owner, ref.event, ref.calendar, updated)


def _tell_attendees(ctx: OpContext, ref: EventRef) -> None:
    """An organizer's change with SendMeetingInvitationsOrCancellations other than SendToNone:
    the attendees' copies follow, and new attendees of the tenant get an invitation."""
    if ctx.detail.get("invitations") in (None, "SendToNone"):
        return
    if ref.event.organizer_email.lower() != ref.owner.upn.lower():
        return
    meetings.propagate(ctx.world, ref.owner, ref.event)
    meetings.deliver_invitation(ctx.world, ref.owner, ref.event)


def _apply_event_update(event: Event, patch: Patch) -> None:
    start, end = patch.get("start", event.start), patch.get("end", event.end)
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    apply_event(event, patch)


def _is_organizer(ref: EventRef) -> bool:
    return ref.event.organizer_email.lower() == ref.owner.upn.lower()


def delete_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    delete_type = op.get("DeleteType") or ""
    if delete_type not in ("HardDelete", "SoftDelete", "MoveToDeletedItems"):
        raise schema_error(f"The value '{delete_type}' is invalid for DeleteType.")
    cancellations = op.get("SendMeetingCancellations")
    ids = op.find(m("ItemIds"))
    if ids is None:
        raise schema_error("DeleteItem needs m:ItemIds.")
    ctx.detail.update(delete_type=delete_type, cancellations=cancellations, deleted=[])
    messages: list[etree._Element] = []
    for elem in ids:
        if not isinstance(elem.tag, str):
            continue
        try:
            ref = resolve_item(ctx, elem)
            rights = folder_rights(ctx, ref.folder, write=True)
            if isinstance(ref, EventRef):
                if rights.redact_private and ref.event.sensitivity == "private":
                    raise ItemError("ErrorAccessDenied", ACCESS_DENIED)
                if cancellations not in SEND_INVITATIONS:
                    raise ItemError("ErrorSendMeetingCancellationsRequired",
                                    "SendMeetingCancellations attribute is required for Calendar "
                                    "items.")
                if ref.instance is not None:
                    cancel_occurrence(ctx.world, ref.calendar, ref.event,
                                      ref.instance.original_start)
                    if cancellations != "SendToNone" and _is_organizer(ref):
                        meetings.propagate(ctx.world, ref.owner, ref.event)
                elif cancellations != "SendToNone" and _is_organizer(ref) \
                        and meetings.copies(ctx.world, ref.event):
                    meetings.cancel(ctx.world, ref.owner, ref.event)
                else:
                    ref.calendar.events.delete(ref.event.id, ctx.world.next_seq())
            elif isinstance(ref, MessageRef):
                ref.mail.messages.delete(ref.message.id, ctx.world.next_seq())
            else:
                ref.contacts.contacts.delete(ref.contact.id, ctx.world.next_seq())
        except ItemError as err:
            messages.append(error("DeleteItem", err.code, err.text))
            continue
        ctx.detail["deleted"].append(world_id(ref))
        messages.append(success("DeleteItem"))
    return messages
