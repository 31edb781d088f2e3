"""ReferenceIntegration: the meeting platform's calendar & contacts integration, per the documents.

Account settings with roles and an audit trail; the user's set-up flow (service -> permissions ->
authenticate -> accept) or, with application permissions, the Office 365 admin's set-up for the
whole tenant; token handling through MSAL with re-authentication status; meeting sync through
Graph calendarView delta into the store.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal
from pydantic import ValidationError
from sqlalchemy.orm import Session

from harness.driver.base import DriverError
from harness.driver.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    SettingsChangeResult,
)
from harness.net import httpx_verify, pinned_session
from harness.reference.config import ReferenceConfig
from harness.reference.graph_connector import GraphConnector, ProviderError
from harness.reference.scopes import graph_scopes
from harness.reference.store import (
    AccountRow,
    IntegrationRow,
    MeetingRow,
    MemberRow,
    PendingConsentRow,
    Store,
    TenantConsentRow,
)
from harness.reference.tokens import AuthFailed, MsalClients, TokenFn, token_roles

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


def _status(row: IntegrationRow) -> IntegrationStatus:
    return IntegrationStatus.model_validate({
        "user": row.user, "state": row.state, "service": row.service,
        "authorize_with": row.authorize_with, "calendar": row.calendar,
        "contacts": row.contacts, "granted_scopes": list(row.granted_scopes or []),
        "setup_by": row.setup_by, "calendar_state": row.calendar_state,
        "contacts_state": row.contacts_state, "message": row.message})


class ReferenceIntegration:
    def __init__(self, config: ReferenceConfig) -> None:
        self.config = config
        self.store = Store(config.db_url)
        self.http = httpx.Client(verify=httpx_verify(config.ca_bundle), timeout=30.0)
        self.msal_http = pinned_session(config.ca_bundle)
        self._msal: dict[str, MsalClients] = {}

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

    def _account(self, s: Session) -> AccountRow:
        account = self.store.account(s)
        if account is None:
            raise DriverError("no_account", "the account has not been set up")
        return account

    def _require_admin(self, s: Session, actor: str) -> None:
        if self.store.role_of(s, actor) not in SETTINGS_ROLES:
            raise DriverError("not_an_admin", f"{actor} is not the account owner or an admin")

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        with self.store.session() as s:
            account = self._account(s)
            current = AccountSettings.model_validate(account.settings)
            if self.store.role_of(s, actor) not in SETTINGS_ROLES:
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

    # -- provider plumbing ---------------------------------------------------------------------
    def _clients(self, email: str) -> MsalClients:
        registration = self.config.registration_for(email)
        if registration is None:
            raise DriverError("no_tenant", f"no Office 365 tenant is registered for {email}")
        clients = self._msal.get(registration.tenant_id)
        if clients is None:
            clients = self._msal[registration.tenant_id] = MsalClients(
                self.config, registration, self.msal_http)
        return clients

    def _graph(self, user: str, setup_by: str) -> GraphConnector:
        path = "/me" if setup_by == "user_oauth" else f"/users/{user}"
        return GraphConnector(self.config, self.http, path)

    # -- admin consent on behalf of the company ------------------------------------------------
    def begin_admin_consent(self, actor: str) -> ConnectStart:
        settings = self.settings()
        with self.store.session() as s:
            self._require_admin(s, actor)
        clients = self._clients(actor)
        state = secrets.token_urlsafe(16)
        flow: dict[str, Any] | None = None
        if settings.setup_by == "admin_application":
            url = clients.admin_consent_url(state)
            scopes = ["https://graph.microsoft.com/.default"]
        else:
            scopes = graph_scopes(settings.calendar_permission, settings.contacts_permission)
            flow = clients.begin(scopes, login_hint=actor, prompt="consent")
            url, state = flow["auth_uri"], flow["state"]
        with self.store.session() as s:
            s.merge(PendingConsentRow(actor=actor.lower(), mode=settings.setup_by, state=state,
                                      flow=flow))
        return ConnectStart(authorization_url=url,
                            redirect_uri=clients.registration.redirect_uri,
                            requested_scopes=scopes)

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        clients = self._clients(actor)
        with self.store.session() as s:
            pending = s.get(PendingConsentRow, actor.lower())
            if pending is None:
                raise DriverError("no_pending_flow", "no admin consent is in progress")
            s.delete(pending)
            if "error" in params:
                return AdminConsentResult(granted=False, message=_error_text(params))
            if params.get("state") != pending.state:
                return AdminConsentResult(granted=False, message="state mismatch: refused")
            if pending.mode == "admin_application":
                if params.get("admin_consent", "").lower() != "true":
                    return AdminConsentResult(granted=False, message="consent was not granted")
            else:
                try:
                    clients.finish(pending.flow or {}, params, msal.SerializableTokenCache())
                except (AuthFailed, ValueError) as exc:
                    return AdminConsentResult(granted=False, message=str(exc))
            tenant_id = clients.registration.tenant_id
            s.merge(TenantConsentRow(tenant_id=tenant_id, mode=pending.mode, admin=actor.lower(),
                                     granted_at=datetime.now(UTC)))
        return AdminConsentResult(granted=True, tenant_id=tenant_id)

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
        clients = self._clients(user)
        if settings.setup_by == "admin_application":
            return self._connect_with_app_permissions(user, clients, calendar, contacts)
        scopes = graph_scopes(calendar, contacts)
        flow = clients.begin(scopes, login_hint=user)
        with self.store.session() as s:
            row = self._integration_row(s, user, service, calendar, contacts)
            if row.state != "connected":
                row.state = "pending"
            row.authorize_with, row.setup_by = settings.authorize_with, "user_oauth"
            row.pending_flow = {"flow": flow, "calendar": calendar, "contacts": contacts}
            row.tenant_id = clients.registration.tenant_id
        return ConnectStart(authorization_url=flow["auth_uri"],
                            redirect_uri=clients.registration.redirect_uri,
                            requested_scopes=scopes)

    def _integration_row(self, s: Session, user: str, service: str, calendar: str,
                         contacts: str) -> IntegrationRow:
        row = self.store.integration(s, user)
        if row is None:
            row = IntegrationRow(user=user.lower(), service=service, calendar=calendar,
                                 contacts=contacts, state="pending", granted_scopes=[],
                                 updated_at=datetime.now(UTC))
            s.add(row)
        row.service, row.updated_at = service, datetime.now(UTC)
        return row

    def _connect_with_app_permissions(self, user: str, clients: MsalClients, calendar: str,
                                      contacts: str) -> ConnectStart:
        tenant_id = clients.registration.tenant_id
        with self.store.session() as s:
            consent = s.get(TenantConsentRow, tenant_id)
            if consent is None or consent.mode != "admin_application":
                raise DriverError("admin_setup_required",
                                  "the Office 365 admin has not set up the integration with "
                                  "application permissions for this tenant yet")
        try:
            roles = token_roles(clients.app_token())
        except AuthFailed as exc:
            raise DriverError("app_token_refused", exc.summary) from exc
        with self.store.session() as s:
            row = self._integration_row(s, user, "office365", calendar, contacts)
            row.authorize_with, row.setup_by, row.tenant_id = "graph", "admin_application", \
                tenant_id
            row.granted_scopes, row.state, row.message = roles, "connected", None
            row.events_delta_link = None
            self.store.clear_meetings(s, user)
        self._after_connect(user)
        return ConnectStart(authorization_url=None, redirect_uri=None,
                            requested_scopes=["https://graph.microsoft.com/.default"])

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None or not row.pending_flow:
                raise DriverError("no_pending_flow", "no set-up is in progress for this user")
            pending, row.pending_flow = row.pending_flow, None
            if "error" in params:
                row.state = "connected" if row.home_account_id else "error"
                row.message = _error_text(params)
                return _status(row)
            cache = msal.SerializableTokenCache()
            try:
                result = self._clients(user).finish(pending["flow"], params, cache)
            except (AuthFailed, ValueError) as exc:
                row.state, row.message = "error", str(exc)
                return _status(row)
            claims = result.get("id_token_claims", {})
            row.home_account_id = f"{claims.get('oid')}.{claims.get('tid')}"
            row.token_cache = cache.serialize()
            row.granted_scopes = sorted(str(result.get("scope", "")).split())
            row.calendar, row.contacts = pending["calendar"], pending["contacts"]
            row.state, row.message = "connected", None
            # Re-authorizing keeps what we hold and the delta link: what changed meanwhile
            # arrives with the next round, nothing is fetched twice.
        self._after_connect(user)
        return self.integration_status(user)

    def _after_connect(self, user: str) -> None:
        self._sync(user)
        status = self.integration_status(user)
        if status.state == "connected" and status.contacts != "none":
            self.list_contacts(user)  # probes contacts access so status tells the truth

    def integration_status(self, user: str) -> IntegrationStatus:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None:
                return IntegrationStatus(user=user.lower(), state="not_connected")
            return _status(row)

    # -- tokens --------------------------------------------------------------------------------
    def _token_fn(self, user: str, scopes: list[str]) -> TokenFn:
        status = self.integration_status(user)
        clients = self._clients(user)
        if status.setup_by == "admin_application":
            return clients.app_token

        def token(force_refresh: bool) -> str:
            with self.store.session() as s:
                row = self.store.integration(s, user)
                if row is None or not row.home_account_id:
                    raise AuthFailed("interaction_required", "the user has not signed in")
                cache = msal.SerializableTokenCache()
                cache.deserialize(row.token_cache or "{}")
                try:
                    return clients.delegated(cache, row.home_account_id, scopes, force_refresh)
                finally:
                    if cache.has_state_changed:
                        row.token_cache = cache.serialize()
        return token

    def _set_state(self, user: str, **fields: Any) -> None:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)

    def _auth_failure(self, user: str, exc: AuthFailed) -> None:
        self._set_state(user, state="reauth_required" if exc.reauth else "error",
                        message=exc.summary)

    # -- sync and use --------------------------------------------------------------------------
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
        graph = self._graph(user, status.setup_by or "user_oauth")
        token = self._token_fn(user, graph_scopes(status.calendar, "none"))
        try:
            try:
                delta = graph.events_delta(token, delta_link, window)
            except ProviderError as exc:
                if exc.status != 410 or not delta_link:
                    raise
                # The provider forgot our sync state: start over and replace what we hold, so
                # nothing is lost and nothing is duplicated.
                delta_link = None
                delta = graph.events_delta(token, None, window)
        except AuthFailed as exc:
            self._auth_failure(user, exc)
            return
        except ProviderError as exc:
            self._set_state(user, calendar_state="denied" if exc.status == 403 else "off",
                            message=f"calendar: {exc}")
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
            row.calendar_state = "ok"

    def sync_now(self, user: str) -> IntegrationStatus:
        self._sync(user)
        status = self.integration_status(user)
        if status.state == "connected" and status.contacts != "none":
            self.list_contacts(user)
        return self.integration_status(user)

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        self._sync(user)
        with self.store.session() as s:
            return [_meeting(r) for r in self.store.meetings(s, user, start, end)]

    def list_contacts(self, user: str) -> list[ContactEntry]:
        status = self.integration_status(user)
        if status.state != "connected" or status.contacts == "none":
            return []
        graph = self._graph(user, status.setup_by or "user_oauth")
        try:
            items = graph.list_contacts(self._token_fn(user, graph_scopes("none",
                                                                          status.contacts)))
        except AuthFailed as exc:
            self._auth_failure(user, exc)
            return []
        except ProviderError as exc:
            if exc.status != 403:
                raise DriverError("provider_error", str(exc)) from exc
            self._set_state(user, contacts_state="denied",
                            message=f"contacts: Microsoft refused access ({exc.code}); the "
                                    "granted permissions do not cover contacts")
            return []
        self._set_state(user, contacts_state="ok")
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
        graph = self._graph(user, status.setup_by or "user_oauth")
        try:
            event = graph.create_event(self._token_fn(user, graph_scopes("write", "none")), body)
        except AuthFailed as exc:
            self._auth_failure(user, exc)
            raise DriverError("reauth_required", exc.summary) from exc
        except ProviderError as exc:
            raise DriverError("provider_error", str(exc)) from exc
        row = _meeting_row(user.lower(), event)
        with self.store.session() as s:
            s.merge(_meeting_row(user.lower(), event))
        return _meeting(row)


def _error_text(params: dict[str, str]) -> str:
    description = params.get("error_description", "").splitlines()
    return f"{params['error']}: {description[0] if description else ''}".strip()
