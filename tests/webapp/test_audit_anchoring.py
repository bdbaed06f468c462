"""The audit key of an install without AUDIT_ANCHOR_KEY: made once, the same for every process, never shown."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask

from webapp.audit.anchoring import anchor_key, existing_anchor_key


def _key_of(app: Flask) -> bytes:
    with app.app_context():
        return anchor_key()


def test_processes_starting_together_make_one_key(app: Flask, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AUDIT_ANCHOR_KEY", raising=False)
    app.config.pop("AUDIT_ANCHOR_KEY")
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        assert existing_anchor_key() is None  # looking for the key makes none
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _key_of(app), range(32)))
    assert len(keys) == 1 and len(keys.pop()) == 64
    key_file = tmp_path / "instance" / "audit_anchor_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["audit_anchor_key"]  # no draft left behind
    with app.app_context():
        assert existing_anchor_key() == key_file.read_bytes().strip()


def test_the_configured_key_wins(app: Flask, tmp_path: Path) -> None:
    app.instance_path = str(tmp_path)
    app.config["AUDIT_ANCHOR_KEY"] = "configured-key-of-32-characters!"
    assert _key_of(app) == b"configured-key-of-32-characters!"
    assert not (tmp_path / "audit_anchor_key").exists()
