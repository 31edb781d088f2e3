"""What an implementation claims to support, and the `@needs:<capability>` tags scenarios use to
say what they need.

A scenario whose needs the implementation under test does not claim is reported "not claimed":
its own status, never a pass and never a failure. The vocabulary is closed: the plugin refuses a
feature file with an unknown `@needs:` tag at collection, as it refuses an unknown `@req:` id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

# The conformance API's name and major version. A target answering another one is refused
# before any scenario runs; a compatible change adds operations or optional fields, never
# renames or removes them, and keeps this string.
API_VERSION = "calharness.conformance/1"

NEEDS_TAG_PREFIX = "needs:"

ServiceName = Literal["office365-graph", "office365-ews", "exchange-ews", "mapi", "google"]
SetupMode = Literal["user_oauth", "admin_application"]

SERVICES: tuple[ServiceName, ...] = get_args(ServiceName)

# Every capability a scenario may need, with what claiming it means. Services are capabilities
# of their own (same names); the rest are features of the integration that the documents call
# optional or that only some platforms offer.
NEEDS: dict[str, str] = {
    "office365-graph": "Office 365 authorized with the Graph API (OAuth 2.0 set-up by the user)",
    "office365-ews": "Office 365 authorized with the EWS URL (OAuth 2.0, EWS.AccessAsUser.All)",
    "exchange-ews": "Exchange on-premises through the EWS URL with the user's mailbox "
                    "credentials",
    "mapi": "Exchange through MAPI on the Windows desktop client",
    "google": "Google Calendar and Google contacts (People)",
    "app-permissions": "set-up by the Office 365 admin with application permissions "
                       "(setup_by admin_application)",
    "sso": "sign-in over SSO: the Office 365 prompt on sign-in and automatic integration "
           "upon login",
    "rooms": "the Office 365 admin's consent on behalf of the company or of the entire account "
             "(Room Management > Calendar Integration)",
    "bidirectional-sync": "meetings scheduled, moved or deleted on the platform are written to "
                          "the provider's calendar",
    "contacts": "the provider's contacts: the contact list and contacts saved from the call "
                "history",
    "scheduling-privileges": "scheduling privilege: Schedule For and the calendar as a "
                             "delegate sees it",
    "meeting-responses": "the user accepts, tentatively accepts or declines a meeting "
                         "invitation in their calendar (respond_to_meeting)",
    "calendar-selection": "Sync Zoom Meetings from calendars: the user lists their calendars "
                          "and picks which the meeting list reads",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Implementation(_Model):
    name: str = Field(min_length=1, max_length=120)
    version: str = Field(min_length=1, max_length=60)
    vendor: str | None = Field(None, max_length=120)


class Capabilities(_Model):
    """`GET /capabilities`: the API version the implementation speaks and what it claims."""

    api: Literal["calharness.conformance/1"] = API_VERSION
    implementation: Implementation
    services: list[ServiceName] = Field(
        description="calendar services the implementation integrates")
    setup_modes: list[SetupMode] = Field(
        default_factory=lambda: ["user_oauth"],
        description="who sets up Office 365: each user (user_oauth) and/or the Office 365 "
                    "admin with application permissions (admin_application)")
    sso: bool = False
    rooms: bool = False
    bidirectional_sync: bool = False
    contacts: bool = False
    scheduling_privileges: bool = False
    meeting_responses: bool = False
    calendar_selection: bool = False

    def claims(self) -> frozenset[str]:
        """The `@needs:` names this implementation satisfies."""
        claimed: set[str] = set(self.services)
        flags = {"sso": self.sso, "rooms": self.rooms,
                 "bidirectional-sync": self.bidirectional_sync, "contacts": self.contacts,
                 "scheduling-privileges": self.scheduling_privileges,
                 "meeting-responses": self.meeting_responses,
                 "app-permissions": "admin_application" in self.setup_modes,
                 "calendar-selection": self.calendar_selection}
        claimed.update(name for name, on in flags.items() if on)
        return frozenset(claimed)

    def missing(self, needs: Iterable[str]) -> list[str]:
        """The needs (in the order given, once each) this implementation does not claim."""
        claimed = self.claims()
        return [n for n in dict.fromkeys(needs) if n not in claimed]

    @classmethod
    def everything(cls, implementation: Implementation) -> Capabilities:
        return cls(implementation=implementation, services=list(SERVICES),
                   setup_modes=["user_oauth", "admin_application"], sso=True, rooms=True,
                   bidirectional_sync=True, contacts=True, scheduling_privileges=True,
                   meeting_responses=True, calendar_selection=True)


# How the feature files name a calendar service in a Scenario Outline's Examples, and the
# service each phrase needs: an outline's row that names one needs that service as if the
# scenario carried its `@needs:` tag, so one outline can run its Graph, EWS and Google rows
# against an implementation that claims only some of them (the others are not claimed).
SERVICE_PHRASES: dict[str, ServiceName] = {
    "office 365 through graph": "office365-graph",
    "office 365 through ews": "office365-ews",
    "office 365 through the ews url": "office365-ews",
    "exchange through ews": "exchange-ews",
    "exchange on-premises": "exchange-ews",
    "google": "google",
}


def needs_from_tags(tags: Iterable[str]) -> list[str]:
    """`@needs:<name>` tags (with or without the '@') -> names, in order, once each."""
    names = []
    for tag in tags:
        name = tag.lstrip("@")
        if name.startswith(NEEDS_TAG_PREFIX):
            names.append(name[len(NEEDS_TAG_PREFIX):])
    return list(dict.fromkeys(names))

