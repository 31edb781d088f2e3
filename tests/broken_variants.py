"""Deliberately broken variants of the reference implementation, served as targets the way a
vendor's implementation would be, to show the reports fail exactly what they break.

Each variant is the reference implementation with one behaviour changed at the driver seam; the
features must catch it from the providers' side (the hub's audit log) or from what the
integration shows, never from the integration's own word.
"""

from __future__ import annotations

from datetime import datetime
from unittest import mock

from fastapi import FastAPI

from harness.api.capabilities import Implementation
from harness.api.conformance import HubDescription
from harness.api.models import Access, ConnectRequest, ConnectStart, Meeting
from harness.conformance import create_app
from harness.conformance.host import DriverFactory
from harness.driver.base import IntegrationDriver
from harness.driver.reference import ReferenceDriver
from harness.reference import ReferenceConfig
from harness.reference.providers import microsoft_graph


def _factory(cls: type[ReferenceDriver]) -> DriverFactory:
    def make(hub: HubDescription) -> IntegrationDriver:
        return cls(ReferenceConfig.from_hub(hub.as_dict(), db_url="sqlite://"))

    return make


class OverreachingScopes(ReferenceDriver):
    """Asks Microsoft for Calendars.ReadWrite when the admin chose Calendar/Read (its Graph
    scope mapping is swapped for the length of a set-up); the integration still records
    Calendar/Read as its permission, so only the provider's side shows the overreach."""

    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        mapping = microsoft_graph.graph_scopes

        def overreaching(calendar: Access, contacts: Access) -> list[str]:
            return mapping("write" if calendar == "read" else calendar, contacts)

        with mock.patch.object(microsoft_graph, "graph_scopes", overreaching):
            return super().begin_connect(user, request)


class LeakingPrivateTopics(ReferenceDriver):
    """Shows an assistant without private access the topic of the executive's private events."""

    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        shown = super().calendar_of(viewer, owner, start, end)
        subjects = {m.id: m.subject for m in self.list_meetings(owner, start, end)}
        return [m.model_copy(update={"subject": subjects.get(m.id, m.subject)}) for m in shown]


WITHOUT_GOOGLE = ReferenceDriver.CAPABILITIES.model_copy(update={
    "implementation": Implementation(name="reference without Google", version="0"),
    "services": [s for s in ReferenceDriver.CAPABILITIES.services if s != "google"]})


def overreaching_scopes_app() -> FastAPI:
    return create_app(_factory(OverreachingScopes), ReferenceDriver.CAPABILITIES)


def leaking_private_topics_app() -> FastAPI:
    return create_app(_factory(LeakingPrivateTopics), ReferenceDriver.CAPABILITIES)


def without_google_app() -> FastAPI:
    return create_app(_factory(ReferenceDriver), WITHOUT_GOOGLE)


