"""Replay a recording's requests against an in-process mock hub, mapped onto the mock world.

A cassette recorded against a real tenant names users, ids and tokens the mocks never saw; sent
unchanged it only yields 404s and ErrorInvalidUser. So the replay maps (and reports each
mapping, `Mapped`):

- **tenant**: every recorded tenant is the mock tenant `tenant_key` (default `contoso`).
- **users**: users the mock world has (a recording made against the mocks) stay themselves;
  the other principals (`identities.scan`), in order of first appearance, take
  the tenant's ordinary users (not admins, on the tenant's main domain, by UPN) in order: the
  first recorded Microsoft user becomes the first of those, and so on; Google e-mails take the
  seeded Google users in the same way. A UPN/e-mail maps to the seeded UPN/e-mail, an object id
  to the seeded object id, in paths, queries, request bodies and headers.
- **tokens**: the recorded Authorization (redacted or not) is replaced by a mock token: the
  replay signs in as the mapped signed-in user (Graph `/me`, EWS, Google), or as the tenant's
  application for Graph `/users/{x}` requests recorded with an application token or a redacted
  one. Sign-in and token requests themselves are not replayed (their credentials are not ours).
- **items**: an id the replayed service chose maps to the recorded one: the id a replayed POST
  returned, the item at the same position of a replayed list (Graph `value`, Google `items`,
  People `connections`, EWS ItemIds and ChangeKeys in document order), paging links and tokens.
  An item id the recording uses without having created or listed it (a GET of a real event) gets
  an equivalent made in the mock world through the provider API, from the recorded body when
  there is one (Graph events and contacts, Google events and contacts), or else the first unused
  item of its collection (calendars, folders). A recorded 404 keeps its id: it was missing there
  too.
"""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from harness.traffic.cassettes import PAGING_KEYS, Exchange
from harness.traffic.cassettes import json_or_none as _json
from harness.traffic.identities import (
    EMAIL,
    EWS_HOST,
    GRAPH_HOST,
    GUID,
    Principal,
    Principals,
    Slot,
    jwt_claims,
    provider_of,
    scan,
    slots,
)
from harness.traffic.redact import MARK

_IDENTITY_HOSTS = ("login.microsoftonline.com", "accounts.google.com", "oauth2.googleapis.com")
_CREDENTIAL_FIELDS = re.compile(r"(?:^|&)(client_secret|code|password|refresh_token|assertion|"
                                r"client_assertion|code_verifier)=")
_XML_ID_TAGS = re.compile(r"<(?:\w+:)?(?:ItemId|FolderId)\b([^>]*)>")
_XML_ATTR = re.compile(r"\b(Id|ChangeKey)=\"([^\"]+)\"")
_MIN_SUBSTITUTED = 6  # shorter values are not replaced in text: too likely to hit by chance
GRAPH_READ_ONLY = ("id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId",
                   "webLink", "onlineMeeting", "seriesMasterId", "type", "originalStart",
                   "parentFolderId", "isOrganizer", "responseStatus", "organizer")
GOOGLE_READ_ONLY = ("id", "etag", "kind", "htmlLink", "iCalUID", "created", "updated",
                    "creator", "organizer", "recurringEventId", "originalStartTime",
                    "resourceName", "metadata", "sequence", "hangoutLink")


@dataclass(frozen=True)
class Mapped:
    kind: str  # tenant | user | item | token
    recorded: str
    mock: str
    how: str

    def line(self) -> str:
        return f"{self.kind} {self.recorded} -> {self.mock} ({self.how})"


