"""AADSTS errors in the shapes Entra sends them: token-endpoint JSON, authorize redirect
parameters, and the text shown on error pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from mock_providers.microsoft.scopes import ScopeError

# code -> (OAuth error, HTTP status, message template, suberror)
_CATALOGUE: dict[int, tuple[str, int, str, str | None]] = {
    28000: ("invalid_scope", 400, "Provided value for the input parameter scope is not valid "
            "because it contains more than one resource. Scope {scope} is not valid.", None),
    50011: ("invalid_request", 400, "The redirect URI '{redirect_uri}' specified in the request "
            "does not match the redirect URIs configured for the application '{client_id}'. Make "
            "sure the redirect URI sent in the request matches one added to your application in "
            "the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more "
            "about how to fix this.", None),
    50020: ("invalid_request", 400, "User account '{upn}' from identity provider does not exist "
            "in tenant '{tenant}' and cannot access the application '{client_id}' in that "
            "tenant.", None),
    50034: ("invalid_grant", 400, "The user account {upn} does not exist in the {tenant} "
            "directory. To sign into this application, the account must be added to the "
            "directory.", None),
    50058: ("login_required", 400, "A silent sign-in request was sent but no user is signed "
            "in.", None),
    50059: ("invalid_request", 400, "No tenant-identifying information found in either the "
            "request or implied by any provided credentials.", None),
    50126: ("invalid_grant", 400, "Error validating credentials due to invalid username or "
            "password.", None),
    50173: ("invalid_grant", 400, "The provided grant has expired due to it being revoked, a "
            "fresh auth token is needed. The user might have changed or reset their password. "
            "The grant was issued on '{issued}' and the TokensValidFrom date (before which tokens "
            "are not valid) for this user is '{valid_from}'.", "bad_token"),
    54005: ("invalid_grant", 400, "OAuth2 Authorization code was already redeemed, please retry "
            "with a new valid code or use an existing refresh token.", None),
    65001: ("invalid_grant", 400, "The user or administrator has not consented to use the "
            "application with ID '{client_id}' named '{app_name}'. Send an interactive "
            "authorization request for this user and resource.", "consent_required"),
    65004: ("access_denied", 400, "User declined to consent to access the app.", None),
    70000: ("invalid_grant", 400, "The provided value for the '{param}' parameter is not valid. "
            "{reason}", None),
    70003: ("unsupported_grant_type", 400, "The app requested an unsupported grant type "
            "'{grant_type}'.", None),
    70005: ("unsupported_response_type", 400, "response_type '{response_type}' is not enabled "
            "for the application.", None),
    70008: ("invalid_grant", 400, "The provided authorization code or refresh token has expired "
            "due to inactivity. Send a new interactive authorization request for this user and "
            "resource.", None),
    70011: ("invalid_scope", 400, "The provided value for the input parameter 'scope' is not "
            "valid. The scope {scope} is not valid.", None),
    90002: ("invalid_tenant", 400, "Tenant '{tenant}' not found. Check to make sure you have the "
            "correct tenant ID and are signing into the correct cloud. Check with your "
            "subscription administrator, this may happen if there are no active subscriptions for "
            "the tenant.", None),
    90023: ("invalid_request", 400, "Unsupported '{param}' value '{value}'.", None),
    90033: ("temporarily_unavailable", 503, "A transient error has occurred. Please try "
            "again.", None),
    90055: ("temporarily_unavailable", 429, "There are too many incoming requests. Please try "
            "again later.", None),
    90094: ("access_denied", 400, "The grant requires admin permission.", None),
    500011: ("invalid_resource", 400, "The resource principal named {resource} was not found in "
             "the tenant named {tenant}. This can happen if the application has not been "
             "installed by the administrator of the tenant or consented to by any user in the "
             "tenant. You might have sent your authentication request to the wrong tenant.", None),
    500112: ("invalid_grant", 400, "The reply address '{redirect_uri}' does not match the reply "
             "address '{expected}' provided when requesting Authorization code.", None),
    501481: ("invalid_grant", 400, "The Code_Verifier does not match the code_challenge supplied "
             "in the authorization request.", None),
    700016: ("unauthorized_client", 400, "Application with identifier '{client_id}' was not found "
             "in the directory '{tenant}'. This can happen if the application has not been "
             "installed by the administrator of the tenant or consented to by any user in the "
             "tenant. You may have sent your authentication request to the wrong tenant.", None),
    700025: ("invalid_client", 401, "Client is public so neither 'client_assertion' nor "
             "'client_secret' should be presented.", None),
    700082: ("invalid_grant", 400, "The refresh token has expired due to inactivity. The token "
             "was issued on {issued} and was inactive for {inactive}.", "bad_token"),
    900144: ("invalid_request", 400, "The request body must contain the following parameter: "
             "'{param}'.", None),
    900561: ("invalid_request", 400, "The endpoint only accepts POST, OPTIONS requests. "
             "Received a {method} request.", None),
    1002012: ("invalid_scope", 400, "The provided value for scope {scope} is not valid. Client "
              "credential flows must have a scope value with /.default suffixed to the resource "
              "identifier (application ID URI).", None),
    7000215: ("invalid_client", 401, "Invalid client secret provided. Ensure the secret being "
              "sent in the request is the client secret value, not the client secret ID, for a "
              "secret added to app '{client_id}'.", None),
    7000218: ("invalid_client", 401, "The request body must contain the following parameter: "
              "'client_assertion' or 'client_secret'.", None),
    9002313: ("invalid_request", 400, "Invalid request. Request is malformed or invalid.", None),
}


@dataclass(eq=False)
class AadError(Exception):
    """One AADSTS error; build with `aad_error(code, **fields)`."""

    code: int
    error: str
    status: int
    message: str
    suberror: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # e.g. error_subcodes for a redirect

    def __str__(self) -> str:
        return f"AADSTS{self.code}: {self.message}"

    @property
    def outcome(self) -> str:
        return f"AADSTS{self.code}"


def aad_error(code: int, *, error: str | None = None, status: int | None = None,
              message: str | None = None, **fields: Any) -> AadError:
    default_error, default_status, template, suberror = _CATALOGUE[code]
    text = message if message is not None else template.format_map(_Blank(fields))
    return AadError(code, error or default_error, status or default_status, text, suberror)


def scope_error(exc: ScopeError, tenant_label: str) -> AadError:
    """The AADSTS error for a scope the catalogue refused (`mock_providers.microsoft.scopes`)."""
    return aad_error(exc.code, tenant=tenant_label, **exc.fields)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class Trace:
    """The identifiers every Entra error carries (correlation id echoes `client-request-id`)."""

    trace_id: str
    correlation_id: str
    when: datetime

    @classmethod
    def new(cls, now: float, correlation_id: str | None = None) -> Trace:
        return cls(str(uuid.uuid4()), correlation_id or str(uuid.uuid4()),
                   datetime.fromtimestamp(now, UTC))

    @property
    def timestamp(self) -> str:
        return self.when.strftime("%Y-%m-%d %H:%M:%SZ")


def describe(err: AadError, trace: Trace) -> str:
    return (f"AADSTS{err.code}: {err.message}\r\nTrace ID: {trace.trace_id}\r\n"
            f"Correlation ID: {trace.correlation_id}\r\nTimestamp: {trace.timestamp}")


def error_uri(base_url: str, code: int) -> str:
    return f"{base_url}/error?code={code}"


def token_error_body(err: AadError, trace: Trace, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": err.error,
        "error_description": describe(err, trace),
        "error_codes": [err.code],
        "timestamp": trace.timestamp,
        "trace_id": trace.trace_id,
        "correlation_id": trace.correlation_id,
        "error_uri": error_uri(base_url, err.code),
    }
    if err.suberror:
        body["suberror"] = err.suberror
    return body


def no_store_headers(trace: Trace) -> dict[str, str]:
    return {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache",
            "x-ms-request-id": trace.trace_id, "client-request-id": trace.correlation_id}


def token_error_response(err: AadError, trace: Trace, base_url: str,
                         headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(token_error_body(err, trace, base_url), status_code=err.status,
                        headers={**no_store_headers(trace), **(headers or {})})


def redirect_error_params(err: AadError, trace: Trace, base_url: str,
                          state: str | None) -> dict[str, str]:
    """Query/fragment parameters of an error sent back to the client's redirect URI."""
    params = {"error": err.error, "error_description": describe(err, trace),
              "error_uri": error_uri(base_url, err.code), **err.extra}
    if state is not None:
        params["state"] = state
    return params


def known_codes() -> list[int]:
    return sorted(_CATALOGUE)


def catalogue_message(code: int) -> str | None:
    entry = _CATALOGUE.get(code)
    return entry[2] if entry else None
