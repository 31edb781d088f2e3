"""The distinguished mail folders of a Microsoft mailbox and the few messages they hold.

Every Exchange mailbox has the same well-known folders (Graph's well-known names, EWS's
DistinguishedFolderId values are the same words): Inbox, Sent Items, Deleted Items, Drafts, Junk
Email, Outbox, Archive, Conversation History under the root of the message folders
(`msgfolderroot`), each with its folder class (`IPF.Note` for mail, `IPF.Appointment` for the
calendar, `IPF.Contact`, `IPF.Task`, `IPF.StickyNote`, `IPF.Journal`). The calendar and contacts
folders here are the *folder* view of the mailbox's calendar and contact folder, which keep their
own ids in `Mailbox.calendars` / `Mailbox.contact_folders`.

The world delivers no mail except meeting messages (`meetings.py`): requests, responses and
cancellations, each a `MailMessage` in a folder's `Collection` (so "changes since N" works for
message delta or EWS SyncFolderItems as for events).

Folders are made on first use per mailbox, with ids derived from the user id and the well-known
name (uuid5), so they are the same whichever protocol asks first and stable for a seed. They are
kept beside the World (weakly keyed, like `extensions.per_world`), so a reset drops them.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mock_providers.world.collection import Collection
from mock_providers.world.extensions import per_world
from mock_providers.world.model import MsUser
from mock_providers.world.world import World

MessageKind = Literal["meetingRequest", "meetingCancelled", "meetingAccepted",
                      "meetingTentativelyAccepted", "meetingDeclined"]

# (well-known name, display name, folder class, parent well-known name or "" for the root).
WELL_KNOWN: tuple[tuple[str, str, str, str], ...] = (
    ("msgfolderroot", "Top of Information Store", "IPF.Note", ""),
    ("inbox", "Inbox", "IPF.Note", "msgfolderroot"),
    ("sentitems", "Sent Items", "IPF.Note", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"),
    ("drafts", "Drafts", "IPF.Note", "msgfolderroot"),
    ("junkemail", "Junk Email", "IPF.Note", "msgfolderroot"),
    ("outbox", "Outbox", "IPF.Note", "msgfolderroot"),
    ("archive", "Archive", "IPF.Note", "msgfolderroot"),
    ("conversationhistory", "Conversation History", "IPF.Note", "msgfolderroot"),
    ("calendar", "Calendar", "IPF.Appointment", "msgfolderroot"),
    ("contacts", "Contacts", "IPF.Contact", "msgfolderroot"),
    ("tasks", "Tasks", "IPF.Task", "msgfolderroot"),
    ("notes", "Notes", "IPF.StickyNote", "msgfolderroot"),
    ("journal", "Journal", "IPF.Journal", "msgfolderroot"),
)
MAIL_CLASSES = frozenset({"IPF.Note"})
# EWS ItemClass of each meeting message kind.
ITEM_CLASSES: dict[str, str] = {
    "meetingRequest": "IPM.Schedule.Meeting.Request",
    "meetingCancelled": "IPM.Schedule.Meeting.Canceled",
    "meetingAccepted": "IPM.Schedule.Meeting.Resp.Pos",
    "meetingTentativelyAccepted": "IPM.Schedule.Meeting.Resp.Tent",
    "meetingDeclined": "IPM.Schedule.Meeting.Resp.Neg",
}


@dataclass(slots=True)
class MailMessage:
    """A meeting message: a request, response or cancellation, as one mailbox holds it."""

    id: str
    kind: MessageKind
    subject: str
    body: str
    sender_email: str
    sender_name: str
    to: list[tuple[str, str]]  # (address, name)
    created: datetime
    change_key: str
    ical_uid: str  # the meeting's (links the message to the calendar items)
    event_id: str | None  # the event in *this* mailbox it is about, if any
    meeting_start: datetime
    meeting_end: datetime
    location: str = ""
    is_read: bool = False
    is_all_day: bool = False
    comment: str = ""  # a response's or cancellation's comment

    @property
    def item_class(self) -> str:
        return ITEM_CLASSES[self.kind]


@dataclass(slots=True)
class MailFolder:
    id: str
    well_known: str
    display_name: str
    folder_class: str
    parent_id: str  # "" for the root
    messages: Collection[MailMessage] = field(default_factory=Collection)

    @property
    def unread(self) -> int:
        return sum(1 for m in self.messages if not m.is_read)


_NAMESPACE = uuid.UUID("6b1c2d2e-55a1-4c59-9a43-0c1e5e1d7f10")
_store = per_world(dict[str, dict[str, MailFolder]])


def folder_id(user: MsUser, well_known: str) -> str:
    """A stable, Exchange-looking id (`AAMk…`) for one distinguished folder of one mailbox."""
    raw = uuid.uuid5(_NAMESPACE, f"{user.id}/{well_known}").bytes
    return "AAMkA" + base64.urlsafe_b64encode(raw + well_known.encode()[:8]).decode()


def mail_folders(world: World, user: MsUser) -> dict[str, MailFolder]:
    """The mailbox's distinguished folders by well-known name (made on first use)."""
    by_user = _store(world)
    folders = by_user.get(user.id)
    if folders is None:
        folders = {}
        for name, display, folder_class, parent in WELL_KNOWN:
            folders[name] = MailFolder(folder_id(user, name), name, display, folder_class,
                                       folder_id(user, parent) if parent else "",
                                       Collection(world.seq))
        by_user[user.id] = folders
    return folders


def folder(world: World, user: MsUser, name_or_id: str) -> MailFolder | None:
    """A folder by well-known name (any case) or id."""
    folders = mail_folders(world, user)
    found = folders.get(name_or_id.lower())
    if found is not None:
        return found
    return next((f for f in folders.values() if f.id == name_or_id), None)


def children(world: World, user: MsUser, parent: MailFolder) -> list[MailFolder]:
    return [f for f in mail_folders(world, user).values() if f.parent_id == parent.id]


def deliver(world: World, user: MsUser, well_known: str, message: MailMessage) -> MailMessage:
    """Put `message` into one of the user's distinguished folders (a change with a sequence)."""
    target = mail_folders(world, user)[well_known]
    target.messages.put(message.id, message, world.next_seq())
    return message
