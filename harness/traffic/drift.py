"""Drift check: replay the requests of a cassette recorded against any service (a real tenant,
recorded with vcrpy or `calharness proxy --record --upstream real`) against the mocks and report,
per request, the differences that matter to a client: the status, error codes, the JSON property
names and types (EWS: the element structure and ResponseCodes), paging/delta links, Retry-After
and the media type. Values (ids, names, times) are the recording's own and never compared.

`compare` is pure; `MockReplayer` sends a recorded request to an in-process hub, with a fresh
mock credential where the recording's was redacted, and chains paging links and created ids
from the replayed responses (a recorded nextLink means "the next page", not that string).
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from lxml import etree

from harness.traffic.cassettes import Exchange
from harness.traffic.redact import MARK

PAGING_KEYS = frozenset({"@odata.nextLink", "@odata.deltaLink", "nextPageToken",
                         "nextSyncToken"})
COMPARED_HEADERS = ("retry-after",)


@dataclass(frozen=True)
class Difference:
    index: int  # 1-based interaction number in the cassette
    method: str
    url: str
    kind: str  # status | error_code | property_missing | property_extra | property_renamed |
    #            property_type | paging_link | header | media_type | element_missing |
    #            element_extra
    where: str  # JSON path (value[].subject), header or element path
    recorded: Any
    mock: Any

    def line(self) -> str:
        return (f"#{self.index} {self.method} {self.url}: {self.kind} {self.where}: "
                f"recorded {self.recorded!r}, mock {self.mock!r}")


@dataclass
class DriftReport:
    source: str
    interactions: int
    differences: list[Difference] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def replayed(self) -> int:
        return self.interactions - len(self.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {"schema": "calharness.drift/1", "source": self.source,
                "interactions": self.interactions, "replayed": self.replayed,
                "differences": [asdict(d) for d in self.differences],
                "skipped": [{"index": i, "reason": r} for i, r in self.skipped]}


# -- shapes ----------------------------------------------------------------------------------------
def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_shape(value: Any, path: str = "", out: dict[str, set[str]] | None = None
               ) -> dict[str, set[str]]:
    """path -> the JSON types seen there; list elements merged under `[]`. An empty list adds
    no element paths (nothing to compare below it)."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            out.setdefault(child, set()).add(_type(item))
            json_shape(item, child, out)
    elif isinstance(value, list):
        for item in value:
            child = f"{path}[]"
            out.setdefault(child, set()).add(_type(item))
            json_shape(item, child, out)
    return out


_LEAF = re.compile(r"(@\w+\.\w+|[^.\]]+)$")  # @odata.nextLink is one name


def _leaf(path: str) -> str:
    found = _LEAF.search(path)
    return found.group(1) if found else path


def _parent(path: str) -> str:
    return path[:len(path) - len(_leaf(path))].rstrip(".")


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def error_codes(body: Any) -> list[str]:
    """Graph `error.code`, Google `error.status` and `errors[].reason`, the identity platform's
    `error` and `error_codes`."""
    if not isinstance(body, dict) or "error" not in body:
        return []
    err = body["error"]
    codes: list[str] = []
    if isinstance(err, dict):
        if isinstance(err.get("code"), str):
            codes.append(err["code"])
        if isinstance(err.get("status"), str):
            codes.append(err["status"])
        for item in err.get("errors") or []:
            if isinstance(item, dict) and item.get("reason"):
                codes.append(str(item["reason"]))
    elif isinstance(err, str):
        codes.append(err)
        codes += [str(c) for c in body.get("error_codes") or []]
    return codes


def _xml_shape(text: str | None) -> tuple[set[str], list[str]] | None:
    if not text or not text.lstrip().startswith("<"):
        return None
    try:
        root = etree.fromstring(text.encode(), parser=etree.XMLParser(resolve_entities=False,
                                                                      no_network=True))
    except etree.XMLSyntaxError:
        return None
    paths: set[str] = set()
    codes: list[str] = []

    def walk(element: Any, prefix: str) -> None:
        if not isinstance(element.tag, str):
            return
        path = f"{prefix}/{etree.QName(element).localname}"
        paths.add(path)
        if etree.QName(element).localname in ("ResponseCode", "faultcode"):
            codes.append((element.text or "").strip())
        for child in element:
            walk(child, path)

    walk(root, "")
    return paths, codes


def _media(exchange: Exchange) -> str:
    return (exchange.header("content-type") or "").split(";", 1)[0].strip().lower()


def _topmost(paths: Iterable[str]) -> list[str]:
    chosen = sorted(paths)
    return [p for p in chosen if not any(p != q and p.startswith((q + ".", q + "[]"))
                                         for q in chosen)]


