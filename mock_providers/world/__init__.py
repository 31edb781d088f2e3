"""The one in-memory world every mock provider serves from."""

from __future__ import annotations

from mock_providers.world.audit import AuditEntry, AuditLog
from mock_providers.world.clock import Clock
from mock_providers.world.collection import Change, Collection
from mock_providers.world.faults import Fault, FaultPlan, FaultSpec
from mock_providers.world.model import (
    Attendee,
    Calendar,
    Contact,
    ContactFolder,
    Event,
    GoogleClient,
    GoogleDomain,
    GoogleUser,
    Mailbox,
    MsApp,
    MsTenant,
    MsUser,
)
from mock_providers.world.tokens import AuthCode, RefreshGrant, TokenRegistry
from mock_providers.world.world import World

__all__ = [
    "Attendee", "AuditEntry", "AuditLog", "AuthCode", "Calendar", "Change", "Clock", "Collection",
    "Contact", "ContactFolder", "Event", "Fault", "FaultPlan", "FaultSpec", "GoogleClient",
    "GoogleDomain", "GoogleUser", "Mailbox", "MsApp", "MsTenant", "MsUser", "RefreshGrant",
    "TokenRegistry", "World",
]
