"""Check JSON the mocks emit against what the real services publish about themselves.

- Microsoft Graph: the v1.0 CSDL (service metadata) vendored in `data/` (MIT; source in
  `data/SOURCE.md`). Every property of an entity or complex type must exist on the type or one of
  its base types, with a JSON value of a compatible EDM type; enums must name a member.
- Google: the discovery documents of Calendar v3 and People v1 that ship inside
  google-api-python-client, so they are the ones the clients under test were built from.

A check returns `Violation`s (path, what is wrong); it never raises on a bad document. Instance
annotations (`@odata.*`, `property@odata.type`) are allowed, as OData allows them anywhere.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

EDM_NS = "{http://docs.oasis-open.org/odata/ns/edm}"
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Members Graph really sends in an error's innerError, documented by Microsoft but absent from the
# CSDL's publicInnerError (error bodies are not part of the entity model).
GRAPH_INNER_ERROR_EXTRAS = frozenset({"date", "request-id", "client-request-id"})


@dataclass(frozen=True, slots=True)
class Violation:
    path: str  # e.g. "event.attendees[0].emailAdress"
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# -- Microsoft Graph CSDL ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Prop:
    type: str  # "Edm.String", "graph.attendee"
    collection: bool
    nullable: bool


@dataclass(frozen=True, slots=True)
class StructuredType:
    name: str
    base: str | None
    properties: dict[str, Prop]
    open: bool


@dataclass(frozen=True, slots=True)
class Csdl:
    types: dict[str, StructuredType]  # by short name: "event"
    enums: dict[str, frozenset[str]]

    def property(self, type_name: str, name: str) -> Prop | None:
        seen = 0
        current: str | None = type_name
        while current is not None and seen < 32:
            structured = self.types.get(current)
            if structured is None:
                return None
            if name in structured.properties:
                return structured.properties[name]
            current = structured.base
            seen += 1
        return None


def _short(name: str) -> str:
    """`#microsoft.graph.event` / `graph.event` → `event` (an @odata.type annotation)."""
    for prefix in ("microsoft.graph.", "graph."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _parse_type(raw: str) -> tuple[str, bool]:
    if raw.startswith("Collection(") and raw.endswith(")"):
        return raw[11:-1], True
    return raw, False


def load_csdl(path: Path | None = None) -> Csdl:
    """The vendored Graph v1.0 CSDL (or `path`, plain or gzipped), indexed by type name:
    `microsoft.graph` types by their short name ("event"), others by namespace-qualified name
    (the metadata has more than one schema, and some reuse names such as "user")."""
    if path is None:
        data = resources.files("harness.drift").joinpath("data/graph-v1.0-csdl.xml.gz")
        raw = gzip.decompress(data.read_bytes())
    else:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(raw, parser)
    schemas = list(root.iter(f"{EDM_NS}Schema"))
    aliases = {s.get("Alias"): s.get("Namespace", "") for s in schemas if s.get("Alias")}

    def key(qualified: str, namespace: str) -> str:
        head, _, name = qualified.rpartition(".")
        full_ns = aliases.get(head, head) if head else namespace
        return name if full_ns == "microsoft.graph" else f"{full_ns}.{name}"

    types: dict[str, StructuredType] = {}
    enums: dict[str, frozenset[str]] = {}
    for schema in schemas:
        namespace = schema.get("Namespace", "")
        for elem in schema.iter(f"{EDM_NS}EntityType", f"{EDM_NS}ComplexType"):
            props = {}
            for p in elem.iter(f"{EDM_NS}Property", f"{EDM_NS}NavigationProperty"):
                type_name, collection = _parse_type(p.get("Type", ""))
                resolved = type_name if type_name.startswith("Edm.") else key(type_name,
                                                                              namespace)
                props[p.get("Name", "")] = Prop(resolved, collection,
                                                p.get("Nullable", "true") != "false")
            base = elem.get("BaseType")
            name = key(elem.get("Name", ""), namespace)
            types[name] = StructuredType(name, key(base, namespace) if base else None, props,
                                         elem.get("OpenType") == "true")
        for elem in schema.iter(f"{EDM_NS}EnumType"):
            enums[key(elem.get("Name", ""), namespace)] = frozenset(
                m.get("Name", "") for m in elem.iter(f"{EDM_NS}Member"))
    return Csdl(types, enums)


@cache
def graph_csdl() -> Csdl:
    return load_csdl()


def _edm_ok(edm: str, value: Any) -> bool:
    if edm == "Edm.String":
        return isinstance(value, str)
    if edm == "Edm.Boolean":
        return isinstance(value, bool)
    if edm in ("Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte"):
        return isinstance(value, int) and not isinstance(value, bool)
    if edm in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if edm == "Edm.DateTimeOffset":
        return isinstance(value, str) and bool(_DATE_TIME.match(value))
    if edm == "Edm.Date":
        return isinstance(value, str) and bool(_DATE.match(value))
    if edm in ("Edm.TimeOfDay", "Edm.Duration", "Edm.Guid", "Edm.Binary", "Edm.Stream"):
        return isinstance(value, str)
    return True  # Edm types the mocks never emit are not judged


def check_graph(type_name: str, value: Any, csdl: Csdl | None = None,
                path: str | None = None) -> list[Violation]:
    """Violations of `value` (a JSON object) against the Graph type `type_name` ("event")."""
    csdl = csdl or graph_csdl()
    out: list[Violation] = []
    _check_graph_object(csdl, type_name, value, path or type_name, out)
    return out


def _check_graph_object(csdl: Csdl, type_name: str, value: Any, path: str,
                        out: list[Violation]) -> None:
    if not isinstance(value, dict):
        out.append(Violation(path, f"expected a {type_name} object, got {type(value).__name__}"))
        return
    derived = value.get("@odata.type")
    if isinstance(derived, str) and _short(derived.lstrip("#")) in csdl.types:
        type_name = _short(derived.lstrip("#"))
    structured = csdl.types.get(type_name)
    if structured is None:
        out.append(Violation(path, f"the CSDL has no type {type_name!r}"))
        return
    for name, item in value.items():
        if name.startswith("@") or "@" in name:
            continue  # instance annotations
        prop = csdl.property(type_name, name)
        where = f"{path}.{name}"
        if prop is None:
            if type_name == "publicInnerError" and name in GRAPH_INNER_ERROR_EXTRAS:
                continue
            out.append(Violation(where, f"{type_name} has no property {name!r}"))
            continue
        _check_graph_value(csdl, prop, item, where, out)


def _check_graph_value(csdl: Csdl, prop: Prop, value: Any, path: str,
                       out: list[Violation]) -> None:
    if value is None:
        if not prop.nullable:
            out.append(Violation(path, "null where the CSDL says Nullable=false"))
        return
    if prop.collection:
        if not isinstance(value, list):
            out.append(Violation(path, f"expected a collection of {prop.type}"))
            return
        single = Prop(prop.type, False, False)
        for index, item in enumerate(value):
            _check_graph_value(csdl, single, item, f"{path}[{index}]", out)
        return
    if prop.type.startswith("Edm."):
        if not _edm_ok(prop.type, value):
            out.append(Violation(path, f"{value!r:.40} is not a valid {prop.type}"))
    elif prop.type in csdl.enums:
        members = csdl.enums[prop.type]
        # Flags enums are written as comma-separated member names.
        names = value.split(",") if isinstance(value, str) else [None]
        if not all(isinstance(n, str) and n.strip() in members for n in names):
            out.append(Violation(path, f"{value!r:.40} is not a member of {prop.type}"))
    else:
        _check_graph_object(csdl, prop.type, value, path, out)


# -- Google discovery documents ----------------------------------------------------------------
@cache
def google_discovery(api: str) -> dict[str, Any]:
    """`calendar.v3` or `people.v1`, from the copy google-api-python-client ships."""
    documents = resources.files("googleapiclient").joinpath("discovery_cache/documents")
    return json.loads(documents.joinpath(f"{api}.json").read_text(encoding="utf-8"))


def check_google(api: str, schema: str, value: Any, path: str | None = None) -> list[Violation]:
    """Violations of `value` against schema `schema` ("Event") of discovery document `api`."""
    schemas = google_discovery(api)["schemas"]
    out: list[Violation] = []
    if schema not in schemas:
        return [Violation(path or schema, f"{api} has no schema {schema!r}")]
    _check_google_value(schemas, {"$ref": schema}, value, path or schema, out, 0)
    return out


def _check_google_value(schemas: dict[str, Any], spec: dict[str, Any], value: Any, path: str,
                        out: list[Violation], depth: int) -> None:
    if depth > 40:
        return
    if "$ref" in spec:
        spec = schemas.get(spec["$ref"], {})
    kind = spec.get("type")
    if value is None:
        return  # the discovery format has no nullability; Google omits rather than nulls
    if kind == "object" or "properties" in spec:
        if not isinstance(value, dict):
            out.append(Violation(path, "expected an object"))
            return
        props = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        for name, item in value.items():
            where = f"{path}.{name}"
            if name in props:
                _check_google_value(schemas, props[name], item, where, out, depth + 1)
            elif isinstance(extra, dict):
                _check_google_value(schemas, extra, item, where, out, depth + 1)
            else:
                out.append(Violation(where, f"no property {name!r} in the discovery schema"))
    elif kind == "array":
        if not isinstance(value, list):
            out.append(Violation(path, "expected an array"))
            return
        for index, item in enumerate(value):
            _check_google_value(schemas, spec.get("items", {}), item, f"{path}[{index}]", out,
                                depth + 1)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(Violation(path, f"{value!r:.40} is not a string"))
        elif spec.get("format") == "date-time" and not _DATE_TIME.match(value):
            out.append(Violation(path, f"{value!r:.40} is not an RFC 3339 date-time"))
        elif spec.get("format") in ("int64", "uint64") and not value.lstrip("-").isdigit():
            out.append(Violation(path, f"{value!r:.40} is not an {spec['format']} string"))
        elif "enum" in spec and value not in spec["enum"]:
            out.append(Violation(path, f"{value!r:.40} is not one of the documented values"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(Violation(path, f"{value!r:.40} is not a boolean"))
    elif kind in ("integer", "number") and (isinstance(value, bool)
                                            or not isinstance(value, int | float)):
        out.append(Violation(path, f"{value!r:.40} is not a {kind}"))
    # "any" and unknown kinds are not judged
