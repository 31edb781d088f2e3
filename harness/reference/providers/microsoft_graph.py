"""Office 365 through Microsoft Graph: MSAL for every token (delegated auth code + PKCE, or the
admin's application permissions), the calendarView of each calendar the user syncs for the
meeting list, /contacts for contacts. (Bi-directional sync has its own connector with
calendarView delta, `reference/connectors/graph.py`.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msal

from harness.api.models import Access, MeetingRequest, MeetingResponse, MeetingUpdate
from harness.reference.providers.base import (
    AuthError,
    AuthStart,
    CalendarData,
    ContactData,
    Credentials,
    MeetingData,
    Provider,
)
from harness.reference.providers.graph_api import GraphConnector
from harness.reference.providers.msal_tokens import (
    GRAPH_DEFAULT,
    MsalClients,
    TokenFn,
    msal_clients,
    token_roles,
)

CALENDAR_SCOPES = {"read": "Calendars.Read", "write": "Calendars.ReadWrite"}
CONTACTS_SCOPES = {"read": "Contacts.Read", "write": "Contacts.ReadWrite"}


# The Graph action (POST /events/{id}/{action}) for each answer to an invitation.
GRAPH_ANSWERS = {"accept": "accept", "tentative": "tentativelyAccept", "decline": "decline"}


def graph_scopes(calendar: Access, contacts: Access) -> list[str]:
    """Permission choices -> Graph scopes. The documents write "Contact.Read"/"Contact.ReadWrite";
    the real permissions are Contacts.Read / Contacts.ReadWrite, which is what Entra accepts."""
    scopes = []
    if calendar != "none":
        scopes.append(CALENDAR_SCOPES[calendar])
    if contacts != "none":
        scopes.append(CONTACTS_SCOPES[contacts])
    return scopes


_PRIVATE = frozenset(("private", "confidential"))


def _graph_time(value: dict[str, Any]) -> datetime:
    """Graph dateTimeTimeZone; the connector asks for UTC (Prefer: outlook.timezone)."""
    parsed = datetime.fromisoformat(value["dateTime"][:26])
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def meeting_from_graph(event: dict[str, Any]) -> MeetingData:
    """Called for every event of a sync round: written for speed (one dict lookup per field)."""
    get = event.get
    online, location, attendees = get("onlineMeeting"), get("location"), get("attendees")
    return MeetingData(
        provider_id=event["id"], subject=get("subject"),
        start=_graph_time(event["start"]), end=_graph_time(event["end"]),
        location=(location.get("displayName") or None) if location else None,
        join_url=(online.get("joinUrl") if online else None) or get("onlineMeetingUrl"),
        attendees=[address for a in attendees
                   if (address := (a.get("emailAddress") or {}).get("address"))]
        if attendees else [],
        private=get("sensitivity") in _PRIVATE,
        change_key=get("changeKey"),
    )


class GraphProvider(Provider):
    def _clients(self) -> MsalClients:
        return msal_clients(self.env, self.user)

    def tenant_key(self) -> str:
        return self._clients().registration.tenant_id

    # -- authorization -------------------------------------------------------------------------
    def begin_auth(self, calendar: Access, contacts: Access, prompt: str | None = None
                   ) -> AuthStart:
        clients = self._clients()
        scopes = graph_scopes(calendar, contacts)
        flow = clients.begin(scopes, login_hint=self.user, prompt=prompt)
        return AuthStart(url=flow["auth_uri"], redirect_uri=clients.registration.redirect_uri,
                         scopes=scopes, pending={"flow": flow})

    def finish_auth(self, pending: dict[str, Any], params: dict[str, str]) -> Credentials:
        cache = msal.SerializableTokenCache()
        try:
            result = self._clients().finish(pending["flow"], params, cache)
        except ValueError as exc:  # MSAL: state mismatch and other malformed callbacks
            raise AuthError("invalid_request", str(exc)) from exc
        claims = result.get("id_token_claims", {})
        return Credentials(mode="delegated", blob=cache.serialize(),
                           account_ref=f"{claims.get('oid')}.{claims.get('tid')}",
                           scopes=sorted(str(result.get("scope", "")).split()),
                           directory_roles=list(claims.get("wids") or []))

    def application_credentials(self) -> Credentials:
        return Credentials(mode="application", scopes=token_roles(self._clients().app_token()))

    def admin_consent_start(self, state: str) -> AuthStart:
        clients = self._clients()
        return AuthStart(url=clients.admin_consent_url(state),
                         redirect_uri=clients.registration.redirect_uri,
                         scopes=[GRAPH_DEFAULT], pending={"state": state})

    # -- data ----------------------------------------------------------------------------------
    def _api(self, creds: Credentials) -> GraphConnector:
        path = "/me" if creds.mode == "delegated" else f"/users/{self.user}"
        return GraphConnector(self.env.config, self.env.http, path, sleep=self.env.sleep)

    def _token(self, creds: Credentials, scopes: list[str]) -> TokenFn:
        clients = self._clients()
        if creds.mode == "application":
            return clients.app_token

        def token(force_refresh: bool) -> str:
            if not creds.account_ref:
                raise AuthError("interaction_required", "the user has not signed in")
            cache = msal.SerializableTokenCache()
            cache.deserialize(creds.blob or "{}")
            try:
                return clients.delegated(cache, creds.account_ref, scopes, force_refresh)
            finally:
                if cache.has_state_changed:
                    creds.blob, creds.changed = cache.serialize(), True
        return token

    def _read_token(self, creds: Credentials) -> TokenFn:
        return self._token(creds, [s for s in creds.scopes if s.startswith("Calendars.")]
                           or ["Calendars.Read"])

    def list_calendars(self, creds: Credentials) -> list[CalendarData]:
        found = self._api(creds).list_calendars(self._read_token(creds))
        calendars = [CalendarData(provider_id=c["id"], name=c.get("name") or "",
                                  is_default=bool(c.get("isDefaultCalendar"))) for c in found]
        return sorted(calendars, key=lambda c: not c.is_default)

    def read_events(self, creds: Credentials, calendar_id: str | None,
                    window: tuple[datetime, datetime]) -> list[MeetingData]:
        events = self._api(creds).calendar_view(self._read_token(creds), calendar_id, window)
        return [meeting_from_graph(e) for e in events]

    def create_event(self, creds: Credentials, request: MeetingRequest) -> MeetingData:
        import uuid

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
        token = self._token(creds, ["Calendars.ReadWrite"])
        return meeting_from_graph(self._api(creds).create_event(token, body))

    def update_event(self, creds: Credentials, provider_id: str,
                     update: MeetingUpdate) -> MeetingData:
        body: dict[str, Any] = {}
        if update.subject is not None:
            body["subject"] = update.subject
        for name in ("start", "end"):
            value = getattr(update, name)
            if value is not None:
                body[name] = {"dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                              "timeZone": "UTC"}
        token = self._token(creds, ["Calendars.ReadWrite"])
        return meeting_from_graph(self._api(creds).update_event(token, provider_id, body))

    def delete_event(self, creds: Credentials, provider_id: str) -> None:
        self._api(creds).delete_event(self._token(creds, ["Calendars.ReadWrite"]), provider_id)

    def respond_event(self, creds: Credentials, provider_id: str,
                      response: MeetingResponse) -> None:
        action = GRAPH_ANSWERS[response.response]
        body = {"comment": response.comment, "sendResponse": response.send_response}
        self._api(creds).respond_event(self._token(creds, ["Calendars.ReadWrite"]), provider_id,
                                       action, body)

    def create_contact(self, creds: Credentials, contact: ContactData) -> ContactData:
        given, _, surname = contact.display_name.partition(" ")
        body = {"displayName": contact.display_name, "givenName": given, "surname": surname,
                "emailAddresses": [{"address": e, "name": contact.display_name}
                                   for e in contact.emails]}
        created = self._api(creds).create_contact(self._token(creds, ["Contacts.ReadWrite"]),
                                                  body)
        return ContactData(provider_id=created["id"],
                           display_name=created.get("displayName") or contact.display_name,
                           emails=[e["address"] for e in created.get("emailAddresses") or []])

    def list_contacts(self, creds: Credentials) -> list[ContactData]:
        scopes = [s for s in creds.scopes if s.startswith("Contacts.")] or ["Contacts.Read"]
        items = self._api(creds).list_contacts(self._token(creds, scopes))
        return [ContactData(provider_id=c["id"], display_name=c.get("displayName") or "",
                            emails=[e["address"] for e in c.get("emailAddresses") or []])
                for c in items]
