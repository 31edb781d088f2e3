"""The conformance API as a FastAPI app over any `IntegrationDriver`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from harness.api.capabilities import API_VERSION, Capabilities, Implementation
from harness.api.conformance import HubDescription
from harness.api.errors import DriverError
from harness.conformance.errors import install_error_handlers
from harness.conformance.host import DriverFactory, DriverHost
from harness.conformance.routes import router
from harness.driver.base import IntegrationDriver

TITLE = "calharness conformance API"
DESCRIPTION = (
    "The driver seam of calharness over HTTP: implement these operations in front of your "
    "calendar & contacts integration and `calharness run --target URL` runs the compliance "
    "features against it. Every error is `{\"error\": {\"code\", \"message\"}}`; clients read "
    "`code`. See docs/vendors.md."
)

__all__ = ["DriverFactory", "DriverHost", "create_app"]


def create_app(implementation: IntegrationDriver | DriverFactory | DriverHost,
               capabilities: Capabilities | None = None) -> FastAPI:
    """Serve an implementation: a `DriverFactory` (a fresh driver per account set-up, built from
    the hub description the harness hands over), one driver already wired to its providers,
    or a prepared `DriverHost`. `capabilities` is what the implementation claims."""
    if isinstance(implementation, DriverHost):
        host = implementation
    else:
        if capabilities is None:
            raise TypeError("capabilities: say what the implementation claims")
        if isinstance(implementation, IntegrationDriver):
            host = DriverHost.fixed(implementation, capabilities)
        else:
            host = DriverHost(implementation, capabilities)
    app = FastAPI(title=TITLE, version=API_VERSION, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.calharness_host = host
    install_error_handlers(app)
    app.include_router(router)
    return app


def openapi_document(app: FastAPI | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document the app serves at /openapi.json. It does not depend on the
    implementation behind the app, so any app gives the same document."""
    if app is None:
        placeholder = Capabilities(implementation=Implementation(name="none", version="0"),
                                   services=[])
        app = create_app(DriverHost(_no_implementation, placeholder))
    return app.openapi()


def _no_implementation(hub: HubDescription) -> IntegrationDriver:
    raise DriverError("no_implementation", "this app only describes the API")
