"""SSO prerequisites and sign-in prompts (SSO-04/06/07/08/09, PROMPT-01..04, CONSENT-11)."""

from dataclasses import replace

from harness.reference.mutants.core import mutant

RULES = "harness.reference.policy.rules"
PROMPTS = "harness.reference.policy.prompts"


def _sso_without(code: str):
    def wrap(original):
        def sso_refusals(values, feature):
            return [r for r in original(values, feature) if r.code != code]
        return sso_refusals
    return wrap


def _auto_without(code: str):
    def wrap(original):
        def auto_integrate_refusals(values, company_consent=False):
            return [r for r in original(values, company_consent) if r.code != code]
        return auto_integrate_refusals
    return wrap


def _decide_with(**changes):
    def wrap(original):
        def decide(facts):
            return original(replace(facts, **{k: v(facts) for k, v in changes.items()}))
        return decide
    return wrap


MUTANTS = [
    mutant("sso-idp-federation-not-required", "SSO-04",
           "the SSO integration is accepted without the IdP federated with Entra ID",
           (f"{RULES}:sso_refusals", _sso_without("idp_not_federated"))),
    mutant("sso-on-premises-accepted", "SSO-06",
           "the SSO integration is accepted for a fully on-premises environment",
           (f"{RULES}:sso_refusals", _sso_without("on_premises_unsupported"))),
    mutant("sso-office365-integration-not-required", "SSO-07",
           "the SSO integration is accepted without calendar integration for Office 365",
           (f"{RULES}:sso_refusals", _sso_without("office365_integration_required"))),
    mutant("auto-integrate-any-service", "SSO-08",
           "automatic integration upon login is accepted for services other than Office 365",
           (f"{RULES}:auto_integrate_refusals", _auto_without("office365_only"))),
    mutant("auto-integrate-user-consent-ignored", "CONSENT-11",
           "automatic integration upon login is accepted with the user-consent option off",
           (f"{RULES}:auto_integrate_refusals", _auto_without("users_cannot_consent"))),
    mutant("auto-integrate-not-at-login", "SSO-09",
           "automatic integration upon login does nothing at login",
           (f"{PROMPTS}:decide", _decide_with(auto_integrate=lambda f: False))),
    mutant("prompt-every-sign-in-only-first", "PROMPT-04",
           "every-sign-in mode asks only at the first sign-in",
           (f"{PROMPTS}:decide", _decide_with(ask_mode=lambda f: "first_sign_in"
                                              if f.ask_mode == "every_sign_in" else f.ask_mode))),
    mutant("prompt-first-sign-in-every-time", ("PROMPT-02", "PROMPT-03"),
           "first-sign-in mode keeps asking at every sign-in",
           (f"{PROMPTS}:decide", _decide_with(first_sign_in=lambda f: f.first_sign_in
                                              or f.ask_mode == "first_sign_in"))),
    mutant("prompt-password-sign-in", ("PROMPT-01",),
           "the Office 365 sign-in prompt also appears on password sign-in",
           (f"{PROMPTS}:decide", _decide_with(method=lambda f: "sso"))),
    mutant("reintegration-prompt-dropped", ("LOCK-03", "DOMAIN-03"),
           "users whose integration a lock or a domain restriction suspended are not prompted",
           (f"{PROMPTS}:decide", lambda orig: lambda facts: orig(replace(
               facts, conflicts=())) if facts.conflicts else orig(facts))),
    mutant("company-consent-ignored-for-user-consent-option", "APPROVAL-04",
           "the Office 365 admin's consent on behalf of the company does not let the admin "
           "switch the user-consent option off while users integrate automatically at login",
           (f"{RULES}:auto_integrate_refusals",
            lambda orig: lambda values, company_consent=False: orig(values, False))),
]
