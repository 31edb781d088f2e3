"""Folders: FolderRef (root, msgfolderroot, a calendar or a contact folder of a mailbox),
resolving a folder id, the acting user's rights on a folder, and the GetFolder / FindFolder
operations.

GetFolder / FindFolder: distinguished ids root, msgfolderroot, calendar, contacts and the other
distinguished folders of `world.folders` (inbox, sentitems, deleteditems, drafts, outbox,
junkemail, ... with their folder classes; only their owner sees them), with t:Mailbox for another
mailbox, and the FolderIds this mock issued. FindFolder lists (Shallow or Deep) only
the folders the caller can see that match its m:Restriction (DisplayName, FolderClass, the counts,
PidTagAttributeHidden; any other path is ErrorUnsupportedPathForQuery), paged by
m:IndexedPageFolderView.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from mock_providers.microsoft.ews.auth import (
    AccessDenied,
    calendar_rights,
    contacts_rights,
    mailbox_owner,
    root_visible,
)
from mock_providers.microsoft.ews.context import (
    ACCESS_DENIED,
    MALFORMED,
    ItemError,
    OpContext,
    owner_of,
    paging,
    read_shape,
)
from mock_providers.microsoft.ews.render import (
    FolderKind,
    FolderView,
    Rights,
    calendar_change_key,
    contacts_change_key,
    decode_id,
    error,
    folder_element,
    folder_key_for,
    success,
)
from mock_providers.microsoft.ews.restrictions import Predicate, compile_restriction
from mock_providers.microsoft.ews.xml import local, m, schema_error, t, text
from mock_providers.world import Calendar, ContactFolder, MsUser
from mock_providers.world.folders import WELL_KNOWN, MailFolder, mail_folders

if TYPE_CHECKING:
    from mock_providers.world import World


@dataclass(frozen=True, slots=True)
class FolderRef:
    kind: FolderKind
    owner: MsUser
    calendar: Calendar | None = None
    contacts: ContactFolder | None = None
    mail: MailFolder | None = None  # a distinguished folder other than calendar and contacts

    def view(self) -> FolderView:
        box = self.owner.mailbox
        if self.mail is not None:
            return FolderView("mail", f"mail:{self.mail.well_known}", "msgfolderroot",
                              self.mail.display_name, mail_change_key(self.mail),
                              len(self.mail.messages), 0, self.mail.folder_class,
                              self.mail.unread)
        if self.calendar is not None:
            return FolderView("calendar", folder_key_for("calendar", self.calendar.id),
                              "msgfolderroot", self.calendar.name,
                              calendar_change_key(self.calendar), len(self.calendar.events), 0)
        if self.contacts is not None:
            return FolderView("contacts", folder_key_for("contacts", self.contacts.id),
                              "msgfolderroot", self.contacts.name,
                              contacts_change_key(self.contacts), len(self.contacts.contacts), 0)
        if self.kind == "root":
            return FolderView("root", "root", None, "", "AQAAAA==", 0, 1)
        return FolderView("msgfolderroot", "msgfolderroot", "root", "Top of Information Store",
                          "AQAAAA==", 0, len(box.calendars) + len(box.contact_folders)
                          + len(_MAIL_NAMES))

    def children(self, world: World) -> list[FolderRef]:
        if self.kind == "root":
            return [FolderRef("msgfolderroot", self.owner)]
        if self.kind == "msgfolderroot":
            box = self.owner.mailbox
            mail = mail_folders(world, self.owner)
            return ([FolderRef("calendar", self.owner, calendar=c) for c in box.calendars.values()]
                    + [FolderRef("contacts", self.owner, contacts=f)
                       for f in box.contact_folders.values()]
                    + [FolderRef("mail", self.owner, mail=mail[name]) for name in _MAIL_NAMES])
        return []


# The distinguished folders besides the mailbox's own calendars and contact folders.
_MAIL_NAMES = tuple(name for name, *_ in WELL_KNOWN
                    if name not in ("msgfolderroot", "calendar", "contacts"))


def mail_change_key(folder: MailFolder) -> str:
    return base64.b64encode(f"mail:{folder.messages.last_seq}".encode()).decode()


def resolve_folder(ctx: OpContext, elem: etree._Element) -> FolderRef:
    name = local(elem)
    if name == "DistinguishedFolderId":
        address = text(elem.find(t("Mailbox")), t("EmailAddress"))
        owner = mailbox_owner(ctx.world, ctx.acting, address)
        if owner is None:
            raise ItemError("ErrorNonExistentMailbox",
                            "The SMTP address has no mailbox associated with it.")
        box = owner.mailbox
        match elem.get("Id"):
            case "calendar":
                return FolderRef("calendar", owner, calendar=box.default_calendar)
            case "contacts":
                return FolderRef("contacts", owner, contacts=box.default_contacts)
            case "root":
                return FolderRef("root", owner)
            case "msgfolderroot":
                return FolderRef("msgfolderroot", owner)
            case name if name in _MAIL_NAMES:
                return FolderRef("mail", owner, mail=mail_folders(ctx.world, owner)[name])
        raise ItemError("ErrorFolderNotFound", "The specified folder could not be found in the "
                        "store.")
    if name != "FolderId":
        raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
    decoded = decode_id(elem.get("Id") or "")
    if decoded is None or decoded.kind != "folder":
        raise ItemError("ErrorInvalidIdMalformed", MALFORMED)
    owner = owner_of(ctx, decoded)
    kind, _, folder_id = decoded.key.partition(":")
    if owner is not None:
        if kind == "root" and not folder_id:
            return FolderRef("root", owner)
        if kind == "msgfolderroot" and not folder_id:
            return FolderRef("msgfolderroot", owner)
        if kind == "calendar" and folder_id in owner.mailbox.calendars:
            return FolderRef("calendar", owner, calendar=owner.mailbox.calendars[folder_id])
        if kind == "mail" and folder_id in _MAIL_NAMES:
            return FolderRef("mail", owner, mail=mail_folders(ctx.world, owner)[folder_id])
        if kind == "contacts" and folder_id in owner.mailbox.contact_folders:
            return FolderRef("contacts", owner, contacts=owner.mailbox.contact_folders[folder_id])
    raise ItemError("ErrorFolderNotFound", "The specified folder could not be found in the store.")


def folder_rights(ctx: OpContext, ref: FolderRef, write: bool = False) -> Rights:
    ctx.touched(ref.owner)
    try:
        if ref.calendar is not None:
            return calendar_rights(ctx.acting, ref.owner, ref.calendar, write)
        if ref.contacts is not None:
            return contacts_rights(ctx.acting, ref.owner)
        if ref.mail is not None:  # mail folders are their owner's (or an impersonating app's)
            if ctx.acting.id != ref.owner.id:
                raise AccessDenied()
            return root_visible(ctx.acting, ref.owner)
        rights = root_visible(ctx.acting, ref.owner)
        if write and not rights.write:
            raise AccessDenied()
        return rights
    except AccessDenied:
        raise ItemError("ErrorAccessDenied", ACCESS_DENIED) from None


def folder_ids(container: etree._Element | None) -> list[etree._Element]:
    if container is None:
        raise schema_error("The element has an incomplete content: a folder id list is required.")
    ids = [e for e in container if isinstance(e.tag, str)]
    if not ids:
        raise schema_error("The folder id list is empty.")
    return ids


def get_folder(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("FolderShape")))
    messages: list[etree._Element] = []
    for elem in folder_ids(op.find(m("FolderIds"))):
        try:
            ref = resolve_folder(ctx, elem)
            rights = folder_rights(ctx, ref)
        except ItemError as err:
            messages.append(error("GetFolder", err.code, err.text))
            continue
        message = success("GetFolder")
        folder_element(etree.SubElement(message, m("Folders")), ref.owner, ref.view(), shape,
                       rights)
        messages.append(message)
    return messages


def find_folder(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("FolderShape")))
    traversal = op.get("Traversal", "Shallow")
    if traversal not in ("Shallow", "Deep", "SoftDeleted"):  # FolderQueryTraversalType
        raise schema_error(f"The value '{traversal}' is invalid for Traversal.")
    deep = traversal == "Deep"
    view = op.find(m("IndexedPageFolderView"))
    offset, limit = paging(view)
    messages: list[etree._Element] = []
    restriction = op.find(m("Restriction"))
    for elem in folder_ids(op.find(m("ParentFolderIds"))):
        try:
            parent = resolve_folder(ctx, elem)
            folder_rights(ctx, parent)
            predicate = _folder_predicate(restriction)
        except ItemError as err:
            messages.append(error("FindFolder", err.code, err.text))
            continue
        found: list[tuple[FolderRef, Rights]] = []
        pending = parent.children(ctx.world)
        while pending:
            ref = pending.pop(0)
            try:
                found.append((ref, folder_rights(ctx, ref)))
            except ItemError:
                continue  # folders the caller cannot see are not listed
            if deep:
                pending.extend(ref.children(ctx.world))
        if predicate is not None:  # a Deep search still descends through folders it leaves out
            found = [(ref, rights) for ref, rights in found if predicate(ref.view())]
        page = found[offset:offset + limit] if limit else found[offset:]
        message = success("FindFolder")
        root = etree.SubElement(message, m("RootFolder"), {
            "IndexedPagingOffset": str(offset + len(page)), "TotalItemsInView": str(len(found)),
            "IncludesLastItemInRange": "true" if offset + len(page) >= len(found) else "false"})
        folders = etree.SubElement(root, t("Folders"))
        for ref, rights in page:
            folder_element(folders, ref.owner, ref.view(), shape, rights)
        messages.append(message)
    return messages


def _folder_predicate(restriction: etree._Element | None) -> Predicate | None:
    """m:Restriction of a FindFolder, on the folder fields the world has (restrictions.py)."""
    kids = [c for c in restriction if isinstance(c.tag, str)] if restriction is not None else []
    return compile_restriction(kids[0], "folder") if kids else None
