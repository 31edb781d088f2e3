"""The implementation behind the conformance API: one `IntegrationDriver` at a time, made anew
from the hub description at every account set-up, every call serialized.

Serializing is what makes the in-process reference implementation safe behind a threaded
server (its store session and provider clients are not meant for concurrent callers), and it
keeps "all or nothing" simple: no request sees another one half done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harness.api.capabilities import Capabilities
from harness.api.conformance import AccountSetup, HubDescription
from harness.api.errors import DriverError
from harness.driver.base import IntegrationDriver

# Builds a fresh implementation wired to the hub the harness runs (endpoints, registrations).
DriverFactory = Callable[[HubDescription], IntegrationDriver]


class DriverHost:
    def __init__(self, factory: DriverFactory, capabilities: Capabilities) -> None:
        self._factory = factory
        self.capabilities = capabilities
        self._lock = threading.Lock()
        self._driver: IntegrationDriver | None = None

    @classmethod
    def fixed(cls, driver: IntegrationDriver, capabilities: Capabilities) -> DriverHost:
        """A host over one driver that is already wired to its providers: it answers from the
        start, account set-ups go to it, and the hub description they carry is not used."""
        host = cls(lambda hub: driver, capabilities)
        host._driver = driver
        return host

    def setup_account(self, setup: AccountSetup) -> None:
        """The new implementation replaces the old one only once its account exists, so a
        failed set-up leaves the previous state in place."""
        with self._lock:
            driver = self._factory(setup.hub)
            try:
                driver.setup_account(setup.account)
            except BaseException:
                if driver is not self._driver:
                    driver.close()
                raise
            previous, self._driver = self._driver, driver
            if previous is not None and previous is not driver:
                previous.close()

    @contextmanager
    def driver(self) -> Iterator[IntegrationDriver]:
        with self._lock:
            if self._driver is None:
                raise DriverError("no_account", "no account is set up yet: PUT /account first")
            yield self._driver

    def close(self) -> None:
        with self._lock:
            if self._driver is not None:
                self._driver.close()
                self._driver = None