class MockReplayer:
    """`__call__(number, recorded)` sends one recorded exchange, mapped, to the hub: the mock's
    Exchange (its URL the recorded one) or why it was not replayed."""

    def __init__(self, hub_server: Any, tenant_key: str = "contoso", timeout: float = 15) -> None:
        import httpx

        from harness.traffic.routes import HubAddress

        self.hub = hub_server.hub
        self.address = HubAddress(hub_server.base_url)
        self.tenant_key = tenant_key
        verify: Any = ssl.create_default_context(cafile=hub_server.ca_bundle) \
            if hub_server.ca_bundle else True
        self.http = httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)
        self.values: dict[str, str] = {}  # recorded -> mock, for text substitution
        self.mapped: list[Mapped] = []
        self.links: set[str] = set()  # paging links the recording's responses carried
        self.principals = Principals()
        self._users: dict[int, Any] = {}  # id(principal) -> MsUser | GoogleUser

    def close(self) -> None:
        self.http.close()

    # -- the mock world's people -------------------------------------------------------------------
    def _tenant(self) -> Any:
        tenant = self.hub.world.tenant(self.tenant_key)
        if tenant is None:
            raise LookupError(f"no tenant {self.tenant_key!r} in the mock world")
        return tenant

    def _ordinary_users(self) -> list[Any]:
        """The tenant's ordinary users: no admins, and only the main domain (the seed also has
        look-alike and homograph domains made to test address checks)."""
        users = list(self._tenant().users.values())
        counts: dict[str, int] = {}
        for user in users:
            domain = user.upn.rsplit("@", 1)[1].lower()
            counts[domain] = counts.get(domain, 0) + 1
        main = max(counts, key=lambda d: counts[d]) if counts else ""
        return sorted((u for u in users if not u.is_admin
                       and u.upn.rsplit("@", 1)[1].lower() == main), key=lambda u: u.upn.lower())

    def _google_users(self) -> list[Any]:
        return [u for d in self.hub.world.google_domains.values() for u in d.users.values()]

    def prepare(self, exchanges: list[Exchange]) -> None:
        """Map the recording's principals and tenants before the first request."""
        self.principals = scan(exchanges)
        pools = {"microsoft": self._ordinary_users(), "google": self._google_users()}
        taken = {"microsoft": 0, "google": 0}
        world = self.hub.world
        for principal in self.principals.items:
            pool = pools[principal.provider]
            # a recording made against the mocks names mock users: they stay themselves
            own = next((u for n in principal.names if (u := world.ms_user(n) if
                        principal.provider == "microsoft" else world.google_user(n))), None)
            if own is not None:
                self._users[id(principal)] = own
                if own in pool:
                    pool.remove(own)
                continue
        for principal in self.principals.items:
            pool = pools[principal.provider]
            if id(principal) in self._users:
                continue
            if taken[principal.provider] >= len(pool):
                for name in principal.names:
                    self.mapped.append(Mapped("user", name, name, "no seeded user left: "
                                              "sent unchanged"))
                continue
            user = pool[taken[principal.provider]]
            taken[principal.provider] += 1
            self._users[id(principal)] = user
            role = "the signed-in user" if principal.me else "a user"
            for name in principal.names or ["(signed-in user, never named)"]:
                mock = self._mock_name(principal.provider, user, name)
                self.mapped.append(Mapped("user", name, mock,
                                          f"{role} of the recording -> a seeded user"))
                if name != mock and not name.startswith("("):
                    self.values[name] = mock
        tenant = self._tenant()
        for exchange in exchanges:
            parts = urlsplit(exchange.url)
            if (parts.hostname or "") != "login.microsoftonline.com":
                continue
            head = parts.path.split("/")[1] if parts.path.count("/") else ""
            if head and head not in ("common", "organizations", "consumers") and \
                    head not in self.values and head != tenant.id:
                self.values[head] = tenant.id
                self.mapped.append(Mapped("tenant", head, tenant.id,
                                          f"the mock tenant {self.tenant_key!r}"))

    @staticmethod
    def _mock_name(provider: str, user: Any, name: str) -> str:
        if provider == "google":
            return str(user.email)
        return str(user.id) if GUID.match(name) else str(user.upn)

    def _user_for(self, provider: str, name: str | None) -> Any:
        principal: Principal | None = None
        if name:
            principal = self.principals.find(provider, name)
        principal = principal or self.principals.me(provider) or next(
            (p for p in self.principals.items if p.provider == provider), None)
        if principal is not None and id(principal) in self._users:
            return self._users[id(principal)]
        pool = self._ordinary_users() if provider == "microsoft" else self._google_users()
        return pool[0]

    # -- text substitution -------------------------------------------------------------------------
    def substitute(self, text: str, *, url: bool = False) -> str:
        """Every recorded value the replay has mapped, replaced by its mock value (e-mail
        addresses case-insensitively, and percent-encoded in URLs)."""
        if not text or not self.values:
            return text
        pairs = sorted(((r, m) for r, m in self.values.items() if len(r) >= _MIN_SUBSTITUTED),
                       key=lambda kv: -len(kv[0]))
        lookup = {r.lower(): m for r, m in pairs}
        forms = [re.escape(r) for r, _ in pairs]
        encoded: dict[str, str] = {}
        if url:
            for r, m in pairs:
                q = quote(r, safe="")
                if q != r:
                    encoded[q.lower()] = quote(m, safe="")
                    forms.append(re.escape(q))
        if not forms:
            return text
        pattern = re.compile("|".join(forms), re.IGNORECASE)

        def swap(match: re.Match[str]) -> str:
            found = match.group(0).lower()
            return encoded.get(found) or lookup.get(found) or match.group(0)

        return pattern.sub(swap, text)

    # -- tokens ------------------------------------------------------------------------------------
    def _ms_token(self, host: str, path: str, recorded_auth: str) -> str:
        from mock_providers.microsoft.claims import (
            EXCHANGE_RESOURCE,
            GRAPH_RESOURCE,
            app_access_claims,
            delegated_access_claims,
        )

        world, tenant = self.hub.world, self._tenant()
        app = next(a for a in tenant.apps.values() if a.client_secret)
        now = world.clock.timestamp()
        claims = jwt_claims(recorded_auth)
        delegated_recorded = "scp" in claims
        if host == GRAPH_HOST and path.startswith("/v1.0/users/") and not delegated_recorded:
            return str(self.hub.signer.sign(app_access_claims(
                tenant_id=tenant.id, client_id=app.client_id, resource=GRAPH_RESOURCE,
                roles=["Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read.All",
                       "MailboxSettings.Read"], now=now)))
        user = self._user_for("microsoft", None)
        ews = host == EWS_HOST
        scopes = ["EWS.AccessAsUser.All"] if ews else [
            "Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read", "User.ReadBasic.All",
            "MailboxSettings.Read"]
        return str(self.hub.signer.sign(delegated_access_claims(
            tenant_id=tenant.id, client_id=app.client_id,
            resource=EXCHANGE_RESOURCE if ews else GRAPH_RESOURCE, oid=user.id, upn=user.upn,
            name=user.display_name, scopes=scopes, now=now)))

    def _google_token(self, path: str) -> str:
        from mock_providers.google.tokens import google_tokens

        world = self.hub.world
        named = next((s.value for s in slots("www.googleapis.com", path) if s.kind == "user"),
                     None)
        user = self._user_for("google", named)
        client = next(iter(world.google_clients.values()))
        scopes = ["https://www.googleapis.com/auth/calendar",
                  "https://www.googleapis.com/auth/contacts", "openid", "email", "profile"]
        return str(google_tokens(world).issue_access(user.email, client.client_id, scopes,
                                                     world.clock.timestamp()).token)

    def _authorization(self, host: str, path: str, recorded: str) -> str:
        scheme = recorded.split(" ", 1)[0].lower()
        if scheme == "basic" and host == EWS_HOST:
            import base64

            user = self._user_for("microsoft", None)
            pair = f"{user.upn}:{user.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        if provider_of(host) == "google":
            return f"Bearer {self._google_token(path)}"
        return f"Bearer {self._ms_token(host, path, recorded)}"

    # -- items -------------------------------------------------------------------------------------
    def _send(self, method: str, real_url: str, headers: list[tuple[str, str]],
              body: str | None) -> Any:
        target = self.address.to_hub(real_url)
        assert target is not None  # only called with provider URLs
        return self.http.request(method, target, headers=headers,
                                 content=body.encode() if body else None)

    def _equivalent(self, number: int, recorded: Exchange, slot: Slot, host: str,
                    parent: str, headers: list[tuple[str, str]]) -> str | None:
        """A mock item standing in for a recorded id the replay never met: created from the
        recorded body (or a minimal one) where the provider API can create one, else the first
        item of the collection not yet standing in for another."""
        recorded_body = _json(recorded.response_body)
        recorded_body = recorded_body if isinstance(recorded_body, dict) and \
            200 <= recorded.status < 300 else None
        json_headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        json_headers.append(("Content-Type", "application/json"))
        for attempt in self._creations(host, slot, recorded_body):
            create_url = parent if slot.collection != "people" else \
                parent.rsplit("/", 1)[0] + "/people:createContact"
            if host == "www.googleapis.com":  # keep a recorded conference (Meet link)
                create_url += "?conferenceDataVersion=1"
            reply = self._send("POST", create_url, json_headers,
                               self.substitute(json.dumps(attempt)))
            made = _json(reply.text)
            if reply.status_code in (200, 201) and isinstance(made, dict):
                mock = made.get("id") or str(made.get("resourceName", "")).split("/", 1)[-1]
                if mock:
                    self.mapped.append(Mapped("item", slot.value, mock, f"created for #{number}"
                                              f" ({slot.collection}, the recording never made "
                                              "or listed it)"))
                    return str(mock)
        listing = self._send("GET", parent, headers, None)
        body = _json(listing.text)
        if listing.status_code == 200 and isinstance(body, dict):
            items = body.get("value") or body.get("items") or []
            used = set(self.values.values())
            ids = [str(i.get("id")) for i in items if isinstance(i, dict) and i.get("id")]
            chosen = next((i for i in ids if i not in used), ids[0] if ids else None)
            if chosen:
                self.mapped.append(Mapped("item", slot.value, chosen, f"found for #{number} "
                                          f"(an existing item of {slot.collection})"))
                return chosen
        return None

    @staticmethod
    def _creations(host: str, slot: Slot, recorded: dict[str, Any] | None
                   ) -> list[dict[str, Any]]:
        # a fixed day ahead, not the wall clock: the replay's stand-ins are the same each run
        start = datetime(2030, 1, 7, 9, tzinfo=UTC)
        end = start + timedelta(minutes=30)
        if host == GRAPH_HOST and slot.collection == "events":
            minimal: dict[str, Any] = {
                "subject": "calharness drift replay",
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}}
            read_only: tuple[str, ...] = GRAPH_READ_ONLY
        elif host == GRAPH_HOST and slot.collection == "contacts":
            minimal, read_only = {"givenName": "Drift", "surname": "Replay"}, GRAPH_READ_ONLY
        elif host == "www.googleapis.com" and slot.collection == "events":
            minimal = {"summary": "calharness drift replay",
                       "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ")},
                       "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ")}}
            read_only = GOOGLE_READ_ONLY
        elif slot.collection == "people":
            minimal, read_only = {"names": [{"givenName": "Drift"}]}, GOOGLE_READ_ONLY
        else:
            return []
        out = []
        if recorded:
            copy = {k: v for k, v in recorded.items()
                    if not k.startswith("@") and "@odata" not in k and k not in read_only}
            if copy:
                out.append(copy)
        return [*out, minimal]

    def _map_path(self, number: int, recorded: Exchange, host: str, path: str,
                  headers: list[tuple[str, str]]) -> str:
        segments = path.split("/")
        provider = provider_of(host) or ""
        for slot in slots(host, path):
            value = slot.value
            if slot.kind == "user":
                principal = self.principals.find(provider, value)
                user = self._users.get(id(principal)) if principal else None
                if user is not None:
                    value = self._mock_name(provider, user, value)
            elif value in self.values:
                value = self.values[value]
            elif recorded.status not in (404, 410):  # a recorded miss stays a miss
                prefix = "/".join(segments[:slot.index])
                parent = self._real(host, prefix)
                made = self._equivalent(number, recorded, slot, host, parent, headers)
                if made is not None:
                    self.values[value] = made
                    value = made
            segments[slot.index] = quote(value, safe="@") + slot.suffix
        return "/".join(segments)

    @staticmethod
    def _real(host: str, path: str) -> str:
        return urlunsplit(("https", host, path, "", ""))

    # -- learning from each replayed answer ------------------------------------------------------
    def _learn(self, recorded: Exchange, mock: Exchange) -> None:
        rec, got = _json(recorded.response_body), _json(mock.response_body)
        if isinstance(rec, dict) and isinstance(rec.get("@odata.nextLink"), str):
            self.links.add(rec["@odata.nextLink"])
        if isinstance(rec, dict) and isinstance(rec.get("@odata.deltaLink"), str):
            self.links.add(rec["@odata.deltaLink"])
        if isinstance(rec, dict) and isinstance(got, dict):
            for key in PAGING_KEYS:
                r, g = rec.get(key), got.get(key)
                if isinstance(r, str) and isinstance(g, str) and r:
                    self.values[r] = g  # a link or token changes every round: relearnt
            self._pair(rec, got, single=True)
            for key in ("value", "items", "connections"):
                r, g = rec.get(key), got.get(key)
                if isinstance(r, list) and isinstance(g, list):
                    for a, b in zip(r, g, strict=False):
                        if isinstance(a, dict) and isinstance(b, dict):
                            self._pair(a, b, single=False)
        elif (recorded.response_body or "").lstrip().startswith("<") and mock.response_body:
            r_ids, g_ids = _xml_ids(recorded.response_body or ""), _xml_ids(mock.response_body)
            if [k for k, _ in r_ids] == [k for k, _ in g_ids]:
                for (kind, a), (_, b) in zip(r_ids, g_ids, strict=True):
                    if kind == "ChangeKey":  # a new one on every change: relearnt
                        if a != b:
                            self.values[a] = b
                    else:
                        self._remember(a, b, "the EWS id at the same place of the answer")

    def _pair(self, rec: dict[str, Any], got: dict[str, Any], *, single: bool) -> None:
        for key in ("id", "resourceName"):
            r, g = rec.get(key), got.get(key)
            if isinstance(r, str) and isinstance(g, str):
                if key == "resourceName":
                    r, g = r.split("/", 1)[-1], g.split("/", 1)[-1]
                self._remember(r, g, "returned by the replayed request" if single
                               else "the item at the same position of the replayed list")

    def _remember(self, recorded: str, mock: str, how: str) -> None:
        if not recorded or recorded == mock or recorded in self.values or EMAIL.fullmatch(
                recorded) or mock in self.values.values():
            return
        self.values[recorded] = mock
        self.mapped.append(Mapped("item", recorded, mock, how))

    # -- one request -------------------------------------------------------------------------------
    def __call__(self, number: int, recorded: Exchange) -> Exchange | str:
        if recorded.url in self.links and recorded.url not in self.values:
            return "follows a paging link the mock did not return"
        url = self.values.get(recorded.url, recorded.url)  # a paging link: the mock's own
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if self.address.to_hub(url) is None:
            return f"{host} is not a provider host calharness mocks"
        body = recorded.request_body or ""
        auth = recorded.header("authorization", response=False) or ""
        if host in _IDENTITY_HOSTS and (MARK in body + url or auth
                                        or _CREDENTIAL_FIELDS.search(body)):
            return ("a sign-in or token request: its credentials are the recording's; the "
                    "replay signs in with mock tokens instead")
        headers = [(k, self.substitute(v)) for k, v in recorded.request_headers
                   if k.lower() not in ("host", "content-length", "accept-encoding",
                                        "connection", "cookie", "authorization")]
        if auth:
            headers.append(("Authorization", self._authorization(host, parts.path, auth)))
        path = parts.path if url != recorded.url else self._map_path(
            number, recorded, host, parts.path, headers)
        query = self.substitute(parts.query, url=True)
        real = urlunsplit(("https", host, self.substitute(path, url=True), query, ""))
        reply = self._send(recorded.method, real, headers, self.substitute(body) or None)
        mock = Exchange(recorded.method, recorded.url, recorded.request_headers, body,
                        reply.status_code, reply.reason_phrase, list(reply.headers.multi_items()),
                        self.address.rewrite_text(reply.text))
        self._learn(recorded, mock)
        return mock


def _xml_ids(text: str) -> list[tuple[str, str]]:
    """(Id | ChangeKey, value) of every ItemId and FolderId, in document order."""
    return [(name, value) for attrs in _XML_ID_TAGS.findall(text)
            for name, value in _XML_ATTR.findall(attrs)]


