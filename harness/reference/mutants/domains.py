"""Allowed-domain matching (DOMAIN-01..05)."""

from harness.reference.mutants.core import mutant
from harness.reference.policy import domains as d

D = "harness.reference.policy.domains"


def _suffix(email, allowed):
    entries = [e.strip().lower().rstrip(".") for e in allowed]
    if not entries:
        return True
    domain = d.email_domain(email)
    return domain is not None and any(domain.endswith(e) for e in entries)


def _subdomains(email, allowed):
    entries = [d.normalise_domain(e) for e in allowed]
    if not entries:
        return True
    domain = d.email_domain(email) or ""
    return any(domain == e or domain.endswith("." + e) for e in entries)


def _first_only(value):
    parsed = _ORIGINAL_PARSE(value)
    return parsed[:1]


_ORIGINAL_PARSE = d.parse_allowed_domains

MUTANTS = [
    mutant("domain-suffix-match", ("DOMAIN-01", "DOMAIN-04"),
           "an allowed domain matches any address that ends with it (notexample.com passes)",
           (f"{D}:domain_allowed", lambda _: _suffix)),
    mutant("domain-subdomains-allowed", ("DOMAIN-01", "DOMAIN-04"),
           "subdomains of an allowed domain are admitted too",
           (f"{D}:domain_allowed", lambda _: _subdomains)),
    mutant("domain-case-sensitive", ("DOMAIN-02", "CONTACT-01"),
           "addresses compared without case folding: Ann@Example.com is outside example.com, and "
           "a contact invitation to a mixed-case address is refused the same way",
           (f"{D}:email_domain", lambda _: lambda email: email.strip().rpartition("@")[2]
            or None)),
    mutant("domain-first-of-list", "DOMAIN-05",
           "of a comma-separated list only the first domain is kept",
           (f"{D}:parse_allowed_domains", lambda _: _first_only)),
    mutant("domain-restriction-ignored-for-existing", "DOMAIN-03",
           "users integrated before the restriction keep access outside the allowed domains",
           ("harness.reference.policy.conformance:domain_allowed",
            lambda orig: _KeepExisting(orig), False)),
]


class _KeepExisting:
    """domain_allowed as seen by the conflict check only: always allowed."""

    def __init__(self, original):
        self.original = original

    def __call__(self, email, allowed):
        return True
