"""The HTTP driver: the driver seam spoken to an implementation behind the conformance API
(`docs/conformance-openapi.json`), whatever language it is written in.

Answers are held to the API: a refusal in the error shape becomes the `DriverError` it stands
for; anything else that is not a valid answer (a 5xx, a body that does not match the schema, a
connection that fails) is a `ConformanceError`, never mistaken for a refusal a step expects.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from harness.api.capabilities import API_VERSION, Capabilities
from harness.api.conformance import ErrorBody
from harness.api.errors import DriverError
from harness.api.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    CalendarSelection,
    CalendarSync,
    CallHistoryEntry,
    ClientInfo,
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

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 120.0  # one operation may wait out a provider's Retry-After (capped at 30 s)
PROBE_TIMEOUT_S = 10.0
_DETAIL_LIMIT = 300


class TargetError(Exception):
    """The target cannot be tested at all (unreachable, not the API, another API version);
    the message is one line, meant for a command-line error before any scenario runs."""


class ConformanceError(Exception):
    """The target answered outside the conformance API: a server error, a body that does not
    match the schema, or no answer. A scenario that meets one fails; it is not a refusal."""


def check_target_url(url: str) -> str:
    """The target's base URL without a trailing slash; TargetError when it is not http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TargetError(f"--target {url!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise TargetError(f"--target {url!r}: give the API's base URL, without ? or #")
    return url.rstrip("/")


