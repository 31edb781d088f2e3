"""Exchange Web Services mock (SOAP 1.1 at /EWS/Exchange.asmx): the route and the dispatch.

One request, in order: authentication (401 with Exchange's challenge headers, before any body is
read), content type (415), a capped body (413), the hardened parse (ErrorSchemaValidation fault),
the SOAP header (RequestServerVersion → ErrorInvalidServerVersion fault; ExchangeImpersonation →
the acting mailbox), the fault plan, then the operation (the `operations` table). Every answer
is written to the audit log with the operation name (CreateItem/UpdateItem/DeleteItem mark writes)
and the outcome ("ok" or the first ResponseCode). GET answers 401 unauthenticated, else
ErrorInvalidRequest.

Fault plan (`world.faults.take("ews", method, path, user)` with `user` the acting mailbox):
`throttle` → HTTP 500 ErrorServerBusy fault with BackOffMilliseconds = retry_after·1000
(default 2000); `status` → that HTTP status with a fault (500 ErrorInternalServerError, other
5xx ErrorInternalServerTransientError, 429 ErrorServerBusy, 403 ErrorAccessDenied, other 4xx
ErrorInvalidRequest; 401 the challenge; `code` overrides; `retry_after` adds Retry-After);
`latency` sleeps `delay_ms` then serves; `drop` starts the response and cuts the connection.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from lxml import etree
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from mock_providers.hub import EWS_PATH, Hub
from mock_providers.microsoft.ews.auth import (
    Principal,
    Unauthorized,
    acting_user,
    authenticate,
    challenge_headers,
)
from mock_providers.microsoft.ews.context import SESSION_ZONE, OpContext, read_time_zone_context
from mock_providers.microsoft.ews.operations import OPERATIONS
from mock_providers.microsoft.ews.render import (
    ServerVersion,
    fault_document,
    response_document,
    server_version,
)
from mock_providers.microsoft.ews.xml import (
    M_NS,
    RequestRejected,
    SoapRequest,
    check_content_type,
    parse_envelope,
    read_capped,
    schema_error,
    t,
    text,
)
from mock_providers.world import Fault as PlannedFault
from mock_providers.world import MsUser

_log = logging.getLogger(__name__)
_XML = "text/xml; charset=utf-8"
_DEFAULT_BACK_OFF_S = 2


class _Dropped(Response):
    """A `drop` fault: the response starts, then the connection is cut mid-body."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", _XML.encode()), (b"content-length", b"2048")]})
        await send({"type": "http.response.body", "body": b"<?xml version='1.0'",
                    "more_body": True})
        raise ConnectionAbortedError("calharness fault plan: connection dropped")


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    out = {"request-id": str(uuid.uuid4()), **(headers or {})}
    return Response(body, status_code=status, media_type=_XML, headers=out)


def _status_fault(spec_status: int, code: str | None) -> str:
    if code:
        return code
    if spec_status == 500:
        return "ErrorInternalServerError"
    if spec_status >= 500:
        return "ErrorInternalServerTransientError"
    return {429: "ErrorServerBusy", 403: "ErrorAccessDenied"}.get(spec_status,
                                                                  "ErrorInvalidRequest")


_DEFAULT_REQUEST_VERSION = "Exchange2007_SP1"  # what Exchange assumes without the element


def read_header(header: etree._Element | None) -> tuple[str, str | None]:
    """(RequestServerVersion, the mailbox ExchangeImpersonation names or None)."""
    if header is None:
        return _DEFAULT_REQUEST_VERSION, None
    version_elem = header.find(t("RequestServerVersion"))
    version = _DEFAULT_REQUEST_VERSION
    if version_elem is not None:
        version = (version_elem.get("Version") or "").strip()
    impersonation = header.find(t("ExchangeImpersonation"))
    if impersonation is None:
        return version, None
    sid = impersonation.find(t("ConnectingSID"))
    for name in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName", "SID"):
        value = text(sid, t(name))
        if value and value.strip():
            return version, value.strip()
    raise schema_error("ExchangeImpersonation needs t:ConnectingSID with PrimarySmtpAddress, "
                       "SmtpAddress, PrincipalName or SID.")


def auth_scheme(authorization: str | None) -> str:
    """`bearer`, `basic`, another scheme lower-cased, or `none`."""
    scheme = (authorization or "").strip().partition(" ")[0].lower()
    return scheme or "none"


