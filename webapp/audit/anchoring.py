"""The key that signs the audit anchors and the exported histories (docs/decisions/0022, 0049), for the worker, the
CLI and the pages."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

from webapp.generated_keys import generated_once


def anchor_key() -> bytes:
    """AUDIT_ANCHOR_KEY from the app's configuration or the environment (production: never in the repository);
    a development or demo install without one generates a key once into the instance folder."""
    existing = existing_anchor_key()
    if existing is not None:
        return existing
    return generated_once(_key_file(), lambda: secrets.token_hex(32).encode()).strip()


def existing_anchor_key() -> bytes | None:
    """The key if this install has one, never a new one: checking a file with a key made up on the spot would only
    say it was signed with another key."""
    configured = current_app.config.get("AUDIT_ANCHOR_KEY") or os.environ.get("AUDIT_ANCHOR_KEY")
    if configured:
        return str(configured).encode()
    key_file = _key_file()
    return key_file.read_text().strip().encode() if key_file.is_file() else None


def _key_file() -> Path:
    return Path(current_app.instance_path) / "audit_anchor_key"
