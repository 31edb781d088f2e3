"""The documents' words for services and permissions, mapped to the driver's values."""

from __future__ import annotations

from typing import Any

SERVICES = {"office 365": "office365", "exchange": "exchange", "google": "google"}
AUTHORIZE_WITH = {"graph api": "graph", "graph": "graph", "ews url": "ews", "ews": "ews"}
ACCESS = {"none": "none", "read": "read", "write": "write"}
# Scopes that grant more than reading calendars and contacts.
WRITE_SCOPE_MARKERS = ("ReadWrite", "full_access_as_app", "EWS.AccessAsUser.All", "Mail.Send")


# Audit operations that change provider data, per mock (Graph, Google Calendar/People, EWS).
WRITE_OPERATION_SUFFIXES = (".create", ".update", ".delete", ".insert", ".patch",
                            "createContact", "updateContact", "deleteContact",
                            "CreateItem", "UpdateItem", "DeleteItem")


def is_write_operation(operation: str | None) -> bool:
    return bool(operation) and operation.endswith(WRITE_OPERATION_SUFFIXES)  # type: ignore[union-attr]


def lookup(table: dict[str, Any], word: str, what: str) -> Any:
    try:
        return table[word.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown {what} {word!r}; expected one of {', '.join(table)}") from None


def bare_scope(scope: str) -> str:
    """`https://graph.microsoft.com/Calendars.Read` -> `Calendars.Read`."""
    return scope.rsplit("/", 1)[-1] if scope.startswith("https://") else scope


def is_write_scope(scope: str) -> bool:
    return any(marker in scope for marker in WRITE_SCOPE_MARKERS)
