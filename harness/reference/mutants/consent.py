"""Admin consent and who may give it (CONSENT, ROOMS, APPPERM)."""

from harness.reference.mutants.core import mutant

MUTANTS = [
    mutant("admin-consent-by-any-member", ("CONSENT-05", "ROOMS-05"),
           "any member of the account may start the account-wide admin consent",
           ("harness.reference.service.consent:SETTINGS_ROLES",
            lambda _: frozenset({"owner", "admin", "member", "user"}), False)),
]