def probe_target(url: str, *, timeout: float = PROBE_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> Capabilities:
    """The version handshake: `GET /capabilities` must answer this harness's API version and a
    valid capabilities object. Raises TargetError with a one-line reason otherwise."""
    base = check_target_url(url)
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.get(f"{base}/capabilities", headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        raise TargetError(f"--target {base} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot reach --target {base}: {_reason(exc)}") from None
    not_api = (f"--target {base} does not speak the calharness conformance API "
               f"(GET /capabilities answered")
    try:
        document = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TargetError(f"{not_api} {response.status_code} without JSON)") from None
    if not response.is_success or not isinstance(document, dict) or "api" not in document:
        raise TargetError(f"{not_api} {response.status_code} without an \"api\" version)")
    if document["api"] != API_VERSION:
        raise TargetError(f"--target {base} speaks {str(document['api'])[:60]!r}; this "
                          f"calharness speaks {API_VERSION!r}")
    try:
        return Capabilities.model_validate(document)
    except ValidationError as exc:
        raise TargetError(f"--target {base}: malformed capabilities: "
                          f"{_first_error(exc)}") from None


class HttpDriver(IntegrationDriver):
    name = "http"

    def __init__(self, base_url: str, hub: dict[str, Any], *,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = check_target_url(base_url)
        self._hub = hub
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json"})

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, answer: type[T] | Any, *,
              body: Any = None, params: dict[str, str] | None = None) -> T:
        operation = f"{method} {path.split('?')[0]}"
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ConformanceError(f"{operation}: no answer from {self.base_url}: "
                                   f"{_reason(exc)}") from None
        if response.is_success:
            if answer is None:
                return None  # type: ignore[return-value]
            try:
                return _adapter(answer).validate_json(response.content)  # type: ignore[no-any-return]
            except ValidationError as exc:
                raise ConformanceError(f"{operation} answered {response.status_code} with a "
                                       f"body outside the API: {_first_error(exc)}") from None
        try:
            error = ErrorBody.model_validate_json(response.content).error
        except ValidationError:
            raise ConformanceError(
                f"{operation} answered {response.status_code} without the error shape: "
                f"{response.text[:_DETAIL_LIMIT]!r}") from None
        if not 400 <= response.status_code < 500:
            raise ConformanceError(f"{operation} answered {response.status_code} "
                                   f"{error.code}: {error.message}")
        raise DriverError(error.code, error.message)

    @staticmethod
    def _user(user: str) -> str:
        return quote(user, safe="@")

    @staticmethod
    def _dump(model: BaseModel) -> dict[str, Any]:
        return model.model_dump(mode="json")

    @staticmethod
    def _window(start: datetime, end: datetime) -> dict[str, str]:
        return {"start": start.isoformat(), "end": end.isoformat()}

    def capabilities(self) -> Capabilities:
        result: Capabilities = self._call("GET", "/capabilities", Capabilities)
        return result

    def close(self) -> None:
        self._http.close()

    # -- account and settings ------------------------------------------------------------------
    def setup_account(self, account: AccountSpec) -> None:
        self._call("PUT", "/account", None,
                   body={"account": self._dump(account), "hub": self._hub})

    def get_settings(self) -> AccountSettings:
        return self._call("GET", "/account/settings", AccountSettings)

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        return self._call("POST", "/account/settings", SettingsChangeResult,
                          body={"actor": actor, "changes": changes})

    def settings_audit(self) -> list[SettingAuditEntry]:
        return self._call("GET", "/account/settings/audit", list[SettingAuditEntry])

    # -- policy ----------------------------------------------------------------------------------
    def create_group(self, actor: str, name: str, members: list[str]) -> GroupInfo:
        return self._call("POST", "/groups", GroupInfo,
                          body={"actor": actor, "name": name, "members": members})

    def get_policy(self, target: PolicyTarget) -> PolicyView:
        params = {"level": target.level}
        if target.name is not None:
            params["name"] = target.name
        return self._call("GET", "/policy", PolicyView, params=params)

    def change_policy(self, actor: str, target: PolicyTarget,
                      change: PolicyChange) -> PolicyChangeResult:
        return self._call("POST", "/policy", PolicyChangeResult,
                          body={"actor": actor, "target": self._dump(target),
                                "change": self._dump(change)})

    def effective_settings(self, user: str) -> EffectiveSettings:
        return self._call("GET", f"/users/{self._user(user)}/effective-settings",
                          EffectiveSettings)

    # -- set-up ----------------------------------------------------------------------------------
    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        body = self._dump(request)
        if request.password is not None:  # SecretStr dumps as asterisks
            body["password"] = request.password.get_secret_value()
        return self._call("POST", f"/users/{self._user(user)}/connect", ConnectStart, body=body)

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        return self._call("POST", f"/users/{self._user(user)}/connect/callback",
                          IntegrationStatus, body={"callback_url": callback_url})

    def begin_admin_consent(self, actor: str) -> ConnectStart:
        return self._call("POST", "/admin-consent", ConnectStart, body={"actor": actor})

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        return self._call("POST", "/admin-consent/callback", AdminConsentResult,
                          body={"actor": actor, "callback_url": callback_url})

    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        return self._call("POST", f"/users/{self._user(user)}/sign-in", SignInResult,
                          body={"client": self._dump(client), "method": method})

    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        return self._call("POST", f"/users/{self._user(user)}/mapi", IntegrationStatus,
                          body={"client": self._dump(client)})

    # -- the integration -------------------------------------------------------------------------
    def integration_status(self, user: str) -> IntegrationStatus:
        return self._call("GET", f"/users/{self._user(user)}/integration", IntegrationStatus)

    def sync_now(self, user: str) -> IntegrationStatus:
        return self._call("POST", f"/users/{self._user(user)}/sync", IntegrationStatus)

    # -- meetings --------------------------------------------------------------------------------
    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._call("GET", f"/users/{self._user(user)}/meetings", list[Meeting],
                          params=self._window(start, end))

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        return self._call("POST", f"/users/{self._user(user)}/meetings", Meeting,
                          body=self._dump(request))

    def _meeting_path(self, user: str, meeting_id: str) -> str:
        return f"/users/{self._user(user)}/meetings/{quote(meeting_id, safe='')}"

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        return self._call("PATCH", self._meeting_path(user, meeting_id), Meeting,
                          body=update.model_dump(mode="json", exclude_unset=True))

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        self._call("DELETE", self._meeting_path(user, meeting_id), None)

    def respond_to_meeting(self, user: str, meeting_id: str, response: MeetingResponse) -> None:
        self._call("POST", f"/users/{self._user(user)}/meeting-responses", None,
                   body={"meeting_id": meeting_id, **self._dump(response)})

    # -- contacts --------------------------------------------------------------------------------
    def list_contacts(self, user: str) -> list[ContactEntry]:
        return self._call("GET", f"/users/{self._user(user)}/contacts", list[ContactEntry])

    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        return self._call("POST", f"/users/{self._user(user)}/contacts/from-call-history",
                          ContactEntry, body=self._dump(entry))

    def invite_contact(self, user: str, email: str) -> ContactRequest:
        return self._call("POST", f"/users/{self._user(user)}/contact-requests", ContactRequest,
                          body={"email": email})

    def contact_requests(self, user: str) -> list[ContactRequest]:
        return self._call("GET", f"/users/{self._user(user)}/contact-requests",
                          list[ContactRequest])

    # -- scheduling privilege --------------------------------------------------------------------
    def grant_scheduling_privilege(self, owner: str, assignee: str,
                                   manage_private_events: bool) -> SchedulingGrant:
        return self._call("POST", f"/users/{self._user(owner)}/scheduling-privileges",
                          SchedulingGrant, body={"assignee": assignee,
                                                 "manage_private_events": manage_private_events})

    def revoke_scheduling_privilege(self, owner: str, assignee: str) -> None:
        self._call("DELETE", f"/users/{self._user(owner)}/scheduling-privileges/"
                             f"{self._user(assignee)}", None)

    def scheduling_privileges(self, user: str) -> list[SchedulingGrant]:
        return self._call("GET", f"/users/{self._user(user)}/scheduling-privileges",
                          list[SchedulingGrant])

    def schedule_meeting_for(self, actor: str, owner: str, request: MeetingRequest) -> Meeting:
        return self._call("POST", f"/users/{self._user(owner)}/schedule-for", Meeting,
                          body={"actor": actor, "meeting": self._dump(request)})

    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        return self._call("GET", f"/users/{self._user(owner)}/calendar", list[Meeting],
                          params={"viewer": viewer, **self._window(start, end)})

    # -- the Web Calendaring Service, stored data, the clock ------------------------------------
    def run_sync_service(self, user: str) -> SyncRunResult:
        return self._call("POST", f"/users/{self._user(user)}/sync-service", SyncRunResult)

    def platform_meetings(self, user: str) -> list[Meeting]:
        return self._call("GET", f"/users/{self._user(user)}/platform-meetings", list[Meeting])

    def sync_records(self, user: str) -> list[StoredSyncRecord]:
        return self._call("GET", f"/users/{self._user(user)}/sync-records",
                          list[StoredSyncRecord])

    def search_stored_data(self, text: str) -> list[StoredDataHit]:
        return self._call("GET", "/stored-data", list[StoredDataHit], params={"text": text})

    def clock_now(self) -> datetime:
        return self._call("GET", "/clock", datetime)

    def advance_clock(self, seconds: float) -> datetime:
        return self._call("POST", "/clock/advance", datetime, body={"seconds": seconds})

    def list_calendars(self, user: str) -> CalendarSync:
        return self._call("GET", f"/users/{self._user(user)}/calendars", CalendarSync)

    def select_calendars(self, user: str, selection: CalendarSelection) -> CalendarSync:
        return self._call("PUT", f"/users/{self._user(user)}/calendars", CalendarSync,
                          body=self._dump(selection))


@functools.cache
def _adapter(answer: Any) -> TypeAdapter[Any]:
    return TypeAdapter(answer)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:_DETAIL_LIMIT] or type(exc).__name__


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"
