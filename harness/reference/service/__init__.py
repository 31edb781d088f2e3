"""The integration's service: ReferenceIntegration, the facade the drivers use."""

from harness.reference.service.integration import SETTINGS_ROLES, ReferenceIntegration

__all__ = ["SETTINGS_ROLES", "ReferenceIntegration"]
