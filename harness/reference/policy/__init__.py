"""The policy engine of the reference implementation, as pure functions: settings at account,
group and user level with locks and their resolution, roles, allowed-domain matching, client
version comparison, and the MAPI / hybrid / SSO prerequisite rules. No I/O here: the service
loads a `PolicyState` from its store, asks, and saves what `apply_change` returns."""

from harness.reference.policy.changes import (
    INHERITED,
    Applied,
    AuditChange,
    ChangeRequest,
    apply_change,
)
from harness.reference.policy.conformance import Conflict, IntegrationFacts, conflicts
from harness.reference.policy.domains import (
    DomainError,
    canonical_email,
    domain_allowed,
    email_domain,
    normalise_domain,
    parse_allowed_domains,
)
from harness.reference.policy.prompts import PromptDecision, SignInFacts, decide
from harness.reference.policy.refusal import Refusal
from harness.reference.policy.resolution import Resolved, locked_above, resolve_all, resolve_setting
from harness.reference.policy.roles import ADMIN_ROLES, is_admin, may_change
from harness.reference.policy.rules import combined, graph_environment_refusal, mapi_refusals
from harness.reference.policy.schema import DEFAULTS, validate_settings
from harness.reference.policy.settings import SETTINGS, Level, SettingSpec
from harness.reference.policy.state import LevelState, PolicyState

__all__ = [
    "ADMIN_ROLES", "DEFAULTS", "INHERITED", "SETTINGS", "Applied", "AuditChange",
    "ChangeRequest", "Conflict", "DomainError", "IntegrationFacts", "Level", "LevelState",
    "PolicyState", "PromptDecision", "Refusal", "Resolved", "SettingSpec", "SignInFacts",
    "apply_change", "canonical_email", "combined", "conflicts", "decide", "domain_allowed",
    "email_domain",
    "graph_environment_refusal", "is_admin", "locked_above", "mapi_refusals", "may_change",
    "normalise_domain", "parse_allowed_domains", "resolve_all", "resolve_setting",
    "validate_settings",
]
