"""The driver seam between step definitions and the integration under test."""

from harness.api.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    MeetingUpdate,
    SettingsChangeResult,
)
from harness.driver.base import DriverError, IntegrationDriver

__all__ = [
    "AccountSettings", "AccountSpec", "AdminConsentResult", "ConnectRequest", "ConnectStart",
    "ContactEntry",
    "DriverError", "IntegrationDriver", "IntegrationStatus", "Meeting", "MeetingRequest",
    "MeetingUpdate",
    "SettingsChangeResult",
]
