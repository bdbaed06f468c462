"""Keys a development or demo install makes for itself in the instance folder when none is configured (the audit
anchors' key, the export signing key; decisions 0022, 0077)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from flask import Flask


def generated_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content, writing `make()` into it first if it does not exist yet (mode 0600). Written whole under
    another name and linked into place, which fails if the file appeared meanwhile: processes starting together (the
    web workers, the worker) end up with the same key, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()


# The keys every app host and worker of one install must share (docs/deploy.md, decision 0107): sessions and CSRF
# tokens are signed with SECRET_KEY (a request reaches any host behind the balancer), the audit anchors with
# AUDIT_ANCHOR_KEY (any worker writes one). Made per host into its instance folder, they would differ.
# Set by create_app when it made SECRET_KEY up (the instance folder's), not given by the environment or the caller.
SECRET_KEY_GENERATED = "canbo_secret_key_generated"  # noqa: S105 (the name of a flag)
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def unset_shared_keys(app: Flask) -> list[str]:
    """The shared keys this install was not given, which it makes for itself in the instance folder."""
    unset = []
    if app.extensions.get(SECRET_KEY_GENERATED):
        unset.append("SECRET_KEY")
    if not (app.config.get("AUDIT_ANCHOR_KEY") or os.environ.get("AUDIT_ANCHOR_KEY")):
        unset.append("AUDIT_ANCHOR_KEY")
    return unset


def one_machine(app: Flask) -> bool:
    """An install on SQLite runs on one machine (the demo, development, a training room); production is PostgreSQL."""
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")


def unset_keys_refusal(app: Flask, command: str) -> str | None:
    """Why `canbo serve` or `canbo worker` does not start: a production install without the shared keys. None on
    SQLite, which keeps making its own (one machine: nobody else to share them with)."""
    unset = unset_shared_keys(app)
    if not unset or one_machine(app):
        return None
    names = " and ".join(unset)
    return (
        f"{names} {'is' if len(unset) == 1 else 'are'} not set: `canbo {command}` does not start on PostgreSQL "
        "without them, because every app host and worker must use the same value and one made on this host would not "
        f"be the others' (sessions and forms would fail behind the balancer, anchors be signed with different keys). "
        f"Make each with `{MAKE_ONE}`, set it in the environment of every host, keep it with the other secrets and "
        "start again (docs/deploy.md, “First install”)."
    )


def unset_keys_note(app: Flask) -> str | None:
    """What `canbo check` says of the shared keys: refused on PostgreSQL, made in the instance folder on SQLite."""
    unset = unset_shared_keys(app)
    if not unset:
        return None
    names = " and ".join(unset)
    if one_machine(app):
        return (
            f"note: {names} {'is' if len(unset) == 1 else 'are'} not set: made once in {app.instance_path} (SQLite: "
            f"one machine). Set {'it' if len(unset) == 1 else 'them'} before moving to PostgreSQL (docs/deploy.md, "
            "“First install”)."
        )
    return (
        f"warning: {names} {'is' if len(unset) == 1 else 'are'} not set: `canbo serve` and `canbo worker` refuse to "
        f"start until {'it is' if len(unset) == 1 else 'they are'} (make each with `{MAKE_ONE}`; docs/deploy.md, "
        "“First install”)."
    )
