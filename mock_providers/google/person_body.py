"""A People v1 Person request body → the changes it makes to the world's neutral Contact.

`parse_person` checks everything first and returns a `PersonChanges`; `apply_person_changes`
only assigns, so an update is all or nothing. The body is conformed to the discovery document's
`Person` schema with unknown members refused, as People's proto JSON reader refuses them:

    400 INVALID_ARGUMENT  Invalid JSON payload received. Unknown name "birthday" at 'person':
                          Cannot find field.
    400 INVALID_ARGUMENT  Invalid value at 'person.email_addresses[0].value' (TYPE_STRING), 5

with a `google.rpc.BadRequest` field violation in `details`, which googleapiclient surfaces as
`HttpError.error_details`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mock_providers.google.discovery import document
from mock_providers.google.errors import GoogleError, echo
from mock_providers.google.render import NEUTRAL_MEMBERS, PERSON_RAW
from mock_providers.google.schema import SchemaError, conform, snake_path, without_nulls
from mock_providers.world import Contact


def _violation(message: str, path: str) -> GoogleError:
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": path, "description": message}]}]
    return GoogleError(400, message, reason="badRequest", details=details)


def conform_person(body: dict[str, Any]) -> dict[str, Any]:
    try:
        out: dict[str, Any] = conform(body, "Person", document("people", "v1"),
                                      unknown="refuse")
    except SchemaError as err:
        where = "person." + snake_path(err.path) if err.path else "person"
        if err.kind == "unknown":
            parent, _, name = where.rpartition(".")
            raise _violation(f"Invalid JSON payload received. Unknown name \"{name}\" at "
                             f"'{parent}': Cannot find field.", parent) from None
        shown = echo(json.dumps(err.value, ensure_ascii=False))
        raise _violation(f"Invalid value at '{where}' ({err.proto_type}), {shown}",
                         where) from None
    return out


@dataclass
class PersonChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # Contact attribute -> value
    raw: dict[str, Any] = field(default_factory=dict)  # verbatim member -> value (None: drop)
    types: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # the first name's / organization's members the neutral contact has no field for
    # (middleName, department, …): kept so they read back
    more: dict[str, dict[str, Any]] = field(default_factory=dict)


_NAME_MAPPED = frozenset({"givenName", "familyName", "displayName", "unstructuredName",
                          "displayNameLastFirst", "metadata"})
_ORG_MAPPED = frozenset({"name", "title", "metadata"})


def parse_person(body: dict[str, Any], members: Iterable[str]) -> PersonChanges:
    """What replacing each of `members` by the body's value (absent: cleared) changes."""
    body = conform_person(body)
    ch = PersonChanges()
    for member in members:
        if member not in NEUTRAL_MEMBERS:
            value = body.get(member)
            ch.raw[member] = without_nulls(value) if value else None
            continue
        entries: list[dict[str, Any]] = body.get(member) or []
        if member == "names":
            first = entries[0] if entries else {}
            given, family = first.get("givenName") or "", first.get("familyName") or ""
            ch.fields.update(given_name=given, surname=family, display_name=(
                first.get("displayName") or first.get("unstructuredName")
                or " ".join(p for p in (given, family) if p)))
            ch.more[member] = {k: v for k, v in first.items() if k not in _NAME_MAPPED}
        elif member == "emailAddresses":
            ch.fields["emails"] = [e["value"] for e in entries if e.get("value")]
            ch.types[member] = [(e["value"], e["type"]) for e in entries
                                if e.get("value") and e.get("type")]
        elif member == "phoneNumbers":
            # the first mobile number is the contact's mobile phone; the others (a second mobile
            # too) are its other phones, their types kept
            mobile = [p["value"] for p in entries if p.get("value") and p.get("type") == "mobile"]
            others = [p for p in entries if p.get("value") and (
                p.get("type") != "mobile" or p["value"] != mobile[0])]
            ch.fields["mobile_phone"] = mobile[0] if mobile else None
            ch.fields["business_phones"] = [p["value"] for p in others]
            ch.types[member] = [(p["value"], p["type"]) for p in others if p.get("type")]
            # the order the client gave (the neutral contact keeps the mobile number apart)
            ch.more["phoneOrder"] = {"values": [p["value"] for p in entries if p.get("value")]}
        else:
            first = entries[0] if entries else {}
            ch.fields["company_name"] = first.get("name") or None
            ch.fields["job_title"] = first.get("title") or None
            ch.more[member] = {k: v for k, v in first.items() if k not in _ORG_MAPPED}
    return ch


def apply_person_changes(contact: Contact, ch: PersonChanges) -> None:
    """Assignments only: nothing here can fail."""
    for attr, value in ch.fields.items():
        setattr(contact, attr, value)
    raw: dict[str, Any] = contact.extra.setdefault(PERSON_RAW, {})
    for member, value in ch.raw.items():
        if value is None:
            raw.pop(member, None)
        else:
            raw[member] = value
    types: dict[str, list[tuple[str, str]]] = contact.extra.setdefault(PERSON_RAW + ".types", {})
    types.update(ch.types)
    more: dict[str, dict[str, Any]] = contact.extra.setdefault(PERSON_RAW + ".more", {})
    more.update(ch.more)
