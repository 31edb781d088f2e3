"""The validator the policy engine uses for the reference implementation: allowed domains
normalised, value types checked by the driver's `AccountSettings`, and the cross-setting rules."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harness.api.models import AccountSettings
from harness.reference.policy.domains import DomainError, parse_allowed_domains
from harness.reference.policy.refusal import Refusal
from harness.reference.policy.rules import combined, settings_refusals

DEFAULTS: dict[str, Any] = AccountSettings().model_dump()


def validate_settings(values: dict[str, Any], where: str = "", *,
                      company_consent: bool = False) -> dict[str, Any] | Refusal:
    """`company_consent`: the Office 365 admin has consented on behalf of the company (a fact
    from outside the settings that some rules depend on)."""
    prefix = f"{where}: " if where else ""
    data = dict(values)
    domains = data.get("allowed_domains")
    if domains is None:
        data["allowed_domains"] = []
    elif isinstance(domains, str | list | tuple):
        try:
            data["allowed_domains"] = parse_allowed_domains(domains)
        except DomainError as exc:
            return Refusal("invalid_domain", f"{prefix}allowed domains: {exc}")
    try:
        settings = AccountSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        return Refusal("invalid_value",
                       f"{prefix}{'.'.join(map(str, first['loc']))}: {first['msg']}")
    dumped = settings.model_dump()
    refusal = combined(settings_refusals(dumped, company_consent), prefix)
    return refusal if refusal is not None else dumped
