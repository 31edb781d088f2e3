"""The reference implementation behind the conformance API (`calharness reference serve`): the
example a vendor can read, and what CI runs the HTTP path of the features against."""

from __future__ import annotations

from fastapi import FastAPI

from harness.api.conformance import HubDescription
from harness.api.errors import DriverError
from harness.conformance.app import create_app
from harness.conformance.host import DriverFactory
from harness.driver.base import IntegrationDriver
from harness.driver.reference import ReferenceDriver
from harness.reference import ReferenceConfig

IN_MEMORY = "sqlite://"


def reference_factory(db_url: str | None = None) -> DriverFactory:
    """A fresh reference implementation per account set-up, wired to the hub described. The
    store is an in-memory SQLite database per set-up unless `db_url` names one (then each
    set-up resets it)."""

    def make(hub: HubDescription) -> IntegrationDriver:
        try:
            config = ReferenceConfig.from_hub(hub.as_dict(), db_url=db_url or IN_MEMORY)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise DriverError("invalid_hub", "the hub description lacks what the reference "
                                             f"implementation needs: {exc!r}") from None
        return ReferenceDriver(config)

    return make


def reference_app(db_url: str | None = None) -> FastAPI:
    return create_app(reference_factory(db_url), ReferenceDriver.CAPABILITIES)
