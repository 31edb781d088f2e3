"""Acting for the user: the provider and the stored credentials of a working integration,
rotated tokens saved back, and the error contract of a write through the provider."""

from __future__ import annotations

from typing import Any

from harness.api.errors import DriverError
from harness.api.models import IntegrationStatus
from harness.reference.providers import Provider
from harness.reference.providers.base import AuthError, Credentials, ProviderError
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.service.status import Status


class Acting:
    def __init__(self, ctx: Context, status: Status) -> None:
        self.ctx, self.status = ctx, status

    def get(self, user: str) -> tuple[Provider, Credentials, IntegrationStatus] | None:
        """The provider, credentials and status to act with; None if the user has no working
        integration or the policy suspended it."""
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            if row is None or row.state != "connected" or row.credentials is None:
                return None
            if self.status.conflicts(s, row):
                return None  # the policy suspended this integration's access
            return self.ctx.provider_of(row), convert.credentials(row), convert.status(row)

    def require(self, user: str) -> tuple[Provider, Credentials, IntegrationStatus]:
        acting = self.get(user)
        if acting is not None:
            return acting
        suspended = self.status.suspended(user)
        if suspended:
            raise DriverError("reintegration_required",
                              f"{suspended}: set up the integration again")
        raise DriverError("not_connected", "the user has no working calendar integration")

    def save_credentials(self, user: str, creds: Credentials) -> None:
        if creds.changed:
            with self.ctx.store.session() as s:
                row = self.ctx.store.integration(s, user)
                if row is not None:
                    convert.store_credentials(row, creds)

    def write(self, user: str, creds: Credentials, action: Any) -> Any:
        """A provider write with the integration's error contract: a dead grant marks the
        integration for re-authentication; rotated tokens are saved whatever happens."""
        try:
            return action()
        except AuthError as exc:
            self.status.auth_failure(user, exc)
            raise DriverError("reauth_required", exc.summary) from exc
        except ProviderError as exc:
            code = "not_found" if exc.status == 404 else "provider_error"
            raise DriverError(code, str(exc)) from exc
        finally:
            self.save_credentials(user, creds)
