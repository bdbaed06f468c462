"""The export signing key (decision 0077): configured, generated on one machine, refused in production; the public
keys offered to auditors; the check page and the CLI with the current, a retired and an unknown key."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from lxml import html as lxml_html

from tests.fixtures.app import AuthActions, configured_app
from tests.fixtures.inspection import build_story
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp import create_app
from webapp.audit import signing as export_signing
from webapp.audit.signing import SigningKeyMissing, existing_signing_key, signing_key, trusted_keys
from webapp.cli import main
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.production import gunicorn_conf
from workflows.inspection import signing
from workflows.inspection.exporting import SignatureCheck, verify_export

EXPORTS = Path(__file__).resolve().parents[1] / "workflows" / "exports"


def _key_file(path: Path) -> Path:
    path.write_bytes(signing.private_pem(signing.new_private_key()))
    path.chmod(0o600)
    return path


def _one_machine_app(tmp_path: Path, **settings: object) -> Flask:
    """An install on SQLite (the demo, development) without a configured key; nothing connects to the database."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'canbo.db'}",
            "DEPLOY_ON_STARTUP": False,
            **settings,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    return app


def _close(app: Flask) -> None:
    """Another app on the test database lets its connections go, as the app fixture's does."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _key_of(app: Flask) -> str:
    with app.app_context():
        return signing.fingerprint(signing_key().public_key())


def test_one_machine_makes_its_key_once_in_the_instance_folder(tmp_path: Path) -> None:
    app = _one_machine_app(tmp_path)
    with app.app_context():
        assert existing_signing_key() is None and trusted_keys() == []  # looking for the key makes none
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _key_of(app), range(16)))
    assert len(keys) == 1  # processes starting together share one key
    key_file = tmp_path / "instance" / "export_signing_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["export_signing_key.pem"]  # no draft left behind
    with app.app_context():
        assert [key.fingerprint for key in trusted_keys()] == list(keys)


def test_the_configured_key_wins_and_production_without_one_is_refused(tmp_path: Path) -> None:
    configured = _key_file(tmp_path / "signing.pem")
    app = _one_machine_app(tmp_path, EXPORT_SIGNING_KEY_FILE=str(configured))
    expected = signing.fingerprint(signing.load_private_key(configured.read_bytes()).public_key())
    assert _key_of(app) == expected
    assert not (tmp_path / "instance" / "export_signing_key.pem").exists()

    production = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://canbo@127.0.0.1:9/canbo",  # never reached
            "DEPLOY_ON_STARTUP": False,
        }
    )
    production.instance_path = str(tmp_path / "production")
    with production.app_context(), pytest.raises(SigningKeyMissing):
        signing_key()
    assert not (tmp_path / "production").exists()  # no key made up on one host


def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("setting", "content", "said"),
    [
        ("EXPORT_SIGNING_KEY_FILE", None, "cannot be read"),
        ("EXPORT_SIGNING_KEY_FILE", b"not a key", "not an unencrypted PEM private key"),
        ("EXPORT_SIGNING_KEY_FILE", "public", "not an unencrypted PEM private key"),
        ("EXPORT_SIGNING_KEY_FILE", "rsa", "not an Ed25519 key"),
        ("EXPORT_RETIRED_PUBLIC_KEYS", b"-----BEGIN PUBLIC KEY-----\n", "not a PEM public key"),
        ("EXPORT_RETIRED_PUBLIC_KEYS", "private", "not a PEM public key"),
    ],
)
def test_a_key_setting_the_app_cannot_use_stops_the_start(
    tmp_path: Path, setting: str, content: bytes | str | None, said: str
) -> None:
    path = tmp_path / "key.pem"
    private = signing.new_private_key()
    if content == "public":
        path.write_text(signing.public_pem(private.public_key()))
    elif content == "private":
        path.write_bytes(signing.private_pem(private))
    elif content == "rsa":
        path.write_bytes(_rsa_pem())
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        _one_machine_app(tmp_path, **{setting: str(path)})
    assert setting in str(refused.value) and said in str(refused.value)


def test_retired_public_keys_come_from_a_list_of_files(tmp_path: Path) -> None:
    current = _key_file(tmp_path / "current.pem")
    retired = []
    for name in ("2025.pem", "2026.pem"):
        (tmp_path / name).write_text(signing.public_pem(signing.new_private_key().public_key()))
        retired.append(str(tmp_path / name))
    app = _one_machine_app(
        tmp_path, EXPORT_SIGNING_KEY_FILE=str(current), EXPORT_RETIRED_PUBLIC_KEYS=os.pathsep.join(retired)
    )
    with app.app_context():
        keys = trusted_keys()
    assert [(key.source, key.is_current) for key in keys] == [
        ("current", True),
        ("2025.pem", False),
        ("2026.pem", False),
    ]


# -- the pages ----------------------------------------------------------------------------------------------------


def _check(client, auth: AuthActions, content: bytes):  # type: ignore[no-untyped-def]
    token = auth.csrf_token("/audit/exports/verify")
    return client.post(
        "/audit/exports/verify",
        data={"csrf_token": token, "export": (io.BytesIO(content), "lich-su.html")},
        content_type="multipart/form-data",
    )


def test_auditors_download_the_public_key_with_its_fingerprint(auth: AuthActions, client, app: Flask) -> None:
    with app.app_context():
        (current,) = trusted_keys()
    for username in ("auditor1", "admin"):
        auth.login(username)
        page = client.get("/audit/export-keys")
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and signing.readable_fingerprint(current.fingerprint) in text
        assert "Dấu vân tay (SHA-256)" in text and "Khóa hiện dùng" in text
        download = client.get(f"/audit/export-keys/{current.fingerprint}.pem")
        assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
        assert download.get_data(as_text=True) == signing.public_pem(current.key)
        assert b"PRIVATE" not in download.get_data()
        assert client.get(f"/audit/export-keys/{'0' * 64}.pem").status_code == 404
        auth.logout()
    for username in ("officer1", "supervisor1", "head1", "personnel1"):
        auth.login(username)
        assert client.get("/audit/export-keys").status_code == 403, username
        assert client.get(f"/audit/export-keys/{current.fingerprint}.pem").status_code == 403, username
        auth.logout()
    anonymous = client.get(f"/audit/export-keys/{current.fingerprint}.pem")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    auth.login("auditor1")
    assert 'href="/audit/export-keys"' in client.get("/audit/exports/verify").get_data(as_text=True)


def test_the_check_page_accepts_a_rotated_key_and_names_an_unknown_one(
    auth: AuthActions, client, database_url: str, tmp_path: Path, driver: WorkflowDriver, export_key_file: Path
) -> None:
    """The server's key replaced: files signed with the old key verify with its public key kept as retired; a file
    signed with a key the server never had is said to be unproven, in the reader's words."""
    story = build_story(driver)
    auth.login("auditor1")
    before = client.get(f"/audit/instances/{story['completed']}/export?format=html").get_data()
    old_public = tmp_path / "export-key-2026.pem"
    old_public.write_text(signing.public_pem(signing.load_private_key(export_key_file.read_bytes()).public_key()))
    rotated = configured_app(
        database_url,
        tmp_path,
        EXPORT_SIGNING_KEY_FILE=str(_key_file(tmp_path / "export-key-2027.pem")),
        EXPORT_RETIRED_PUBLIC_KEYS=str(old_public),
    )
    rotated_client = rotated.test_client()
    rotated_auth = AuthActions(rotated_client)
    rotated_auth.login("auditor1")
    page = _check(rotated_client, rotated_auth, before)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-ok="yes"' in text and 'data-signature="valid"' in text
    assert "Đã ký bằng một khóa ký cũ của máy chủ này" in text
    after = rotated_client.get(f"/audit/instances/{story['completed']}/export?format=html").get_data()
    assert "Đã ký bằng khóa ký của máy chủ này" in _check(rotated_client, rotated_auth, after).get_data(as_text=True)
    listed = rotated_client.get("/audit/export-keys").get_data(as_text=True)
    assert "export-key-2026.pem" in listed and listed.count("<tr data-fingerprint=") == 2

    # The first server, which never had the new key: the new file is signed by a key it does not know.
    unknown = _check(client, auth, after)
    text = unknown.get_data(as_text=True)
    assert unknown.status_code == 200 and 'data-ok="no"' in text and 'data-signature="unknown_key"' in text
    assert "không phải của máy chủ này" in text and "không thuộc các khóa công khai được tin cậy" in text
    assert "none of the trusted" not in text
    _close(rotated)


