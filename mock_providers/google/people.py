"""Google People API v1 mock (mounted at /google/v1, which is what `build('people', 'v1',
client_options={'api_endpoint': BASE + '/google/'})` calls: the discovery document's method paths
start with `v1/`).

Routes (relative to /google):

    GET     v1/people/me/connections           personFields required; syncToken / requestSyncToken
    GET     v1/people/{id}                     people/me too (the signed-in user's profile)
    POST    v1/people:createContact
    PATCH   v1/people/{id}:updateContact       updatePersonFields required; etag must be current
    DELETE  v1/people/{id}:deleteContact       → {}

Documented choices (to be mirrored in docs/architecture.md):
- Only the members asked for in personFields are rendered; `metadata` (sources, objectType) only
  when asked. names, emailAddresses, phoneNumbers and organizations map onto the world's neutral
  Contact (so other views of the world see them); other members are stored verbatim.
- Sync tokens are bound to the user and the world they were minted in and expire 7 days after
  they were issued (world clock); an expired or unknown token answers 400 FAILED_PRECONDITION
  with ErrorInfo reason EXPIRED_SYNC_TOKEN. A sync returns every contact changed since the token
  (deleted ones as `{resourceName, etag, metadata: {deleted: true}}`) and a new nextSyncToken on
  its last page. Paging is by keyset, so nothing changed between pages is lost.
- `totalPeople`/`totalItems` count the whole result (the contacts, or the changes of a sync).
- Writes read the body first, then look up the contact, check the etag and apply with no await
  in between, so a contact deleted while an update's body was arriving stays deleted (the update
  answers 404) and of two updates carrying the same etag the second answers 400
  FAILED_PRECONDITION. Bodies are conformed to the discovery document's Person schema before
  anything is stored (person_body.py): unknown members and wrong types are 400 INVALID_ARGUMENT.
- Also mounted at the hub root (`/v1/people/...`, people.googleapis.com's paths).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mock_providers.google.errors import (
    ALL_METHODS,
    Call,
    GoogleError,
    Handler,
    Operation,
    Reply,
    bad_request,
    echo,
    error_response,
    failed_precondition,
    json_body,
    method_override,
    not_found,
    serve,
)
from mock_providers.google.person_body import apply_person_changes, parse_person
from mock_providers.google.render import (
    PERSON_FIELDS,
    UPDATE_FIELDS,
    deleted_person_json,
    person_etag,
    person_id,
    person_json,
)
from mock_providers.google.tokens import GoogleTokens, google_tokens, subject_id
from mock_providers.world import Contact, GoogleUser, World
from mock_providers.world.extensions import per_world
from mock_providers.world.seed import change_key

if TYPE_CHECKING:
    from mock_providers.hub import Hub

PROVIDER = "google-people"
SERVICE = "people.googleapis.com"
AUTH = "https://www.googleapis.com/auth/"
CONTACTS, CONTACTS_RO = AUTH + "contacts", AUTH + "contacts.readonly"
READ = frozenset({CONTACTS, CONTACTS_RO})
WRITE = frozenset({CONTACTS})
PROFILE = frozenset({CONTACTS, CONTACTS_RO, AUTH + "userinfo.profile", AUTH + "userinfo.email",
                     "openid"})
SYNC_TOKEN_LIFETIME = 7 * 86400
MAX_PAGE, DEFAULT_PAGE = 1000, 100
DOCS = "https://developers.google.com/people/api/rest/v1/"
EXPIRED_MESSAGE = ("Sync token is expired. Clear local cache and retry call without the sync "
                   "token.")
ETAG_MESSAGE = ("Request person.etag is different than the current person.etag. Clear local "
                "cache and get the latest person.")
SORT_ORDERS = ("LAST_MODIFIED_ASCENDING", "LAST_MODIFIED_DESCENDING", "FIRST_NAME_ASCENDING",
               "LAST_NAME_ASCENDING")

OPS = {name: Operation(name, f"google.people.v1.{method}", scopes) for name, method, scopes in (
    ("connections.list", "PeopleService.ListConnections", READ),
    ("people.get", "PeopleService.GetPerson", READ),
    ("people.get.me", "PeopleService.GetPerson", PROFILE),
    ("people.createContact", "PeopleService.CreateContact", WRITE),
    ("people.updateContact", "PeopleService.UpdateContact", WRITE),
    ("people.deleteContact", "PeopleService.DeleteContact", WRITE),
)}

SortKey = tuple[Any, ...]
_SORT_KEYS: dict[str, Callable[[Contact], SortKey]] = {
    "LAST_MODIFIED_ASCENDING": lambda c: (c.last_modified.timestamp(), person_id(c.id)),
    "LAST_MODIFIED_DESCENDING": lambda c: (-c.last_modified.timestamp(), person_id(c.id)),
    "FIRST_NAME_ASCENDING": lambda c: (c.given_name.lower(), person_id(c.id)),
    "LAST_NAME_ASCENDING": lambda c: (c.surname.lower(), person_id(c.id)),
}


# -- per-world caches ------------------------------------------------------------------------------
@dataclass
class PeopleState:
    # email -> (contacts last_seq, person id -> world contact id) for seeded (uuid) contacts
    index: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    # (email, sort order) -> (contacts last_seq, keys, contacts)
    order: dict[tuple[str, str], tuple[int, list[SortKey], list[Contact]]] = field(
        default_factory=dict)


people_state = per_world(PeopleState)


def find_contact(world: World, user: GoogleUser, pid: str) -> Contact | None:
    contact = user.contacts.get(pid)
    if contact is not None:
        return contact
    state = people_state(world)
    entry = state.index.get(user.email)
    if entry is None or entry[0] != user.contacts.last_seq:
        entry = (user.contacts.last_seq, {person_id(c.id): c.id for c in user.contacts})
        state.index[user.email] = entry
    contact_id = entry[1].get(pid)
    return user.contacts.get(contact_id) if contact_id else None


def sorted_contacts(world: World, user: GoogleUser, order: str
                    ) -> tuple[list[SortKey], list[Contact]]:
    cache = people_state(world).order
    last_seq = user.contacts.last_seq
    hit = cache.get((user.email, order))
    if hit is not None and hit[0] == last_seq:
        return hit[1], hit[2]
    key = _SORT_KEYS[order]
    pairs = sorted(((key(c), c) for c in user.contacts), key=lambda p: p[0])
    keys, contacts = [p[0] for p in pairs], [p[1] for p in pairs]
    cache[(user.email, order)] = (last_seq, keys, contacts)
    return keys, contacts


# -- request parsing -------------------------------------------------------------------------------
def _mask(request: Request, name: str, valid: frozenset[str], doc: str,
          required: bool = True) -> list[str] | None:
    raw = request.query_params.get(name, "")
    if not raw.strip():
        if not required:
            return None
        raise bad_request(f"{name} mask is required. Please specify one or more valid paths. "
                          f"Valid paths are documented at {DOCS}{doc}.")
    paths = [p.strip() for p in raw.split(",") if p.strip()]
    for path in paths:
        clean = path.removeprefix("person.")
        if clean not in valid:
            raise bad_request(f'Invalid {name} mask path: "{echo(path)}". Valid paths are '
                              f"documented at {DOCS}{doc}.")
    return [p.removeprefix("person.") for p in paths]


def _page_size(request: Request) -> int:
    raw = request.query_params.get("pageSize", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise bad_request(f"Invalid value at 'page_size' (TYPE_INT32), \"{echo(raw)}\"")
    size = int(raw) if raw else 0
    if size > MAX_PAGE:
        raise bad_request(f"Page size must be less than or equal to {MAX_PAGE}.")
    return size or DEFAULT_PAGE


def _request_sync_token(request: Request) -> bool:
    raw = request.query_params.get("requestSyncToken", "")
    if raw.lower() not in ("", "true", "false"):
        raise bad_request(f"Invalid value at 'request_sync_token' (TYPE_BOOL), \"{echo(raw)}\"")
    return raw.lower() == "true"


def _expired() -> GoogleError:
    return failed_precondition(EXPIRED_MESSAGE, "EXPIRED_SYNC_TOKEN")


# -- the API ---------------------------------------------------------------------------------------
def routes(hub: Hub) -> list[BaseRoute]:
    api = _PeopleApi(hub)
    return [Route("/v1/{rest:path}", api.dispatch, methods=ALL_METHODS)]


class _PeopleApi:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def route(self, method: str, rest: str) -> tuple[str, Handler, str | None] | None:
        """(operation, handler, person id) for `v1/<rest>`, or None."""
        if rest == "people:createContact" and method == "POST":
            return "people.createContact", self.create, None
        if rest == "people/me/connections" and method == "GET":
            return "connections.list", self.connections, None
        if not rest.startswith("people/"):
            return None
        name, _, verb = rest[len("people/"):].partition(":")
        if not name or "/" in name:
            return None
        if verb == "updateContact" and method == "PATCH":
            return "people.updateContact", self.update, name
        if verb == "deleteContact" and method == "DELETE":
            return "people.deleteContact", self.delete, name
        if not verb and method == "GET":
            return ("people.get.me" if name == "me" else "people.get"), self.get, name
        return None

    async def dispatch(self, request: Request) -> Response:
        try:
            request = await method_override(request)
        except GoogleError as err:
            return error_response(err)
        found = self.route(request.method, request.path_params["rest"])
        if found is None:
            self.hub.record(PROVIDER, request.method, request.url.path, 404, outcome="notFound")
            return error_response(not_found("Method not found."))
        name, handler, pid = found
        request.state.person_id = pid
        return await serve(self.hub, request, PROVIDER, SERVICE, OPS[name], handler)

    # -- helpers --------------------------------------------------------------------------------
    def caller(self, call: Call) -> GoogleUser:
        user = self.hub.world.google_user(call.email)
        if user is None:
            raise not_found("Requested entity was not found.")
        return user

    def contact(self, call: Call, user: GoogleUser) -> Contact:
        pid = call.request.state.person_id
        contact = find_contact(self.hub.world, user, pid)
        if contact is None:
            raise not_found("Requested entity was not found.")
        call.detail["person"] = f"people/{pid}"
        return contact

    def touch(self, user: GoogleUser, contact: Contact) -> None:
        world = self.hub.world
        seq = world.next_seq()
        contact.last_modified = world.now()
        contact.change_key = change_key(contact.id, "g", seq)
        user.contacts.put(contact.id, contact, seq)

    # -- connections.list -----------------------------------------------------------------------
    async def connections(self, call: Call) -> Reply:
        request = call.request
        user = self.caller(call)
        fields = _mask(request, "personFields", PERSON_FIELDS, "people.connections/list")
        size = _page_size(request)
        order = request.query_params.get("sortOrder") or SORT_ORDERS[0]
        if order not in SORT_ORDERS:
            raise bad_request(f"Invalid value at 'sort_order', \"{echo(order)}\"")
        world = self.hub.world
        tokens = google_tokens(world)
        email = user.email.lower()
        params = request.query_params
        page: list[Any] | None = None
        if params.get("pageToken"):
            page = tokens.open("people.page", email, params["pageToken"])
            if page is None:
                raise bad_request("Invalid pageToken.")
        elif params.get("syncToken"):
            since = self.open_sync_token(tokens, email, params["syncToken"], user)
            page = ["s", since, world.seq, since]
        want_sync = _request_sync_token(request)
        if page is None:
            page = ["f", world.seq, order, None, want_sync]
        if page[0] == "s":
            return 200, self.sync_page(user, page, size, fields, tokens, email)
        return 200, self.full_page(user, page, size, fields, tokens, email)

    def open_sync_token(self, tokens: GoogleTokens, email: str, raw: str,
                        user: GoogleUser) -> int:
        payload = tokens.open("people.sync", email, raw)
        world = self.hub.world
        if payload is None or len(payload) != 2:
            raise _expired()
        seq, issued = int(payload[0]), float(payload[1])
        if (seq > world.seq or seq < user.contacts.created_seq
                or world.clock.timestamp() - issued > SYNC_TOKEN_LIFETIME):
            raise _expired()
        return seq

    def sync_token(self, tokens: GoogleTokens, email: str, snapshot: int) -> str:
        return tokens.mint("people.sync", email,
                           [snapshot, int(self.hub.world.clock.timestamp())])

    def sync_page(self, user: GoogleUser, page: list[Any], size: int, fields: list[str] | None,
                  tokens: GoogleTokens, email: str) -> dict[str, Any]:
        _, since, snapshot, after = page
        people: list[dict[str, Any]] = []
        more = False
        last = after
        total = 0
        for change in user.contacts.changes_since(int(since)):
            if change.seq > snapshot:
                break
            total += 1
            if change.seq <= after or more:
                continue
            if len(people) == size:
                more = True
                continue
            contact = None if change.deleted else user.contacts.get(change.item_id)
            people.append(deleted_person_json(change.item_id, change.seq) if contact is None
                          else person_json(contact, fields))
            last = change.seq
        body: dict[str, Any] = {}
        if people:
            body["connections"] = people
        if more:
            body["nextPageToken"] = tokens.mint("people.page", email, ["s", since, snapshot, last])
        else:
            body["nextSyncToken"] = self.sync_token(tokens, email, snapshot)
        body["totalPeople"] = body["totalItems"] = total
        return body

    def full_page(self, user: GoogleUser, page: list[Any], size: int, fields: list[str] | None,
                  tokens: GoogleTokens, email: str) -> dict[str, Any]:
        _, snapshot, order, cursor, want_sync = page
        keys, contacts = sorted_contacts(self.hub.world, user, order)
        start = bisect_right(keys, tuple(cursor)) if cursor is not None else 0
        chunk = contacts[start:start + size]
        body: dict[str, Any] = {}
        if chunk:
            body["connections"] = [person_json(c, fields) for c in chunk]
        if start + size < len(contacts):
            body["nextPageToken"] = tokens.mint(
                "people.page", email, ["f", snapshot, order, list(keys[start + size - 1]),
                                       want_sync])
        elif want_sync:
            body["nextSyncToken"] = self.sync_token(tokens, email, snapshot)
        body["totalPeople"] = body["totalItems"] = len(contacts)
        return body

    # -- single persons -------------------------------------------------------------------------
    async def get(self, call: Call) -> Reply:
        fields = _mask(call.request, "personFields", PERSON_FIELDS, "people/get")
        user = self.caller(call)
        if call.request.state.person_id == "me":
            return 200, self.me(user, fields)
        return 200, person_json(self.contact(call, user), fields)

    @staticmethod
    def me(user: GoogleUser, fields: list[str] | None) -> dict[str, Any]:
        wanted = set(fields or ())
        sub = subject_id(user.email)
        etag = person_etag(f"profile|{user.email}|{user.name}")
        out: dict[str, Any] = {"resourceName": f"people/{sub}", "etag": etag}
        source = {"type": "PROFILE", "id": sub}
        if "metadata" in wanted:
            out["metadata"] = {"sources": [{**source, "etag": etag}], "objectType": "PERSON"}
        if "names" in wanted:
            given, _, family = user.name.partition(" ")
            out["names"] = [{"metadata": {"primary": True, "source": source},
                             "displayName": user.name, "familyName": family,
                             "givenName": given, "unstructuredName": user.name}]
        if "emailAddresses" in wanted:
            out["emailAddresses"] = [{"metadata": {"primary": True, "verified": True,
                                                   "source": {"type": "ACCOUNT", "id": sub}},
                                      "value": user.email}]
        return out

    # Writes read the body first, then look up, check and apply with no await in between: the
    # hub is one asyncio loop, so nothing else can run between the check and the write, and a
    # delete that was answered while a body was still arriving is never undone.
    async def create(self, call: Call) -> Reply:
        fields = _mask(call.request, "personFields", PERSON_FIELDS, "people/createContact",
                       required=False)
        body = await json_body(call.request, "one")
        changes = parse_person(body, sorted(UPDATE_FIELDS & body.keys()))
        user = self.caller(call)
        world = self.hub.world
        now = world.now()
        pid = "c" + str(world.new_number(10**18, 10**19))
        contact = Contact(id=pid, display_name="", created=now, last_modified=now,
                          change_key=change_key(pid, "g", 0))
        apply_person_changes(contact, changes)
        self.touch(user, contact)
        call.detail["person"] = f"people/{pid}"
        return 200, person_json(contact, fields)

    async def update(self, call: Call) -> Reply:
        request = call.request
        members = _mask(request, "updatePersonFields", UPDATE_FIELDS, "people/updateContact")
        fields = _mask(request, "personFields", PERSON_FIELDS, "people/updateContact",
                       required=False)
        body = await json_body(request, "one")
        changes = parse_person(body, members or [])
        metadata = body.get("metadata") or {}
        sources = metadata.get("sources") if isinstance(metadata, dict) else None
        first = sources[0] if isinstance(sources, list) and sources else {}
        etag = body.get("etag") or (first.get("etag") if isinstance(first, dict) else None)
        if not etag:
            raise bad_request("Request must set person.etag or person.metadata.sources.etag "
                              "for the source that is being updated.")
        # From here to the write: no await.
        user = self.caller(call)
        contact = self.contact(call, user)
        if etag != person_etag(contact.change_key):
            raise failed_precondition(ETAG_MESSAGE)
        apply_person_changes(contact, changes)
        self.touch(user, contact)
        return 200, person_json(contact, fields)

    async def delete(self, call: Call) -> Reply:
        user = self.caller(call)
        contact = self.contact(call, user)
        user.contacts.delete(contact.id, self.hub.world.next_seq())
        return 200, {}
