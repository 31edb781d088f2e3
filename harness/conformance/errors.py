"""One error shape for every answer that is not a success: `{"error": {"code", "message"}}`.

An integration's refusal (`DriverError`) keeps its code; a request the API cannot read is 422
`invalid_request`; an unknown path 404 `not_found`; a wrong method 405 `method_not_allowed`. Bad
input is never a 5xx: a 500 `internal_error` means the implementation itself broke.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from harness.api.conformance import ErrorBody, ErrorDetail
from harness.api.errors import DriverError

log = logging.getLogger("calharness.conformance")

# A refusal is 409 (the request is understood, the integration's state or policy says no)
# unless its code says the actor may not do this (403), names nothing that exists (404) or is
# malformed input the integration itself rejects (422). Clients read `code`, not the status.
STATUS_BY_CODE: dict[str, int] = {
    "not_an_admin": 403,
    "no_scheduling_privilege": 403,
    "cannot_grant_self": 403,
    "no_account": 404,
    "not_a_member": 404,
    "no_tenant": 404,
    "unknown_calendar": 404,
    "invalid_email": 422,
    "invalid_hub": 422,
}
DEFAULT_REFUSAL_STATUS = 409
MESSAGE_LIMIT = 600

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "invalid_request",
              413: "invalid_request", 415: "invalid_request"}

# Documented on every operation, so clients (and schemathesis) know the shape of each status.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the body cannot be read (invalid_request)"},
    403: {"model": ErrorBody, "description": "refused: the actor may not do this"},
    404: {"model": ErrorBody, "description": "refused: the person or thing named does not exist"},
    409: {"model": ErrorBody, "description": "refused by the integration (code says why)"},
    422: {"model": ErrorBody, "description": "the request is malformed (invalid_request) or "
                                             "the integration rejected an input"},
}


def status_for(code: str) -> int:
    return STATUS_BY_CODE.get(code, DEFAULT_REFUSAL_STATUS)


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    text = " ".join(str(message).split())
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    body = ErrorBody(error=ErrorDetail(code=code, message=text or code))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def describe_validation_errors(errors: list[Any]) -> str:
    """pydantic's error list -> 'body.account.owner: Field required; query.start: ...'."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "__root__")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else
                     str(error.get("msg", "invalid")))
    more = len(errors) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


async def _driver_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DriverError)
    return error_response(status_for(exc.code), exc.code, exc.message)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", describe_validation_errors(list(exc.errors())))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "invalid_request" if exc.status_code < 500
                          else "internal_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DriverError, _driver_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
