"""Certificates for the site link: a development CA, and each site's id in its certificate.

A site's identity is a SAN URI ``spiffe://partita/site/<id>`` in its client certificate; the
hub compares it with the id the site says hello with. Everything cryptographic is the
``cryptography`` library's.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SITE_URI_PREFIX = "spiffe://partita/site/"
HUB_URI = "spiffe://partita/hub"
VALID_DAYS = 365
CA_VALID_DAYS = 3650


@dataclass(frozen=True)
class Issued:
    """Paths of a certificate and its key."""

    cert: Path
    key: Path


def site_uri(site_id: str) -> str:
    return SITE_URI_PREFIX + site_id


def site_id_of(pem: bytes) -> str | None:
    """The site id in a certificate's SAN URI, or None when it names no site."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in names.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(SITE_URI_PREFIX) and len(uri) > len(SITE_URI_PREFIX):
            return uri.removeprefix(SITE_URI_PREFIX)
    return None


def init_ca(folder: Path, name: str = "Partita development CA", *, force: bool = False) -> Issued:
    """Create ``ca.pem`` and ``ca.key`` in ``folder``; FileExistsError unless ``force``."""
    folder.mkdir(parents=True, exist_ok=True)
    issued = Issued(folder / "ca.pem", folder / "ca.key")
    if issued.cert.exists() and not force:
        raise FileExistsError(f"{issued.cert} exists (use --force to replace the CA)")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _save(issued, cert, key)
    return issued


def issue(
    folder: Path,
    stem: str,
    common_name: str,
    *,
    uris: Sequence[str] = (),
    hosts: Sequence[str] = (),
    server: bool = False,
    client: bool = True,
) -> Issued:
    """Issue ``<stem>.pem`` and ``<stem>.key`` in ``folder``, signed by its CA."""
    ca_cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    issued = Issued(folder / f"{stem}.pem", folder / f"{stem}.key")
    _save(issued, cert, key)
    return issued


def issue_hub(folder: Path, hosts: list[str]) -> Issued:
    """The hub's server certificate (also usable as a client's), for ``hosts``."""
    return issue(
        folder, "hub", "partita hub", uris=[HUB_URI], hosts=hosts, server=True, client=True
    )


def issue_site(folder: Path, site_id: str) -> Issued:
    """A site's client certificate carrying its id (``spiffe://partita/site/<id>``)."""
    return issue(folder, f"site-{site_id}", f"partita site {site_id}", uris=[site_uri(site_id)])


def issue_client(folder: Path, name: str) -> Issued:
    """A client certificate for a person or a tool calling a hub's API over mTLS."""
    return issue(folder, f"client-{name}", name, uris=[f"spiffe://partita/client/{name}"])


def _save(issued: Issued, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    issued.key.touch(mode=0o600)
    issued.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
