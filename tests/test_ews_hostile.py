"""Hostile input to the EWS endpoint: every case is answered with a SOAP fault (or 413/415) in
well under a second and bounded memory, and the mock keeps serving afterwards.

Most cases run in-process against the ASGI app (a small driver below, so the request body can be
streamed and the bytes the app actually read counted); Python-heap peaks are measured with
tracemalloc and native (libxml2) memory with the process's peak RSS. A last test sends the worst
cases to the real TLS server and then a normal request.
"""

from __future__ import annotations

import asyncio
import base64
import resource
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from lxml import etree

from harness.net import httpx_verify
from mock_providers.app import create_app
from mock_providers.hub import Hub
from mock_providers.server import HubServer

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
XML_CT = "text/xml; charset=utf-8"
MAX_SECONDS = 1.0
MAX_PY_HEAP = 8 << 20  # per request, on top of the body itself
MAX_RSS_GROWTH_KIB = 96 << 10  # over every case together


def envelope(body: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (f'{prolog}<s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}"><s:Header>'
            '<t:RequestServerVersion Version="Exchange2016"/></s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


def _laughs() -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'


NORMAL = envelope('<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
                  '</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/>'
                  '</m:FolderIds></m:GetFolder>')
RESOLVE = "<m:ResolveNames><m:UnresolvedEntry>{}</m:UnresolvedEntry></m:ResolveNames>"
HOSTILE: dict[str, tuple[bytes, int, str]] = {
    # name: (body, expected status, expected ResponseCode)
    "billion laughs": (envelope(RESOLVE.format("&lol9;"), _laughs()), 500,
                       "ErrorSchemaValidation"),
    "quadratic blowup": (envelope(RESOLVE.format("&a;" * 150_000),
                                  '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "'
                                  + "A" * 200_000 + '">]>'), 500, "ErrorSchemaValidation"),
    "external entity (file)": (envelope(RESOLVE.format("&xxe;"),
                                        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM '
                                        '"file:///etc/passwd">]>'), 500, "ErrorSchemaValidation"),
    "external entity (http)": (envelope(RESOLVE.format("&xxe;"),
                                        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM '
                                        '"http://169.254.169.254/latest/meta-data/">]>'), 500,
                               "ErrorSchemaValidation"),
    "parameter entity": (envelope(RESOLVE.format("x"),
                                  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM '
                                  '"http://127.0.0.1:9/evil.dtd"> %p;]>'), 500,
                         "ErrorSchemaValidation"),
    "external DTD": (envelope(RESOLVE.format("x"), '<?xml version="1.0"?><!DOCTYPE s:Envelope '
                              'SYSTEM "http://127.0.0.1:9/soap.dtd">'), 500,
                     "ErrorSchemaValidation"),
    "xinclude": (envelope(RESOLVE.format(
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
        'parse="text"/>')), 500, "ErrorSchemaValidation"),
    "undefined entity": (envelope(RESOLVE.format("&xxe;")), 500, "ErrorSchemaValidation"),
    "UTF-16 hiding a DOCTYPE": ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a '
                                '"b">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/'
                                'envelope/"/>'.encode("utf-16"), 500, "ErrorSchemaValidation"),
    "deep nesting (100k)": (envelope("<a>" * 100_000 + "</a>" * 100_000), 500,
                            "ErrorSchemaValidation"),
    "nesting 200 deep": (envelope("<a>" * 200 + "</a>" * 200), 500, "ErrorSchemaValidation"),
    "99k elements": (envelope("<m:GetFolder>" + "<a/>" * 99_000 + "</m:GetFolder>"), 500,
                     "ErrorSchemaValidation"),
    "many elements (200k)": (envelope("<m:GetFolder>" + "<a/>" * 200_000 + "</m:GetFolder>"),
                             500, "ErrorSchemaValidation"),
    "not XML": (b"this is not xml <at all", 500, "ErrorSchemaValidation"),
    "JSON": (b'{"Envelope": {"Body": {}}}', 500, "ErrorSchemaValidation"),
    "empty body": (b"", 500, "ErrorSchemaValidation"),
    "not a SOAP envelope": (b'<?xml version="1.0"?><html><body/></html>', 500,
                            "ErrorSchemaValidation"),
    "oversized (2 MiB)": (envelope(RESOLVE.format("x" * (2 << 20))), 413,
                          "ErrorInvalidRequest"),
}


# -- an in-process ASGI driver -------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    bytes_read: int

    @property
    def code(self) -> str | None:
        root = etree.fromstring(self.body)
        return root.findtext(f"{{{S}}}Body/{{{S}}}Fault/detail/{{{E}}}ResponseCode")


async def _call(hub: Hub, chunks: Iterator[bytes], headers: dict[str, str]) -> Answer:
    app = create_app(hub)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/EWS/Exchange.asmx",
             "raw_path": b"/EWS/Exchange.asmx", "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    read = 0
    pending = next(chunks, None)

    async def receive() -> dict[str, object]:
        nonlocal read, pending
        chunk = pending if pending is not None else b""
        pending = next(chunks, None)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pending is not None}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])  # type: ignore[misc]
    raw_headers = start["headers"]
    return Answer(int(start["status"]),  # type: ignore[call-overload]
                  {k.decode(): v.decode() for k, v in raw_headers},  # type: ignore[attr-defined]
                  body, read)


