"""The conformance API's operations: one route per driver-seam operation, named after it
(`operationId`), taking and answering the seam's own models.

Routes find the implementation through the `host` dependency (the app puts a `DriverHost` in
`app.state`); they never import the app. Handlers are plain functions: FastAPI runs them in its
thread pool and the host serializes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from harness.api.capabilities import Capabilities
from harness.api.conformance import (
    AccountSetup,
    ActorBody,
    AdminConsentCallbackBody,
    CallbackBody,
    ClientBody,
    ClockBody,
    GrantBody,
    GroupCreateBody,
    InviteBody,
    MeetingResponseBody,
    PolicyChangeBody,
    ScheduleForBody,
    SettingsChangeBody,
    SignInBody,
)
from harness.api.models import (
    AccountSettings,
    AdminConsentResult,
    CalendarSelection,
    CalendarSync,
    CallHistoryEntry,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    ContactRequest,
    EffectiveSettings,
    GroupInfo,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    MeetingResponse,
    MeetingUpdate,
    PolicyChangeResult,
    PolicyLevel,
    PolicyTarget,
    PolicyView,
    SchedulingGrant,
    SettingAuditEntry,
    SettingsChangeResult,
    SignInResult,
    StoredDataHit,
    StoredSyncRecord,
    SyncRunResult,
)
from harness.conformance.errors import ERROR_RESPONSES
from harness.conformance.host import DriverHost


def host(request: Request) -> DriverHost:
    return request.app.state.calharness_host  # type: ignore[no-any-return]


Host = Annotated[DriverHost, Depends(host)]
User = Annotated[str, Path(min_length=1, max_length=320, description="the user's email")]
Start = Annotated[datetime, Query(description="window start (ISO 8601)")]
End = Annotated[datetime, Query(description="window end (ISO 8601)")]

router = APIRouter(responses=ERROR_RESPONSES)


# -- the API itself ---------------------------------------------------------------------------
@router.get("/capabilities", tags=["api"], operation_id="capabilities",
            response_model=Capabilities)
def capabilities(h: Host) -> Capabilities:
    """The API version spoken and what the implementation claims: the harness reads this
    before any scenario runs and reports scenarios that need more as "not claimed"."""
    return h.capabilities


# -- account and settings ---------------------------------------------------------------------
@router.put("/account", tags=["account"], operation_id="setup_account", status_code=204,
            response_class=Response)
def setup_account(h: Host, body: AccountSetup) -> Response:
    """Start from a clean account with these people in it, wired to the hub described (the
    object `calharness serve --json` prints): everything from before is forgotten."""
    h.setup_account(body)
    return Response(status_code=204)


@router.get("/account/settings", tags=["account"], operation_id="get_settings")
def get_settings(h: Host) -> AccountSettings:
    with h.driver() as d:
        return d.get_settings()


@router.post("/account/settings", tags=["account"], operation_id="change_settings")
def change_settings(h: Host, body: SettingsChangeBody) -> SettingsChangeResult:
    """`actor` changes account settings, all or nothing; a refusal is a result
    (`accepted: false`, `code`, `reason`) that changed nothing."""
    with h.driver() as d:
        return d.change_settings(body.actor, body.changes)


@router.get("/account/settings/audit", tags=["account"], operation_id="settings_audit")
def settings_audit(h: Host) -> list[SettingAuditEntry]:
    """Every accepted settings change, oldest first."""
    with h.driver() as d:
        return d.settings_audit()


# -- policy: account, group and user levels ---------------------------------------------------
@router.post("/groups", tags=["policy"], operation_id="create_group")
def create_group(h: Host, body: GroupCreateBody) -> GroupInfo:
    with h.driver() as d:
        return d.create_group(body.actor, body.name, body.members)


@router.get("/policy", tags=["policy"], operation_id="get_policy")
def get_policy(h: Host, level: Annotated[PolicyLevel, Query()],
               name: Annotated[str | None, Query(max_length=320)] = None) -> PolicyView:
    """One level as its admin sees it (`name`: the group's name or the user's email)."""
    with h.driver() as d:
        return d.get_policy(PolicyTarget(level=level, name=name))


@router.post("/policy", tags=["policy"], operation_id="change_policy")
def change_policy(h: Host, body: PolicyChangeBody) -> PolicyChangeResult:
    """Set values, drop overrides, set or remove locks at one level, all or nothing."""
    with h.driver() as d:
        return d.change_policy(body.actor, body.target, body.change)


@router.get("/users/{user}/effective-settings", tags=["policy"],
            operation_id="effective_settings")
def effective_settings(h: Host, user: User) -> EffectiveSettings:
    with h.driver() as d:
        return d.effective_settings(user)


# -- set-up -----------------------------------------------------------------------------------
@router.post("/users/{user}/connect", tags=["set-up"], operation_id="begin_connect")
def begin_connect(h: Host, user: User, body: ConnectRequest) -> ConnectStart:
    """The user starts "Configure Calendar and Contacts Service": where to send their browser
    (no URL when no browser step is needed)."""
    with h.driver() as d:
        return d.begin_connect(user, body)


@router.post("/users/{user}/connect/callback", tags=["set-up"],
             operation_id="complete_connect")
def complete_connect(h: Host, user: User, body: CallbackBody) -> IntegrationStatus:
    """The user's browser came back to the integration's redirect URI with this URL."""
    with h.driver() as d:
        return d.complete_connect(user, body.callback_url)


@router.post("/admin-consent", tags=["set-up"], operation_id="begin_admin_consent")
def begin_admin_consent(h: Host, body: ActorBody) -> ConnectStart:
    """The account admin, as Office 365 admin, consents on behalf of the company."""
    with h.driver() as d:
        return d.begin_admin_consent(body.actor)


@router.post("/admin-consent/callback", tags=["set-up"],
             operation_id="complete_admin_consent")
def complete_admin_consent(h: Host, body: AdminConsentCallbackBody) -> AdminConsentResult:
    with h.driver() as d:
        return d.complete_admin_consent(body.actor, body.callback_url)


@router.post("/users/{user}/sign-in", tags=["set-up"], operation_id="sign_in")
def sign_in(h: Host, user: User, body: SignInBody) -> SignInResult:
    """The user signs in to the platform with this client version and platform."""
    with h.driver() as d:
        return d.sign_in(user, body.client, body.method)


@router.post("/users/{user}/mapi", tags=["set-up"], operation_id="connect_mapi")
def connect_mapi(h: Host, user: User, body: ClientBody) -> IntegrationStatus:
    """The desktop client integrates Exchange through MAPI."""
    with h.driver() as d:
        return d.connect_mapi(user, body.client)


# -- the integration --------------------------------------------------------------------------
@router.get("/users/{user}/integration", tags=["integration"],
            operation_id="integration_status")
def integration_status(h: Host, user: User) -> IntegrationStatus:
    with h.driver() as d:
        return d.integration_status(user)


@router.post("/users/{user}/sync", tags=["integration"], operation_id="sync_now")
def sync_now(h: Host, user: User) -> IntegrationStatus:
    """Run now the periodic sync the integration runs on its own schedule."""
    with h.driver() as d:
        return d.sync_now(user)


# -- meetings ---------------------------------------------------------------------------------
@router.get("/users/{user}/meetings", tags=["meetings"], operation_id="list_meetings")
def list_meetings(h: Host, user: User, start: Start, end: End) -> list[Meeting]:
    with h.driver() as d:
        return d.list_meetings(user, start, end)


@router.post("/users/{user}/meetings", tags=["meetings"], operation_id="schedule_meeting")
def schedule_meeting(h: Host, user: User, body: MeetingRequest) -> Meeting:
    with h.driver() as d:
        return d.schedule_meeting(user, body)


@router.patch("/users/{user}/meetings/{meeting_id:path}", tags=["meetings"],
              operation_id="update_meeting")
def update_meeting(h: Host, user: User,
                   meeting_id: Annotated[str, Path(min_length=1, max_length=512)],
                   body: MeetingUpdate) -> Meeting:
    with h.driver() as d:
        return d.update_meeting(user, meeting_id, body)


@router.delete("/users/{user}/meetings/{meeting_id:path}", tags=["meetings"],
               operation_id="delete_meeting", status_code=204, response_class=Response)
def delete_meeting(h: Host, user: User,
                   meeting_id: Annotated[str, Path(min_length=1, max_length=512)]) -> Response:
    with h.driver() as d:
        d.delete_meeting(user, meeting_id)
    return Response(status_code=204)


@router.post("/users/{user}/meeting-responses", tags=["meetings"],
             operation_id="respond_to_meeting", status_code=204, response_class=Response)
def respond_to_meeting(h: Host, user: User, body: MeetingResponseBody) -> Response:
    """Optional (claimed with `meeting_responses`): the user accepts, tentatively accepts or
    declines an invitation in their calendar; needs calendar write (`calendar_read_only`
    otherwise), and `not_supported` from an implementation that does not claim it."""
    response = MeetingResponse.model_validate(body.model_dump(exclude={"meeting_id"}))
    with h.driver() as d:
        d.respond_to_meeting(user, body.meeting_id, response)
    return Response(status_code=204)


# -- contacts ---------------------------------------------------------------------------------
@router.get("/users/{user}/contacts", tags=["contacts"], operation_id="list_contacts")
def list_contacts(h: Host, user: User) -> list[ContactEntry]:
    with h.driver() as d:
        return d.list_contacts(user)


@router.post("/users/{user}/contacts/from-call-history", tags=["contacts"],
             operation_id="save_contact_from_call")
def save_contact_from_call(h: Host, user: User, body: CallHistoryEntry) -> ContactEntry:
    """Create a contact at the provider from the call history (needs Contacts Write)."""
    with h.driver() as d:
        return d.save_contact_from_call(user, body)


@router.post("/users/{user}/contact-requests", tags=["contacts"],
             operation_id="invite_contact")
def invite_contact(h: Host, user: User, body: InviteBody) -> ContactRequest:
    with h.driver() as d:
        return d.invite_contact(user, body.email)


@router.get("/users/{user}/contact-requests", tags=["contacts"],
            operation_id="contact_requests")
def contact_requests(h: Host, user: User) -> list[ContactRequest]:
    """Contact requests the user sent or received."""
    with h.driver() as d:
        return d.contact_requests(user)


# -- scheduling privilege ---------------------------------------------------------------------
@router.post("/users/{user}/scheduling-privileges", tags=["scheduling"],
             operation_id="grant_scheduling_privilege")
def grant_scheduling_privilege(h: Host, user: User, body: GrantBody) -> SchedulingGrant:
    """`user` (the owner) gives `assignee` scheduling privilege."""
    with h.driver() as d:
        return d.grant_scheduling_privilege(user, body.assignee, body.manage_private_events)


@router.delete("/users/{user}/scheduling-privileges/{assignee:path}", tags=["scheduling"],
               operation_id="revoke_scheduling_privilege", status_code=204,
               response_class=Response)
def revoke_scheduling_privilege(h: Host, user: User,
                                assignee: Annotated[str, Path(min_length=1, max_length=320)]
                                ) -> Response:
    with h.driver() as d:
        d.revoke_scheduling_privilege(user, assignee)
    return Response(status_code=204)


@router.get("/users/{user}/scheduling-privileges", tags=["scheduling"],
            operation_id="scheduling_privileges")
def scheduling_privileges(h: Host, user: User) -> list[SchedulingGrant]:
    """Grants the user gave or received."""
    with h.driver() as d:
        return d.scheduling_privileges(user)


@router.post("/users/{user}/schedule-for", tags=["scheduling"],
             operation_id="schedule_meeting_for")
def schedule_meeting_for(h: Host, user: User, body: ScheduleForBody) -> Meeting:
    """Schedule For: `actor` schedules on `user`'s (the owner's) calendar with their grant."""
    with h.driver() as d:
        return d.schedule_meeting_for(body.actor, user, body.meeting)


@router.get("/users/{user}/calendar", tags=["scheduling"], operation_id="calendar_of")
def calendar_of(h: Host, user: User,
                viewer: Annotated[str, Query(min_length=1, max_length=320)],
                start: Start, end: End) -> list[Meeting]:
    """`user`'s (the owner's) meetings as `viewer`, who holds scheduling privilege, may see
    them: a private event is a time slot only unless the owner trusts them with it."""
    with h.driver() as d:
        return d.calendar_of(viewer, user, start, end)


# -- the Web Calendaring Service (bi-directional sync), stored data, the clock ---------------------
@router.post("/users/{user}/sync-service", tags=["sync"], operation_id="run_sync_service")
def run_sync_service(h: Host, user: User) -> SyncRunResult:
    """Run the bi-directional sync service for the user now (one round)."""
    with h.driver() as d:
        return d.run_sync_service(user)


@router.get("/users/{user}/platform-meetings", tags=["sync"], operation_id="platform_meetings")
def platform_meetings(h: Host, user: User) -> list[Meeting]:
    """The meetings the platform holds for the user (bi-directional sync on)."""
    with h.driver() as d:
        return d.platform_meetings(user)


@router.get("/users/{user}/sync-records", tags=["stored data"], operation_id="sync_records")
def sync_records(h: Host, user: User) -> list[StoredSyncRecord]:
    """Stored-data inspection: the user's sync records exactly as the store holds them."""
    with h.driver() as d:
        return d.sync_records(user)


