"""Permission choices -> OAuth scopes.

The documents list "Calendars.Read", "Calendars.ReadWrite", "Contact.Read" and
"Contact.ReadWrite"; the real Microsoft Graph permissions are Contacts.Read / Contacts.ReadWrite
(catalogue note on the SCOPE requirements). The reference implementation asks for the real ones.
"""

from __future__ import annotations

from harness.driver.models import Access

GRAPH_CALENDAR = {"read": "Calendars.Read", "write": "Calendars.ReadWrite"}
GRAPH_CONTACTS = {"read": "Contacts.Read", "write": "Contacts.ReadWrite"}
WRITE_SCOPES = frozenset({"Calendars.ReadWrite", "Contacts.ReadWrite"})


def graph_scopes(calendar: Access, contacts: Access) -> list[str]:
    scopes = []
    if calendar != "none":
        scopes.append(GRAPH_CALENDAR[calendar])
    if contacts != "none":
        scopes.append(GRAPH_CONTACTS[contacts])
    return scopes
