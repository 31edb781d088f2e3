"""What a scenario's steps share: the seams (driver, control API, user agent) and what earlier
steps established. Steps keep state here, never in module globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.control_client import ControlClient
from harness.driver.base import IntegrationDriver


@dataclass
class ScenarioContext:
    control: ControlClient
    world: dict[str, Any]
    driver: IntegrationDriver
    ca_bundle: str | None
    seed: int
    audit_start: int = 0
    owner: str | None = None
    user: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def tenant(self, key: str) -> dict[str, Any]:
        for tenant in self.world["microsoft"]["tenants"]:
            if key in (tenant["key"], tenant["id"]) or key in tenant["domains"]:
                return dict(tenant)
        raise LookupError(f"the mock world has no Microsoft tenant {key!r}")

    def tenant_admin(self, key: str) -> dict[str, Any]:
        return next(u for u in self.tenant(key)["users"] if u["is_admin"])

    def tenant_member(self, key: str, index: int = 0) -> dict[str, Any]:
        members = [u for u in self.tenant(key)["users"] if not u["is_admin"]]
        return dict(members[index])

    def google_user(self, index: int = 0) -> dict[str, Any]:
        users = self.world["google"]["users"]
        if index >= len(users):
            raise LookupError(f"the mock world has only {len(users)} Google users")
        return dict(users[index])

    def password_of(self, email: str) -> str:
        changed = self.values.get("passwords", {}).get(email.lower())
        if changed:
            return str(changed)
        for tenant in self.world["microsoft"]["tenants"]:
            for user in tenant["users"]:
                if user["upn"].lower() == email.lower():
                    return str(user["password"])
        for user in self.world["google"]["users"]:
            if user["email"].lower() == email.lower():
                return str(user["password"])
        raise LookupError(f"no provider account for {email}")
