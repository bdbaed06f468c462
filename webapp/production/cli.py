"""`canbo serve`, `canbo check`, `canbo backup`, `canbo restore` (docs/deploy.md)."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from webapp.extensions import db
from webapp.generated_keys import unset_keys_note, unset_keys_refusal
from webapp.production.database_wait import DatabaseWait, until_reached
from workflows.clock import utcnow_naive
from workflows.db import Base
from workflows.migrate import known_revisions
from workflows.production.backup import BackupError, KnownSchema, backup_sqlite, restore_sqlite, sqlite_path
from workflows.production.consistency import check_consistency
from workflows.production.health import migration_heads

GUNICORN_CONF = Path(__file__).with_name("gunicorn_conf.py")


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.command("serve", help="Run the web app under gunicorn: N worker processes, JSON logs, shared metrics.")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=lambda: int(os.environ.get("CANBO_WEB_WORKERS", "2")),
    show_default="CANBO_WEB_WORKERS or 2",
    help="Worker processes; one per core is right for this CPU-bound app.",
)
@click.option(
    "--bind",
    default=lambda: os.environ.get("CANBO_BIND", "127.0.0.1:8000"),
    show_default="CANBO_BIND or 127.0.0.1:8000",
    help="Address to listen on; loopback by default: the reverse proxy in front is what the network reaches.",
)
@click.option("--timeout", type=int, default=60, show_default=True, help="Seconds before a stuck worker is replaced.")
@with_appcontext
def serve_command(workers: int, bind: str, timeout: int) -> None:
    if refusal := unset_keys_refusal(current_app, "serve"):
        _fail(refusal)
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
    if gunicorn is None:
        _fail("gunicorn is not installed (pip install -e .)")
    env = dict(os.environ)
    env.setdefault("CANBO_LOG_FORMAT", "json")
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    if app.config["DEPLOY_ON_STARTUP"]:
        _deploy_when_the_database_answers(app, json_lines=env["CANBO_LOG_FORMAT"] == "json")
        env["CANBO_DEPLOY_ON_STARTUP"] = "0"  # done: gunicorn's master loads the app without the database
    # Each gunicorn worker writes its counters here; emptied at every start so a restart does not double-count.
    metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="canbo-metrics-"))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):  # prometheus_client's files only: the directory may be the operator's
        stale.unlink()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    args = [
        gunicorn,
        "--config",
        str(GUNICORN_CONF),
        "--workers",
        str(workers),
        "--bind",
        bind,
        "--timeout",
        str(timeout),
        # gunicorn's control socket is one path per user: two services on one host would fight over it.
        "--no-control-socket",
        "webapp:create_app()",
    ]
    # Replace this process: gunicorn's master then receives the service manager's signals directly.
    os.execve(gunicorn, args, env)  # noqa: S606


# The first wait for a database away at start; doubling up to a minute, as the worker's (docs/deploy.md).
SERVE_RETRY_SECONDS = 2.5


def _deploy_when_the_database_answers(app: Flask, *, json_lines: bool) -> None:
    """bpmn/ deployed before gunicorn starts listening. A database away at start (the host booted before it, a
    failover) is waited for, each try logged as the worker logs it, rather than exiting for the service manager to
    restart in a loop (decision 0108); SIGTERM meanwhile ends the process at once (no handler of ours)."""
    from webapp import deploy_bundled_once
    from workflows.production.logs import use_json_lines, use_text_lines

    use_json_lines() if json_lines else use_text_lines()
    wait = DatabaseWait(SERVE_RETRY_SECONDS, logging.getLogger("canbo.serve").warning)
    until_reached(lambda: deploy_bundled_once(app), wait)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # gunicorn, exec'd in this process, must not inherit our connection


@click.command(
    "check",
    help="Check the invariants (inbox = READY engine tasks, audit chains verify, each task completed once); "
    "print every finding and exit 1 if there is any. A missing export signing key, SECRET_KEY or AUDIT_ANCHOR_KEY, and "
    "a BASE_URL e-mails cannot link to, are warned about, not counted.",
)
@with_appcontext
def check_command() -> None:
    from webapp.audit.signing import missing_key_warning

    # A setting that makes a feature refuse (exports, decision 0082) is said, but is no inconsistency of the data:
    # the exit status stays the invariants'.
    if warning := missing_key_warning():
        click.echo(warning, err=True)
    if note := unset_keys_note(current_app):
        click.echo(note, err=True)
    from webapp.cli import base_url_warning

    if current_app.config["SMTP_HOST"] and (link_warning := base_url_warning(current_app.config["BASE_URL"])):
        click.echo(link_warning, err=True)
    report = check_consistency(db.session, current_app.extensions["canbo_engine"])
    for finding in report.findings:
        click.echo(str(finding), err=True)
    summary = (
        f"{report.instances} running instance(s), {report.open_tasks} open task(s), {report.completions} "
        f"completion(s), {report.chains} audit chain(s) with {report.events} event(s)"
    )
    if not report.ok:
        _fail(f"NOT consistent: {len(report.findings)} finding(s) in {summary}")
    click.echo(f"consistent: {summary}")


@click.command("backup", help="Copy the SQLite database to PATH while the app runs (online backup API).")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    try:
        result = backup_sqlite(sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"]), path)
    except BackupError as error:
        _fail(str(error))
    click.echo(f"backup written: {result.path} ({result.bytes:,} bytes, {result.pages:,} pages, integrity ok)")


@click.command(
    "restore",
    help="Replace the SQLite database with the backup at PATH. Stop `canbo run`/`canbo serve` and `canbo worker` "
    "first: a worker heartbeat in the database younger than CANBO_WORKER_HEARTBEAT_MAX_AGE refuses the restore.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the current contents are to be replaced.")
@click.option(
    "--force",
    is_flag=True,
    help="Restore even though a worker beat in the database recently (one killed without a clean stop, whose row "
    "has not aged yet).",
)
@with_appcontext
def restore_command(path: Path, yes: bool, force: bool) -> None:
    if not yes:
        _fail("restore replaces every row of the database: add --yes to confirm")
    max_age = None if force else timedelta(seconds=float(current_app.config["WORKER_HEARTBEAT_MAX_AGE"]))
    db.session.remove()
    db.engine.dispose()  # our own connections must not hold the file while it is replaced
    try:
        (head,) = migration_heads()
        schema = KnownSchema(known_revisions(), head, set(Base.metadata.tables))
        result = restore_sqlite(
            path,
            sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"]),
            schema,
            now=utcnow_naive(),
            worker_max_age=max_age,
        )
    except BackupError as error:
        _fail(str(error))
    # An older backup holds an older schema: GET /healthz reports it behind the code until it is upgraded.
    then = "`canbo check`" if result.revision == head else "`canbo db upgrade`, then `canbo check`"
    click.echo(f"restored {result.path} from {path} ({result.bytes:,} bytes); run {then} before reopening")


serve_command.canbo_deploys_first = False  # type: ignore[attr-defined]  # it deploys once the database answers
COMMANDS = (serve_command, check_command, backup_command, restore_command)