def call(hub: Hub, body: bytes | Iterator[bytes], headers: dict[str, str]) -> Answer:
    if isinstance(body, bytes):
        headers = {"Content-Length": str(len(body)), **headers}
        chunks: Iterator[bytes] = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]
                                       or [b""])
    else:
        chunks = body
    return asyncio.run(_call(hub, chunks, headers))


@pytest.fixture
def hub() -> Hub:
    return Hub.seeded(42, "http://testserver")


def auth(hub: Hub) -> dict[str, str]:
    fabrikam = hub.world.tenant("fabrikam")
    assert fabrikam is not None
    user = sorted(fabrikam.users.values(), key=lambda u: u.upn)[0]
    token = base64.b64encode(f"{user.upn}:{user.password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": XML_CT}


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the cases -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_body_gets_a_fault_fast_and_small(hub: Hub, name: str) -> None:
    body, status, code = HOSTILE[name]
    headers = auth(hub)
    call(hub, NORMAL, headers)  # warm up imports and caches outside the measurement
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        answer = call(hub, body, headers)
        elapsed = time.perf_counter() - started
        heap = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert (answer.status, answer.code) == (status, code), answer.body[:500]
    assert answer.headers["content-type"].startswith("text/xml")
    assert elapsed < MAX_SECONDS, f"{name}: {elapsed:.3f}s"
    assert heap < MAX_PY_HEAP + len(body), f"{name}: {heap / 1024:.0f} KiB"
    assert b"root:" not in answer.body  # nothing of /etc/passwd ever comes back
    assert call(hub, NORMAL, headers).status == 200
    outcome = hub.world.audit.query(provider="ews")[-2]
    assert (outcome.status, outcome.outcome) == (status, code)


def test_all_cases_together_keep_native_memory_bounded(hub: Hub) -> None:
    headers = auth(hub)
    call(hub, NORMAL, headers)
    before = peak_rss_kib()
    for body, status, _ in HOSTILE.values():
        assert call(hub, body, headers).status == status
    assert peak_rss_kib() - before < MAX_RSS_GROWTH_KIB


def test_a_streamed_body_is_not_read_past_the_cap(hub: Hub) -> None:
    chunk = b"<a>" * 21_000  # 63 KiB
    endless = (chunk for _ in range(1000))  # 63 MB, no Content-Length
    started = time.perf_counter()
    answer = call(hub, endless, auth(hub))
    assert (answer.status, answer.code) == (413, "ErrorInvalidRequest")
    assert answer.headers["connection"] == "close"
    assert answer.bytes_read <= (1 << 20) + len(chunk)
    assert time.perf_counter() - started < MAX_SECONDS


def test_a_declared_oversized_body_is_refused_unread(hub: Hub) -> None:
    answer = call(hub, iter([b"<x/>"]), {**auth(hub), "Content-Length": str(64 << 20)})
    assert (answer.status, answer.code, answer.bytes_read) == (413, "ErrorInvalidRequest", 0)


@pytest.mark.parametrize("content_type", ["application/json", "application/soap+xml",
                                          "text/xml; charset=iso-8859-1", ""])
def test_wrong_content_type_is_415_with_a_fault(hub: Hub, content_type: str) -> None:
    headers = {**auth(hub), "Content-Type": content_type}
    answer = call(hub, NORMAL, headers)
    assert (answer.status, answer.code) == (415, "ErrorInvalidRequest")


def test_schema_faults_say_where(hub: Hub) -> None:
    answer = call(hub, envelope(RESOLVE.format("&xxe;"),
                                '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe "y">]>'),
                  auth(hub))
    detail = etree.fromstring(answer.body).find(f"{{{S}}}Body/{{{S}}}Fault/detail")
    assert detail is not None
    assert detail.findtext(f"{{{T}}}MessageXml/{{{T}}}LineNumber") == "2"
    assert "DTD is prohibited" in (detail.findtext(f"{{{T}}}MessageXml/{{{T}}}Violation") or "")


def test_the_real_server_survives_hostile_input(hub_server: HubServer) -> None:
    hub = hub_server.hub
    hub.reset()
    headers = auth(hub)
    with httpx.Client(base_url=hub.base_url, verify=httpx_verify(hub_server.ca_bundle),
                      timeout=10) as client:
        for name in ("billion laughs", "quadratic blowup", "external entity (file)",
                     "deep nesting (100k)", "many elements (200k)", "not XML"):
            body, status, code = HOSTILE[name]
            started = time.perf_counter()
            response = client.post("/EWS/Exchange.asmx", content=body, headers=headers)
            assert response.status_code == status, name
            assert time.perf_counter() - started < MAX_SECONDS, name
        response = client.post("/EWS/Exchange.asmx", content=NORMAL, headers=headers)
        assert response.status_code == 200
        assert b"IPF.Appointment" in response.content
