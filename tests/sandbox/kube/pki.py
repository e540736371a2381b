"""Certificates and keys of the test bed: one CA, serving certs on loopback, client certs per component.

Everything is generated with `cryptography` into build/kube/pki on `up` (cheap: EC P-256 keys, except the
service-account signing key, which is RSA because that is what Kubernetes documents for it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Client identities: (file stem, common name, organisation). O=system:masters is the built-in admin group;
# the controller-manager and the scheduler get their own users, bound by the default RBAC policy.
# kwok plays every kubelet on every simulated node, so it needs more than one node's NodeRestriction
# allows: it runs as an admin, like kwokctl does.
CLIENTS = (
    ("admin", "kubernetes-admin", "system:masters"),
    ("controller-manager", "system:kube-controller-manager", None),
    ("scheduler", "system:kube-scheduler", None),
    ("kwok", "kwok-controller", "system:masters"),
    ("cloud", "oci-standin", "system:masters"),
    ("apiserver-etcd-client", "kube-apiserver-etcd-client", None),
    # The API server's identity towards aggregated API servers (--proxy-client-*); they trust it through
    # --requestheader-client-ca-file, which the controller-manager and scheduler read too.
    ("front-proxy-client", "front-proxy-client", None),
)

# The API server's first service IP (of --service-cluster-ip-range) must be in its certificate.
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True)
class Pki:
    """Paths of the generated files."""

    root: Path

    def crt(self, name: str) -> Path:
        return self.root / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.root / f"{name}.key"

    @property
    def ca(self) -> Path:
        return self.crt("ca")

    @property
    def sa_key(self) -> Path:
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.root / "sa.pub"


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _issue(ca_key, ca_cert, subject: x509.Name, key, *, server_names=(), server_ips=(), client=False, server=False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    sans = [x509.DNSName(n) for n in server_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in server_ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def generate(root: Path) -> Pki:
    """Create a fresh CA and every certificate the components need under `root` (replacing old ones)."""
    root.mkdir(parents=True, exist_ok=True)
    pki = Pki(root)
    now = dt.datetime.now(dt.UTC)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = _name("openedx-scale-testbed-ca")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(pki.key("ca"), ca_key)
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def server_cert(name: str, cn: str, names: tuple[str, ...], ips: tuple[str, ...], client: bool = False) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(ca_key, ca_cert, _name(cn), key, server_names=names, server_ips=ips, server=True, client=client)
        _write_key(pki.key(name), key)
        pki.crt(name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    server_cert(
        "apiserver",
        "kube-apiserver",
        ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"),
        ("127.0.0.1", KUBERNETES_SERVICE_IP),
    )
    # etcd's server cert doubles as its peer cert (single member, peer URL on loopback).
    server_cert("etcd", "etcd", ("localhost",), ("127.0.0.1",), client=True)
    # kwok's kubelet API (exec), which the API server reaches at every node's InternalDNS address, localhost.
    server_cert("kubelet", "kwok-kubelet", ("localhost",), ("127.0.0.1",))

    for stem, cn, org in CLIENTS:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(ca_key, ca_cert, _name(cn, org), key, client=True)
        _write_key(pki.key(stem), key)
        pki.crt(stem).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.sa_key, sa)
    pki.sa_pub.write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki
