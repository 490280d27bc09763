"""X.509 certificates for the TLS tests: a CA, leaves it signs, self-signed certificates, as PEM bytes and files.

Importable as ``tls_support`` from every Python test folder (the server's, the Python client's, the
cross-language ``clients/tests``): pytest.ini puts this folder on ``pythonpath`` for every pytest run
from the repository, whichever folders it collects, and mypy.ini on ``mypy_path``. So no test inserts
a path of its own, and one invocation collecting several folders still sees one module.

Every key is a fresh P-256 key; every certificate is valid from an hour ago to a day from now.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# The names a test server on this machine is reached by.
LOOPBACK = ("localhost", "127.0.0.1")


class PemFiles(NamedTuple):
    """Where ``Identity.write`` put a certificate (``STEM.pem``) and its key (``STEM-key.pem``)."""

    cert: Path
    key: Path

    @property
    def cert_pem(self) -> bytes:
        return self.cert.read_bytes()

    @property
    def key_pem(self) -> bytes:
        return self.key.read_bytes()


@dataclass(frozen=True)
class Identity:
    """A certificate and its private key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The key as unencrypted PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write(self, folder: Path, stem: str) -> PemFiles:
        """Write ``folder/STEM.pem`` and ``folder/STEM-key.pem`` (the names the Go and CLI tests read)."""
        files = PemFiles(folder / f"{stem}.pem", folder / f"{stem}-key.pem")
        files.cert.write_bytes(self.cert_pem)
        files.key.write_bytes(self.key_pem)
        return files


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _general_name(name: str) -> x509.GeneralName:
    """An IP address SAN for an address, a DNS SAN otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _builder(subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def make_ca(common_name: str) -> Identity:
    """A self-signed CA that signs leaves only (path length 0), for digital signatures, certificates and CRLs."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return Identity(cert, key)


def make_leaf(
    common_name: str,
    ca: Identity,
    names: Sequence[str] = (),
    usage: x509.ObjectIdentifier | None = None,
) -> Identity:
    """A non-CA certificate signed by ``ca``.

    ``names``: its subject alternative names (an IP address or a DNS name each; none: no SAN extension).
    ``usage``: its one extended key usage (e.g. ``ExtendedKeyUsageOID.SERVER_AUTH``; None: no EKU extension).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(common_name, ca.certificate.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()), critical=False)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if names:
        alternative_names = x509.SubjectAlternativeName([_general_name(name) for name in names])
        builder = builder.add_extension(alternative_names, critical=False)
    return Identity(builder.sign(ca.private_key, hashes.SHA256()), key)


def self_signed(common_name: str) -> Identity:
    """A certificate signed by its own key, with no CA flag, key usage or SAN: a key pair that loads, no more."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _builder(common_name, _name(common_name), key.public_key()).sign(key, hashes.SHA256())
    return Identity(cert, key)
