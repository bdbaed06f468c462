"""A fresh install, as docs/deploy.md's "First install" has the operator do it (decision 0107): the installed `canbo`
entry point on an empty database — the schema, the top unit, the first administrator, the worker — then that
administrator signs in through the real app. And what stops a production install that is missing a shared key."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.fixtures.app import AuthActions
from tests.fixtures.databases import empty_postgresql_database
from webapp import create_app
from webapp.cli import main
from webapp.extensions import db
from workflows.audit import verify_chains
from workflows.models import AuditEvent
from workflows.registry.models import OrgUnit

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "a-long-random-value-the-same-on-every-host"
ANCHOR_KEY = "another-long-random-value-for-the-anchors"
# Nothing answers there: the refusals come before any connection.
NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"
# The suite's database, read when the module loads: the `environment` fixture clears DATABASE_URL, and a test that
# asks for it before `empty_database` left that fixture nothing to read, so it always fell back to SQLite.
SUITE_DATABASE_URL = os.environ.get("DATABASE_URL", "")


@pytest.fixture
def empty_database(tmp_path: Path, worker_id: str) -> Iterator[str]:
    """A database with nothing in it, not even the schema: a file on SQLite, a database of its own on PostgreSQL."""
    url = SUITE_DATABASE_URL
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'canbo.db'}"
        return
    with empty_postgresql_database(url, f"{make_url(url).database}_first_install_{worker_id}") as database:
        yield database.render_as_string(hide_password=False)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The operator's environment file: the settings docs/deploy.md lists, nothing else of the test run's."""
    for name in ("DATABASE_URL", "SECRET_KEY", "AUDIT_ANCHOR_KEY", "CANBO_DEPLOY_ON_STARTUP", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda _app: str(tmp_path / "instance"))
    monkeypatch.setenv("CANBO_UPLOAD_DIR", str(tmp_path / "uploads"))


