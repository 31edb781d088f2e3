"""Handlers of the mailbox's well-known mail folders and the meeting messages they hold (the
world's `folders` and `meetings`): enough for a client to find a meeting request, response or
cancellation; no other mail exists.

    GET {u}/mailFolders                       the folders under the message root (by name)
    GET {u}/mailFolders/{id | well-known name} one folder (inbox, sentitems, deleteditems,
                                               drafts, junkemail, outbox, archive,
                                               conversationhistory, msgfolderroot)
    GET {u}/mailFolders/{id}/childFolders     its child folders
    GET {u}/mailFolders/{id}/messages         its messages, newest first
    GET {u}/mailFolders/{id}/messages/{id}, {u}/messages/{id}
    GET {u}/messages                          every message of the mail folders, newest first

A folder is v1.0's `mailFolder` (id, displayName, parentFolderId, childFolderCount,
unreadItemCount, totalItemCount, sizeInBytes, isHidden; v1.0 has no wellKnownName, the beta does).
A meeting message is an `eventMessageRequest` (a request), an `eventMessageResponse` (an
attendee's answer, with responseType) or an `eventMessage` (a cancellation), with
meetingMessageType, startDateTime/endDateTime/location of the meeting, and `event` as a
navigation link to the mailbox's own calendar item when there is one.
"""

from __future__ import annotations

from typing import Any

from mock_providers.microsoft.graph import odata
from mock_providers.microsoft.graph.errors import item_not_found
from mock_providers.microsoft.graph.odata import ITEM_OPTIONS
from mock_providers.microsoft.graph.render import (
    dumps,
    etag,
    graph_datetime,
    graph_timestamp,
    select,
    wrap_entity,
)
from mock_providers.microsoft.graph.request import Req, Result, paged
from mock_providers.world.folders import (
    MAIL_CLASSES,
    MailFolder,
    MailMessage,
    children,
    folder,
    mail_folders,
)

_LIST = ("$select", "$top", "$skip", "$count")
_ODATA_TYPES = {"meetingRequest": "#microsoft.graph.eventMessageRequest",
                "meetingCancelled": "#microsoft.graph.eventMessage",
                "meetingAccepted": "#microsoft.graph.eventMessageResponse",
                "meetingTentativelyAccepted": "#microsoft.graph.eventMessageResponse",
                "meetingDeclined": "#microsoft.graph.eventMessageResponse"}
# Graph's enum spells the tentative response message "meetingTenativelyAccepted".
_MESSAGE_TYPES = {"meetingTentativelyAccepted": "meetingTenativelyAccepted"}
_RESPONSE_TYPES = {"meetingAccepted": "accepted",
                   "meetingTentativelyAccepted": "tentativelyAccepted",
                   "meetingDeclined": "declined"}


def _is_mail(f: MailFolder) -> bool:
    return f.folder_class in MAIL_CLASSES


def _folder(req: Req, name_or_id: str) -> MailFolder:
    found = folder(req.hub.world, req.user, name_or_id)
    if found is None or not _is_mail(found):
        raise item_not_found()
    return found


def folder_json(req: Req, f: MailFolder) -> dict[str, Any]:
    world = req.hub.world
    kids = [c for c in children(world, req.user, f) if _is_mail(c)]
    return {"id": f.id, "displayName": f.display_name, "parentFolderId": f.parent_id or None,
            "childFolderCount": len(kids), "unreadItemCount": f.unread,
            "totalItemCount": len(f.messages),
            "sizeInBytes": sum(len(m.body) + len(m.subject) + 512 for m in f.messages),
            "isHidden": False}


def _address(email: str, name: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name or email, "address": email}}