@router.get("/stored-data", tags=["stored data"], operation_id="search_stored_data")
def search_stored_data(h: Host,
                       text: Annotated[str, Query(min_length=1, max_length=500)]
                       ) -> list[StoredDataHit]:
    """Stored-data inspection: every table and column of the store holding `text`."""
    with h.driver() as d:
        return d.search_stored_data(text)


@router.get("/clock", tags=["clock"], operation_id="clock_now")
def clock_now(h: Host) -> datetime:
    """The time on the implementation's clock."""
    with h.driver() as d:
        return d.clock_now()


@router.post("/clock/advance", tags=["clock"], operation_id="advance_clock")
def advance_clock(h: Host, body: ClockBody) -> datetime:
    """Move the implementation's clock forward; scenarios move the mocks' clock alongside."""
    with h.driver() as d:
        return d.advance_clock(body.seconds)


# -- "Sync Zoom Meetings from calendars" --------------------------------------------------------
@router.get("/users/{user}/calendars", tags=["calendars"], operation_id="list_calendars")
def list_calendars(h: Host, user: User) -> CalendarSync:
    """The user's calendars as the provider lists them, the ones the meeting list reads
    checked (`selected`), and the toggle. Until the user picks: on, the default calendar only."""
    with h.driver() as d:
        return d.list_calendars(user)


@router.put("/users/{user}/calendars", tags=["calendars"], operation_id="select_calendars")
def select_calendars(h: Host, user: User, body: CalendarSelection) -> CalendarSync:
    """Turn "Sync Zoom Meetings from calendars" on or off and pick the calendars the meeting
    list reads (ids from `list_calendars`; an unknown one is refused with `unknown_calendar`).
    Unselected calendars are never read; with the toggle off none is."""
    with h.driver() as d:
        return d.select_calendars(user, body)
