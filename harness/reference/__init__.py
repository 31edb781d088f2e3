"""The reference implementation of a calendar & contacts integration, as the documents describe
it, built on the official client libraries and a real store. Only drivers import it."""

from harness.reference.config import AppRegistration, ReferenceConfig
from harness.reference.service import ReferenceIntegration

__all__ = ["AppRegistration", "ReferenceConfig", "ReferenceIntegration"]