def message_json(req: Req, f: MailFolder, m: MailMessage) -> dict[str, Any]:
    context = req.users_context("")
    out: dict[str, Any] = {
        "@odata.type": _ODATA_TYPES[m.kind],
        "@odata.etag": etag(m.change_key),
        "id": m.id,
        "createdDateTime": graph_timestamp(m.created),
        "lastModifiedDateTime": graph_timestamp(m.created),
        "changeKey": m.change_key,
        "categories": [],
        "receivedDateTime": graph_timestamp(m.created),
        "sentDateTime": graph_timestamp(m.created),
        "hasAttachments": False,
        "internetMessageId": f"<{m.id}@calharness.invalid>",
        "subject": m.subject,
        "bodyPreview": " ".join(m.body.split())[:255],
        "importance": "normal",
        "parentFolderId": f.id,
        "conversationId": m.ical_uid,
        "isDeliveryReceiptRequested": None,
        "isReadReceiptRequested": False,
        "isRead": m.is_read,
        "isDraft": False,
        "webLink": f"https://outlook.office365.com/owa/?ItemID={m.id}&exvsurl=1&viewmodel="
                   "ReadMessageItem",
        "inferenceClassification": "focused",
        "body": {"contentType": "text", "content": m.body},
        "sender": _address(m.sender_email, m.sender_name),
        "from": _address(m.sender_email, m.sender_name),
        "toRecipients": [_address(a, n) for a, n in m.to],
        "ccRecipients": [], "bccRecipients": [], "replyTo": [],
        "flag": {"flagStatus": "notFlagged"},
        "meetingMessageType": _MESSAGE_TYPES.get(m.kind, m.kind),
        "type": "singleInstance",
        "isOutOfDate": False,
        "isAllDay": m.is_all_day,
        "isDelegated": False,
        "startDateTime": {"dateTime": graph_datetime(m.meeting_start), "timeZone": "UTC"},
        "endDateTime": {"dateTime": graph_datetime(m.meeting_end), "timeZone": "UTC"},
        "location": {"displayName": m.location, "locationType": "default",
                     "uniqueIdType": "unknown"},
        "recurrence": None,
    }
    if m.kind == "meetingRequest":
        out.update(meetingRequestType="newMeetingRequest", responseRequested=True,
                   allowNewTimeProposals=True, previousLocation=None,
                   previousStartDateTime=None, previousEndDateTime=None)
    elif m.kind in _RESPONSE_TYPES:
        out.update(responseType=_RESPONSE_TYPES[m.kind], proposedNewTime=None)
    if m.event_id:
        out["event@odata.navigationLink"] = context.split("$metadata#")[0] + \
            f"users('{req.user.id}')/events('{m.event_id}')"
    return out


async def list_folders(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, _LIST, "mailFolders")
    world = req.hub.world
    root = mail_folders(world, req.user)["msgfolderroot"]
    items = sorted((f for f in children(world, req.user, root) if _is_mail(f)),
                   key=lambda f: f.display_name.lower())
    return _folder_page(req, items, "mailFolders")


async def child_folders(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, _LIST, "childFolders")
    parent = _folder(req, args[0])
    items = sorted((f for f in children(req.hub.world, req.user, parent) if _is_mail(f)),
                   key=lambda f: f.display_name.lower())
    return _folder_page(req, items, f"mailFolders('{parent.id}')/childFolders")


def _folder_page(req: Req, items: list[MailFolder], suffix: str) -> Result:
    fields = _select(req)
    return paged(req, items, lambda f: dumps(_maybe_select(folder_json(req, f), fields)),
                 req.users_context(suffix))


def _select(req: Req) -> tuple[str, ...] | None:
    value = req.query.get("$select")
    if value is None:
        return None
    return tuple(f.strip() for f in value.split(",") if f.strip())


def _maybe_select(data: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    if fields is None:
        return data
    out = select(data, fields)
    if "@odata.type" in data:
        out["@odata.type"] = data["@odata.type"]
    return out


async def get_folder(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select",), "mailFolder")
    f = _folder(req, args[0])
    return Result(200, wrap_entity(req.users_context("mailFolders/$entity"),
                                   dumps(_maybe_select(folder_json(req, f), _select(req)))))


def _messages(req: Req, folders: list[MailFolder]) -> list[tuple[MailFolder, MailMessage]]:
    items = [(f, m) for f in folders for m in f.messages]
    items.sort(key=lambda fm: (fm[1].created, fm[1].id), reverse=True)
    return items


async def list_messages(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, _LIST, "messages")
    world = req.hub.world
    if args:
        folders = [_folder(req, args[0])]
        suffix = f"mailFolders('{folders[0].id}')/messages"
    else:
        folders = [f for f in mail_folders(world, req.user).values() if _is_mail(f)]
        suffix = "messages"
    fields = _select(req)
    return paged(req, _messages(req, folders),
                 lambda fm: dumps(_maybe_select(message_json(req, fm[0], fm[1]), fields)),
                 req.users_context(suffix))


async def get_message(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ITEM_OPTIONS, "message")
    world = req.hub.world
    folders = ([_folder(req, args[0])] if len(args) == 2
               else [f for f in mail_folders(world, req.user).values() if _is_mail(f)])
    message_id = args[-1]
    for f in folders:
        m = f.messages.get(message_id)
        if m is not None:
            data = _maybe_select(message_json(req, f, m), _select(req))
            return Result(200, wrap_entity(req.users_context("messages/$entity"), dumps(data)))
    raise item_not_found()
