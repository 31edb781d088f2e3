"""The World: tenants, users, mailboxes, Google domains, tokens, clock, faults and audit log."""

from __future__ import annotations

import base64
import random
import uuid
from datetime import datetime
from typing import Any

from mock_providers.world.audit import AuditLog
from mock_providers.world.clock import Clock
from mock_providers.world.faults import FaultPlan
from mock_providers.world.model import (
    Calendar,
    GoogleClient,
    GoogleDomain,
    GoogleUser,
    MsApp,
    MsTenant,
    MsUser,
)
from mock_providers.world.tokens import TokenRegistry


class World:
    def __init__(self, seed: int, clock: Clock | None = None) -> None:
        self.seed = seed
        self.clock = clock or Clock()
        self.faults = FaultPlan(seed)
        self.audit = AuditLog()
        self.tokens = TokenRegistry()
        self.ms_tenants: dict[str, MsTenant] = {}
        self.google_domains: dict[str, GoogleDomain] = {}
        self.google_clients: dict[str, GoogleClient] = {}
        self._seq = 0
        # Ids of items created at run time come from the seed too, so a run that makes the same
        # requests in the same order gets the same ids (and the same Google/Graph sort orders).
        self._ids = random.Random(f"calharness/runtime-ids/{seed}")
        # Indexes: every lookup on a request path is a dict hit.
        self._ms_users_by_upn: dict[str, MsUser] = {}
        self._ms_users_by_id: dict[str, MsUser] = {}
        self._tenant_by_alias: dict[str, MsTenant] = {}
        # The load population this world holds (world/bulk.py), once seeded.
        self.load: Any = None

    # -- sequence numbers for change tracking -------------------------------------------------
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @property
    def seq(self) -> int:
        return self._seq

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> str:
        """A uuid4-shaped id from the world's seeded stream."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def new_number(self, low: int, high: int) -> int:
        """An integer in [low, high) from the same stream (Google People resource names)."""
        return low + self._ids.randrange(high - low)

    def new_token(self, nbytes: int) -> str:
        """A URL-safe random string from the same stream (ids in join links, not secrets)."""
        return base64.urlsafe_b64encode(self._ids.randbytes(nbytes)).rstrip(b"=").decode()

    # -- Microsoft -----------------------------------------------------------------------------
    def add_tenant(self, tenant: MsTenant) -> MsTenant:
        self.ms_tenants[tenant.id] = tenant
        self._tenant_by_alias[tenant.id.lower()] = tenant
        self._tenant_by_alias[tenant.key.lower()] = tenant
        for domain in tenant.domains:
            self._tenant_by_alias[domain.lower()] = tenant
        for user in tenant.users.values():
            self.index_ms_user(user)
        return tenant

    def index_ms_user(self, user: MsUser) -> None:
        self._ms_users_by_upn[user.upn.lower()] = user
        self._ms_users_by_id[user.id] = user

    def tenant(self, alias: str) -> MsTenant | None:
        """A tenant by id, stable key or any of its domains (as Entra accepts in the authority)."""
        return self._tenant_by_alias.get(alias.lower())

    def ms_user(self, id_or_upn: str) -> MsUser | None:
        return self._ms_users_by_id.get(id_or_upn) or self._ms_users_by_upn.get(id_or_upn.lower())

    def ms_app(self, tenant: MsTenant, client_id: str) -> MsApp | None:
        return tenant.apps.get(client_id)

    # -- Google --------------------------------------------------------------------------------
    def add_google_domain(self, domain: GoogleDomain) -> GoogleDomain:
        self.google_domains[domain.domain.lower()] = domain
        return domain

    def google_user(self, email: str) -> GoogleUser | None:
        domain = self.google_domains.get(email.rsplit("@", 1)[-1].lower())
        return domain.users.get(email.lower()) if domain else None

    def google_calendar(self, user: GoogleUser, calendar_id: str) -> Calendar | None:
        if calendar_id == "primary":
            calendar_id = user.email
        return user.calendars.get(calendar_id)
