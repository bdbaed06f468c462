"""The Ed25519 key that signs exported histories, and the public keys an export is checked against (decision 0077).

- `EXPORT_SIGNING_KEY_FILE` (`CANBO_EXPORT_SIGNING_KEY_FILE`): the PEM file of the private key, the same on every
  app host; read and checked at start-up (a file that is missing or no Ed25519 private key stops the start).
- Without it, an install on SQLite — one machine: the demo, development, a training room (docs/deploy.md) —
  generates a key once into the instance folder (`export_signing_key.pem`, mode 0600). An install on PostgreSQL is
  a production one, with several app hosts: a key generated on one host would not be the others', so there an
  export is refused, saying which setting is missing, until the key is configured; /admin's "Needs attention",
  `canbo check` and the served app's start-up log say so ahead (`key_missing`, decision 0082).
- `EXPORT_RETIRED_PUBLIC_KEYS` (`CANBO_EXPORT_RETIRED_PUBLIC_KEYS`, paths separated by the system's path separator,
  ":" on Linux): the public keys of the keys signed with before a rotation, kept so that older files still verify.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app

from webapp.config import ConfigError
from webapp.generated_keys import generated_once, one_machine
from workflows.errors import Invalid
from workflows.inspection import signing
from workflows.inspection.signing import TrustedKey

log = logging.getLogger(__name__)

KEYS_KEY = "canbo_export_keys"
GENERATED_KEY_NAME = "export_signing_key.pem"


class SigningKeyMissing(Exception):
    """A production install (PostgreSQL) without EXPORT_SIGNING_KEY_FILE: nothing is signed with a made-up key."""


@dataclass(frozen=True)
class ExportKeys:
    """What the configuration gives, read once at start-up."""

    configured: Ed25519PrivateKey | None
    retired: tuple[TrustedKey, ...]


def _paths(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value if str(item).strip()]
    return [part.strip() for part in str(value or "").split(os.pathsep) if part.strip()]


def _read(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"{name}: {path} cannot be read ({error.strerror or error})") from error


def load_export_keys(app: Flask) -> ExportKeys:
    """The configured keys, every problem a ConfigError naming the setting (the start stops, as for a bad policy)."""
    configured = None
    key_file = str(app.config.get("EXPORT_SIGNING_KEY_FILE") or "").strip()
    if key_file:
        try:
            configured = signing.load_private_key(_read("EXPORT_SIGNING_KEY_FILE", key_file))
        except Invalid as invalid:
            raise ConfigError(
                f"EXPORT_SIGNING_KEY_FILE: {key_file} is {invalid.explained} (make one with "
                "`canbo audit new-signing-key PATH` or `openssl genpkey -algorithm ed25519 -out PATH`)"
            ) from invalid
        mode = stat.S_IMODE(Path(key_file).stat().st_mode)
        if mode & 0o077:
            log.warning("EXPORT_SIGNING_KEY_FILE %s can be read by others (mode %o): chmod 600 it", key_file, mode)
    retired = []
    for path in _paths(app.config.get("EXPORT_RETIRED_PUBLIC_KEYS")):
        try:
            key = signing.load_public_key(_read("EXPORT_RETIRED_PUBLIC_KEYS", path))
        except Invalid as invalid:
            raise ConfigError(f"EXPORT_RETIRED_PUBLIC_KEYS: {path} is {invalid.explained}") from invalid
        retired.append(TrustedKey(key, source=Path(path).name))
    return ExportKeys(configured, tuple(retired))


def init_app(app: Flask) -> None:
    app.extensions[KEYS_KEY] = load_export_keys(app)


def _keys() -> ExportKeys:
    keys: ExportKeys = current_app.extensions[KEYS_KEY]
    return keys


def may_generate() -> bool:
    """One machine (SQLite): the demo, development, a training room. Production runs on PostgreSQL."""
    return one_machine(current_app)


# What the operators read (`canbo check`, the served app's start-up log) when exports would be refused: said ahead,
# before an auditor meets the 503 (decision 0082). /admin's "Needs attention" says it in the reader's language.
MISSING_KEY_WARNING = (
    "warning: CANBO_EXPORT_SIGNING_KEY_FILE is not set: on PostgreSQL every export of an instance's history is "
    "refused (503) until it is. Make a key with `canbo audit new-signing-key PATH`, install it on every app host, set "
    "the setting and restart (docs/deploy.md, “The export signing key”)."
)


def key_missing() -> bool:
    """Exports are refused here: a production install (PostgreSQL) without EXPORT_SIGNING_KEY_FILE. Not a health
    failure: the app serves everything else (decision 0082)."""
    return _keys().configured is None and not may_generate()


def missing_key_warning() -> str | None:
    return MISSING_KEY_WARNING if key_missing() else None


def _generated_file() -> Path:
    return Path(current_app.instance_path) / GENERATED_KEY_NAME


def existing_signing_key() -> Ed25519PrivateKey | None:
    """The install's key if it has one, never a new one (for checking: a key made up on the spot verifies nothing)."""
    keys = _keys()
    if keys.configured is not None:
        return keys.configured
    generated = _generated_file()
    if may_generate() and generated.is_file():
        return signing.load_private_key(generated.read_bytes())
    return None


def signing_key() -> Ed25519PrivateKey:
    """The key exports are signed with; on SQLite without a configured one, generated once into the instance folder.
    SigningKeyMissing on PostgreSQL without EXPORT_SIGNING_KEY_FILE."""
    existing = existing_signing_key()
    if existing is not None:
        return existing
    if not may_generate():
        raise SigningKeyMissing("EXPORT_SIGNING_KEY_FILE")
    pem = generated_once(_generated_file(), lambda: signing.private_pem(signing.new_private_key()))
    return signing.load_private_key(pem)


def current_public_key() -> TrustedKey | None:
    key = existing_signing_key()
    return TrustedKey(key.public_key(), source="current", is_current=True) if key is not None else None


def trusted_keys() -> list[TrustedKey]:
    """The public keys a format-4 export is checked against on this server: its current key and the retired ones."""
    current = current_public_key()
    return [*([current] if current is not None else []), *_keys().retired]
