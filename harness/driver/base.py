"""The one interface step definitions use to act on "the integration under test".

Implementations: `ReferenceDriver` (in-process reference implementation). Steps never import the
reference implementation; whatever they need to observe about providers they read from the mock
hub's control API (the audit log), not from the integration's own account.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from harness.driver.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    SettingsChangeResult,
)


class DriverError(Exception):
    """The integration refused or failed an operation; `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IntegrationDriver(ABC):
    name: str

    @abstractmethod
    def setup_account(self, account: AccountSpec) -> None:
        """Start from a clean account with these people in it."""

    @abstractmethod
    def get_settings(self) -> AccountSettings: ...

    @abstractmethod
    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        """`actor` changes account settings; a refusal is a result, not an exception."""

    @abstractmethod
    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        """The user starts "Configure Calendar and Contacts Service"; returns where to send the
        user's browser. Raises DriverError when the set-up is refused."""

    @abstractmethod
    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        """The browser came back to the integration's redirect URI with this URL."""

    @abstractmethod
    def begin_admin_consent(self, actor: str) -> ConnectStart:
        """The account admin, as Office 365 admin, agrees on behalf of the company (Room
        Management > Calendar Integration, or consent on behalf of the account)."""

    @abstractmethod
    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult: ...

    @abstractmethod
    def integration_status(self, user: str) -> IntegrationStatus: ...

    @abstractmethod
    def sync_now(self, user: str) -> IntegrationStatus:
        """Run now the periodic sync the integration runs on its own schedule."""

    @abstractmethod
    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        """The user's meeting list for the window (the integration syncs as it sees fit)."""

    @abstractmethod
    def list_contacts(self, user: str) -> list[ContactEntry]: ...

    @abstractmethod
    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting: ...

    def close(self) -> None:  # noqa: B027 - optional hook, most drivers hold nothing
        """Release resources (connections, files)."""
