"""Drift check: replay the requests of a cassette recorded against any service (a real tenant,
recorded with vcrpy or `calharness proxy --record --upstream real`) against the mocks and report,
per request, the differences that matter to a client: the status, error codes, the JSON property
names and types (EWS: the element structure and ResponseCodes), paging/delta links, Retry-After
and the media type. Values (ids, names, times) are the recording's own and never compared.

`compare` is pure; `harness.traffic.replay.MockReplayer` sends each recorded request to an
in-process hub mapped onto the mock world (users, item ids, tokens, paging links: a recorded
nextLink means "the next page", not that string) and reports what it mapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Protocol

from lxml import etree

from harness.traffic.cassettes import PAGING_KEYS, Exchange
from harness.traffic.cassettes import json_or_none as _json

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
    # what the replay mapped onto the mock world: {kind, recorded, mock, how}
    mapped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def replayed(self) -> int:
        return self.interactions - len(self.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {"schema": "calharness.drift/1", "source": self.source,
                "interactions": self.interactions, "replayed": self.replayed,
                "differences": [asdict(d) for d in self.differences],
                "skipped": [{"index": i, "reason": r} for i, r in self.skipped],
                "mapped": self.mapped}


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
class Replayer(Protocol):
    """Sends recorded exchange number N (1-based), mapped onto the mock world, and returns the
    mock's answer or why it was not replayed (`harness.traffic.replay.MockReplayer`)."""

    mapped: list[Any]

    def prepare(self, exchanges: list[Exchange]) -> None: ...

    def __call__(self, number: int, recorded: Exchange) -> Exchange | str: ...


def drift(source: str, exchanges: list[Exchange], send: Replayer) -> DriftReport:
    report = DriftReport(source=source, interactions=len(exchanges))
    send.prepare(exchanges)
    for number, recorded in enumerate(exchanges, start=1):
        outcome = send(number, recorded)
        if isinstance(outcome, str):
            report.skipped.append((number, outcome))
            continue
        report.differences += compare(number, recorded, outcome)
    report.mapped = [asdict(m) if is_dataclass(m) and not isinstance(m, type) else m
                     for m in send.mapped]
    return report