def test_production_without_a_signing_key_refuses_to_export(
    database_url: str, tmp_path: Path, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = build_story(driver)
    app = configured_app(database_url, tmp_path)  # no EXPORT_SIGNING_KEY_FILE
    app.instance_path = str(tmp_path / "instance")
    monkeypatch.setattr(export_signing, "may_generate", lambda: False)  # as on PostgreSQL
    client = app.test_client()
    AuthActions(client).login("auditor1")
    refused = client.get(f"/audit/instances/{story['completed']}/export?format=json")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 503 and "CANBO_EXPORT_SIGNING_KEY_FILE" in text and "chưa xuất tệp nào" in text
    assert "attachment" not in refused.headers.get("Content-Disposition", "")
    assert "chưa có khóa để ký tệp xuất" in client.get("/audit/export-keys").get_data(as_text=True)
    assert not (tmp_path / "instance").exists()
    _close(app)


def test_production_without_a_signing_key_is_named_ahead_to_the_administrators_and_operators(
    database_url: str, tmp_path: Path, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Decision 0082: /admin's "Cần xử lý", `canbo check` and the served app's start-up log say the key is missing
    before an auditor meets the 503; the app still serves (its health does not depend on exports)."""
    app = configured_app(database_url, tmp_path)  # no EXPORT_SIGNING_KEY_FILE
    app.instance_path = str(tmp_path / "instance")
    monkeypatch.setattr(export_signing, "may_generate", lambda: False)  # as on PostgreSQL
    client = app.test_client()
    AuthActions(client).login("admin")
    page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (line,) = page.xpath("//*[@data-attention='export-signing-key']")
    said = line.text_content()
    assert "Chưa cấu hình khóa ký tệp xuất (CANBO_EXPORT_SIGNING_KEY_FILE)" in said
    assert "canbo audit new-signing-key" in said and "docs/deploy.md, mục “The export signing key”" in said
    assert "Chưa ký được tệp lịch sử xuất" in page.text_content()
    assert "Không có việc gì cần xử lý." not in page.text_content()
    health = client.get("/healthz?check=app")
    assert health.status_code == 200 and "sign" not in health.get_data(as_text=True).lower()

    checked = app.test_cli_runner().invoke(args=["check"])
    assert checked.exit_code == 0, checked.output  # the data is consistent: a warning, not a finding
    assert export_signing.MISSING_KEY_WARNING in checked.stderr
    with caplog.at_level("WARNING"):
        gunicorn_conf.log_configuration_warnings(app)
    (logged,) = [r for r in caplog.records if "CANBO_EXPORT_SIGNING_KEY_FILE is not set" in r.getMessage()]
    assert logged.levelname == "WARNING" and "docs/deploy.md" in logged.getMessage()
    _close(app)


def test_a_configured_or_generated_key_is_not_named(
    app: Flask, auth: AuthActions, client, runner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    auth.login("admin")
    assert "export-signing-key" not in client.get("/admin").get_data(as_text=True)
    checked = runner.invoke(args=["check"])
    assert checked.exit_code == 0 and "EXPORT_SIGNING_KEY_FILE" not in checked.output
    one_machine = _one_machine_app(tmp_path)  # SQLite: it makes its own key when first needed
    for configured in (app, one_machine):
        with caplog.at_level("WARNING"):
            gunicorn_conf.log_configuration_warnings(configured)
    assert not [r for r in caplog.records if "EXPORT_SIGNING_KEY_FILE" in r.getMessage()]


# -- the command line ---------------------------------------------------------------------------------------------


def test_the_cli_writes_a_new_key_and_prints_the_public_one(runner, tmp_path: Path, app: Flask) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "new.pem"
    made = runner.invoke(args=["audit", "new-signing-key", str(path)])
    assert made.exit_code == 0 and "fingerprint (SHA-256)" in made.output, made.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = signing.load_private_key(path.read_bytes())
    assert signing.readable_fingerprint(signing.fingerprint(key.public_key())) in made.output
    again = runner.invoke(args=["audit", "new-signing-key", str(path)])
    assert again.exit_code == 1 and "nothing was written" in again.output
    assert signing.load_private_key(path.read_bytes()).private_bytes_raw() == key.private_bytes_raw()

    with app.app_context():
        (current,) = trusted_keys()
    printed = runner.invoke(args=["audit", "export-key"])
    assert printed.exit_code == 0 and signing.public_pem(current.key) in printed.output
    output = tmp_path / "public.pem"
    written = runner.invoke(args=["audit", "export-key", "--output", str(output)])
    assert written.exit_code == 0 and signing.readable_fingerprint(current.fingerprint) in written.output
    assert output.read_text() == signing.public_pem(current.key)


def _canbo(monkeypatch: pytest.MonkeyPatch, *args: str) -> int | str | None:
    """The installed entry point, in this process: its exit code."""
    monkeypatch.setattr(sys, "argv", ["canbo", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code


def test_the_key_is_made_where_the_setting_already_points_before_it_exists(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """docs/deploy.md's first install with the environment file written first: CANBO_EXPORT_SIGNING_KEY_FILE names
    the file `canbo audit new-signing-key` is about to make. Every other command stops on the missing file; this
    one makes it, and the next command starts with it."""
    key_file = tmp_path / "export-signing-key.pem"
    monkeypatch.setenv("CANBO_EXPORT_SIGNING_KEY_FILE", str(key_file))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'canbo.db'}")
    monkeypatch.setenv("SECRET_KEY", "first-install")
    assert _canbo(monkeypatch, "units", "list") == 1
    assert f"{key_file} cannot be read" in capsys.readouterr().err

    assert _canbo(monkeypatch, "audit", "new-signing-key", str(key_file)) == 0
    made = capsys.readouterr().out
    assert f"wrote a new export signing key to {key_file}" in made
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    assert _canbo(monkeypatch, "audit", "export-key") == 0  # the next command starts, with the key just made
    public = signing.load_private_key(key_file.read_bytes()).public_key()
    assert signing.public_pem(public) in capsys.readouterr().out


def test_the_offline_check_leaves_nothing_behind_and_other_commands_keep_their_instance_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The committee's own machine, nothing configured (decision 0088): the check creates no instance folder, no
    secret key file, no SQLite database, neither there nor where it runs; any other command sets its install up as
    before."""
    here = tmp_path / "auditor"
    here.mkdir()
    instance = tmp_path / "instance"
    monkeypatch.chdir(here)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda _app: str(instance))
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "AUDIT_ANCHOR_KEY",
        "CANBO_EXPORT_SIGNING_KEY_FILE",
        "CANBO_EXPORT_RETIRED_PUBLIC_KEYS",
        "CANBO_DEPLOY_ON_STARTUP",
    ):
        monkeypatch.delenv(name, raising=False)
    public_key = str(EXPORTS / "format-4-public-key.pem")
    for export in ("format-4.json", "format-4.html"):
        code = _canbo(monkeypatch, "audit", "verify-export", str(EXPORTS / export), "--public-key", public_key)
        printed = capsys.readouterr()
        assert code == 0 and "intact" in printed.out, printed
        assert not instance.exists() and list(here.iterdir()) == []
    # A command of the install's (its public key, on SQLite made into its instance folder): the folder as before.
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "0")
    assert _canbo(monkeypatch, "audit", "export-key") == 0, capsys.readouterr()
    assert {path.name for path in instance.iterdir()} >= {"secret_key", export_signing.GENERATED_KEY_NAME}
    assert list(here.iterdir()) == []


