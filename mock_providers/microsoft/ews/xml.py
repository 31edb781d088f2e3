"""Safe intake of EWS requests: a capped body, then a hardened parse of the SOAP envelope.

Hostile XML never reaches a parser that could act on it:

1. the body is read as a stream and refused past `MAX_BODY_BYTES` (a declared Content-Length
   over the cap is refused before a byte is read);
2. it must be strict UTF-8, and any `<!DOCTYPE` or `<!ENTITY` is refused outright, as defusedxml
   does — no DTD means no internal-entity expansion (billion laughs, quadratic blowup), no external
   entities (`SYSTEM "file:///etc/passwd"`, http URLs) and no parameter entities;
3. a body with more `<` than `MAX_ELEMENTS` elements could need is refused before parsing;
4. the parse itself runs with lxml's hardened options (`resolve_entities=False`,
   `no_network=True`, `load_dtd=False`, `huge_tree=False` — libxml2 then also stops at 256
   levels —, encoding forced to UTF-8 so a declared encoding cannot hide markup from step 2),
   and the tree is refused past `MAX_DEPTH` levels or `MAX_ELEMENTS` elements (both counted by
   XPath inside libxml2, so even a large tree creates no Python objects);
5. XInclude elements are refused (lxml never processes them unless asked; refusing them makes the
   answer explicit).

Every refusal is a `RequestRejected` the endpoint renders as a SOAP fault (or 413 / 415).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from lxml import etree

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
E_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"
XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")

MAX_BODY_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_ELEMENTS = 50_000
_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY")


class RequestRejected(Exception):
    """A request refused before any operation ran; rendered as a SOAP fault with `code`."""

    def __init__(self, code: str, message: str, *, status: int = 500, violation: str | None = None,
                 line: int | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.violation, self.line, self.position = violation, line, position


def schema_error(violation: str, line: int | None = None,
                 position: int | None = None) -> RequestRejected:
    return RequestRejected("ErrorSchemaValidation", "The request failed schema validation.",
                           violation=violation, line=line, position=position)


@dataclass(frozen=True, slots=True)
class SoapRequest:
    header: etree._Element | None
    operation: etree._Element  # the one child of s:Body, e.g. m:GetFolder

    @property
    def name(self) -> str:
        return etree.QName(self.operation).localname

    @property
    def namespace(self) -> str | None:
        return etree.QName(self.operation).namespace


def check_content_type(value: str | None) -> None:
    """SOAP 1.1 is `text/xml`; EWS reads UTF-8 only (what every client sends)."""
    media, _, params = (value or "").partition(";")
    if media.strip().lower() != "text/xml":
        raise RequestRejected(
            "ErrorInvalidRequest", f"Cannot process the message because the content type "
            f"'{value or ''}' was not the expected type 'text/xml; charset=utf-8'.", status=415)
    for param in params.split(";"):
        key, _, charset = param.partition("=")
        if key.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
                "utf-8", "utf8"):
            raise RequestRejected(
                "ErrorInvalidRequest", f"The charset '{charset.strip()}' is not supported; "
                "send UTF-8.", status=415)


async def read_capped(chunks: AsyncIterator[bytes], declared_length: str | None,
                      limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or RequestRejected(413) as soon as it passes `limit`: never more than
    `limit` plus one network chunk is held."""
    if declared_length is not None:
        try:
            if int(declared_length) > limit:
                raise _too_large(limit)
        except ValueError:
            raise RequestRejected("ErrorInvalidRequest", "Invalid Content-Length.",
                                  status=400) from None
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> RequestRejected:
    return RequestRejected(
        "ErrorInvalidRequest", f"The request is larger than the {limit // 1024} KB this server "
        "accepts.", status=413)


_PARSER_OPTIONS = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
    "dtd_validation": False, "attribute_defaults": False, "encoding": "utf-8",
    "collect_ids": False, "remove_comments": True, "remove_pis": True,
}
# Evaluated inside libxml2: no Python object per node, so a big tree costs no GC work.
_TOO_DEEP = etree.XPath(f"boolean({'/*' * (MAX_DEPTH + 1)})")
_ELEMENT_COUNT = etree.XPath("count(//*)")


def parse_xml(body: bytes) -> etree._Element:
    """The root element of `body`, or RequestRejected; bounded in time and memory."""
    if not body.strip():
        raise schema_error("Root element is missing.", 1, 1)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise schema_error(f"Invalid character in the given encoding (byte {exc.start}).") \
            from None
    for marker in _FORBIDDEN_MARKUP:
        at = body.find(marker)
        if at >= 0:
            line = body.count(b"\n", 0, at) + 1
            raise schema_error(
                "For security reasons DTD is prohibited in this XML document.", line,
                at - (body.rfind(b"\n", 0, at) + 1) + 1)
    if body.count(b"<") > 2 * MAX_ELEMENTS + 64:
        # every element needs one or two '<': this many means too many elements, known
        # before a single node is built
        raise schema_error(f"The XML has more than {MAX_ELEMENTS} elements.")
    try:
        # huge_tree=False also makes libxml2 stop at 256 levels while parsing
        root = etree.fromstring(body, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        line, position = exc.position if exc.position else (None, None)
        raise schema_error(str(exc.msg or exc), line, position) from None
    if _TOO_DEEP(root):
        raise schema_error(f"The XML is nested deeper than {MAX_DEPTH} levels.")
    if _ELEMENT_COUNT(root) > MAX_ELEMENTS:
        raise schema_error(f"The XML has more than {MAX_ELEMENTS} elements.")
    if root.getroottree().docinfo.doctype:  # unreachable after the scan; kept as a guard
        raise schema_error("For security reasons DTD is prohibited in this XML document.")
    for namespace in XINCLUDE_NAMESPACES:
        if next(root.iter(f"{{{namespace}}}*"), None) is not None:
            raise schema_error("XInclude is not allowed in a request.")
    return root


def parse_envelope(body: bytes) -> SoapRequest:
    root = parse_xml(body)
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise schema_error(f"The root element must be the SOAP 1.1 Envelope, not "
                           f"'{etree.QName(root).localname}'.")
    header = root.find(f"{{{SOAP_NS}}}Header")
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    if soap_body is None:
        raise schema_error("The SOAP Envelope has no Body.")
    children = [c for c in soap_body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise schema_error("The SOAP Body must contain exactly one request element.")
    return SoapRequest(header, children[0])


# -- reading helpers the operations share ---------------------------------------------------
def m(name: str) -> str:
    return f"{{{M_NS}}}{name}"


def t(name: str) -> str:
    return f"{{{T_NS}}}{name}"


def child(elem: etree._Element | None, tag: str) -> etree._Element | None:
    return None if elem is None else elem.find(tag)


def text(elem: etree._Element | None, tag: str, default: str | None = None) -> str | None:
    found = child(elem, tag)
    if found is None or found.text is None:
        return default
    return found.text


def local(elem: etree._Element) -> str:
    return etree.QName(elem).localname
