"""The integration's service: ReferenceIntegration, the facade the drivers use, over one module
per job (see integration.py for the map)."""

from harness.reference.service.consent import SETTINGS_ROLES
from harness.reference.service.integration import ReferenceIntegration

__all__ = ["SETTINGS_ROLES", "ReferenceIntegration"]
