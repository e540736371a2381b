"""Fake OCI API-key credentials and verification of the SDK's HTTP signatures.

The SDK signs with draft-cavage HTTP signatures (oci/signer.py): rsa-sha256 over
``date (request-target) host`` for GET/DELETE/HEAD and additionally
``content-length content-type x-content-sha256`` for POST/PUT/PATCH, keyId
``<tenancy>/<user>/<fingerprint>``. We rebuild the signing string from the request exactly as
received (raw path including the query string) and verify it with the public key.
"""

from __future__ import annotations

import base64
import configparser
import email.utils
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import ApiError, not_authenticated

TENANCY = "ocid1.tenancy.oc1..aaaaaaaasandboxtenancy"
USER = "ocid1.user.oc1..aaaaaaaasandboxuser"
PROFILE = "DEFAULT"
BASIC_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
# OCI rejects requests whose date is too far from its own clock (the SDK sends the real time).
MAX_CLOCK_SKEW_SECONDS = 300

_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Credentials:
    tenancy: str
    user: str
    fingerprint: str
    region: str
    key_file: Path
    public_key: rsa.RSAPublicKey

    @property
    def key_id(self) -> str:
        return f"{self.tenancy}/{self.user}/{self.fingerprint}"


def fingerprint_of(public_key: rsa.RSAPublicKey) -> str:
    """OCI's API-key fingerprint: MD5 of the DER public key, as colon-separated lower-case hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ensure_credentials(state_dir: Path, region: str, profile: str = PROFILE) -> Credentials:
    """Write DIR/key.pem (kept across restarts) and DIR/config, a ready-to-use OCI config file."""
    state_dir.mkdir(parents=True, exist_ok=True)
    key_file = state_dir / "key.pem"
    if key_file.exists():
        private_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    public_key = private_key.public_key()
    (state_dir / "key_public.pem").write_bytes(public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    creds = Credentials(TENANCY, USER, fingerprint_of(public_key), region, key_file.resolve(), public_key)
    config = configparser.ConfigParser(interpolation=None)
    config[profile] = {
        "user": creds.user,
        "fingerprint": creds.fingerprint,
        "tenancy": creds.tenancy,
        "region": creds.region,
        "key_file": str(creds.key_file),
    }
    with open(state_dir / "config", "w", encoding="utf-8") as handle:
        config.write(handle)
    os.chmod(state_dir / "config", 0o600)
    return creds


def add_service_endpoint(config_file: Path, url: str, profile: str = PROFILE) -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.read(config_file)
    config[profile]["service_endpoint"] = url
    with open(config_file, "w", encoding="utf-8") as handle:
        config.write(handle)


def parse_authorization(value: str) -> dict:
    if not value.startswith("Signature "):
        raise not_authenticated("authorization header is not an HTTP signature")
    return dict(_AUTH_PARAM.findall(value))


def verify_request(creds: Credentials, method: str, raw_path: str, headers, body: bytes, now: float | None = None) -> None:
    """Raise a 401 ApiError unless the request is signed by `creds` the way the SDK signs.

    `headers` is any case-insensitive mapping (http.client.HTTPMessage works); `raw_path` is the
    request target exactly as sent, query string included.
    """
    auth = headers.get("authorization")
    if not auth:
        raise not_authenticated("no authorization header")
    params = parse_authorization(auth)
    if params.get("version", "1") != "1" or params.get("algorithm") != "rsa-sha256":
        raise not_authenticated(f"unsupported signature version/algorithm {params.get('version')}/{params.get('algorithm')}")
    if params.get("keyId") != creds.key_id:
        raise not_authenticated(f"unknown keyId {params.get('keyId')!r}")
    signed = params.get("headers", "date").split()
    required = BASIC_HEADERS + (BODY_HEADERS if method.upper() in ("POST", "PUT", "PATCH") else ())
    absent = [name for name in required if name not in signed]
    if absent:
        raise not_authenticated(f"signature does not cover {absent}")
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {raw_path}")
            continue
        value = headers.get(name)
        if value is None:
            raise not_authenticated(f"signed header {name!r} missing from the request")
        lines.append(f"{name}: {value}")
    if "x-content-sha256" in signed:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("x-content-sha256") != digest:
            raise not_authenticated("x-content-sha256 does not match the body")
    if "content-length" in signed and headers.get("content-length") != str(len(body)):
        raise not_authenticated("content-length does not match the body")
    try:
        sent = email.utils.parsedate_to_datetime(headers.get("date")).timestamp()
    except (TypeError, ValueError) as exc:
        raise not_authenticated("unparseable date header") from exc
    if abs((now or time.time()) - sent) > MAX_CLOCK_SKEW_SECONDS:
        raise not_authenticated("date header too far from the server clock")
    try:
        signature = base64.b64decode(params.get("signature", ""), validate=True)
        creds.public_key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise not_authenticated("signature does not verify with the configured public key") from exc


__all__ = ["PROFILE", "TENANCY", "USER", "ApiError", "Credentials", "ensure_credentials", "fingerprint_of", "verify_request"]