def compare(index: int, recorded: Exchange, mock: Exchange) -> list[Difference]:
    diffs: list[Difference] = []

    def add(kind: str, where: str, rec: Any, got: Any) -> None:
        diffs.append(Difference(index, recorded.method, recorded.url, kind, where, rec, got))

    if recorded.status != mock.status:
        add("status", "", recorded.status, mock.status)
    for name in COMPARED_HEADERS:
        rec, got = recorded.header(name), mock.header(name)
        if (rec is None) != (got is None):
            add("header", name, rec, got)
    if _media(recorded) != _media(mock) and _media(recorded) and _media(mock):
        add("media_type", "content-type", _media(recorded), _media(mock))

    rec_json, got_json = _json(recorded.response_body), _json(mock.response_body)
    if rec_json is not None and got_json is not None:
        rec_codes, got_codes = error_codes(rec_json), error_codes(got_json)
        if rec_codes != got_codes and (rec_codes or got_codes):
            add("error_code", "error", rec_codes, got_codes)
        diffs += _compare_json(index, recorded, rec_json, got_json)
        return diffs
    rec_xml, got_xml = _xml_shape(recorded.response_body), _xml_shape(mock.response_body)
    if rec_xml is not None and got_xml is not None:
        if rec_xml[1] != got_xml[1]:
            add("error_code", "ResponseCode", rec_xml[1], got_xml[1])
        for path in _topmost(rec_xml[0] - got_xml[0]):
            add("element_missing", path, "present", None)
        for path in _topmost(got_xml[0] - rec_xml[0]):
            add("element_extra", path, None, "present")
    return diffs


def _compare_json(index: int, recorded: Exchange, rec: Any, got: Any) -> list[Difference]:
    diffs: list[Difference] = []

    def add(kind: str, where: str, r: Any, g: Any) -> None:
        diffs.append(Difference(index, recorded.method, recorded.url, kind, where, r, g))

    if error_codes(rec) or error_codes(got):
        return diffs  # an error body's shape is its codes; messages differ by design
    rec_shape, got_shape = json_shape(rec), json_shape(got)
    # below a list that is empty on either side there is nothing to compare
    empty = {p + "[]" for shape in (rec_shape, got_shape) for p, types in shape.items()
             if "array" in types and p + "[]" not in shape}

    def comparable(path: str) -> bool:
        return not any(path == e or path.startswith((e + ".", e + "[]")) for e in empty)

    missing = {p for p in _topmost(set(rec_shape) - set(got_shape)) if comparable(p)}
    extra = {p for p in _topmost(set(got_shape) - set(rec_shape)) if comparable(p)}
    for path in sorted(p for p in missing | extra if _leaf(p) in PAGING_KEYS):
        in_rec = path in rec_shape
        add("paging_link", path, "present" if in_rec else None, None if in_rec else "present")
        missing.discard(path)
        extra.discard(path)
    # a property missing on one side and another, of the same types, new under the same
    # parent on the other side: one rename, not two differences
    for path in sorted(missing):
        partner = next((p for p in sorted(extra) if _parent(p) == _parent(path)
                        and got_shape[p] == rec_shape[path]), None)
        if partner is not None:
            add("property_renamed", path, _leaf(path), _leaf(partner))
            extra.discard(partner)
        else:
            add("property_missing", path, sorted(rec_shape[path]), None)
    for path in sorted(extra):
        add("property_extra", path, None, sorted(got_shape[path]))
    for path in sorted(p for p in set(rec_shape) & set(got_shape) if comparable(p)):
        r, g = rec_shape[path] - {"null"}, got_shape[path] - {"null"}
        if r and g and r != g:
            add("property_type", path, sorted(r), sorted(g))
    return diffs


# -- replay ----------------------------------------------------------------------------------------
Send = Callable[[Exchange], Exchange | str]  # a replayed exchange, or why it was skipped


