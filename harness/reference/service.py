"""ReferenceIntegration: the meeting platform's calendar & contacts integration, per the documents.

Account settings with roles and an audit trail, the user's set-up flow (service -> permissions ->
authenticate -> accept), token handling through MSAL with re-authentication status, and meeting
sync through Graph calendarView delta into the store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal
import requests
from pydantic import ValidationError

from harness.driver.base import DriverError
from harness.driver.models import (
    AccountSettings,
    AccountSpec,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    SettingsChangeResult,
)
from harness.reference.config import ReferenceConfig
from harness.reference.graph_connector import AuthFailed, GraphConnector, ProviderError
from harness.reference.scopes import graph_scopes
from harness.reference.store import (
    AccountRow,
    IntegrationRow,
    MeetingRow,
    MemberRow,
    Store,
)

_ACCESS_ORDER = {"none": 0, "read": 1, "write": 2}
SETTINGS_ROLES = frozenset({"owner", "admin"})


def _graph_time(value: dict[str, Any]) -> datetime:
    """Graph dateTimeTimeZone; the connector asks for UTC (Prefer: outlook.timezone)."""
    parsed = datetime.fromisoformat(value["dateTime"][:26])
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _meeting_row(user: str, event: dict[str, Any]) -> MeetingRow:
    online = event.get("onlineMeeting") or {}
    return MeetingRow(
        user=user, provider_id=event["id"], subject=event.get("subject"),
        start=_graph_time(event["start"]), end=_graph_time(event["end"]),
        location=(event.get("location") or {}).get("displayName") or None,
        join_url=online.get("joinUrl") or event.get("onlineMeetingUrl"),
        attendees=[a["emailAddress"]["address"] for a in event.get("attendees") or []
                   if a.get("emailAddress", {}).get("address")],
        private=event.get("sensitivity") in ("private", "confidential"),
        change_key=event.get("changeKey"),
    )


def _meeting(row: MeetingRow) -> Meeting:
    return Meeting(id=row.provider_id, subject=row.subject, start=row.start.astimezone(UTC),
                   end=row.end.astimezone(UTC), location=row.location, join_url=row.join_url,
                   attendees=list(row.attendees or []), private=row.private)


class ReferenceIntegration:
    def __init__(self, config: ReferenceConfig) -> None:
        self.config = config
        self.store = Store(config.db_url)
        verify: str | bool = config.ca_bundle or True
        self.http = httpx.Client(verify=verify, timeout=30.0)
        self.msal_http = requests.Session()
        self.msal_http.verify = verify

    def close(self) -> None:
        self.http.close()
        self.msal_http.close()
        self.store.close()

    # -- account and settings ------------------------------------------------------------------
    def setup_account(self, spec: AccountSpec) -> None:
        self.store.reset()
        with self.store.session() as s:
            s.add(AccountRow(id=1, owner=spec.owner.lower(),
                             settings=AccountSettings().model_dump()))
            s.add(MemberRow(email=spec.owner.lower(), role="owner"))
            for admin in spec.admins:
                s.merge(MemberRow(email=admin.lower(), role="admin"))
            for member in spec.members:
                if s.get(MemberRow, member.lower()) is None:
                    s.add(MemberRow(email=member.lower(), role="member"))

    def settings(self) -> AccountSettings:
        with self.store.session() as s:
            return AccountSettings.model_validate(self._account(s).settings)

    def _account(self, s: Any) -> AccountRow:
        account = self.store.account(s)
        if account is None:
            raise DriverError("no_account", "the account has not been set up")
        return account

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        with self.store.session() as s:
            account = self._account(s)
            current = AccountSettings.model_validate(account.settings)
            role = self.store.role_of(s, actor)
            if role not in SETTINGS_ROLES:
                return SettingsChangeResult(
                    accepted=False, settings=current,
                    reason=f"{actor} is not the account owner or an admin; only they can change "
                           "account settings")
            try:
                updated = AccountSettings.model_validate({**current.model_dump(), **changes})
            except ValidationError as exc:
                first = exc.errors()[0]
                return SettingsChangeResult(
                    accepted=False, settings=current,
                    reason=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
            before, after = current.model_dump(), updated.model_dump()
            for key in after:
                if before[key] != after[key]:
                    self.store.audit_setting(s, actor, key, before[key], after[key])
            account.settings = after
            return SettingsChangeResult(accepted=True, settings=updated)

    # -- connecting ----------------------------------------------------------------------------
    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        settings = self.settings()
        with self.store.session() as s:
            if self.store.role_of(s, user) is None:
                raise DriverError("not_a_member", f"{user} is not a user of this account")
        if not settings.calendar_integration:
            raise DriverError("integration_disabled",
                              "calendar and contacts integration is turned off for this account")
        service = request.service or settings.default_calendar_service
        calendar = request.calendar or settings.calendar_permission
        contacts = request.contacts or settings.contacts_permission
        if _ACCESS_ORDER[calendar] > _ACCESS_ORDER[settings.calendar_permission] or \
                _ACCESS_ORDER[contacts] > _ACCESS_ORDER[settings.contacts_permission]:
            raise DriverError("permission_not_allowed",
                              "the requested permissions exceed what the admin allows")
        if service != "office365" or settings.authorize_with != "graph":
            raise DriverError("unsupported_service",
                              f"the reference implementation connects Office 365 through Graph "
                              f"only so far (asked: {service}/{settings.authorize_with})")
        connector = self._connector(user)
        scopes = graph_scopes(calendar, contacts)
        flow = connector.begin_authorization(scopes, login_hint=user)
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None:
                row = IntegrationRow(user=user.lower(), service=service, calendar=calendar,
                                     contacts=contacts, state="pending",
                                     updated_at=datetime.now(UTC))
                s.add(row)
            elif row.state != "connected":
                row.state = "pending"
            row.service, row.authorize_with = service, settings.authorize_with
            row.pending_flow = {"flow": flow, "calendar": calendar, "contacts": contacts}
            row.tenant_id = connector.registration.tenant_id
            row.updated_at = datetime.now(UTC)
        return ConnectStart(authorization_url=flow["auth_uri"],
                            redirect_uri=connector.registration.redirect_uri,
                            requested_scopes=scopes)

    def _connector(self, user: str) -> GraphConnector:
        registration = self.config.registration_for(user)
        if registration is None:
            raise DriverError("no_tenant", f"no Office 365 tenant is registered for {user}")
        return GraphConnector(self.config, registration, self.http, self.msal_http)

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None or not row.pending_flow:
                raise DriverError("no_pending_flow", "no set-up is in progress for this user")
            pending = row.pending_flow
            row.pending_flow = None
            if "error" in params:
                row.state = "connected" if row.home_account_id else "error"
                row.message = f"{params['error']}: {params.get('error_description', '')}".strip()
                return self._status(row)
            cache = msal.SerializableTokenCache()
            if row.token_cache:
                cache.deserialize(row.token_cache)
            try:
                result = self._connector(user).finish_authorization(pending["flow"], params,
                                                                   cache)
            except (AuthFailed, ValueError) as exc:
                row.state = "error"
                row.message = str(exc)
                return self._status(row)
            client_info = result.get("id_token_claims", {})
            row.home_account_id = f"{client_info.get('oid')}.{client_info.get('tid')}"
            row.token_cache = cache.serialize()
            row.granted_scopes = sorted(str(result.get("scope", "")).split())
            row.calendar, row.contacts = pending["calendar"], pending["contacts"]
            row.state, row.message = "connected", None
            row.events_delta_link = None
            self.store.clear_meetings(s, user)
        self._sync(user)
        return self.integration_status(user)

    @staticmethod
    def _status(row: IntegrationRow) -> IntegrationStatus:
        return IntegrationStatus(
            user=row.user, state=row.state,  # type: ignore[arg-type]
            service=row.service, authorize_with=row.authorize_with,  # type: ignore[arg-type]
            calendar=row.calendar, contacts=row.contacts,  # type: ignore[arg-type]
            granted_scopes=list(row.granted_scopes or []), message=row.message)

    def integration_status(self, user: str) -> IntegrationStatus:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None:
                return IntegrationStatus(user=user.lower(), state="not_connected")
            return self._status(row)

    # -- sync and use --------------------------------------------------------------------------
    def _token_fn(self, user: str, scopes: list[str]) -> Any:
        def token(force_refresh: bool) -> str:
            with self.store.session() as s:
                row = self.store.integration(s, user)
                assert row is not None and row.home_account_id
                cache = msal.SerializableTokenCache()
                cache.deserialize(row.token_cache or "{}")
                try:
                    bearer = self._connector(user).access_token(cache, row.home_account_id,
                                                                scopes, force_refresh)
                finally:
                    if cache.has_state_changed:
                        row.token_cache = cache.serialize()
                return bearer
        return token

    def _mark_reauth(self, user: str, exc: AuthFailed) -> None:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is not None:
                row.state = "reauth_required" if exc.reauth else "error"
                row.message = exc.description.splitlines()[0] if exc.description else exc.error

    def _sync(self, user: str) -> None:
        status = self.integration_status(user)
        if status.state != "connected" or status.calendar == "none":
            return
        with self.store.session() as s:
            row = self.store.integration(s, user)
            assert row is not None
            delta_link = row.events_delta_link
        now = datetime.now(UTC)
        window = (now - timedelta(days=self.config.sync_past_days),
                  now + timedelta(days=self.config.sync_future_days))
        connector = self._connector(user)
        token = self._token_fn(user, graph_scopes(status.calendar, "none"))
        try:
            try:
                delta = connector.events_delta(token, delta_link, window)
            except ProviderError as exc:
                if exc.status != 410 or not delta_link:
                    raise
                # The provider forgot our sync state: start over, replacing what we hold, so
                # nothing is lost and nothing is duplicated.
                delta = connector.events_delta(token, None, window)
                delta_link = None
        except AuthFailed as exc:
            self._mark_reauth(user, exc)
            return
        with self.store.session() as s:
            row = self.store.integration(s, user)
            assert row is not None
            if delta_link is None:
                self.store.clear_meetings(s, user)
            for event_id in delta.removed:
                existing = s.get(MeetingRow, (user.lower(), event_id))
                if existing is not None:
                    s.delete(existing)
            for event in delta.upserts:
                s.merge(_meeting_row(user.lower(), event))
            row.events_delta_link = delta.delta_link

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        self._sync(user)
        with self.store.session() as s:
            return [_meeting(r) for r in self.store.meetings(s, user, start, end)]

    def list_contacts(self, user: str) -> list[ContactEntry]:
        status = self.integration_status(user)
        if status.state != "connected" or status.contacts == "none":
            return []
        token = self._token_fn(user, graph_scopes("none", status.contacts))
        try:
            items = self._connector(user).list_contacts(token)
        except AuthFailed as exc:
            self._mark_reauth(user, exc)
            return []
        return [ContactEntry(id=c["id"], display_name=c.get("displayName") or "",
                             emails=[e["address"] for e in c.get("emailAddresses") or []])
                for c in items]

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        status = self.integration_status(user)
        if status.state != "connected":
            raise DriverError("not_connected", "the user has no working calendar integration")
        if status.calendar != "write":
            raise DriverError("calendar_read_only",
                              "calendar write permission is needed to put meetings on the "
                              "user's calendar")
        body = {
            "subject": request.subject,
            "body": {"contentType": "text", "content": request.body},
            "start": {"dateTime": request.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                      "timeZone": "UTC"},
            "end": {"dateTime": request.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "UTC"},
            "attendees": [{"type": "required", "emailAddress": {"address": a}}
                          for a in request.attendees],
            # Idempotency key: a retried create never makes a second event.
            "transactionId": str(uuid.uuid4()),
        }
        token = self._token_fn(user, graph_scopes("write", "none"))
        try:
            event = self._connector(user).create_event(token, body)
        except AuthFailed as exc:
            self._mark_reauth(user, exc)
            raise DriverError("reauth_required", exc.description) from exc
        with self.store.session() as s:
            s.merge(_meeting_row(user.lower(), event))
        return _meeting(_meeting_row(user.lower(), event))
