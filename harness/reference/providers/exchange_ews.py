"""Office 365 through the EWS URL, and Exchange on-premises through the EWS URL: exchangelib.

Office 365 (and Exchange with OAuth enforced) authorize with OAuth 2.0: MSAL gets a delegated
`EWS.AccessAsUser.All` token for Exchange Online from the same app registration the Graph
provider uses, and exchangelib is handed that token. Exchange on-premises without OAuth uses the
user's mailbox credentials (Basic), which is what "Zoom will be granted full access to your
mailbox if you enter the EWS URL" means. The meeting list reads a CalendarView of each calendar
the user syncs; calendars are listed by FindFolder. (Bi-directional sync has its own connector,
`reference/connectors/ews.py`, with SyncFolderItems.)
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import msal
from exchangelib import (
    BASIC,
    DELEGATE,
    OAUTH2,
    Account,
    CalendarItem,
    Configuration,
    Contact,
    EWSDateTime,
    OAuth2AuthorizationCodeCredentials,
)
from exchangelib import Credentials as BasicCredentials
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorInvalidSyncStateData,
    ErrorItemNotFound,
    ErrorServerBusy,
    EWSError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.folders import Calendar as CalendarFolder
from exchangelib.indexed_properties import EmailAddress
from exchangelib.items import SAVE_ONLY, SEND_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.properties import Attendee, Mailbox
from exchangelib.protocol import BaseProtocol
from exchangelib.queryset import DoesNotExist
from oauthlib.oauth2 import TokenExpiredError

from harness.api.models import Access, MeetingRequest, MeetingResponse, MeetingUpdate
from harness.net import PinnedCAAdapter, register_ca
from harness.reference.providers.base import (
    AuthError,
    AuthStart,
    CalendarData,
    ContactData,
    Credentials,
    MeetingData,
    Provider,
    ProviderEnv,
    ProviderError,
)
from harness.reference.providers.msal_tokens import MsalClients, msal_clients

EWS_SCOPE = "https://outlook.office365.com/EWS.AccessAsUser.All"
# Teams and other meeting links travel in the body: EWS has no join-URL property.
JOIN_URL = re.compile(r"https://[^\s\"'<>]*(?:meetup-join|zoom\.us/j/)[^\s\"'<>]*")
SYNC_FIELDS = ("subject", "start", "end", "location", "body", "required_attendees",
               "optional_attendees", "sensitivity", "changekey")

# exchangelib's documented hook for custom CAs; the adapter picks the CA by origin.
BaseProtocol.HTTP_ADAPTER_CLS = PinnedCAAdapter


def _utc(value: Any) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), UTC)


def meeting_from_ews(item: Any) -> MeetingData:
    attendees = [*(item.required_attendees or []), *(item.optional_attendees or [])]
    body = str(item.body or "")
    match = JOIN_URL.search(body)
    return MeetingData(
        provider_id=item.id, subject=item.subject, start=_utc(item.start), end=_utc(item.end),
        location=item.location or None, join_url=match.group(0) if match else None,
        attendees=[a.mailbox.email_address for a in attendees
                   if a.mailbox and a.mailbox.email_address],
        private=str(item.sensitivity or "") in ("Private", "Confidential"),
        change_key=item.changekey)


class EwsProvider(Provider):
    def __init__(self, env: ProviderEnv, user: str, ews_url: str | None = None) -> None:
        super().__init__(env, user)
        self.endpoint = ews_url or env.config.ews_url
        register_ca(self.endpoint, env.config.ca_bundle)

    def _clients(self) -> MsalClients:
        return msal_clients(self.env, self.user)

    def tenant_key(self) -> str:
        return self._clients().registration.tenant_id

    # -- authorization -------------------------------------------------------------------------
    def begin_auth(self, calendar: Access, contacts: Access, prompt: str | None = None
                   ) -> AuthStart:
        clients = self._clients()
        flow = clients.begin([EWS_SCOPE], login_hint=self.user, prompt=prompt)
        return AuthStart(url=flow["auth_uri"], redirect_uri=clients.registration.redirect_uri,
                         scopes=[EWS_SCOPE], pending={"flow": flow})

    def finish_auth(self, pending: dict[str, Any], params: dict[str, str]) -> Credentials:
        cache = msal.SerializableTokenCache()
        try:
            result = self._clients().finish(pending["flow"], params, cache)
        except ValueError as exc:
            raise AuthError("invalid_request", str(exc)) from exc
        claims = result.get("id_token_claims", {})
        return Credentials(mode="delegated",
                           blob=json.dumps({"msal": cache.serialize(),
                                            "endpoint": self.endpoint}),
                           account_ref=f"{claims.get('oid')}.{claims.get('tid')}",
                           scopes=sorted(str(result.get("scope", "")).split()),
                           directory_roles=list(claims.get("wids") or []))

    def password_credentials(self, password: str) -> Credentials:
        creds = Credentials(mode="delegated", account_ref=self.user,
                            blob=json.dumps({"basic": password, "endpoint": self.endpoint}),
                            scopes=["EWS (full mailbox access)"])
        self._call(creds, lambda account: account.calendar.total_count)  # proves they work
        return creds

    # -- exchangelib ---------------------------------------------------------------------------
    def _account(self, creds: Credentials, force_refresh: bool = False) -> Account:
        # exchangelib's fail-fast policy: under FaultTolerance it takes a 401 for "server busy"
        # and backs off for minutes; ErrorServerBusy is waited out in _call instead.
        blob = json.loads(creds.blob or "{}")
        if "basic" in blob:
            config = Configuration(service_endpoint=blob.get("endpoint", self.endpoint),
                                   credentials=BasicCredentials(self.user, blob["basic"]),
                                   auth_type=BASIC)
        else:
            token = self._token(creds, blob, force_refresh)
            credentials = OAuth2AuthorizationCodeCredentials(access_token={
                "access_token": token, "token_type": "Bearer",
                "expires_at": datetime.now(UTC).timestamp() + 300})
            config = Configuration(service_endpoint=blob.get("endpoint", self.endpoint),
                                   credentials=credentials, auth_type=OAUTH2)
        return Account(primary_smtp_address=self.user, config=config, autodiscover=False,
                       access_type=DELEGATE, default_timezone=None)

    def _token(self, creds: Credentials, blob: dict[str, Any], force_refresh: bool) -> str:
        if not creds.account_ref:
            raise AuthError("interaction_required", "the user has not signed in")
        cache = msal.SerializableTokenCache()
        cache.deserialize(blob.get("msal") or "{}")
        try:
            return self._clients().delegated(cache, creds.account_ref, [EWS_SCOPE],
                                             force_refresh)
        finally:
            if cache.has_state_changed:
                blob["msal"] = cache.serialize()
                creds.blob, creds.changed = json.dumps(blob), True

    def _call(self, creds: Credentials, action: Any) -> Any:
        """Run `action(account)`, refreshing an OAuth token once when Exchange says 401, and
        mapping exchangelib's errors onto the provider interface."""
        basic = "basic" in json.loads(creds.blob or "{}")
        refreshed = False
        for busy in range(self.env.config.max_retries + 1):
            try:
                return action(self._account(creds, force_refresh=refreshed))
            except (UnauthorizedError, TokenExpiredError) as exc:
                if basic or refreshed:
                    raise AuthError("invalid_grant" if basic else "interaction_required",
                                    f"Exchange refused the credentials: {exc}") from exc
                refreshed = True
            except ErrorServerBusy as exc:
                if busy == self.env.config.max_retries:
                    raise ProviderError(503, "ErrorServerBusy", str(exc)) from exc
                self.env.sleep(min(float(exc.back_off or 1), self.env.config.max_retry_wait_s))
            except ErrorAccessDenied as exc:
                raise ProviderError(403, "ErrorAccessDenied", str(exc)) from exc
            except (ErrorItemNotFound, DoesNotExist) as exc:
                raise ProviderError(404, "ErrorItemNotFound", str(exc)) from exc
            except ErrorInvalidSyncStateData:
                raise
            except TransportError as exc:
                raise ProviderError(0, "TransportError", str(exc)) from exc
            except EWSError as exc:
                raise ProviderError(500, type(exc).__name__, str(exc)) from exc
        raise ProviderError(503, "ErrorServerBusy", "Exchange stayed busy")

    # -- data ----------------------------------------------------------------------------------
    def list_calendars(self, creds: Credentials) -> list[CalendarData]:
        def listing(account: Account) -> list[CalendarData]:
            default_id = account.calendar.id
            # Deep: Outlook puts new calendars under Calendar, other clients beside it.
            found = [f for f in account.msg_folder_root.walk() if isinstance(f, CalendarFolder)]
            calendars = [CalendarData(provider_id=f.id, name=f.name or "",
                                      is_default=f.id == default_id) for f in found]
            if not any(c.is_default for c in calendars):
                calendars.append(CalendarData(provider_id=default_id,
                                              name=account.calendar.name or "Calendar",
                                              is_default=True))
            return sorted(calendars, key=lambda c: not c.is_default)
        return self._call(creds, listing)

    def read_events(self, creds: Credentials, calendar_id: str | None,
                    window: tuple[datetime, datetime]) -> list[MeetingData]:
        start, end = (EWSDateTime.from_datetime(w.astimezone(UTC)) for w in window)

        def view(account: Account) -> list[MeetingData]:
            folder = account.calendar if calendar_id is None \
                else CalendarFolder(root=account.root, id=calendar_id)
            return [meeting_from_ews(item)
                    for item in folder.view(start=start, end=end).only(*SYNC_FIELDS)]
        return self._call(creds, view)

    def create_event(self, creds: Credentials, request: MeetingRequest) -> MeetingData:
        def create(account: Account) -> MeetingData:
            item = CalendarItem(
                account=account, folder=account.calendar, subject=request.subject,
                body=request.body, start=EWSDateTime.from_datetime(request.start.astimezone(UTC)),
                end=EWSDateTime.from_datetime(request.end.astimezone(UTC)),
                required_attendees=[Attendee(mailbox=Mailbox(email_address=a),
                                             response_type="Unknown")
                                    for a in request.attendees])
            item.save(send_meeting_invitations=SEND_TO_NONE)
            return meeting_from_ews(item)
        return self._call(creds, create)

    def update_event(self, creds: Credentials, provider_id: str,
                     update: MeetingUpdate) -> MeetingData:
        def change(account: Account) -> MeetingData:
            item = account.calendar.get(id=provider_id)
            fields = []
            if update.subject is not None:
                item.subject = update.subject
                fields.append("subject")
            for name in ("start", "end"):
                value = getattr(update, name)
                if value is not None:
                    setattr(item, name, EWSDateTime.from_datetime(value.astimezone(UTC)))
                    fields.append(name)
            if fields:
                item.save(update_fields=fields, send_meeting_invitations=SEND_TO_NONE)
            return meeting_from_ews(item)
        return self._call(creds, change)

    def delete_event(self, creds: Credentials, provider_id: str) -> None:
        def delete(account: Account) -> None:
            account.calendar.get(id=provider_id).delete(send_meeting_cancellations=SEND_TO_NONE)
        self._call(creds, delete)

    def respond_event(self, creds: Credentials, provider_id: str,
                      response: MeetingResponse) -> None:
        """AcceptItem / TentativelyAcceptItem / DeclineItem (a CreateItem) on the user's copy of
        the meeting; saved only, the organizer is not told, unless the answer is sent."""
        def answer(account: Account) -> None:
            item = account.calendar.get(id=provider_id)
            disposition = SEND_AND_SAVE_COPY if response.send_response else SAVE_ONLY
            reply = {"accept": item.accept, "tentative": item.tentatively_accept,
                     "decline": item.decline}[response.response]
            reply(message_disposition=disposition, body=response.comment or None)
        self._call(creds, answer)

    def list_contacts(self, creds: Credentials) -> list[ContactData]:
        def listing(account: Account) -> list[ContactData]:
            return [ContactData(provider_id=c.id, display_name=c.display_name or "",
                                emails=[e.email for e in c.email_addresses or [] if e.email])
                    for c in account.contacts.all().only("display_name", "email_addresses")]
        return self._call(creds, listing)

    def create_contact(self, creds: Credentials, contact: ContactData) -> ContactData:
        def create(account: Account) -> ContactData:
            given, _, surname = contact.display_name.partition(" ")
            item = Contact(account=account, folder=account.contacts,
                           display_name=contact.display_name, given_name=given, surname=surname,
                           email_addresses=[EmailAddress(email=e, label="EmailAddress1")
                                            for e in contact.emails[:1]])
            item.save()
            return ContactData(provider_id=item.id, display_name=contact.display_name,
                               emails=list(contact.emails[:1]))
        return self._call(creds, create)
