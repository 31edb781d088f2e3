"""The conformance API: the driver seam over HTTP, so an implementation written in any language
can be tested. `create_app` serves any `IntegrationDriver`; `calharness reference serve` serves the
reference implementation with it. The HTTP driver on the other side is `harness.driver.http`."""

from harness.conformance.app import DriverFactory, DriverHost, create_app

__all__ = ["DriverFactory", "DriverHost", "create_app"]
