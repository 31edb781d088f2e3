"""The conformance API's own shapes: request bodies that carry more than one driver argument, the
hub description handed over at account set-up, and the one error shape.

The response bodies are the driver seam's models (`harness.api.models`) unchanged; the app
(`harness.conformance`) serves these and the HTTP driver (`harness.driver.http`) sends them, so
both sides are held to one definition.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from harness.api.models import (
    AccountSpec,
    ClientInfo,
    MeetingRequest,
    MeetingResponse,
    PolicyChange,
    PolicyTarget,
    SignInMethod,
)

Email = str  # kept a plain string: refusing a malformed address is the integration's decision


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors -----------------------------------------------------------------------------------
class ErrorDetail(_Body):
    code: str = Field(description="machine-readable: a DriverError code of the integration "
                                  "(e.g. not_an_admin, locked) or one of the API's own: "
                                  "invalid_request, invalid_hub, not_found, "
                                  "method_not_allowed, internal_error")
    message: str


class ErrorBody(_Body):
    """Every error answer of the conformance API, whatever its HTTP status."""

    error: ErrorDetail


# -- the hub description ----------------------------------------------------------------------
class _Open(BaseModel):
    """Part of `calharness serve --json`: keys are only ever added, so unknown ones are kept."""

    model_config = ConfigDict(extra="allow")


class HubApp(_Open):
    client_id: str
    client_secret: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)


class HubTenant(_Open):
    id: str
    key: str
    domains: list[str]
    apps: list[HubApp] = Field(default_factory=list)


class HubMicrosoft(_Open):
    authority_host: str
    graph: str
    ews: str
    tenants: list[HubTenant]


class HubGoogleClient(_Open):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = Field(min_length=1)


class HubGoogle(_Open):
    auth_uri: str
    token_uri: str
    calendar: str
    people: str
    clients: list[HubGoogleClient] = Field(default_factory=list)


class HubDescription(_Open):
    """Where the mock providers are and the app registrations an integration uses there: the
    object `calharness serve --json` prints (schema `calharness.hub/1`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    hub_schema: str = Field(alias="schema", pattern=r"^calharness\.hub/[0-9]+$")
    base_url: str
    ca_bundle: str | None = Field(
        None, description="CA certificate (PEM file path) that verifies every https endpoint "
                          "of the hub; null when the hub serves plain HTTP")
    microsoft: HubMicrosoft
    google: HubGoogle | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


# -- request bodies ---------------------------------------------------------------------------
class AccountSetup(_Body):
    """Start from a clean account with these people in it, against this hub."""

    account: AccountSpec
    hub: HubDescription


class ActorBody(_Body):
    actor: Email


class ClockBody(_Body):
    # At most a year at a time: the mocks' clock bounds its own moves the same way.
    seconds: float = Field(gt=0, le=366 * 86400, allow_inf_nan=False)


EXAMPLE_ADMIN = "admin@example.com"  # stands for the account's owner in the examples


class SettingsChangeBody(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"actor": EXAMPLE_ADMIN, "changes": {"calendar_permission": "write",
                                             "contacts_permission": "read"}},
        {"actor": EXAMPLE_ADMIN, "changes": {"allowed_domains": "example.com, example.net"}},
    ]})

    actor: Email
    changes: dict[str, Any]


class CallbackBody(_Body):
    callback_url: str = Field(min_length=1, max_length=8192)


class AdminConsentCallbackBody(_Body):
    actor: Email
    callback_url: str = Field(min_length=1, max_length=8192)


class GroupCreateBody(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"actor": EXAMPLE_ADMIN, "name": "Sales", "members": []}]})

    actor: Email
    name: str = Field(min_length=1, max_length=120)
    members: list[Email] = Field(default_factory=list)


class PolicyChangeBody(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"actor": EXAMPLE_ADMIN, "target": {"level": "account"},
         "change": {"values": {"mapi": True}, "lock": {"mapi": True}}},
        {"actor": EXAMPLE_ADMIN, "target": {"level": "account"},
         "change": {"values": {"ews_url": None}, "inherit": [], "lock": {"mapi": False}}},
    ]})

    actor: Email
    target: PolicyTarget
    change: PolicyChange


class SignInBody(_Body):
    client: ClientInfo
    method: SignInMethod


class ClientBody(_Body):
    client: ClientInfo


class InviteBody(_Body):
    email: str


class MeetingResponseBody(MeetingResponse):
    """The user's answer to the invitation `meeting_id` (an id from the meeting list)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"meeting_id": "AAMkAGI2...", "response": "accept", "comment": "",
         "send_response": True}]})

    meeting_id: str = Field(min_length=1, max_length=512)


class GrantBody(_Body):
    assignee: Email
    manage_private_events: StrictBool = False


class ScheduleForBody(_Body):
    actor: Email
    meeting: MeetingRequest
