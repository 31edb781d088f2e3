"""Test helpers for the conformance API: a driver that records what reached it and answers from
a script, so every operation's wire mapping can be checked without a provider."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.api.capabilities import Capabilities, Implementation
from harness.api.errors import DriverError
from harness.api.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    CalendarChoice,
    CalendarSelection,
    CalendarSync,
    CallHistoryEntry,
    ClientInfo,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    ContactRequest,
    EffectiveSetting,
    EffectiveSettings,
    GroupInfo,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    MeetingResponse,
    MeetingUpdate,
    PolicyChange,
    PolicyChangeResult,
    PolicyTarget,
    PolicyView,
    SchedulingGrant,
    SettingAuditEntry,
    SettingsChangeResult,
    SignInMethod,
    SignInResult,
    StoredDataHit,
    StoredSyncRecord,
    SyncRunResult,
)
from harness.driver.base import IntegrationDriver

T0 = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"

CLAIMS = Capabilities(implementation=Implementation(name="recorder", version="1"),
                      services=["office365-graph"], contacts=True)

STATUS = IntegrationStatus(user=ALICE, state="connected", service="office365",
                           authorize_with="graph", calendar="read",
                           granted_scopes=["Calendars.Read"], calendar_state="ok")
START = ConnectStart(authorization_url="https://login.example/authorize?x=1",
                     redirect_uri="https://calharness.invalid/cb",
                     requested_scopes=["Calendars.Read"])
MEETING = Meeting(id="m/1 ?#", subject="Planning", start=T0, end=T0 + timedelta(hours=1),
                  attendees=[BOB], join_url="https://meet.example/j/1")
VIEW = PolicyView(target=PolicyTarget(level="group", name="Sales"),
                  values={"calendar_permission": "read"}, locked=["mapi"],
                  locked_above={"default_calendar_service": "account"},
                  effective=AccountSettings(calendar_permission="read"))
GRANT = SchedulingGrant(owner=ALICE, assignee=BOB, manage_private_events=True, granted_at=T0)
CALENDARS = CalendarSync(sync_from_calendars=True, calendars=[
    CalendarChoice(id="AAMk/1+=", name="Calendar", is_default=True, selected=True),
    CalendarChoice(id="x@group.calendar", name="Team ü", is_default=False, selected=False)])
CONTACT = ContactEntry(id="c1", display_name="Ada Lovelace", emails=["ada@partner.example"])

# One answer per operation: what the recording driver returns.
ANSWERS: dict[str, Any] = {
    "setup_account": None,
    "get_settings": AccountSettings(allowed_domains=["contoso.example"]),
    "change_settings": SettingsChangeResult(accepted=False, settings=AccountSettings(),
                                            reason="locked", code="locked",
                                            notices=["EWS grants full access"]),
    "begin_connect": START,
    "complete_connect": STATUS,
    "begin_admin_consent": START,
    "complete_admin_consent": AdminConsentResult(granted=True, tenant_id="t-1"),
    "integration_status": STATUS,
    "sync_now": STATUS,
    "list_meetings": [MEETING, MEETING.model_copy(update={"id": "m2", "private": True,
                                                          "subject": None})],
    "list_contacts": [CONTACT],
    "schedule_meeting": MEETING,
    "update_meeting": MEETING,
    "delete_meeting": None,
    "respond_to_meeting": None,
    "create_group": GroupInfo(name="Sales", members=[ALICE]),
    "get_policy": VIEW,
    "change_policy": PolicyChangeResult(accepted=True, view=VIEW),
    "effective_settings": EffectiveSettings(
        user=ALICE, group="Sales", settings=AccountSettings(),
        details={"mapi": EffectiveSetting(value=False, source="default")}),
    "settings_audit": [SettingAuditEntry(at=T0, actor=ALICE, level="account",
                                         setting="mapi", kind="value", old=False, new=True)],
    "sign_in": SignInResult(user=ALICE, method="sso", first_sign_in=True,
                            prompt="integrate_office365", redirect=START, integration=STATUS),
    "connect_mapi": STATUS.model_copy(update={"desktop_mapi": True}),
    "invite_contact": ContactRequest(id="r1", sender=ALICE, recipient=BOB, created_at=T0),
    "contact_requests": [ContactRequest(id="r1", sender=ALICE, recipient=BOB, created_at=T0)],
    "save_contact_from_call": CONTACT,
    "grant_scheduling_privilege": GRANT,
    "revoke_scheduling_privilege": None,
    "scheduling_privileges": [GRANT],
    "schedule_meeting_for": MEETING,
    "calendar_of": [MEETING],
    "run_sync_service": SyncRunResult(ran=True, full=True, created=["m1"], discarded=["m0"]),
    "platform_meetings": [MEETING],
    "sync_records": [StoredSyncRecord(meeting_id="m1", columns={"topic": "Planning",
                                                                 "etag": None})],
    "search_stored_data": [StoredDataHit(table="sync_records", column="topic")],
    "clock_now": T0,
    "advance_clock": T0 + timedelta(days=31),
    "list_calendars": CALENDARS,
    "select_calendars": CALENDARS.model_copy(update={"sync_from_calendars": False}),
}

# One call per operation with arguments that exercise the wire: odd characters in users and
# ids, aware datetimes, a secret, partial updates.
CALLS: dict[str, tuple[Any, ...]] = {
    "setup_account": (AccountSpec(owner=ALICE, admins=[BOB], members=["c@x.example"]),),
    "get_settings": (),
    "change_settings": (ALICE, {"calendar_permission": "write", "allowed_domains": "a.example"}),
    "begin_connect": (ALICE, ConnectRequest(service="exchange", calendar="read",
                                            password="s3cret/ü")),  # type: ignore[arg-type]
    "complete_connect": (ALICE, "https://calharness.invalid/cb?code=a&state=b"),
    "begin_admin_consent": (ALICE,),
    "complete_admin_consent": (ALICE, "https://calharness.invalid/cb?admin_consent=True"),
    "integration_status": ("o'brien+tag@contoso.example",),
    "sync_now": (ALICE,),
    "list_meetings": (ALICE, T0, T0 + timedelta(days=14)),
    "list_contacts": (ALICE,),
    "schedule_meeting": (ALICE, MeetingRequest(subject="Kickoff", start=T0,
                                               end=T0 + timedelta(minutes=30),
                                               attendees=[BOB], body="hello")),
    "update_meeting": (ALICE, "m/1 ?#", MeetingUpdate(start=T0 + timedelta(hours=2))),
    "delete_meeting": (ALICE, "m/1 ?#"),
    "respond_to_meeting": (ALICE, "m/1 ?#", MeetingResponse(response="tentative",
                                                          comment="maybe ü", send_response=False)),
    "create_group": (ALICE, "Sales", [BOB]),
    "get_policy": (PolicyTarget(level="group", name="Sales & Co"),),
    "change_policy": (ALICE, PolicyTarget(level="user", name=BOB),
                      PolicyChange(values={"mapi": True}, inherit=["ews_url"],
                                   lock={"mapi": True})),
    "effective_settings": (ALICE,),
    "settings_audit": (),
    "sign_in": (ALICE, ClientInfo(version="5.17.11 (1234)", platform="mac"), "sso"),
    "connect_mapi": (ALICE, ClientInfo(version="5.2.2")),
    "invite_contact": (ALICE, "NOT AN EMAIL"),
    "contact_requests": (BOB,),
    "save_contact_from_call": (ALICE, CallHistoryEntry(display_name="Ada",
                                                       email="ada@partner.example")),
    "grant_scheduling_privilege": (ALICE, BOB, True),
    "revoke_scheduling_privilege": (ALICE, BOB),
    "scheduling_privileges": (BOB,),
    "schedule_meeting_for": (BOB, ALICE, MeetingRequest(subject="For you", start=T0,
                                                        end=T0 + timedelta(minutes=15))),
    "calendar_of": (BOB, ALICE, T0, T0 + timedelta(days=1)),
    "run_sync_service": (ALICE,),
    "platform_meetings": (ALICE,),
    "sync_records": ("o'brien+tag@contoso.example",),
    "search_stored_data": ("Planning & 100% ü",),
    "clock_now": (),
    "advance_clock": (86400.5,),
    "list_calendars": ("o'brien+tag@contoso.example",),
    "select_calendars": (ALICE, CalendarSelection(sync_from_calendars=True,
                                                  calendar_ids=["AAMk/1+=", "x@group.calendar"])),
}


class RecordingDriver(IntegrationDriver):
    """Records (operation, args) and answers from ANSWERS; `fail` makes an operation raise;
    `delay` slows every call so overlapping requests would show."""

    name = "recording"

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: dict[str, Callable[[], BaseException]] = {}
        self.delay = delay
        self.closed = False
        self._active = 0
        self.max_active = 0
        self._guard = threading.Lock()

    def _do(self, op: str, *args: Any) -> Any:
        with self._guard:
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            if self.delay:
                time.sleep(self.delay)
            self.calls.append((op, args))
            if op in self.fail:
                raise self.fail[op]()
            return ANSWERS[op]
        finally:
            with self._guard:
                self._active -= 1

    def close(self) -> None:
        self.closed = True

    def setup_account(self, account: AccountSpec) -> None:
        self._do("setup_account", account)

    def get_settings(self) -> AccountSettings:
        return self._do("get_settings")  # type: ignore[no-any-return]

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        return self._do("change_settings", actor, changes)  # type: ignore[no-any-return]

    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        return self._do("begin_connect", user, request)  # type: ignore[no-any-return]

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        return self._do("complete_connect", user, callback_url)  # type: ignore[no-any-return]

    def begin_admin_consent(self, actor: str) -> ConnectStart:
        return self._do("begin_admin_consent", actor)  # type: ignore[no-any-return]

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        return self._do("complete_admin_consent", actor, callback_url)  # type: ignore[no-any-return]

    def integration_status(self, user: str) -> IntegrationStatus:
        return self._do("integration_status", user)  # type: ignore[no-any-return]

    def sync_now(self, user: str) -> IntegrationStatus:
        return self._do("sync_now", user)  # type: ignore[no-any-return]

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._do("list_meetings", user, start, end)  # type: ignore[no-any-return]

    def list_contacts(self, user: str) -> list[ContactEntry]:
        return self._do("list_contacts", user)  # type: ignore[no-any-return]

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        return self._do("schedule_meeting", user, request)  # type: ignore[no-any-return]

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        return self._do("update_meeting", user, meeting_id, update)  # type: ignore[no-any-return]

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        self._do("delete_meeting", user, meeting_id)

    def respond_to_meeting(self, user: str, meeting_id: str, response: MeetingResponse) -> None:
        self._do("respond_to_meeting", user, meeting_id, response)

    def create_group(self, actor: str, name: str, members: list[str]) -> GroupInfo:
        return self._do("create_group", actor, name, members)  # type: ignore[no-any-return]

    def get_policy(self, target: PolicyTarget) -> PolicyView:
        return self._do("get_policy", target)  # type: ignore[no-any-return]

    def change_policy(self, actor: str, target: PolicyTarget,
                      change: PolicyChange) -> PolicyChangeResult:
        return self._do("change_policy", actor, target, change)  # type: ignore[no-any-return]

    def effective_settings(self, user: str) -> EffectiveSettings:
        return self._do("effective_settings", user)  # type: ignore[no-any-return]

    def settings_audit(self) -> list[SettingAuditEntry]:
        return self._do("settings_audit")  # type: ignore[no-any-return]

    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        return self._do("sign_in", user, client, method)  # type: ignore[no-any-return]

    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        return self._do("connect_mapi", user, client)  # type: ignore[no-any-return]

    def invite_contact(self, user: str, email: str) -> ContactRequest:
        return self._do("invite_contact", user, email)  # type: ignore[no-any-return]

    def contact_requests(self, user: str) -> list[ContactRequest]:
        return self._do("contact_requests", user)  # type: ignore[no-any-return]

    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        return self._do("save_contact_from_call", user, entry)  # type: ignore[no-any-return]

    def grant_scheduling_privilege(self, owner: str, assignee: str,
                                   manage_private_events: bool) -> SchedulingGrant:
        return self._do("grant_scheduling_privilege", owner, assignee,  # type: ignore[no-any-return]
                        manage_private_events)

    def revoke_scheduling_privilege(self, owner: str, assignee: str) -> None:
        self._do("revoke_scheduling_privilege", owner, assignee)

    def scheduling_privileges(self, user: str) -> list[SchedulingGrant]:
        return self._do("scheduling_privileges", user)  # type: ignore[no-any-return]

    def schedule_meeting_for(self, actor: str, owner: str, request: MeetingRequest) -> Meeting:
        return self._do("schedule_meeting_for", actor, owner, request)  # type: ignore[no-any-return]

    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        return self._do("calendar_of", viewer, owner, start, end)  # type: ignore[no-any-return]

    def run_sync_service(self, user: str) -> SyncRunResult:
        return self._do("run_sync_service", user)  # type: ignore[no-any-return]

    def platform_meetings(self, user: str) -> list[Meeting]:
        return self._do("platform_meetings", user)  # type: ignore[no-any-return]

    def sync_records(self, user: str) -> list[StoredSyncRecord]:
        return self._do("sync_records", user)  # type: ignore[no-any-return]

    def search_stored_data(self, text: str) -> list[StoredDataHit]:
        return self._do("search_stored_data", text)  # type: ignore[no-any-return]

    def clock_now(self) -> datetime:
        return self._do("clock_now")  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> datetime:
        return self._do("advance_clock", seconds)  # type: ignore[no-any-return]

    def list_calendars(self, user: str) -> CalendarSync:
        return self._do("list_calendars", user)  # type: ignore[no-any-return]

    def select_calendars(self, user: str, selection: CalendarSelection) -> CalendarSync:
        return self._do("select_calendars", user, selection)  # type: ignore[no-any-return]


def refusal(code: str, message: str = "refused") -> Callable[[], BaseException]:
    return lambda: DriverError(code, message)


HUB = {  # the smallest hub description the API accepts
    "schema": "calharness.hub/1", "base_url": "https://127.0.0.1:1", "ca_bundle": None,
    "microsoft": {"authority_host": "https://127.0.0.1:1", "graph": "https://127.0.0.1:1/g",
                  "ews": "https://127.0.0.1:1/e", "tenants": []},
}
