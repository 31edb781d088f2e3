"""Google Calendar and Contacts: OAuth 2.0 with PKCE, google-auth credentials, and
google-api-python-client with its bundled discovery documents (`static_discovery=True`) pointed at
the configured endpoints. The meeting list reads each calendar the user syncs with events.list
(singleEvents, the window); calendars are listed by calendarList. (Bi-directional sync has its
own connector with sync tokens, `reference/connectors/google.py`.)"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials as GoogleCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from harness.api.errors import DriverError
from harness.api.models import Access, MeetingRequest, MeetingResponse, MeetingUpdate
from harness.reference.config import GoogleEndpoints
from harness.reference.providers.base import (
    AuthError,
    AuthStart,
    CalendarData,
    ContactData,
    Credentials,
    MeetingData,
    Provider,
    ProviderError,
)

SCOPE_ROOT = "https://www.googleapis.com/auth/"
CALENDAR_SCOPES = {"read": SCOPE_ROOT + "calendar.events.readonly",
                   "write": SCOPE_ROOT + "calendar.events"}
CONTACTS_SCOPES = {"read": SCOPE_ROOT + "contacts.readonly", "write": SCOPE_ROOT + "contacts"}
# The narrowest scope that lists the user's calendars ("Sync Zoom Meetings from calendars"):
# the calendar.events scopes read events of any calendar but cannot list them.
CALENDAR_LIST_SCOPE = SCOPE_ROOT + "calendar.calendarlist.readonly"
NUM_RETRIES = 3  # the client's own retry of 5xx, 429 and 403 rate-limit errors
MAX_PAGES = 10_000


# An attendee's responseStatus for each answer to an invitation.
GOOGLE_ANSWERS = {"accept": "accepted", "tentative": "tentative", "decline": "declined"}


def google_scopes(calendar: Access, contacts: Access) -> list[str]:
    scopes = ["openid", "email"]
    if calendar != "none":
        scopes.append(CALENDAR_SCOPES[calendar])
        scopes.append(CALENDAR_LIST_SCOPE)
    if contacts != "none":
        scopes.append(CONTACTS_SCOPES[contacts])
    return scopes


def _when(value: dict[str, Any]) -> datetime:
    if "dateTime" in value:
        parsed = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    else:  # all-day: a date
        parsed = datetime.fromisoformat(value["date"])
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def meeting_from_google(event: dict[str, Any]) -> MeetingData:
    entry_points = (event.get("conferenceData") or {}).get("entryPoints") or []
    video = next((e.get("uri") for e in entry_points if e.get("entryPointType") == "video"), None)
    return MeetingData(
        provider_id=event["id"], subject=event.get("summary"), start=_when(event["start"]),
        end=_when(event["end"]), location=event.get("location"),
        join_url=video or event.get("hangoutLink"),
        attendees=[a["email"] for a in event.get("attendees") or [] if a.get("email")],
        private=event.get("visibility") in ("private", "confidential"),
        change_key=event.get("etag"))


def _provider_error(exc: HttpError) -> ProviderError:
    try:
        error = json.loads(exc.content).get("error", {})
        reasons = [e.get("reason", "") for e in error.get("errors", [])]
        code = reasons[0] if reasons else error.get("status", "unknown")
        message = error.get("message", "")
    except (ValueError, AttributeError):
        code, message = "unknown", str(exc)
    return ProviderError(exc.status_code, code, message)


class GoogleProvider(Provider):
    @property
    def endpoints(self) -> GoogleEndpoints:
        google = self.env.config.google
        if google is None:
            raise DriverError("no_google_client", "no Google OAuth client is configured")
        return google

    # -- authorization -------------------------------------------------------------------------
    def begin_auth(self, calendar: Access, contacts: Access, prompt: str | None = None
                   ) -> AuthStart:
        g = self.endpoints
        scopes = google_scopes(calendar, contacts)
        verifier = secrets.token_urlsafe(64)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        state = secrets.token_urlsafe(16)
        query = {"client_id": g.client_id, "redirect_uri": g.redirect_uri,
                 "response_type": "code", "scope": " ".join(scopes), "state": state,
                 "code_challenge": challenge, "code_challenge_method": "S256",
                 # offline: a refresh token; consent: a new one even if granted before.
                 "access_type": "offline", "prompt": prompt or "consent",
                 "login_hint": self.user}
        return AuthStart(url=f"{g.auth_uri}?{urlencode(query)}", redirect_uri=g.redirect_uri,
                         scopes=scopes,
                         pending={"state": state, "verifier": verifier, "scopes": scopes})

    def finish_auth(self, pending: dict[str, Any], params: dict[str, str]) -> Credentials:
        g = self.endpoints
        if params.get("state") != pending.get("state"):
            raise AuthError("invalid_request", "state mismatch: the callback is not ours")
        response = self.env.http.post(g.token_uri, data={
            "grant_type": "authorization_code", "code": params.get("code", ""),
            "redirect_uri": g.redirect_uri, "client_id": g.client_id,
            "client_secret": g.client_secret, "code_verifier": pending["verifier"]})
        body = response.json() if response.content else {}
        if response.status_code != 200 or "access_token" not in body:
            raise AuthError(body.get("error", "invalid_grant"),
                            body.get("error_description", f"HTTP {response.status_code}"))
        scopes = sorted(str(body.get("scope", " ".join(pending["scopes"]))).split())
        expiry = datetime.now(UTC).timestamp() + float(body.get("expires_in", 3600))
        blob = {"token": body["access_token"], "refresh_token": body.get("refresh_token"),
                "expiry": expiry}
        return Credentials(mode="delegated", blob=json.dumps(blob), account_ref=self.user,
                           scopes=scopes)

    # -- clients -------------------------------------------------------------------------------
    def _credentials(self, creds: Credentials) -> GoogleCredentials:
        g = self.endpoints
        blob = json.loads(creds.blob or "{}")
        expiry = datetime.fromtimestamp(blob.get("expiry", 0), UTC).replace(tzinfo=None)
        return GoogleCredentials(token=blob.get("token"), refresh_token=blob.get("refresh_token"),
                                 token_uri=g.token_uri, client_id=g.client_id,
                                 client_secret=g.client_secret, scopes=creds.scopes,
                                 expiry=expiry)

    def _fresh(self, creds: Credentials) -> GoogleCredentials:
        """Credentials with a valid access token; refreshing through google-auth if needed."""
        google_creds = self._credentials(creds)
        if not google_creds.valid:
            self._refresh(creds, google_creds)
        return google_creds

    def _refresh(self, creds: Credentials, google_creds: GoogleCredentials) -> None:
        try:
            google_creds.refresh(Request(self.env.requests_session))
        except RefreshError as exc:
            args = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            raise AuthError(args.get("error", "invalid_grant"),
                            args.get("error_description", str(exc.args[0]))) from exc
        expiry = google_creds.expiry.replace(tzinfo=UTC).timestamp() \
            if google_creds.expiry else datetime.now(UTC).timestamp() + 3600
        creds.blob = json.dumps({"token": google_creds.token,
                                 "refresh_token": google_creds.refresh_token, "expiry": expiry})
        creds.changed = True

    def _service(self, api: str, creds: Credentials) -> Any:
        g = self.endpoints
        http = google_auth_httplib2.AuthorizedHttp(
            self._fresh(creds), http=httplib2.Http(ca_certs=self.env.config.ca_bundle))
        endpoint = g.calendar if api == "calendar" else g.people
        return build(api, "v3" if api == "calendar" else "v1", http=http,
                     static_discovery=True, cache_discovery=False,
                     client_options={"api_endpoint": endpoint})

    def _execute(self, creds: Credentials, request: Any) -> Any:
        """Google's client retries 5xx, 429 and rate-limit 403s itself (num_retries); a dropped
        connection it does not retry, so that back-off is ours, bounded the same way."""
        for attempt in range(NUM_RETRIES + 1):
            try:
                return request.execute(num_retries=NUM_RETRIES)
            except HttpError as exc:
                raise _provider_error(exc) from exc
            except RefreshError as exc:  # AuthorizedHttp refreshes on 401 by itself
                raise AuthError("invalid_grant", str(exc.args[0]) if exc.args else "") from exc
            except (http.client.HTTPException, ConnectionError) as exc:
                if attempt == NUM_RETRIES:
                    raise ProviderError(0, "ConnectionDropped", str(exc)) from exc
                self.env.sleep(min(0.2 * 2 ** attempt, self.env.config.max_retry_wait_s))
        raise AssertionError("unreachable")

    # -- data ----------------------------------------------------------------------------------
    def list_calendars(self, creds: Credentials) -> list[CalendarData]:
        if CALENDAR_LIST_SCOPE not in creds.scopes:
            # A grant from before the calendar list was asked for: only the primary calendar
            # (whose id is the account's address) can be named until the user consents again.
            return [CalendarData(provider_id=self.user, name=self.user, is_default=True)]
        calendar_list = self._service("calendar", creds).calendarList()
        out: list[CalendarData] = []
        page_token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"maxResults": 250}
            if page_token:
                kwargs["pageToken"] = page_token
            page = self._execute(creds, calendar_list.list(**kwargs))
            out.extend(CalendarData(provider_id=c["id"], name=c.get("summary") or c["id"],
                                    is_default=bool(c.get("primary")))
                       for c in page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return sorted(out, key=lambda c: not c.is_default)
        raise ProviderError(200, "EndlessList", "the calendar list did not end")

    @staticmethod
    def _event_ref(provider_id: str) -> tuple[str, str]:
        """(calendarId, eventId) of a meeting id: an event of another calendar than the primary
        one is named `<calendarId>/<eventId>` (an event id is base32hex and a calendar id an
        address, neither holds a '/'), so answering, moving or deleting it reaches its calendar."""
        calendar, _, event = provider_id.rpartition("/")
        return calendar or "primary", event

    def read_events(self, creds: Credentials, calendar_id: str | None,
                    window: tuple[datetime, datetime]) -> list[MeetingData]:
        events = self._service("calendar", creds).events()
        start, end = (w.astimezone(UTC).isoformat().replace("+00:00", "Z") for w in window)
        out: list[MeetingData] = []
        page_token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"calendarId": calendar_id or "primary", "timeMin": start,
                                      "timeMax": end, "singleEvents": True, "maxResults": 250}
            if page_token:
                kwargs["pageToken"] = page_token
            page = self._execute(creds, events.list(**kwargs))
            found = [meeting_from_google(item) for item in page.get("items", [])
                     if item.get("status") != "cancelled"]
            if calendar_id and calendar_id.lower() not in ("primary", self.user.lower()):
                for meeting in found:
                    meeting.provider_id = f"{calendar_id}/{meeting.provider_id}"
            out.extend(found)
            page_token = page.get("nextPageToken")
            if not page_token:
                return out
        raise ProviderError(200, "EndlessList", "the events listing did not end")

    def create_event(self, creds: Credentials, request: MeetingRequest) -> MeetingData:
        # A client-chosen id (base32hex) makes a retried insert a 409, never a duplicate.
        event_id = uuid.uuid4().hex
        body = {"id": event_id, "summary": request.subject, "description": request.body,
                "start": {"dateTime": request.start.astimezone(UTC).isoformat()},
                "end": {"dateTime": request.end.astimezone(UTC).isoformat()},
                "attendees": [{"email": a} for a in request.attendees]}
        events = self._service("calendar", creds).events()
        try:
            created = self._execute(creds, events.insert(calendarId="primary", body=body))
        except ProviderError as exc:
            if exc.status != 409:
                raise
            created = self._execute(creds, events.get(calendarId="primary", eventId=event_id))
        return meeting_from_google(created)

    def create_contact(self, creds: Credentials, contact: ContactData) -> ContactData:
        given, _, family = contact.display_name.partition(" ")
        body = {"names": [{"givenName": given, "familyName": family}],
                "emailAddresses": [{"value": e} for e in contact.emails]}
        people = self._service("people", creds).people()
        created = self._execute(creds, people.createContact(
            body=body, personFields="names,emailAddresses"))
        names = created.get("names") or [{}]
        return ContactData(provider_id=created["resourceName"],
                           display_name=names[0].get("displayName", contact.display_name),
                           emails=[e["value"] for e in created.get("emailAddresses") or []])

    def update_event(self, creds: Credentials, provider_id: str,
                     update: MeetingUpdate) -> MeetingData:
        body: dict[str, Any] = {}
        if update.subject is not None:
            body["summary"] = update.subject
        for name in ("start", "end"):
            value = getattr(update, name)
            if value is not None:
                body[name] = {"dateTime": value.astimezone(UTC).isoformat()}
        events = self._service("calendar", creds).events()
        calendar_id, event_id = self._event_ref(provider_id)
        updated = meeting_from_google(self._execute(creds, events.patch(
            calendarId=calendar_id, eventId=event_id, body=body)))
        updated.provider_id = provider_id
        return updated

    def respond_event(self, creds: Credentials, provider_id: str,
                      response: MeetingResponse) -> None:
        """Google has no answer operation: the attendee patches their own `responseStatus` in
        the event's attendee list (the list is replaced whole, so it is read first)."""
        events = self._service("calendar", creds).events()
        calendar_id, event_id = self._event_ref(provider_id)
        event = self._execute(creds, events.get(calendarId=calendar_id, eventId=event_id))
        attendees = [dict(a) for a in event.get("attendees") or []]
        mine = [a for a in attendees if a.get("self")
                or (a.get("email") or "").lower() == self.user.lower()]
        if not mine:
            raise ProviderError(400, "notAnAttendee",
                                "the user is not among the event's attendees")
        for attendee in mine:
            attendee["responseStatus"] = GOOGLE_ANSWERS[response.response]
            if response.comment:
                attendee["comment"] = response.comment
        self._execute(creds, events.patch(
            calendarId=calendar_id, eventId=event_id, body={"attendees": attendees},
            sendUpdates="all" if response.send_response else "none"))

    def delete_event(self, creds: Credentials, provider_id: str) -> None:
        events = self._service("calendar", creds).events()
        calendar_id, event_id = self._event_ref(provider_id)
        self._execute(creds, events.delete(calendarId=calendar_id, eventId=event_id))

    def list_contacts(self, creds: Credentials) -> list[ContactData]:
        people = self._service("people", creds).people()
        out: list[ContactData] = []
        page_token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"resourceName": "people/me", "pageSize": 1000,
                                      "personFields": "names,emailAddresses"}
            if page_token:
                kwargs["pageToken"] = page_token
            page = self._execute(creds, people.connections().list(**kwargs))
            for person in page.get("connections", []):
                names = person.get("names") or [{}]
                out.append(ContactData(
                    provider_id=person["resourceName"],
                    display_name=names[0].get("displayName", ""),
                    emails=[e["value"] for e in person.get("emailAddresses") or []
                            if e.get("value")]))
            page_token = page.get("nextPageToken")
            if not page_token:
                return out
        raise ProviderError(200, "EndlessList", "the contacts listing did not end")
