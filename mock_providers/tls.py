"""A local certificate authority for the mock hub.

MSAL refuses non-https authorities, so the hub serves TLS with a certificate from a CA generated
once per state folder and reused: a user trusts `ca.pem` once. Server certificates are cheap
(EC P-256) and re-issued at every start for the host names being served.

Beside `ca.pem` lies `ca-bundle-with-system.pem`: the usual public CAs plus the harness CA. Where
REQUESTS_CA_BUNDLE / SSL_CERT_FILE / CURL_CA_BUNDLE name one file for every https connection of a
process (and requests lets them override a session's own `verify`), pointing them at this file
trusts the hub without distrusting the rest of the internet.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CA_BUNDLE_WITH_SYSTEM = "ca-bundle-with-system.pem"

# Where distributions keep the operating system's CA file, when Python's own OpenSSL default
# (ssl.get_default_verify_paths().openssl_cafile) is missing; the list Go's crypto/x509 reads.
SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS/RHEL 7
    "/etc/ssl/cert.pem",  # Alpine, macOS
)

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?-----END CERTIFICATE-----", re.DOTALL)


def default_state_dir() -> Path:
    explicit = os.environ.get("CALHARNESS_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "calharness"


@dataclass(frozen=True, slots=True)
class ServerCert:
    ca_bundle: Path
    cert_file: Path
    key_file: Path
    ca_bundle_with_system: Path


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "calharness"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def ensure_ca(state_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    state_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = state_dir / CA_CERT, state_dir / CA_KEY
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and \
                cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=30):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("calharness local CA"))
        .issuer_name(_name("calharness local CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_server_cert(state_dir: Path, hosts: list[str]) -> ServerCert:
    ca_cert, ca_key = ensure_ca(state_dir)
    names = list(dict.fromkeys([*hosts, "localhost", "127.0.0.1", "::1"]))
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # Per-process file names: several hubs may share a state folder (parallel test runs).
    tag = f"server-{os.getpid()}-{id(cert):x}"
    cert_file, key_file = state_dir / f"{tag}.pem", state_dir / f"{tag}-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                          + ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_file, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return ServerCert(state_dir / CA_CERT, cert_file, key_file,
                      write_bundle_with_system(state_dir, ca_cert))


def system_ca_files() -> list[Path]:
    """The CA files a client trusts when nothing is configured: certifi's (requests' default)
    and the operating system's. Environment variables are deliberately not read: they may
    name the combined bundle itself, and the CA it holds may be an old one."""
    found: list[Path] = []
    try:
        import certifi  # requests' own dependency

        found.append(Path(certifi.where()))
    except ImportError:  # pragma: no cover - requests always brings it
        pass
    for candidate in (ssl.get_default_verify_paths().openssl_cafile, *SYSTEM_CA_FILES):
        if candidate and Path(candidate).is_file():
            found.append(Path(candidate))
            break
    return found


def bundle_with_system(ca_cert: x509.Certificate, system_files: list[Path]) -> bytes:
    """The certificates of `system_files` (each once), then the harness CA."""
    seen: set[bytes] = set()
    parts = [b"# calharness: the CAs of certifi and of the operating system, then the calharness "
             b"local CA.\n# Refreshed by calharness whenever that changes; do not edit.\n"]
    for path in system_files:
        try:
            text = path.read_bytes()
        except OSError:  # an unreadable system file: the bundle still trusts the hub
            continue
        for block in _PEM_CERTIFICATE.findall(text):
            key = b"".join(block.split())
            if key not in seen:
                seen.add(key)
                parts.append(block.replace(b"\r\n", b"\n") + b"\n")
    parts.append(b"# calharness local CA\n" + ca_cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(parts)


def write_bundle_with_system(state_dir: Path, ca_cert: x509.Certificate | None = None) -> Path:
    """Write `ca-bundle-with-system.pem` beside `ca.pem` if its content changed (a new CA, an
    updated system store); atomically, so a client never reads half a bundle."""
    if ca_cert is None:
        ca_cert, _ = ensure_ca(state_dir)
    path = state_dir / CA_BUNDLE_WITH_SYSTEM
    data = bundle_with_system(ca_cert, system_ca_files())
    try:
        if path.read_bytes() == data:
            return path
    except OSError:
        pass
    # A unique temporary name: several hubs may start at once on one state folder.
    fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=f".{CA_BUNDLE_WITH_SYSTEM}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
