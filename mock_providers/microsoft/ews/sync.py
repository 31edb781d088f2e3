"""SyncFolderItems and its sync states, for calendar and contact folders.

Sync states are opaque, signed, and tied to the world they were issued in (a reset world answers
ErrorInvalidSyncStateData). They hold the change cursor of the folder's Collection, the change
sequence at the first sync (deletions older than that are never reported) and the world time at
which the client last had everything (IncludesLastItemInRange): a change to an item created after
that time is a t:Create, otherwise a t:Update. An item changed again while a first sync is still
paging can therefore be reported as t:Create twice — documented choice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from mock_providers.microsoft.ews.context import ItemError, OpContext, first_child, read_shape
from mock_providers.microsoft.ews.folders import FolderRef, folder_rights, resolve_folder
from mock_providers.microsoft.ews.items import item_ref, render_item
from mock_providers.microsoft.ews.render import (
    IdKind,
    Rights,
    Shape,
    encode_id,
    error,
    success,
)
from mock_providers.microsoft.ews.xml import m, schema_error, t, text
from mock_providers.world import Collection, Contact, Event
from mock_providers.world.extensions import per_world
from mock_providers.world.folders import MailMessage

if TYPE_CHECKING:
    from mock_providers.world import World

_MAX_SYNC_CHANGES = 512
_STATE_KEY = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class SyncState:
    folder: str  # folder key
    owner: str
    cursor: int
    first: int  # world change sequence when this sync chain started
    complete_at: float  # world time the client last had everything (0: never)


# A per-world nonce in every SyncState: a state from before a reset is refused.
_world_nonce = per_world(lambda: secrets.token_hex(8))


def encode_sync_state(world: World, state: SyncState) -> str:
    payload = json.dumps([_world_nonce(world), state.folder, state.owner, state.cursor,
                          state.first, state.complete_at], separators=(",", ":")).encode()
    mac = hmac.new(_STATE_KEY, payload, hashlib.sha256).digest()[:16]
    return base64.b64encode(mac + payload).decode()


def decode_sync_state(world: World, value: str) -> SyncState | None:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    mac, payload = raw[:16], raw[16:]
    if len(raw) < 17 or not hmac.compare_digest(
            mac, hmac.new(_STATE_KEY, payload, hashlib.sha256).digest()[:16]):
        return None
    try:
        nonce, folder, owner, cursor, first, complete_at = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if nonce != _world_nonce(world) or cursor > world.seq:
        return None
    return SyncState(folder, owner, int(cursor), int(first), float(complete_at))


def _sync_error(code: str, text_: str) -> etree._Element:
    message = error("SyncFolderItems", code, text_)
    etree.SubElement(message, m("SyncState"))
    etree.SubElement(message, m("IncludesLastItemInRange")).text = "true"
    return message


def sync_folder_items(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("ItemShape")))
    folder_elem = first_child(op.find(m("SyncFolderId")))
    if folder_elem is None:
        raise schema_error("SyncFolderItems needs m:SyncFolderId.")
    raw_max = (text(op, m("MaxChangesReturned")) or "").strip()
    # ASCII digits only (int() also takes "１２" and would run on 5,000 digits), a few of them
    if not raw_max.isascii() or not raw_max.isdigit() or len(raw_max) > 6:
        raise schema_error(f"MaxChangesReturned '{raw_max[:20]}' is not an integer.")
    max_changes = int(raw_max)
    if not 1 <= max_changes <= _MAX_SYNC_CHANGES:
        raise schema_error(f"MaxChangesReturned must be between 1 and {_MAX_SYNC_CHANGES}.")
    ignore_elem = op.find(m("Ignore"))
    ignore = {e.get("Id") for e in ignore_elem if isinstance(e.tag, str)} \
        if ignore_elem is not None else set()
    try:
        ref = resolve_folder(ctx, folder_elem)
        rights = folder_rights(ctx, ref)
    except ItemError as err:
        return [_sync_error(err.code, err.text)]
    if ref.calendar is not None:  # the audit names the calendar read
        ctx.detail["calendars"] = [ref.calendar.id]
    if ref.calendar is None and ref.contacts is None and ref.mail is None:
        return [_sync_error("ErrorInvalidOperation", "Only calendar, contacts and mail folders "
                            "can be synchronised by this server.")]
    folder_key = ref.view().key
    state_elem = op.find(m("SyncState"))
    # xs:string: text only (an element inside would read as no state, a first sync)
    if state_elem is not None and any(isinstance(c.tag, str) for c in state_elem):
        raise schema_error("The element 'SyncState' cannot contain child elements.")
    raw_state = text(op, m("SyncState"))
    world = ctx.world
    if raw_state:
        state = decode_sync_state(world, raw_state)
        if state is None or state.folder != folder_key or state.owner != ref.owner.id:
            return [_sync_error("ErrorInvalidSyncStateData",
                                "Synchronization state data is corrupt or otherwise invalid.")]
    else:
        state = SyncState(folder_key, ref.owner.id, 0, world.seq, 0.0)
    return [_sync_page(ctx, ref, rights, shape, state, max_changes, ignore)]


def _sync_page(ctx: OpContext, ref: FolderRef, rights: Rights, shape: Shape, state: SyncState,
               max_changes: int, ignore: set[str | None]) -> etree._Element:
    world = ctx.world
    owner = ref.owner
    collection: Collection[Event] | Collection[Contact] | Collection[MailMessage]
    kind: IdKind
    prefix = ""
    if ref.calendar is not None:
        collection, kind = ref.calendar.events, "event"
    elif ref.contacts is not None:
        collection, kind = ref.contacts.contacts, "contact"
    elif ref.mail is not None:
        collection, kind, prefix = ref.mail.messages, "message", f"{ref.mail.well_known}|"
    else:
        raise ValueError("only calendars and contact folders have items")
    changes = collection.changes_after(state.cursor)  # lazily: a page reads only its own
    message = success("SyncFolderItems")
    sync_state = etree.SubElement(message, m("SyncState"))
    last_in_range = etree.SubElement(message, m("IncludesLastItemInRange"))
    container = etree.SubElement(message, m("Changes"))
    cursor, emitted, counts = state.cursor, 0, {"create": 0, "update": 0, "delete": 0}
    complete = True
    for change in changes:
        if emitted >= max_changes:
            complete = False
            break
        cursor = change.seq
        item_id = encode_id(kind, owner, prefix + change.item_id)
        if item_id in ignore:
            continue
        if change.deleted:
            if change.seq <= state.first:
                continue  # deleted before this client ever synced
            entry = etree.SubElement(container, t("Delete"))
            etree.SubElement(entry, t("ItemId"), Id=item_id)
            counts["delete"] += 1
        else:
            item = collection.get(change.item_id)
            if item is None:
                continue
            created = item.created.timestamp() > state.complete_at
            entry = etree.SubElement(container, t("Create" if created else "Update"))
            render_item(entry, item_ref(ref, item), shape, rights)
            counts["create" if created else "update"] += 1
        emitted += 1
    complete_at = world.clock.timestamp() if complete else state.complete_at
    new_state = SyncState(state.folder, state.owner, cursor, state.first, complete_at)
    sync_state.text = encode_sync_state(world, new_state)
    last_in_range.text = "true" if complete else "false"
    ctx.detail.update(changes=counts, incremental=state.cursor > 0)
    return message