def test_an_export_verifies_offline_with_the_public_key_alone(tmp_path: Path) -> None:
    """The committee's machine: the canbo package, the file and the public key — the database unreachable, no
    audit key, no signing key (decision 0077)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "AUDIT_ANCHOR_KEY",
            "CANBO_EXPORT_SIGNING_KEY_FILE",
            "CANBO_EXPORT_RETIRED_PUBLIC_KEYS",
            "CANBO_DEPLOY_ON_STARTUP",  # the command itself knows it needs no database
        )
    }
    env.update(
        DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/nothing",  # nothing answers there
        SECRET_KEY="offline",
    )
    canbo = Path(sys.executable).with_name("canbo")
    public_key = EXPORTS / "format-4-public-key.pem"

    def verify(path: Path, *keys: Path) -> subprocess.CompletedProcess[str]:
        arguments = [a for key in keys for a in ("--public-key", str(key))]
        return subprocess.run(
            [str(canbo), "audit", "verify-export", str(path), *arguments],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    intact = verify(EXPORTS / "format-4.html", public_key)
    assert intact.returncode == 0 and "intact" in intact.stdout and "format-4-public-key.pem" in intact.stdout
    other = tmp_path / "other.pem"
    other.write_text(signing.public_pem(signing.new_private_key().public_key()))
    unknown = verify(EXPORTS / "format-4.json", other)
    assert unknown.returncode == 1 and "none of the trusted public keys" in unknown.stderr
    assert verify(EXPORTS / "format-4.json", other, public_key).returncode == 0  # a retired key among them
    document = json.loads((EXPORTS / "format-4.json").read_text())
    document["exported_by"] = "someone_else"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n")
    broken = verify(forged, public_key)
    assert broken.returncode == 1 and "NOT intact" in broken.stderr
    trusted = [signing.TrustedKey(signing.load_public_key(public_key.read_bytes()), "k")]
    assert verify_export(forged.read_bytes(), trusted=trusted).signature is SignatureCheck.ALTERED
    assert sorted(path.name for path in tmp_path.iterdir()) == ["forged.json", "other.pem"]  # the test's own
