"""The host name a hub puts in every URL of its description (`serve --advertise-host`).

A hub bound to one address advertises that address. A hub bound to a wildcard (0.0.0.0, ::)
listens on every interface, but `http://0.0.0.0:port` would send another machine to itself, so
it advertises the machine instead: its host name when that resolves to an address other than
loopback (Debian maps the host name to 127.0.1.1 in /etc/hosts: no use to anyone else), else the
address of the interface its default route leaves by. `--advertise-host NAME` overrides both
(a DNS name the other machines resolve, or an address they reach). The name is also in the TLS
certificate's subject alternative names and in the control API's allowed Host names.
"""

from __future__ import annotations

import ipaddress
import re
import socket

WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class AdvertiseError(ValueError):
    """A name that cannot be put in a URL as a host; one line."""


def check_host_name(name: str) -> str:
    """An IP literal or a DNS name (RFC 1123 labels), as given; else AdvertiseError."""
    text = name.strip()
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if address.is_unspecified:
            raise AdvertiseError(f"{name!r} is a wildcard address: no other machine reaches it")
        return str(address)
    labels = text.rstrip(".").split(".")
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise AdvertiseError(f"{name!r} is not a host name or an IP address (no scheme, port "
                             "or path: e.g. hub1.example.net or 10.0.0.5)")
    return text.rstrip(".").lower()


def _reachable_name(name: str) -> bool:
    """Does `name` resolve to at least one address that is not loopback?"""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return any(not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
               for info in infos)


def primary_address(ipv6: bool = False) -> str | None:
    """The address of the interface the default route leaves by. A UDP socket's connect()
    only picks the route: nothing is sent."""
    family, probe = ((socket.AF_INET6, "2001:db8::1") if ipv6
                     else (socket.AF_INET, "192.0.2.1"))  # documentation ranges (RFC 3849/5737)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((probe, 9))
            address = str(sock.getsockname()[0])
    except OSError:
        return None
    return None if ipaddress.ip_address(address.split("%")[0]).is_unspecified else address


def advertised_host(bound: str, explicit: str | None = None) -> str:
    """The host every URL of the description carries: `explicit` if given (checked), the bound
    address unless it is a wildcard, else the machine's host name or primary address."""
    if explicit is not None:
        return check_host_name(explicit)
    if bound not in WILDCARDS:
        return bound
    name = socket.gethostname()
    if name and _reachable_name(name):
        return name.lower()
    wants_v6 = bound == "::"
    found = primary_address(ipv6=wants_v6) or (primary_address() if wants_v6 else None)
    return found or ("::1" if wants_v6 else "127.0.0.1")  # no network at all: loopback is true


def url_host(host: str) -> str:
    """`host` as it goes in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host