def _canbo(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The installed entry point, as the operator runs it: its exit code, what it printed and what it complained."""
    monkeypatch.setattr(sys, "argv", ["canbo", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    printed = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1 if code else 0), printed.out, printed.err


def test_the_documented_first_install_gives_an_administrator_who_signs_in(
    environment: None, empty_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("AUDIT_ANCHOR_KEY", ANCHOR_KEY)

    def canbo(*args: str) -> tuple[int, str, str]:
        return _canbo(monkeypatch, capsys, *args)

    code, out, err = canbo("db", "upgrade")
    assert code == 0, err
    # Before the top unit exists, an account has nowhere to be: the command says which code it did not find.
    code, out, err = canbo("users", "create", "admin", "admin", "TINH", "--name", "Quản trị")
    assert code == 1 and "no unit with code TINH" in err, err
    code, out, err = canbo("units", "create-root", "tinh", "Tỉnh Sơn Hà")
    assert code == 0, err
    assert "TINH" in out
    code, out, err = canbo("units", "create-root", "TINH2", "Tỉnh khác")
    assert code == 1 and "Tổ chức đã có đơn vị cao nhất TINH (Tỉnh Sơn Hà)" in err, err
    code, out, err = canbo("users", "create", "admin", "admin", "NOPE", "--name", "Quản trị")
    assert code == 1 and err.strip() == "no unit with code NOPE; `canbo units list` shows the codes"
    code, out, err = canbo("users", "create", "admin", "admin", "TINH", "--name", "Quản trị")
    assert code == 0, err
    password = out.strip()
    code, out, err = canbo("worker", "--once")
    assert code == 0, err
    code, out, err = canbo("check")
    assert code == 0 and "consistent" in out, err
    assert "SECRET_KEY" not in err and "AUDIT_ANCHOR_KEY" not in err

    app = create_app({"TESTING": True})  # what `canbo serve` runs under gunicorn, from the same environment
    try:
        with app.app_context():
            (top,) = db.session.scalars(select(OrgUnit))
            assert (top.code, top.name, top.unit_type, top.parent_id, top.path) == (
                "TINH",
                "Tỉnh Sơn Hà",
                "province",
                None,
                "/",
            )
            created = db.session.scalars(select(AuditEvent).where(AuditEvent.chain_key == f"unit:{top.id}")).all()
            assert [(e.event_type, e.actor_name) for e in created] == [("unit_created", "system")]
            assert verify_chains(db.session).breaks == []
        auth = AuthActions(app.test_client())
        assert auth.login("admin", password).status_code == 302
        changed = auth.post(
            "/auth/password",
            {
                "current_password": password,
                "new_password": "Mật-khẩu-riêng-2026",
                "confirm_password": "Mật-khẩu-riêng-2026",
            },
            page="/auth/password",
        )
        assert changed.status_code == 302, changed.get_data(as_text=True)
        assert auth.client.get("/admin").status_code == 200
        assert auth.client.get("/units").status_code == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("given", [(), ("SECRET_KEY",), ("AUDIT_ANCHOR_KEY",)])
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_do_not_start_on_postgresql_without_the_shared_keys(
    environment: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    given: tuple[str, ...],
) -> None:
    monkeypatch.setenv("DATABASE_URL", NOWHERE)
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "0")
    for name in given:
        monkeypatch.setenv(name, "configured-value-of-the-operator")
    started: list[str] = []
    monkeypatch.setattr(os, "execve", lambda path, *_: started.append(path))
    code, _out, err = _canbo(monkeypatch, capsys, command)
    assert code == 1 and started == []
    missing = [name for name in ("SECRET_KEY", "AUDIT_ANCHOR_KEY") if name not in given]
    assert all(name in err for name in missing) and all(name not in err for name in given), err
    assert f"`canbo {command}` does not start on PostgreSQL" in err
    assert "secrets.token_hex(32)" in err and "First install" in err


def test_serve_starts_on_postgresql_with_both_keys_and_on_sqlite_without_them(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    class Started(Exception):
        pass

    def execve(path: str, *_: object) -> None:
        raise Started(path)

    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "0")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setenv("DATABASE_URL", NOWHERE)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("AUDIT_ANCHOR_KEY", ANCHOR_KEY)
    monkeypatch.setattr(sys, "argv", ["canbo", "serve"])
    with pytest.raises(Started, match="gunicorn"):
        main()
    # SQLite (the demo, `make run`): one machine, the keys made in the instance folder as before.
    for name in ("SECRET_KEY", "AUDIT_ANCHOR_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    with pytest.raises(Started, match="gunicorn"):
        main()
    assert (tmp_path / "instance" / "secret_key").is_file()
    capsys.readouterr()


def test_check_says_which_shared_keys_are_made_in_the_instance_folder(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'canbo.db'}")
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "0")
    assert _canbo(monkeypatch, capsys, "db", "upgrade")[0] == 0
    code, _out, err = _canbo(monkeypatch, capsys, "check")
    assert code == 0, err
    assert "note: SECRET_KEY and AUDIT_ANCHOR_KEY are not set: made once in" in err
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("AUDIT_ANCHOR_KEY", ANCHOR_KEY)
    code, _out, err = _canbo(monkeypatch, capsys, "check")
    assert code == 0 and "SECRET_KEY" not in err and "AUDIT_ANCHOR_KEY" not in err


def test_check_warns_on_postgresql_that_serve_and_worker_will_refuse(
    environment: None,
    empty_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not empty_database.startswith("postgresql"):
        pytest.skip("PostgreSQL only: on SQLite the keys are made in the instance folder")
    monkeypatch.setenv("DATABASE_URL", empty_database)
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "0")
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    assert _canbo(monkeypatch, capsys, "db", "upgrade")[0] == 0
    code, _out, err = _canbo(monkeypatch, capsys, "check")
    assert code == 0, err
    assert "warning: AUDIT_ANCHOR_KEY is not set: `canbo serve` and `canbo worker` refuse to start" in err
    assert "SECRET_KEY" not in err
