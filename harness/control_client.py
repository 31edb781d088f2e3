"""Client of the mock hub's control API: what step definitions use to arrange the providers' side
of a scenario and to observe what the integration did there (the audit log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from harness.net import httpx_verify


class ControlError(RuntimeError):
    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _secrets(wanted: bool) -> dict[str, str]:
    return {"secrets": "true"} if wanted else {}


class ControlClient:
    """`token` is the hub's control token (`control_token` of `calharness serve --json`,
    `HubServer.hub.control_token` in process); the control API refuses requests without it."""

    def __init__(self, control_url: str, ca_bundle: str | None, token: str,
                 timeout: float = 30.0) -> None:
        if not token:
            raise ValueError("the control API needs the hub's control token")
        self.url = control_url.rstrip("/")
        self._http = httpx.Client(verify=httpx_verify(ca_bundle), timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if method in ("POST", "PUT", "PATCH") and "json" not in kwargs:
            # The control API wants application/json on every write, body-less ones too.
            kwargs.setdefault("headers", {"Content-Type": "application/json"})
        response = self._http.request(method, self.url + path, **kwargs)
        if response.status_code >= 400:
            code = ""
            try:
                error = response.json()["error"]
                message, code = error["message"], str(error.get("code", ""))
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ControlError(f"{method} {path}: HTTP {response.status_code}: {message}",
                               response.status_code, code)
        return response.json() if response.content else None

    # -- world ---------------------------------------------------------------------------------
    def describe(self, *, secrets: bool = False) -> dict[str, Any]:
        """The hub description; users' passwords and client secrets only with `secrets=True`."""
        return dict(self._call("GET", "/world", params=_secrets(secrets)))

    def reset(self, seed: int | None = None, *, secrets: bool = False) -> dict[str, Any]:
        return dict(self._call("POST", "/reset", json={"seed": seed}, params=_secrets(secrets)))

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return dict(self._call("POST", "/clock/advance", json={"seconds": seconds}))

    # -- faults --------------------------------------------------------------------------------
    def add_fault(self, **spec: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/faults", json=spec))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, *, since: int = 0, provider: str | None = None, user: str | None = None,
              operation: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"since": since, "provider": provider, "user": user,
                                    "operation": operation}.items() if v is not None}
        return list(self._call("GET", "/audit", params=params)["entries"])

    def audit_position(self) -> int:
        return int(self._call("GET", "/audit", params={"limit": 0})["last_seq"])

    # -- Microsoft admin/user actions outside the integration ----------------------------------
    def change_password(self, upn: str, password: str) -> None:
        self._call("POST", f"/microsoft/users/{upn}/password", json={"password": password})

    def revoke_sessions(self, upn: str) -> None:
        self._call("POST", f"/microsoft/users/{upn}/revoke")

    def withdraw_user_consent(self, upn: str, client_id: str) -> bool:
        """The user removes the app's delegated permissions at Microsoft (My Apps)."""
        return bool(self._call("DELETE", f"/microsoft/users/{upn}/consents/{client_id}"
                               )["withdrawn"])

    def set_consent_policy(self, tenant: str, users_may_consent: bool,
                           delay_seconds: int = 1800) -> dict[str, Any]:
        return dict(self._call("POST", f"/microsoft/tenants/{tenant}/consent-policy",
                               json={"users_may_consent": users_may_consent,
                                     "delay_seconds": delay_seconds}))

    def grant_admin_consent(self, tenant: str, client_id: str, scopes: list[str]) -> None:
        self._call("POST", f"/microsoft/tenants/{tenant}/admin-consent",
                   json={"client_id": client_id, "scopes": scopes})

    def set_app_roles(self, tenant: str, client_id: str, roles: list[str]) -> None:
        self._call("PUT", f"/microsoft/tenants/{tenant}/apps/{client_id}/roles",
                   json={"roles": roles})

    def set_graph_limits(self, concurrency: int | None, per_10_min: int | None) -> None:
        self._call("PUT", "/microsoft/graph/limits",
                   json={"concurrency": concurrency, "per_10_min": per_10_min})

    # -- calendar content ----------------------------------------------------------------------
    def events(self, owner: str, start: datetime | None = None,
               end: datetime | None = None) -> list[dict[str, Any]]:
        """Every event of the owner's calendar; with a window, the occurrences in it (series
        expanded), as a calendar view would show them."""
        params = {}
        if start is not None and end is not None:
            params = {"expand": "true", "start": start.isoformat(), "end": end.isoformat()}
        return list(self._call("GET", f"/mailboxes/{owner}/events", params=params)["events"])

    def create_event(self, owner: str, subject: str, start: datetime, end: datetime,
                     **fields: Any) -> dict[str, Any]:
        body = {"subject": subject, "start": start.isoformat(), "end": end.isoformat(), **fields}
        return dict(self._call("POST", f"/mailboxes/{owner}/events", json=body))

    def calendars(self, owner: str) -> list[dict[str, Any]]:
        """Every calendar of the owner's mailbox (or Google user): id, name, is_default."""
        return list(self._call("GET", f"/mailboxes/{owner}/calendars")["calendars"])

    def calendar_events(self, owner: str, calendar_id: str, start: datetime | None = None,
                        end: datetime | None = None) -> list[dict[str, Any]]:
        """Every event of one of the owner's calendars (as `events` does for the default one)."""
        params = {}
        if start is not None and end is not None:
            params = {"expand": "true", "start": start.isoformat(), "end": end.isoformat()}
        path = f"/mailboxes/{owner}/calendars/{quote(calendar_id, safe='@')}/events"
        return list(self._call("GET", path, params=params)["events"])

    def create_calendar_event(self, owner: str, calendar_id: str, subject: str,
                              start: datetime, end: datetime) -> dict[str, Any]:
        path = f"/mailboxes/{owner}/calendars/{quote(calendar_id, safe='@')}/events"
        body = {"subject": subject, "start": start.isoformat(), "end": end.isoformat()}
        return dict(self._call("POST", path, json=body))

    def update_event(self, owner: str, event_id: str, **fields: Any) -> dict[str, Any]:
        body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
        return dict(self._call("PATCH", f"/mailboxes/{owner}/events/{event_id}", json=body))

    def delete_event(self, owner: str, event_id: str) -> None:
        self._call("DELETE", f"/mailboxes/{owner}/events/{event_id}")

    def contacts(self, owner: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/mailboxes/{owner}/contacts")["contacts"])

    def set_calendar_permission(self, owner: str, delegate: str, role: str) -> None:
        self._call("PUT", f"/mailboxes/{owner}/calendar/permissions/{delegate}",
                   json={"role": role})

    def set_exchange(self, tenant: str, *, deployment: str | None = None,
                     build: str | None = None, enforce_oauth: bool | None = None
                     ) -> dict[str, Any]:
        """The tenant's Exchange: deployment (online|hybrid|onpremises), build, enforce_oauth."""
        body = {k: v for k, v in {"deployment": deployment, "build": build,
                                  "enforce_oauth": enforce_oauth}.items() if v is not None}
        return dict(self._call("PUT", f"/microsoft/tenants/{tenant}/exchange", json=body))

    # -- Google admin/user actions outside the integration -------------------------------------
    def change_google_password(self, email: str, password: str) -> None:
        """Refresh tokens issued before the change then fail with invalid_grant."""
        self._call("POST", f"/google/users/{email}/password", json={"password": password})

    def revoke_google_grants(self, email: str, client_id: str | None = None) -> int:
        """The user removes the app's access (one client or all); returns how many lost it."""
        params = {"client_id": client_id} if client_id else None
        return int(self._call("POST", f"/google/users/{email}/revoke", params=params)["revoked"])

    # -- the load population (mock_providers/world/bulk.py) and the audit's summary -------------
    def load_seed(self, **spec: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/load/seed", json=spec))

    def load_info(self) -> dict[str, Any] | None:
        """The shard's load manifest, or None when it holds no load population."""
        try:
            return dict(self._call("GET", "/load"))
        except ControlError as exc:
            if exc.code == "loadNotSeeded":
                return None
            raise

    def load_claim(self) -> dict[str, Any] | None:
        """The next unclaimed load mailbox (with its password), or None when all are taken."""
        try:
            return dict(self._call("POST", "/load/claim"))
        except ControlError as exc:
            if exc.code == "loadExhausted":
                return None
            raise

    def load_release(self) -> None:
        self._call("POST", "/load/release")

    def load_links(self, prefix: str = "", address: str | None = None,
                   claimed: bool = True) -> dict[str, dict[str, int]]:
        params = {"prefix": prefix, "claimed": "true" if claimed else "false"}
        if address is not None:
            params["address"] = address
        return dict(self._call("GET", "/load/links", params=params)["mailboxes"])

    def load_mailboxes(self, claimed: bool = False) -> list[dict[str, Any]]:
        params = {"claimed": "true" if claimed else "false"}
        return list(self._call("GET", "/load/mailboxes", params=params)["mailboxes"])

    def audit_summary(self, since: int = 0) -> dict[str, Any]:
        return dict(self._call("GET", "/audit/summary", params={"since": since}))

    def clock(self) -> dict[str, Any]:
        return dict(self._call("GET", "/clock"))
