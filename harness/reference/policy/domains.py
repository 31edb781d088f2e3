"""Allowed domains: parse the admin's comma-separated list, normalise, and match users' emails.

Decision on matching: an allowed domain matches that exact domain only. The documents restrict
the integration to "users in the specified domain"; subdomains are not included implicitly,
because a subdomain can belong to someone else (shared parents, delegated zones) and the admin
can list every subdomain they mean, comma-separated.
Wildcards are refused with a message saying so, rather than silently meaning something.
So `example.com` matches `user@example.com`, `USER@Example.COM.` and nothing else — never
`example.com.evil`, `notexample.com` or `sales.example.com`.

Normalisation, applied alike to list entries and to users' email domains: surrounding spaces
removed; case folded and internationalised names converted to their A-label (punycode) form with
UTS #46 / IDNA 2008, so `Bücher.example`, `bücher.example` and `xn--bcher-kva.example` are one
domain; one trailing root dot removed (`example.com.` is `example.com`). Look-alike characters
from other scripts (Cyrillic `е` for Latin `e`) are different code points and so a different
A-label: they never match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import idna

_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC = re.compile(r"^[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class DomainError(ValueError):
    """An entry that is not a domain; the message names the entry and says why."""

    def __init__(self, entry: str, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"{entry.strip()!r} is not a domain: {reason}")
        self.entry, self.reason = entry, reason


def _shape_problem(text: str) -> str | None:
    if not text:
        return "it is empty"
    if "@" in text:
        return "enter the domain, not an email address"
    if "/" in text or ":" in text:
        return "enter the domain, not a URL"
    if "*" in text:
        return "wildcards are not supported; list each domain, subdomains included"
    if any(ch.isspace() for ch in text):
        return "a domain contains no spaces; separate domains with commas"
    if ";" in text:
        return "separate domains with commas"
    return None


def normalise_domain(entry: str) -> str:
    """The canonical form of one domain (lower-case A-labels, no trailing dot)."""
    text = entry.strip()
    problem = _shape_problem(text)
    if problem:
        raise DomainError(entry, problem)
    try:
        ascii_form = idna.encode(text, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise DomainError(entry, f"not a valid domain name ({exc})") from None
    if ascii_form.endswith("."):
        ascii_form = ascii_form[:-1]  # the DNS root: example.com. is example.com
    labels = ascii_form.lower().split(".")
    if any(not label for label in labels):
        raise DomainError(entry, "it has an empty label")
    if len(labels) < 2:
        raise DomainError(entry, "it needs at least two labels, like example.com")
    if _NUMERIC.match(labels[-1]):
        raise DomainError(entry, "enter a domain name, not an IP address")
    for label in labels:
        if not _LDH_LABEL.match(label):
            raise DomainError(entry, f"the label {label!r} is not allowed in a host name")
    return ".".join(labels)


def parse_allowed_domains(value: str | Iterable[str]) -> list[str]:
    """The admin's list (one comma-separated string or a list of entries) in canonical form,
    duplicates removed, order kept. Empty entries from stray commas are ignored; any bad entry
    refuses the whole list, naming every bad entry."""
    entries = value.split(",") if isinstance(value, str) else [
        part for item in value for part in str(item).split(",")]
    out: dict[str, None] = {}
    bad: list[DomainError] = []
    for entry in entries:
        if not entry.strip():
            continue
        try:
            out[normalise_domain(entry)] = None
        except DomainError as exc:
            bad.append(exc)
    if bad:
        raise DomainError(bad[0].entry, bad[0].reason, "; ".join(str(b) for b in bad))
    return list(out)


def email_domain(email: str) -> str | None:
    """The canonical domain of an email address, or None when it has none."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return None
    try:
        return normalise_domain(domain)
    except DomainError:
        return None


def domain_allowed(email: str, allowed: Iterable[str]) -> bool:
    """Whether the user may integrate: no list means no restriction; otherwise the email's
    domain must equal one allowed domain exactly (after normalisation of both)."""
    entries = list(allowed)
    if not entries:
        return True
    canonical: set[str] = set()
    for entry in entries:
        try:
            canonical.add(normalise_domain(entry))
        except DomainError:
            continue  # a bad stored entry admits nobody
    domain = email_domain(email)
    return domain is not None and domain in canonical


def canonical_email(email: str) -> str | None:
    """`Ann@Example.COM.` -> `ann@example.com`; None when it is not an email address. Local
    parts are folded to lower case too: the platform treats addresses case-insensitively."""
    address = email.strip()
    domain = email_domain(address)
    if not _EMAIL.match(address) or domain is None:
        return None
    return f"{address.rpartition('@')[0].lower()}@{domain}"
