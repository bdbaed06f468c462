"""Ed25519 signatures of the exported histories (decision 0077): signed with the server's private key, checked by
anyone holding the matching public key — an inspection committee off the server, without any secret.

A key is named by its fingerprint, the SHA-256 of its 32 raw public bytes in hex: the file says which key signed
it, and the verifier looks that fingerprint up among the public keys it trusts (the server's current key and the
older keys it kept after a rotation, or the PEM file an auditor took from the server). What the file says about
its own key proves nothing: the trusted key is what verifies. Keys are PEM (PKCS#8 private, SubjectPublicKeyInfo
public), the files `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` make and read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from workflows.audit import canonical_json
from workflows.errors import N_, Invalid, Problem

ALGORITHM = "Ed25519"


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    """Unencrypted PKCS#8: the file's permissions and where it is kept protect it (docs/deploy.md)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """The key's id in a file: SHA-256 of the raw public key, 64 hex digits."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def readable_fingerprint(value: str) -> str:
    """Grouped by four for reading aloud or comparing on paper: "3f2a 9c01 …" (16 groups)."""
    return " ".join(value[index : index + 4] for index in range(0, len(value), 4))


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """A PEM private key; Invalid (English msgid) when the bytes are not an unencrypted Ed25519 private key."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise Invalid(
            N_("not an unencrypted PEM private key"), [Problem(N_("not an unencrypted PEM private key"))]
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid(N_("not an Ed25519 key"), [Problem(N_("not an Ed25519 key"))])
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """A PEM public key; Invalid when the bytes are not an Ed25519 public key (a private key is refused: an
    auditor is never handed one)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise Invalid(N_("not a PEM public key"), [Problem(N_("not a PEM public key"))]) from error
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid(N_("not an Ed25519 key"), [Problem(N_("not an Ed25519 key"))])
    return key


def signed_bytes(body: dict[str, Any]) -> bytes:
    """What is signed: the canonical JSON of the body, the same bytes the HMAC of formats 2 and 3 covers."""
    return canonical_json(body).encode()


def sign(key: Ed25519PrivateKey, body: dict[str, Any]) -> str:
    return key.sign(signed_bytes(body)).hex()


def verifies(key: Ed25519PublicKey, body: dict[str, Any], value: str) -> bool:
    try:
        key.verify(bytes.fromhex(value), signed_bytes(body))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class TrustedKey:
    """A public key a verifier trusts: the server's current key, a key it signed with before a rotation, or a file
    an auditor was handed. `source` says which, for the report (a file name, "current", "retired")."""

    key: Ed25519PublicKey
    source: str
    is_current: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def trusted_by_fingerprint(keys: list[TrustedKey]) -> dict[str, TrustedKey]:
    found: dict[str, TrustedKey] = {}
    for trusted in keys:
        found.setdefault(trusted.fingerprint, trusted)  # the current key first wins over the same key retired
    return found