class _Exchange:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def record(self, request: Request, status: int, principal: Principal | None,
               **fields: Any) -> None:
        if principal is not None:
            fields.setdefault("client_id", principal.client_id)
            fields.setdefault("user", principal.label)
            fields.setdefault("scopes", principal.scopes)
        # The scheme the request authenticated with (or tried to), unauthenticated ones too:
        # evidence that no Basic credentials reached Exchange where OAuth 2.0 is enforced.
        detail = dict(fields.pop("detail", None) or {})
        detail["auth"] = auth_scheme(request.headers.get("authorization"))
        if request.url.query:
            detail["query"] = request.url.query
        self.hub.record("ews", request.method, request.url.path, status, detail=detail,
                        **fields)

    def unauthorized(self, request: Request, exc: Unauthorized) -> Response:
        headers = challenge_headers(self.hub.world, exc, request.headers.get("x-anchormailbox"))
        response = Response(status_code=401)
        for name, value in headers:
            response.headers.append(name, value)
        self.record(request, 401, None, outcome="Unauthorized",
                    detail={"diagnostics": exc.diagnostics})
        return response

    def fault(self, request: Request, principal: Principal | None, version: ServerVersion | None,
              code: str, message: str, *, status: int = 500, operation: str | None = None,
              headers: dict[str, str] | None = None, user: str | None = None,
              planned: str | None = None, **extra: Any) -> Response:
        body = fault_document(code, message, version, **extra)
        if status == 413:
            headers = {**(headers or {}), "Connection": "close"}  # the rest was never read
        fields: dict[str, Any] = {"user": user} if user else {}
        self.record(request, status, principal, operation=operation, outcome=code,
                    detail={"fault": planned or True}, **fields)
        return _xml(body, status, headers)

    def rejected(self, request: Request, principal: Principal, version: ServerVersion,
                 exc: RequestRejected, operation: str | None) -> Response:
        return self.fault(request, principal, version, exc.code, exc.message, status=exc.status,
                          operation=operation, violation=exc.violation, line=exc.line,
                          position=exc.position)

    async def handle(self, request: Request) -> Response:
        try:
            principal = authenticate(self.hub, request.headers.get("authorization"))
        except Unauthorized as exc:
            return self.unauthorized(request, exc)
        version = server_version(principal.tenant)
        if request.method != "POST":
            return self.fault(request, principal, version, "ErrorInvalidRequest",
                              "The request is invalid.", status=400)
        operation: str | None = None
        try:
            check_content_type(request.headers.get("content-type"))
            body = await read_capped(request.stream(), request.headers.get("content-length"))
            soap = parse_envelope(body)
            operation = soap.name
            requested, impersonate = read_header(soap.header)
            session = read_time_zone_context(soap.header)
            if not version.accepts(requested):
                raise RequestRejected("ErrorInvalidServerVersion",
                                      "The specified server version is invalid.")
            acting = acting_user(self.hub.world, principal, impersonate)
        except RequestRejected as exc:
            return self.rejected(request, principal, version, exc, operation)
        planned = self.hub.world.faults.take("ews", request.method, request.url.path, acting.upn)
        if planned is not None:
            if planned.spec.kind == "latency":
                await asyncio.sleep(planned.spec.delay_ms / 1000)
            else:
                return self.planned_fault(request, principal, version, soap.name, planned,
                                          acting.upn)
        token = SESSION_ZONE.set(session)  # run() has no await: this request's zone only
        try:
            return self.run(request, principal, version, soap, acting, requested, impersonate)
        finally:
            SESSION_ZONE.reset(token)

    def planned_fault(self, request: Request, principal: Principal, version: ServerVersion,
                      operation: str, planned: PlannedFault, user: str) -> Response:
        spec = planned.spec
        if spec.kind == "drop":
            self.record(request, 200, principal, user=user, operation=operation,
                        outcome="ConnectionDropped", detail={"fault": planned.id})
            return _Dropped()
        if spec.kind == "throttle":
            seconds = spec.retry_after if spec.retry_after is not None else _DEFAULT_BACK_OFF_S
            code = spec.code or "ErrorServerBusy"
            return self.fault(request, principal, version, code,
                              "The server cannot service this request right now. Try again "
                              "later.", status=spec.status or 500, operation=operation,
                              user=user, planned=planned.id, back_off_ms=seconds * 1000)
        status = spec.status or 503
        headers = {"Retry-After": str(spec.retry_after)} if spec.retry_after is not None else {}
        if status == 401:
            return self.unauthorized(request, Unauthorized(
                '2000001;reason="The token is not valid (injected by the calharness fault '
                'plan).";error_category="invalid_token"', principal.tenant))
        return self.fault(request, principal, version, _status_fault(status, spec.code),
                          "The request failed (injected by the calharness fault plan).",
                          status=status, operation=operation, headers=headers, user=user,
                          planned=planned.id)

    def run(self, request: Request, principal: Principal, version: ServerVersion,
            soap: SoapRequest, acting: MsUser, requested: str,
            impersonate: str | None) -> Response:
        operation = soap.name
        handler = OPERATIONS.get(operation) if soap.namespace == M_NS else None
        if handler is None:
            return self.fault(request, principal, version, "ErrorInvalidOperation",
                              f"The operation '{operation}' is not supported by this server.",
                              operation=operation)
        ctx = OpContext(self.hub, self.hub.world, principal, acting, version,
                        {"api_version": requested})
        if impersonate is not None:
            ctx.detail["impersonation"] = acting.upn
        try:
            messages = handler(ctx, soap.operation)
            document = response_document(operation, messages, version)
        except RequestRejected as exc:
            return self.rejected(request, principal, version, exc, operation)
        except Exception:  # a mock bug must still answer as Exchange would: a SOAP fault
            _log.exception("EWS %s failed", operation)
            return self.fault(request, principal, version, "ErrorInternalServerError",
                              "An internal server error occurred. The operation failed.",
                              operation=operation, user=acting.upn)
        codes = [m.findtext(f"{{{M_NS}}}ResponseCode") for m in messages
                 if m.get("ResponseClass") == "Error"]
        self.record(request, 200, principal, user=acting.upn, operation=operation,
                    outcome=codes[0] if codes else "ok", detail=ctx.detail)
        return _xml(document)


def routes(hub: Hub) -> list[BaseRoute]:
    """The one EWS endpoint, at the root as Exchange serves it."""
    return [Route(EWS_PATH, _Exchange(hub).handle, methods=["GET", "POST"])]
