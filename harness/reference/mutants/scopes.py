"""Permission choices -> Graph scopes, one by one (SCOPE-01..05, OAUTH-03)."""

from harness.reference.mutants.core import mutant

G = "harness.reference.providers.microsoft_graph"
CAL = {"read": "Calendars.Read", "write": "Calendars.ReadWrite"}
CON = {"read": "Contacts.Read", "write": "Contacts.ReadWrite"}

MUTANTS = [
    mutant("scope-calendar-read-widened", ("SCOPE-01", "OAUTH-03"),
           "Calendar/Read asks Microsoft for Calendars.ReadWrite",
           (f"{G}:CALENDAR_SCOPES", lambda _: {**CAL, "read": "Calendars.ReadWrite"})),
    mutant("scope-calendar-write-narrowed", ("SCOPE-02", "OAUTH-03"),
           "Calendar/Write asks Microsoft for Calendars.Read only",
           (f"{G}:CALENDAR_SCOPES", lambda _: {**CAL, "write": "Calendars.Read"})),
    mutant("scope-contacts-read-doc-typo", ("SCOPE-03", "SCOPE-05", "OAUTH-03"),
           "Contact/Read asks for the documents' misspelt Contact.Read, which Entra rejects",
           (f"{G}:CONTACTS_SCOPES", lambda _: {**CON, "read": "Contact.Read"})),
    mutant("scope-contacts-write-narrowed", ("SCOPE-04", "OAUTH-03"),
           "Contact/Write asks Microsoft for Contacts.Read only",
           (f"{G}:CONTACTS_SCOPES", lambda _: {**CON, "write": "Contacts.Read"})),
    mutant("scope-extra-mail-read", ("SCOPE-05", "OAUTH-03"),
           "every Graph set-up also asks for Mail.Read",
           (f"{G}:graph_scopes", lambda orig: lambda cal, con: [*orig(cal, con), "Mail.Read"])),
    mutant("scope-none-still-asked", ("OAUTH-03",),
           "a permission set to none still asks for the read scope",
           (f"{G}:graph_scopes", lambda orig: lambda cal, con: orig(
               "read" if cal == "none" else cal, "read" if con == "none" else con))),
]