class Chain:
    """Values the service chose (paging links and tokens, created ids) map from the recording
    to the replay, so a recorded follow-up request asks the mock for the same thing."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def learn(self, recorded: Exchange, mock: Exchange) -> None:
        rec, got = _json(recorded.response_body), _json(mock.response_body)
        if not isinstance(rec, dict) or not isinstance(got, dict):
            return
        for key in (*PAGING_KEYS, "id"):
            if key == "id" and recorded.method not in ("POST", "PUT"):
                continue
            r, g = rec.get(key), got.get(key)
            if isinstance(r, str) and isinstance(g, str) and r and r != g:
                self.values[r] = g

    def apply(self, url: str) -> str | None:
        """The URL with learnt values substituted; None when it follows a recorded link the
        replay never got (that link's absence is already a difference)."""
        for rec, got in sorted(self.values.items(), key=lambda kv: -len(kv[0])):
            if url == rec:
                return got
            url = url.replace(rec, got).replace(quote(rec, safe=""), quote(got, safe=""))
        return url


def drift(source: str, exchanges: list[Exchange], send: Send) -> DriftReport:
    report = DriftReport(source=source, interactions=len(exchanges))
    chain = Chain()
    links: set[str] = set()  # paging links the recording's responses carried
    for number, recorded in enumerate(exchanges, start=1):
        if recorded.url in links and recorded.url not in chain.values:
            report.skipped.append((number, "follows a paging link the mock did not return"))
            continue
        url = chain.apply(recorded.url) or recorded.url
        outcome = send(Exchange(recorded.method, url, recorded.request_headers,
                                recorded.request_body))
        if isinstance(outcome, str):
            report.skipped.append((number, outcome))
            continue
        chain.learn(recorded, outcome)
        body = _json(recorded.response_body)
        if isinstance(body, dict):
            links |= {v for k, v in body.items()
                      if k in ("@odata.nextLink", "@odata.deltaLink") and isinstance(v, str)}
        report.differences += compare(number, recorded, outcome)
    return report


_IDENTITY_HOSTS = ("login.microsoftonline.com", "accounts.google.com", "oauth2.googleapis.com")


class MockReplayer:
    """Sends recorded requests to a running hub (in process): real host names mapped to the
    hub, redacted credentials replaced by mock ones minted for the user the URL names (or the
    seeded first user of the tenant `tenant_key`)."""

    def __init__(self, hub_server: Any, tenant_key: str = "contoso", timeout: float = 15) -> None:
        import httpx

        from harness.traffic.routes import HubAddress

        self.server = hub_server
        self.hub = hub_server.hub
        self.address = HubAddress(hub_server.base_url)
        self.tenant_key = tenant_key
        verify: Any = ssl.create_default_context(cafile=hub_server.ca_bundle) \
            if hub_server.ca_bundle else True
        self.http = httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def _ms_token(self, host: str, path: str) -> str:
        from mock_providers.microsoft.claims import (
            EXCHANGE_RESOURCE,
            GRAPH_RESOURCE,
            app_access_claims,
            delegated_access_claims,
        )

        world = self.hub.world
        tenant = world.tenant(self.tenant_key)
        if tenant is None:
            raise LookupError(f"no tenant {self.tenant_key!r} in the mock world")
        app = next(a for a in tenant.apps.values() if a.client_secret)
        now = world.clock.timestamp()
        named = re.match(r"/v1\.0/users/([^/?]+)", path)
        if host == "graph.microsoft.com" and named:
            return str(self.hub.signer.sign(app_access_claims(
                tenant_id=tenant.id, client_id=app.client_id, resource=GRAPH_RESOURCE,
                roles=["Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read.All",
                       "MailboxSettings.Read"], now=now)))
        user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
        ews = host == "outlook.office365.com"
        scopes = ["EWS.AccessAsUser.All"] if ews else [
            "Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read", "MailboxSettings.Read"]
        return str(self.hub.signer.sign(delegated_access_claims(
            tenant_id=tenant.id, client_id=app.client_id,
            resource=EXCHANGE_RESOURCE if ews else GRAPH_RESOURCE, oid=user.id, upn=user.upn,
            name=user.display_name, scopes=scopes, now=now)))

    def _google_token(self) -> str:
        from mock_providers.google.tokens import google_tokens

        world = self.hub.world
        user = next(u for d in world.google_domains.values() for u in d.users.values())
        client = next(iter(world.google_clients.values()))
        scopes = ["https://www.googleapis.com/auth/calendar",
                  "https://www.googleapis.com/auth/contacts", "openid", "email", "profile"]
        return str(google_tokens(world).issue_access(user.email, client.client_id, scopes,
                                                     world.clock.timestamp()).token)

    def __call__(self, request: Exchange) -> Exchange | str:
        parts = urlsplit(request.url)
        host = (parts.hostname or "").lower()
        target = self.address.to_hub(request.url)
        if target is None:
            return f"{host} is not a provider host calharness mocks"
        body = request.request_body or ""
        if host in _IDENTITY_HOSTS and MARK in body + request.url:
            return "a sign-in or token request whose credentials were redacted"
        headers = [(k, v) for k, v in request.request_headers
                   if k.lower() not in ("host", "content-length", "accept-encoding",
                                        "connection", "cookie")]
        auth = request.header("authorization", response=False) or ""
        if MARK in auth:
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            token = self._google_token() if host.endswith("googleapis.com") else \
                self._ms_token(host, parts.path)
            headers.append(("Authorization", f"Bearer {token}"))
        reply = self.http.request(request.method, target, headers=headers,
                                  content=body.encode() if body else None)
        text = reply.text
        return Exchange(request.method, request.url, request.request_headers, body,
                        reply.status_code, reply.reason_phrase,
                        list(reply.headers.multi_items()), self.address.rewrite_text(text))
