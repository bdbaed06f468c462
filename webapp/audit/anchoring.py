"""The key that signs the audit anchors (docs/decisions/0022), for the worker, the CLI and the pages."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app


def anchor_key() -> bytes:
    """AUDIT_ANCHOR_KEY from the app's configuration or the environment (production: never in the repository);
    a development or demo install without one generates a key once into the instance folder."""
    configured = current_app.config.get("AUDIT_ANCHOR_KEY") or os.environ.get("AUDIT_ANCHOR_KEY")
    if configured:
        return str(configured).encode()
    key_file = Path(current_app.instance_path) / "audit_anchor_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip().encode()
