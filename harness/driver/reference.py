"""In-process driver: the reference implementation behind the driver seam."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.driver.base import IntegrationDriver
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
from harness.reference import ReferenceConfig, ReferenceIntegration


class ReferenceDriver(IntegrationDriver):
    name = "reference"

    def __init__(self, config: ReferenceConfig) -> None:
        self._impl = ReferenceIntegration(config)

    def setup_account(self, account: AccountSpec) -> None:
        self._impl.setup_account(account)

    def get_settings(self) -> AccountSettings:
        return self._impl.settings()

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        return self._impl.change_settings(actor, changes)

    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        return self._impl.begin_connect(user, request)

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        return self._impl.complete_connect(user, callback_url)

    def begin_admin_consent(self, actor: str) -> ConnectStart:
        return self._impl.begin_admin_consent(actor)

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        return self._impl.complete_admin_consent(actor, callback_url)

    def integration_status(self, user: str) -> IntegrationStatus:
        return self._impl.integration_status(user)

    def sync_now(self, user: str) -> IntegrationStatus:
        return self._impl.sync_now(user)

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._impl.list_meetings(user, start, end)

    def list_contacts(self, user: str) -> list[ContactEntry]:
        return self._impl.list_contacts(user)

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        return self._impl.schedule_meeting(user, request)

    def close(self) -> None:
        self._impl.close()
