"""ConvertId: EwsId/EwsLegacyId/OwaId/EntryId/HexEntryId/StoreId between each other for ids this
mock issued; anything else (exchangelib's "DUMMY" version probe) is a per-id
ErrorInvalidIdMalformed — the header still carries ServerVersionInfo."""

from __future__ import annotations

import base64
import binascii

from lxml import etree

from mock_providers.microsoft.ews.context import MALFORMED, OpContext, owner_of
from mock_providers.microsoft.ews.render import decode_id, error, success
from mock_providers.microsoft.ews.xml import m, schema_error

_EWS_FORMATS = ("EwsId", "EwsLegacyId", "OwaId")


def _raw_id(fmt: str, value: str) -> bytes | None:
    try:
        if fmt in _EWS_FORMATS:
            return base64.b64decode(value, validate=True)
        if fmt in ("EntryId", "StoreId"):
            return base64.b64decode(value, validate=True)[4:]
        if fmt == "HexEntryId":
            return bytes.fromhex(value)[4:]
    except (binascii.Error, ValueError):
        return None
    return None


def _format_id(fmt: str, raw: bytes) -> str:
    if fmt in _EWS_FORMATS:
        return base64.b64encode(raw).decode()
    if fmt == "HexEntryId":
        return (b"\x00\x00\x00\x00" + raw).hex().upper()
    return base64.b64encode(b"\x00\x00\x00\x00" + raw).decode()


def convert_id(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    destination = op.get("DestinationFormat") or ""
    source_ids = op.find(m("SourceIds"))
    if source_ids is None or destination not in (*_EWS_FORMATS, "EntryId", "HexEntryId",
                                                  "StoreId"):
        raise schema_error("ConvertId needs a DestinationFormat and m:SourceIds.")
    messages: list[etree._Element] = []
    for source in source_ids:
        if not isinstance(source.tag, str):
            continue
        raw = _raw_id(source.get("Format") or "", source.get("Id") or "")
        decoded = decode_id(base64.b64encode(raw).decode()) if raw else None
        owner = owner_of(ctx, decoded) if decoded is not None else None
        if decoded is None or owner is None:
            messages.append(error("ConvertId", "ErrorInvalidIdMalformed", MALFORMED))
            continue
        message = success("ConvertId")
        etree.SubElement(message, m("AlternateId"), {
            "{http://www.w3.org/2001/XMLSchema-instance}type": "t:AlternateIdType",
            "Format": destination, "Id": _format_id(destination, raw or b""),
            "Mailbox": owner.upn})
        messages.append(message)
    return messages
