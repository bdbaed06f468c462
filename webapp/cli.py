"""`canbo`: the Flask CLI with the app preloaded, plus the operators' commands.

Each command is a thin wrapper: parse arguments, call one `workflows` function in a transaction, print.
Errors print a readable message and exit non-zero; the database is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from webapp import display_zone
from webapp.appointment import appointment_policy, work_calendar
from webapp.audit.anchoring import anchor_key
from webapp.audit.cli import (
    anchor_command,
    export_key_command,
    new_signing_key_command,
    verify_against,
    verify_export_command,
)
from webapp.ballots.wording import box_question_in
from webapp.config import ConfigError
from webapp.evaluation import evaluation_policy, reminder_leads
from webapp.evaluation.rollup_cli import annual_command, rollup_command
from webapp.extensions import db
from webapp.generated_keys import unset_keys_refusal
from webapp.http import problem_text, translated
from webapp.notifications import digest_schedule, email_links
from webapp.own_start_pages import own_start_page
from webapp.production.database_wait import DatabaseWait, database_away, first_line
from webapp.start_commands import exit_with, start_or_exit
from workflows.appointment.demo import run_past_appointment
from workflows.appointment.service import (
    start_appointment,
    start_due_reappointments,
    start_due_reappointments_daily,
)
from workflows.audit import instance_chain, verify_chains
from workflows.db import transaction
from workflows.deployment.operations import (
    deploy_bundle,
    list_versions,
    reinstate_process,
    retire_process,
    roll_back_process,
)
from workflows.deployment.validation import BundleFile, split_uploads, validate_bundle
from workflows.engine import operations
from workflows.errors import UNKNOWN_FIELD, Invalid, NotAllowed, NotFound, Problem, ScriptFailure, WorkflowError
from workflows.evaluation.demo_month import DEMO_OPENED_BY, DEMO_UNIT_CODE, demo_products
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.evaluation.products import read_assigned_products
from workflows.evaluation.schedule import open_scheduled_months
from workflows.exports import (
    AUDIT_COLUMNS,
    EVALUATION_COLUMNS,
    TASK_COLUMNS,
    audit_records,
    evaluation_records,
    task_records,
)
from workflows.inspection.anchors import write_daily_anchor
from workflows.notifications import SmtpSettings, run_notifications
from workflows.overdue_digest import notify_overdue_weekly
from workflows.production.heartbeat import WorkerIdentity, beat, forget, worker_forget_after
from workflows.query_args import MAX_ID
from workflows.registry.account_import import UserImportResult, accounts_for_cadres, import_users
from workflows.registry.accounts import (
    change_username,
    create_user,
    edit_details,
    grant_role,
    open_tasks_held,
    reset_password,
    revoke_role,
    set_active,
)
from workflows.registry.cadre_columns import CADRE_COLUMNS
from workflows.registry.demo import (
    DEFAULT_PROVINCE_CADRES,
    DEMO_PASSWORD,
    DEMO_SEED,
    MAX_PROVINCE_CADRES,
    load_demo,
    load_demo_province,
)
from workflows.registry.importing import ImportRefused, export_cadres, import_cadres
from workflows.registry.models import Cadre, OrgUnit, UnitType, User
from workflows.registry.records import local_today
from workflows.registry.tabular import (
    CellProblem,
    Column,
    Format,
    ValidationReport,
    template,
    write_problem_report,
    write_table,
)
from workflows.registry.tokens import create_token
from workflows.registry.units import create_top_unit, in_tree_order
from workflows.states import Role
from workflows.timers import run_due_timers


def main() -> None:
    from webapp import create_app

    # Loading the app touches no database: bpmn/ is deployed when a command runs (`deploy_before_running`), so
    # `--help` and a mistyped option are answered with the database away, and without the deploy's seconds.
    factory: Callable[[], Flask] = functools.partial(create_app, deploy=False)
    if _checks_offline(sys.argv[1:]):
        factory = functools.partial(create_app, offline_config(), deploy=False)
    elif _makes_a_key(sys.argv[1:]):
        factory = functools.partial(create_app, WITHOUT_INSTALL_KEYS, deploy=False)
    made: list[Flask] = []

    def make_app() -> Flask:
        made.append(factory())
        return made[-1]

    cli = FlaskGroup(create_app=make_app, help="Cán bộ — personnel procedures as BPMN workflows.")
    deploy_before_running(cli.commands["run"])
    try:
        cli.main(prog_name="canbo")
    except DBAPIError as error:
        # An operator's first command on a new database, or a server that is down: one line they can act on.
        exit_with(_database_error_message(error))
    except ConfigError as error:
        exit_with(str(error))
    finally:
        for app in made:
            _close_connections(app)


def _close_connections(app: Flask) -> None:
    """A command ends by closing its connections, so the server sees a goodbye rather than a dropped socket (and a
    command run in-process, as the tests run them, leaves no connection for the collector to find open)."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def _checks_offline(args: list[str]) -> bool:
    """`canbo audit verify-export FILE --public-key KEY.pem`: trusts only the keys given and reads no database."""
    return args[:2] == ["audit", "verify-export"] and any(
        arg == "--public-key" or arg.startswith("--public-key=") for arg in args[2:]
    )


def _makes_a_key(args: list[str]) -> bool:
    """`canbo audit new-signing-key PATH`: run on a new install before the key it makes exists — often with the
    setting already pointing at PATH (a systemd environment file written first), which would stop any other
    command at start ("cannot be read")."""
    return args[:2] == ["audit", "new-signing-key"]


# The install's keys are not loaded for a command that makes a key: it reads none of them.
WITHOUT_INSTALL_KEYS: dict[str, Any] = {"EXPORT_SIGNING_KEY_FILE": "", "EXPORT_RETIRED_PUBLIC_KEYS": ""}


def offline_config() -> dict[str, Any]:
    """What the app runs the offline check with (decision 0088). The inspection committee's machine holds a file and
    public keys, and the command leaves nothing behind: no instance folder, no secret key file, no SQLite file. So a
    secret made for this run (the check signs no session), a database in memory that is never opened (none to reach,
    whatever DATABASE_URL says, and no models to deploy into it), and none of an install's signing keys."""
    return {
        "SECRET_KEY": secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "DEPLOY_ON_STARTUP": False,
        **WITHOUT_INSTALL_KEYS,
    }


# PostgreSQL's SQLSTATE for a missing table (psycopg: UndefinedTable); SQLite only says it in its message.
_UNDEFINED_TABLE = "42P01"


def _database_error_message(error: DBAPIError) -> str:
    reason = first_line(error)
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if code == _UNDEFINED_TABLE or reason.startswith("no such table"):
        return f"the database schema is missing or out of date ({reason}): run `canbo db upgrade` first"
    return f"database error ({type(error).__name__}): {reason}"


def init_app(app: Flask) -> None:
    groups = (
        processes,
        audit,
        demo,
        instances,
        tasks,
        units,
        users,
        import_group,
        export_group,
        evaluation,
        appointment,
    )
    for group in groups:
        app.cli.add_command(group)
    app.cli.add_command(runs_without_deploying(worker))  # it deploys once the database answers (it waits for it)
    from webapp.rotation.cli import rotation

    app.cli.add_command(rotation)
    from webapp.planning.cli import planning

    app.cli.add_command(planning)
    from webapp.production.cli import COMMANDS as production_commands

    for command in production_commands:
        app.cli.add_command(command)
    deploy_before_running(app.cli)


def runs_without_deploying(command: click.Command) -> click.Command:
    """Marks a command that needs no procedure deployed first: it reads no database (the offline export check, key
    files), or it deploys itself once the database answers (`worker`, `serve`: they wait for it)."""
    command.canbo_deploys_first = False  # type: ignore[attr-defined]
    return command


def deploy_before_running(command: click.Command) -> None:
    """Each command (a group: each of its commands) deploys bpmn/ (DEPLOY_ON_STARTUP) just before its own code runs,
    after its arguments are parsed: `--help`, which ends the parsing, never reaches the database (decision 0108)."""
    if not getattr(command, "canbo_deploys_first", True):
        return
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            deploy_before_running(subcommand)
        return
    run = command.callback
    if run is None or getattr(run, "canbo_deploys_first", False):
        return  # already wrapped: the commands are shared by every app made in this process

    @functools.wraps(run)
    def deploying_first(*args: Any, **kwargs: Any) -> Any:
        from webapp import deploy_bundled_once

        deploy_bundled_once(click.get_current_context().ensure_object(ScriptInfo).load_app())
        return run(*args, **kwargs)

    deploying_first.canbo_deploys_first = True  # type: ignore[attr-defined]
    command.callback = deploying_first


def _user(username: str | None) -> User | None:
    if username is None:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        exit_with(f"no such user: {username}")
    return user


def _named_user(username: str) -> User:
    """The user a command names as its subject (an account command's USERNAME): unknown stops it, as `_user` does."""
    user = _user(username)
    assert user is not None  # a name was given: _user returns or stops
    return user


def _engine():  # type: ignore[no-untyped-def]
    return current_app.extensions["canbo_engine"]


# What a directory given to `processes deploy/validate` stands for: its models and the forms beside them.
BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")


def _read_bundle(paths: tuple[str, ...]) -> tuple[list[BundleFile], dict[str, bytes]]:
    """The files named, a directory standing for its .bpmn, .dmn and .json files (not those of subdirectories), as
    one bundle. Each process is versioned by what it runs from (decision 0044), so deploying the directory the app
    started from again is "unchanged" process by process."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in BUNDLE_SUFFIXES)
            if not any(p.suffix.lower() == ".bpmn" for p in inside):
                exit_with(f"{raw}: the directory holds no .bpmn file")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            exit_with(f"{raw}: no such file or directory")
    files, forms, problems = split_uploads((str(path), path.read_bytes()) for path in found)
    if problems:
        exit_with(str(Invalid("the model bundle is not valid", problems)))
    return files, forms


# -- processes ----------------------------------------------------------------------------------------


@click.group(help="Deploy, list and validate process definitions; withdraw, reinstate or roll back a procedure.")
def processes() -> None:
    pass


@processes.command(
    "deploy",
    help="Deploy BPMN/DMN files (and form .json files they name) as new versions; a directory stands for its files.",
)
@click.argument("paths", nargs=-1, required=True)
@click.option("--as", "username", help="Record the deployment as this (admin) user.")
@with_appcontext
def deploy_command(paths: tuple[str, ...], username: str | None) -> None:
    files, forms = _read_bundle(paths)
    try:
        with transaction(db.session):
            results = deploy_bundle(
                db.session,
                files,
                actor=_user(username),
                forms_dir=Path(current_app.config["FORMS_DIR"]),
                extra_forms=forms,
            )
    except Invalid as error:
        exit_with(f"Rejected, nothing was stored.\n{error}")
    except WorkflowError as error:
        exit_with(error.explained)
    for result in results:
        click.echo(str(result))


@processes.command(
    "validate",
    help="Check BPMN/DMN files (a directory: its files); print every problem and exit non-zero if any.",
)
@click.argument("paths", nargs=-1, required=True)
@with_appcontext
def validate_command(paths: tuple[str, ...]) -> None:
    files, forms = _read_bundle(paths)
    try:
        bundle = validate_bundle(files, Path(current_app.config["FORMS_DIR"]), forms)
    except Invalid as error:
        exit_with(str(error))
    click.echo(f"valid: {', '.join(bundle.process_ids)}")


@processes.command("list", help="List deployed process versions.")
@with_appcontext
def list_command() -> None:
    first_with: dict[tuple[str, str], int] = {}
    for version in list_versions(db.session):
        withdrawn = (
            f"\twithdrawn {version.retired_dt:%Y-%m-%d %H:%M}: {version.retired_reason}" if version.retired_dt else ""
        )
        first = first_with.setdefault((version.process_id, version.content_hash), version.version)
        again = f"\tsame content as v{first}" if first != version.version else ""
        click.echo(
            f"{version.process_id}\tv{version.version}\t{version.content_hash[:12]}\t"
            f"{version.deployed_dt:%Y-%m-%d %H:%M}\t{version.name}{again}{withdrawn}"
        )


@processes.command(
    "withdraw",
    help="Withdraw a procedure from use: no new instance starts (by hand, API, worker); the running ones go on.",
)
@click.argument("process_id")
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
@click.option("--as", "username", help="Record it as this (admin) user.")
@with_appcontext
def withdraw_command(process_id: str, reason: str, username: str | None) -> None:
    try:
        with transaction(db.session):
            version = retire_process(db.session, actor=_user(username), process_id=process_id, reason=reason)
    except WorkflowError as error:
        exit_with(error.message)
    click.echo(f"{process_id} v{version.version} withdrawn from use")


@processes.command("reinstate", help="Put a withdrawn procedure back in use.")
@click.argument("process_id")
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
@click.option("--as", "username", help="Record it as this (admin) user.")
@with_appcontext
def reinstate_command(process_id: str, reason: str, username: str | None) -> None:
    try:
        with transaction(db.session):
            version = reinstate_process(db.session, actor=_user(username), process_id=process_id, reason=reason)
    except WorkflowError as error:
        exit_with(error.message)
    click.echo(f"{process_id} v{version.version} in use again")


@processes.command(
    "rollback",
    help="Start new instances on an earlier version again: its content is deployed anew as the next version; "
    "running instances stay on theirs, a withdrawn procedure stays withdrawn.",
)
@click.argument("process_id")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why; recorded in the audit log.")
@click.option("--as", "username", help="Record it as this (admin) user.")
@with_appcontext
def rollback_command(process_id: str, version: int, reason: str, username: str | None) -> None:
    try:
        with transaction(db.session):
            result = roll_back_process(
                db.session, actor=_user(username), process_id=process_id, version=version, reason=reason
            )
    except WorkflowError as error:
        exit_with(str(error))
    click.echo(str(result))


# -- audit --------------------------------------------------------------------------------------------


@click.group(help="Audit trail.")
def audit() -> None:
    pass


@audit.command("verify", help="Recompute every hash chain; exit non-zero naming the first broken event.")
@click.option("--instance", "instance_id", type=int, help="Only this instance's chain.")
@click.option(
    "--against",
    "digest_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A signed anchor digest kept off the server: a chain rewritten whole is detected too.",
)
@with_appcontext
def verify_command(instance_id: int | None, digest_file: str | None) -> None:
    if digest_file is not None:
        report = verify_against(digest_file)
    else:
        report = verify_chains(db.session, instance_chain(instance_id) if instance_id is not None else None)
    db.session.rollback()
    if instance_id is not None and report.chains == 0:
        exit_with(f"instance {instance_id} has no audit chain")
    if not report.ok:
        for chain_break in report.breaks:
            click.echo(f"BROKEN {chain_break}", err=True)
        exit_with(f"audit trail NOT intact: {len(report.breaks)} broken chain(s) of {report.chains}")
    click.echo(f"audit trail intact: {report.chains} chain(s), {report.events} event(s)")


audit.add_command(anchor_command)
audit.add_command(runs_without_deploying(verify_export_command))
audit.add_command(runs_without_deploying(export_key_command))
audit.add_command(runs_without_deploying(new_signing_key_command))


# -- demo ---------------------------------------------------------------------------------------------


@click.group(help="Demo data.")
def demo() -> None:
    pass


@demo.command(
    "load",
    help="Create the demo province (Tỉnh Sơn Hà): units, generated cadres with planning and evaluations, and the "
    "demo logins. Idempotent: a second run adds nothing, a larger --cadres adds only the missing cadres.",
)
@click.option(
    "--cadres",
    type=click.IntRange(0, MAX_PROVINCE_CADRES),
    default=DEFAULT_PROVINCE_CADRES,
    show_default=True,
    help="Generated cadres in the province (0: only the small demo organisation).",
)
@click.option(
    "--seed",
    type=int,
    default=DEMO_SEED,
    show_default=True,
    help="The same seed gives the same people; cadres already loaded keep theirs.",
)
@click.option(
    "--no-open-month",
    is_flag=True,
    help="Do not open the current month's evaluation for Xã An Phú (by default the demo logins find their "
    "self-assessment waiting in the inbox).",
)
@with_appcontext
def demo_load_command(cadres: int, seed: int, no_open_month: bool) -> None:
    started = time.perf_counter()
    with transaction(db.session):
        logins = load_demo(db.session)
        summary = load_demo_province(db.session, cadres=cadres, seed=seed, today=local_today()) if cadres else None
    if summary is not None:
        months = summary.evaluated_months
        click.echo(f"{summary.province}, seed {summary.seed} ({time.perf_counter() - started:.1f} s):")
        click.echo(f"  units        {summary.units:,} ({summary.positions:,} titles)")
        click.echo(f"  cadres       {summary.cadres:,} ({summary.cadres_added:,} added)")
        click.echo(f"  women        {summary.women_percent:.1f} %")
        click.echo(f"  minorities   {summary.minority_percent:.1f} %")
        click.echo(f"  planning     {summary.planning_entries:,} entries for {summary.planning_term}")
        click.echo(f"  evaluations  {summary.evaluations:,} ({months[0]} to {months[-1]})")
        click.echo(f"  discipline   {summary.disciplined:,} cadres; rotations {summary.rotations:,}")
        logins = [*logins, *summary.logins]
    click.echo(f"Demo logins (password: {DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.username:<12} {login.full_name:<18} {login.description}")
    if not no_open_month:
        _open_demo_month()
    if summary is not None:
        _past_demo_appointment()


def _open_demo_month() -> None:
    """The current month's evaluation for the demo commune's cadres who can sign in, as its personnel officer would
    open it by hand: work waiting for the demo logins. Only they: the generated cadres have no account, and their
    self-assessments would fill the administrators' list of tasks nobody can be assigned to. Opening is idempotent,
    so a second load finds it open and says so."""
    month = local_today().strftime("%Y-%m")
    try:
        personnel = _user(DEMO_OPENED_BY)
        with transaction(db.session):
            plan = plan_month(db.session, actor=personnel, month=month, unit_code=DEMO_UNIT_CODE)
            with_login = [cadre for cadre in plan.to_open if cadre.user_id is not None]
            result = open_for_cadres(
                db.session,
                _engine(),
                actor=personnel,
                plan=plan,
                cadres=with_login,
                policy=evaluation_policy(),
                products=demo_products(),
            )
    except WorkflowError as error:  # e.g. the evaluation procedure not deployed: the demo itself is loaded
        click.echo(f"The evaluation of {month} was not opened for the demo logins: {error}", err=True)
        return
    if result.opened:
        click.echo(
            f"Work waiting: the evaluation of {month} is open in {plan.unit.name} for its {result.opened} demo "
            "logins (officer1, officer2, supervisor1 and head1 each find a self-assessment in the inbox)."
        )
    else:
        click.echo(f"Work waiting: the evaluation of {month} in {plan.unit.name} was already open.")


def _past_demo_appointment() -> None:
    """An appointment decided weeks ago in Xã An Phú, every step taken by the demo logins (workflows.appointment.demo):
    a whole history for the inspector to read."""
    try:
        with transaction(db.session):
            past = run_past_appointment(
                db.session, _engine(), today=local_today(), policy=appointment_policy(), calendar=work_calendar()
            )
    except WorkflowError as error:  # e.g. the appointment procedure not deployed: the demo itself is loaded
        click.echo(f"The demo's past appointment was not recorded: {error}", err=True)
        return
    if past is None:
        return
    click.echo(
        f"History to read: appointment #{past.instance_id}, {past.nominee} to {past.post} of Xã An Phú, decided on "
        f"{past.decided_on:%d/%m/%Y} (auditor1: /audit/instances/{past.instance_id})"
        + ("" if past.created else ", kept from an earlier load")
        + "."
    )


# -- instances and tasks ------------------------------------------------------------------------------


@click.group(help="Start and inspect process instances.")
def instances() -> None:
    pass


@instances.command("start", help="Start PROCESS_ID (latest version).")
@click.argument("process_id")
@click.option("--subject", "subject_code", help="Cadre code of the person the procedure is about.")
@click.option("--unit", "unit_code", help="Org unit code (defaults to the subject's unit).")
@click.option("--data", "data_json", default="{}", help="Initial data as a JSON object.")
@click.option("--as", "username", help="Act as this user (default: the system).")
@with_appcontext
def start_command(
    process_id: str, subject_code: str | None, unit_code: str | None, data_json: str, username: str | None
) -> None:
    own_page = own_start_page(process_id)
    if own_page is not None:
        # Started without the data its own command gathers, it would fail at its first gateway.
        exit_with(f"{process_id} is started with `{own_page.command}`, which asks for what it needs (see --help)")
    data = _json_object(data_json)
    subject_id = _lookup_id(Cadre, subject_code) if subject_code else None
    unit_id = _lookup_id(OrgUnit, unit_code) if unit_code else None
    actor = _user(username)
    instance = start_or_exit(
        lambda: operations.start_instance(
            db.session,
            _engine(),
            actor=actor,
            process_id=process_id,
            data=data,
            subject_cadre_id=subject_id,
            unit_id=unit_id,
        )
    )
    click.echo(f"started {instance.reference} (id {instance.id})")
    _print_open_tasks(instance.id)


@click.group(help="Work on user tasks.")
def tasks() -> None:
    pass


# An id is never an option: `tasks list -1` is an instance that does not exist, not a usage error.
@tasks.command("list", help="Open tasks of an instance.", context_settings={"ignore_unknown_options": True})
@click.argument("instance_id", type=int)
@with_appcontext
def tasks_list_command(instance_id: int) -> None:
    from workflows.models import ProcessInstance

    # An id beyond the integer column is not looked up: PostgreSQL would fail on it rather than find nothing.
    instance = db.session.get(ProcessInstance, instance_id) if 0 < instance_id <= MAX_ID else None
    if instance is None:
        exit_with(f"no such instance: {instance_id}")
    if not _print_open_tasks(instance_id):
        click.echo(f"{instance.reference}: {instance.status}, no open tasks")


@tasks.command("complete", help="Complete an open task as a user.")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--data", "data_json", default="{}")
@with_appcontext
def tasks_complete_command(task_id: int, username: str, data_json: str) -> None:
    actor = _user(username)
    assert actor is not None
    data = _json_object(data_json)
    try:
        instance = _complete(actor, task_id, data)
    except (NotFound, NotAllowed) as error:
        # The pages hide a task outside a person's reach as missing; the operator is told who it waits for.
        exit_with(_why_not_completed(actor, task_id) or str(error))
    except WorkflowError as error:
        exit_with(str(error) + _form_fields_note(task_id, error))
    click.echo(f"{instance.reference}: {instance.status}")
    _print_open_tasks(instance.id)


@tasks.command(
    "reassign",
    help="Hand the open task TASK_ID to another person (decision 0078): a secret-ballot step and a step of the "
    "person the procedure is about are refused; the receiver must hold the role the step requires where it waits.",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("task_id", type=int)
@click.option("--to", "to_username", required=True, help="Username of the person who takes the task.")
@click.option("--reason", required=True, help="Why; recorded in the procedure's audit log.")
@click.option("--as", "username", default=None, help="Act as this user (personnel or administrator over the task).")
@with_appcontext
def tasks_reassign_command(task_id: int, to_username: str, reason: str, username: str | None) -> None:
    actor = _user(username)
    receiver = _named_user(to_username)
    if not 0 < task_id <= MAX_ID:
        exit_with(f"no such task: {task_id}")
    try:
        with transaction(db.session):
            task = operations.reassign_task(
                db.session, actor=actor, task_id=task_id, to_user_id=receiver.id, reason=reason
            )
    except WorkflowError as error:
        _refused(error)
    click.echo(f"Đã giao việc {task.id} “{task.name}” cho {receiver.username}.")


def _complete(actor: User, task_id: int, data: dict[str, Any]):  # type: ignore[no-untyped-def]

    try:
        with transaction(db.session):
            # As the API: only the form's own fields. Any other key would overwrite the procedure's data
            # (a count of returns, a decision of the server's), which no form lets a person set.
            return operations.complete_task(
                db.session, _engine(), actor=actor, task_id=task_id, data=data, form_fields_only=True
            )
    except ScriptFailure as failure:
        instance_id = operations.task_instance_id(db.session, task_id)
        with transaction(db.session):
            operations.record_failure(db.session, actor=actor, instance_id=instance_id, error=failure)
        raise


def _form_fields_note(task_id: int, error: WorkflowError) -> str:
    """For a completion refused for a key that is not a field of the task's form: the fields the form has, so the
    operator sees what --data may hold. Empty for any other refusal."""
    from workflows.models import HumanTask, ProcessInstance

    if not isinstance(error, Invalid) or not any(p.message == UNKNOWN_FIELD for p in error.problems):
        return ""
    db.session.rollback()
    task = db.session.get(HumanTask, task_id)
    instance = db.session.get(ProcessInstance, task.instance_id) if task is not None else None
    if task is None or instance is None:
        return ""
    schema = _engine().definition(db.session, instance.process_version_id).form_schema(task.form_filename)
    fields = ", ".join((schema or {}).get("properties") or {})
    return f"\nthe form of task {task_id} has the fields: {fields}; nothing was changed"


def _print_open_tasks(instance_id: int) -> int:
    from workflows.models import HumanTask
    from workflows.states import TaskStatus

    rows = db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
    ).all()
    for row in rows:
        due = f" due {row.due_dt:%Y-%m-%d %H:%M}" if row.due_dt else ""
        click.echo(f"  task {row.id}: {row.name} [{row.lane}] → {_waits_for(row)}{due}")
    return len(rows)


def _waits_for(task: Any) -> str:
    """Who an open task waits for, by name: a user, a role in a unit (by code), or nobody and why (an administrator
    reassigns it, decision 0078)."""
    if task.assignee_id is not None:
        user = db.session.get(User, task.assignee_id)
        return f"user {user.username if user else task.assignee_id}"
    if task.candidate_role:
        return f"{task.candidate_role} in unit {_unit_code(task.candidate_unit_id)}"
    problem = f": {task.assignment_problem}" if task.assignment_problem else ""
    return f"nobody yet (unit {_unit_code(task.unit_id)}{problem}); reassign it with `canbo tasks reassign`"


def _unit_code(unit_id: int | None) -> str:
    unit = db.session.get(OrgUnit, unit_id) if unit_id is not None else None
    return unit.code if unit is not None else "?"


def _why_not_completed(actor: User, task_id: int) -> str | None:
    """Why `actor` may not complete the task: it is not open, or it waits for someone else (named). None when there
    is no such task."""
    from workflows.models import HumanTask
    from workflows.states import TaskStatus

    db.session.rollback()
    task = db.session.get(HumanTask, task_id) if 0 < task_id <= MAX_ID else None
    if task is None:
        return None
    if task.status != TaskStatus.OPEN:
        return f"task {task_id} “{task.name}” is {task.status}, not open"
    return f"{actor.username} may not complete task {task_id} “{task.name}”: it waits for {_waits_for(task)}"


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        exit_with(f"--data is not valid JSON: {error}")
    if not isinstance(value, dict):
        exit_with("--data must be a JSON object")
    return value


def _lookup_id(model: Any, code: str) -> int:
    found = db.session.scalar(select(model.id).where(model.code == code))
    if found is None:
        exit_with(f"no {model.__tablename__[:-1].replace('_', ' ')} with code {code}")
    return found


# -- worker -------------------------------------------------------------------------------------------

# Shorter than this the worker busy-loops on the database; longer, a deadline waits more than an hour to fire.
POLL_SECONDS = (0.1, 3600.0)


class _PollSeconds(click.FloatRange):
    name = "number of seconds"

    def __init__(self) -> None:
        super().__init__(*POLL_SECONDS)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):  # nan passes the range: every comparison with it is false
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return seconds


@click.command(
    "worker",
    help="Run due timers (deadlines, escalations), notifications and scheduled starts in a loop, or once with "
    "--once. Run M of these (on one or several hosts) against PostgreSQL: they share the due work (SKIP LOCKED).",
)
@click.option("--once", is_flag=True, help="Process what is due now, then exit.")
@click.option(
    "--poll",
    type=_PollSeconds(),
    default=None,
    metavar="SECONDS",
    help="Seconds between polls (default CANBO_WORKER_POLL_SECONDS).",
)
@with_appcontext
def worker(once: bool, poll: float | None) -> None:
    if refusal := unset_keys_refusal(current_app, "worker"):
        exit_with(refusal)
    interval = poll if poll is not None else current_app.config["WORKER_POLL_SECONDS"]
    if not POLL_SECONDS[0] <= interval <= POLL_SECONDS[1]:  # false for nan too
        exit_with(
            f"CANBO_WORKER_POLL_SECONDS must be between {POLL_SECONDS[0]} and {POLL_SECONDS[1]} (it is {interval})"
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _worker_logging(app.config["LOG_FORMAT"]):
        _work(app, interval, once)


def _work(app: Flask, interval: float, once: bool) -> None:
    """The worker's loop: a pass, then the poll's sleep, until SIGTERM (or once)."""
    from webapp import deploy_bundled_once

    session_factory = sessionmaker(bind=db.engine, expire_on_commit=False)
    auto_open = [code.strip() for code in current_app.config["EVALUATION_AUTO_OPEN_UNITS"].split(",") if code.strip()]
    identity = WorkerIdentity()
    smtp = _smtp_settings()
    if smtp is not None and (warning := base_url_warning(smtp.base_url)):
        worker_log.warning(warning)
    said = {"worker_id": identity.worker_id}
    running = "for one pass" if once else f"polling every {interval:g} s"
    worker_log.info("worker %s started, %s", identity.worker_id, running, extra={"event": "worker_start", **said})
    wait = DatabaseWait(interval, worker_log.warning)
    stopped_cleanly = False
    with _stopped_by_sigterm():
        try:
            while True:
                try:
                    # At start too: a worker started while the database is away waits for it as a poll does.
                    deploy_bundled_once(app)
                    _worker_pass(session_factory, identity, smtp, auto_open, once)
                except DBAPIError as error:
                    if once or not database_away(error):
                        raise
                    time.sleep(wait.failed(error))
                    continue
                wait.succeeded()
                if once:
                    stopped_cleanly = True
                    return
                time.sleep(interval)
        except (WorkerStop, KeyboardInterrupt):
            stopped_cleanly = True
        finally:
            if stopped_cleanly:
                _leave(session_factory, identity, database_away=bool(wait.failures))


worker_log = logging.getLogger("canbo.worker")


class WorkerStop(BaseException):
    """SIGTERM (systemd stopping the unit): a BaseException so that no `except Exception` on the way swallows it;
    a transaction it interrupts rolls back, as when the process was killed."""


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    def stop(_signum: int, _frame: Any) -> None:
        raise WorkerStop

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _leave(session_factory: sessionmaker[Session], identity: WorkerIdentity, *, database_away: bool) -> None:
    """A worker stopping cleanly removes its heartbeat: /healthz and /metrics then show the workers that run, not
    every one that ever ran. With the database away the row is left for the others to forget (FORGET_AFTER)."""
    if not database_away:
        try:
            forget(session_factory, identity)
        except DBAPIError as error:
            worker_log.warning("heartbeat of %s left behind: %s", identity.worker_id, first_line(error))
    worker_log.info(
        "worker %s stopped", identity.worker_id, extra={"event": "worker_stop", "worker_id": identity.worker_id}
    )


@contextlib.contextmanager
def _worker_logging(log_format: str) -> Iterator[None]:
    """The worker's lines on stderr: JSON unless CANBO_LOG_FORMAT=text says otherwise (docs/deploy.md). The logging
    set before is put back when the command ends (it matters to a process that runs it in-process: the tests)."""
    from workflows.production.logs import use_json_lines, use_text_lines

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    if log_format in ("", "json"):
        use_json_lines()
    else:
        use_text_lines()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _worker_pass(
    session_factory: sessionmaker[Session],
    identity: WorkerIdentity,
    smtp: SmtpSettings | None,
    auto_open: list[str],
    once: bool,
) -> None:
    """One poll: the heartbeat, due timers, notifications, scheduled starts, rotation signals, the leaders' weekly
    digest of overdue work, the daily anchor."""
    # Alive before a long run too, not only after it; the workers silent past the horizon are forgotten.
    beat(session_factory, identity, 0, worker_forget_after(current_app.config))
    run = run_due_timers(session_factory, _engine())
    mail = run_notifications(session_factory, smtp, reminders=reminder_leads(), ballot_question=box_question_in)
    if mail.created or mail.emailed or mail.failed:
        worker_log.info(f"notifications: {mail.created} created, {mail.emailed} e-mailed, {mail.failed} failed")
    beat(session_factory, identity, run.instances + len(run.failures) + mail.created + mail.emailed)
    if once or run.instances or run.failures:
        worker_log.info(
            f"timers: {run.instances} instance(s) advanced, {run.timers_fired} fired, {len(run.failures)} failed"
        )
    for instance_id, message in run.failures:
        worker_log.warning("  instance %s: %s", instance_id, message)
    if auto_open:
        include = bool(current_app.config["EVALUATION_AUTO_OPEN_INCLUDE_WITHOUT_ACCOUNT"])
        for opening in open_scheduled_months(
            session_factory,
            _engine(),
            unit_codes=auto_open,
            policy=evaluation_policy(),
            skip_without_account=not include,
        ):
            worker_log.info(
                f"evaluation {opening.month} opened for {opening.unit_code}: {opening.opened} instance(s)"
                + _without_login_said(opening.skipped_without_account, opening.opened_without_account)
            )
    for started in start_due_reappointments_daily(
        session_factory, _engine(), policy=appointment_policy(), calendar=work_calendar()
    ):
        worker_log.info(
            f"re-appointment of {started.cadre_code} (term ends {started.term_ends_on}): {started.instance_id}"
        )
    from workflows.rotation.signals import notify_signals_weekly

    if notified := notify_signals_weekly(session_factory):
        worker_log.info(f"rotation signals sent to {notified} personnel officer(s)")
    if digests := notify_overdue_weekly(session_factory, zone=display_zone(current_app), schedule=digest_schedule()):
        worker_log.info(f"overdue digest sent to {digests} leader(s)")
    if anchor := write_daily_anchor(session_factory, key=anchor_key()):
        worker_log.info(f"audit anchor of {anchor.anchored_on}: {anchor.chains} chain(s), {anchor.events} event(s)")


def _without_login_said(skipped: int, opened: int) -> str:
    """The worker's words for the cadres without a login, said once: skipped (the default), or opened by the
    setting (decision 0068); nothing when there were none."""
    if skipped:
        return f", {skipped} cadre(s) without a login account skipped"
    if opened:
        return f", {opened} of them for cadre(s) without a login account"
    return ""


def base_url_warning(base_url: str) -> str | None:
    """A warning when e-mails would link to the sending machine's own address (the default BASE_URL): the link works
    on the server and nowhere else, and nothing else would tell the operator before the first complaint. Nor would
    anything say that an address without http(s):// or a host ("canbo.tinh.gov.vn") makes links that open nothing.
    A warning, not a refusal: a worker that did not start would stop the deadlines too, for the sake of a link."""
    if not base_url.strip():
        return (
            "warning: BASE_URL is empty: e-mails tell people which page to open instead of linking to it. Set BASE_URL "
            "to the address they use (docs/deploy.md)."
        )
    parts = urlsplit(base_url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in parts.netloc:
        return (
            f"warning: BASE_URL is {base_url!r}, not a web address: the links in e-mails would open nothing. Set it "
            "to the address people use, with http:// or https:// and the host, e.g. https://canbo.tinh.gov.vn "
            "(docs/deploy.md)."
        )
    host = (parts.hostname or "").lower()
    if host in ("localhost", "::1") or host.startswith("127."):
        return (
            f"warning: BASE_URL is {base_url}: the links in e-mails point to this machine, which the people who "
            "receive them cannot reach. Set BASE_URL to the address they use (docs/deploy.md)."
        )
    return None


def _smtp_settings() -> SmtpSettings | None:
    config = current_app.config
    if not config["SMTP_HOST"]:
        return None  # in-app notifications only; e-mails wait until SMTP is configured
    return SmtpSettings(
        host=config["SMTP_HOST"],
        port=config["SMTP_PORT"],
        username=config["SMTP_USERNAME"] or None,
        password=config["SMTP_PASSWORD"] or None,
        use_tls=config["SMTP_STARTTLS"],
        sender=config["MAIL_SENDER"],
        timeout=config["SMTP_TIMEOUT"],
        base_url=config["BASE_URL"],
        links=email_links(),
    )


# -- appointment --------------------------------------------------------------------------------------


@click.group(help="Appointments (bổ nhiệm) and re-appointments.")
def appointment() -> None:
    pass


@appointment.command("start", help="Start the appointment of a cadre to a position.")
@click.option("--cadre", "cadre_code", required=True, help="The cadre's code.")
@click.option("--position", "position_id", type=int, required=True, help="The position's id.")
@click.option("--source", type=click.Choice(["internal", "external"]), required=True, help="Local source or elsewhere.")
@click.option("--as", "username", required=True, help="The personnel officer starting it.")
@with_appcontext
def appointment_start(cadre_code: str, position_id: int, source: str, username: str) -> None:
    actor = _user(username)
    instance = start_or_exit(
        lambda: start_appointment(
            db.session,
            _engine(),
            actor=actor,
            cadre_code=cadre_code,
            position_id=position_id,
            source=source,
            policy=appointment_policy(),
            calendar=work_calendar(),
        )
    )
    click.echo(f"started {instance.reference} ({instance.business_key})")


@appointment.command("reappointments", help="Start the re-appointments that are due now (the worker does this too).")
@with_appcontext
def appointment_reappointments() -> None:
    session_factory = sessionmaker(bind=db.engine, expire_on_commit=False)
    started = start_due_reappointments(
        session_factory, _engine(), policy=appointment_policy(), calendar=work_calendar()
    )
    for item in started:
        click.echo(f"re-appointment of {item.cadre_code} (term ends {item.term_ends_on}): {item.instance_id}")
    click.echo(f"{len(started)} re-appointment(s) started")


# -- units --------------------------------------------------------------------------------------------


@click.group(help="Org units: the top unit of a fresh install; every other unit is added on the Units page.")
def units() -> None:
    pass


@units.command(
    "create-root",
    help="Create the top unit of the organisation (the province) with code CODE and name NAME, on a fresh install: "
    "the first administrator is then created in it (`canbo users create admin admin CODE`). There is only one.",
)
@click.argument("code")
@click.argument("name")
@click.option(
    "--type",
    "unit_type",
    type=click.Choice([t.value for t in UnitType]),
    default=UnitType.PROVINCE.value,
    show_default=True,
    help="The unit's type.",
)
@with_appcontext
def create_root_command(code: str, name: str, unit_type: str) -> None:
    unit = _change_or_refuse(lambda: create_top_unit(db.session, code=code, name=name, unit_type=unit_type))
    click.echo(f"Đã tạo đơn vị cao nhất {unit.code} ({unit.name}).")


@units.command("list", help="List the units: code, type and name, indented under the unit above.")
@with_appcontext
def list_units_command() -> None:
    for unit, depth in in_tree_order(list(db.session.scalars(select(OrgUnit)))):
        merged = "" if unit.is_active else " (đã sáp nhập/giải thể)"
        click.echo(f"{'  ' * depth}{unit.code}\t{unit.unit_type}\t{unit.name}{merged}")


# -- users --------------------------------------------------------------------------------------------


@click.group(help="User accounts.")
def users() -> None:
    pass


@users.command("token", help="Create an API token for USERNAME; prints the token alone (it is not stored).")
@click.argument("username")
@click.option("--name", default="cli", help="A label to recognise the token by.")
@with_appcontext
def token_command(username: str, name: str) -> None:
    user = _named_user(username)
    try:
        with transaction(db.session):
            token = create_token(db.session, user, name)
    except WorkflowError as error:
        exit_with(str(error))
    click.echo(token)


def _refused(error: WorkflowError) -> None:
    """A refused account change, said in Vietnamese as the pages say it, with each problem on its own line."""
    with force_locale("vi"):
        lines = [translated(error)]
        if isinstance(error, Invalid):
            lines += [f"  - {problem_text(problem)}" for problem in error.problems]
    exit_with("\n".join(lines))


def _unit_id(code: str) -> int:
    """The id of the unit with this code; an unknown code stops the command naming it (the service's "choose a unit
    from the list" is the page's words, which an operator at the command line has no list for)."""
    found = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code.strip().upper()))
    if found is None:
        exit_with(f"no unit with code {code.strip().upper()}; `canbo units list` shows the codes")
    return found


def _change_or_refuse(work: Callable[[], Any]) -> Any:
    """What `work` returns, committed; a refusal said as `_refused` says it, nothing written (accounts, units)."""
    try:
        with transaction(db.session):
            return work()
    except WorkflowError as error:
        _refused(error)


_REASON = click.option("--reason", required=True, help="Why; recorded in the account's audit log.")

PASSWORD_COLUMNS = [
    Column("username", "Tên đăng nhập", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit_code", "Mã đơn vị", "text"),
    Column("password", "Mật khẩu tạm thời", "text"),
]
_PASSWORDS_OPTION = click.option(
    "--passwords",
    "passwords_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the new accounts' temporary passwords, readable by you alone (.csv or .xlsx); "
    "an existing file is never overwritten.",
)
# Both imports (cadres, accounts) write the rows they refused to the same kind of file.
_REPORT_OPTION = click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the problem report (default: next to the file, *-loi.xlsx).",
)
_DRY_RUN_OPTION = click.option(
    "--dry-run", is_flag=True, help="Check everything and say what would be created; nothing is written."
)


@users.command(
    "create",
    help="Create an account for USERNAME with its first ROLE in the unit with code UNIT; prints its temporary "
    "password alone (shown once; the person chooses their own at the first sign-in).",
)
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("unit")
@click.option("--name", "full_name", required=True, help="Full name, as the pages show it.")
@click.option("--email", default=None, help="E-mail address for notifications.")
@click.option("--cadre", default=None, help="Code of the person's cadre record, if they have one.")
@click.option("--reason", default=None, help="A note for the audit log.")
@with_appcontext
def create_user_command(
    username: str, role: str, unit: str, full_name: str, email: str | None, cadre: str | None, reason: str | None
) -> None:
    created, password = _change_or_refuse(
        lambda: create_user(
            db.session,
            None,
            username=username,
            full_name=full_name,
            email=email,
            cadre_code=cadre,
            role=role,
            unit_id=_unit_id(unit),
            reason=reason,
        )
    )
    click.echo(f"Đã tạo tài khoản {created.username}; mật khẩu tạm thời (chỉ hiện một lần):", err=True)
    click.echo(password)


@users.command(
    "create-for-cadres",
    help="Create an account for every active cadre of the unit with code UNIT and the units below it who has none: "
    "the cadre code in lower case as username, the ROLE (officer by default) in the cadre's own unit. Checked as "
    "`users create` checks each; the temporary passwords go to a file only you can read.",
)
@click.option("--unit", "unit", required=True, help="Code of the unit; its whole subtree is covered.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.OFFICER.value, show_default=True)
@_PASSWORDS_OPTION
@_DRY_RUN_OPTION
@click.option("--skip-bad-rows", is_flag=True, help="Create the others when some cadres cannot have one.")
@click.option("--reason", default=None, help="A note for each account's audit log.")
@with_appcontext
def create_for_cadres_command(
    unit: str, role: str, passwords_path: Path | None, dry_run: bool, skip_bad_rows: bool, reason: str | None
) -> None:
    unit_id = _unit_id(unit)
    passwords = _passwords_target(passwords_path or Path(f"tai-khoan-{unit.strip().upper()}-mat-khau.csv"), dry_run)

    def describe(problem: CellProblem, report: ValidationReport) -> str:
        # The rows are cadres, not lines of a file: the cadre code says which.
        code = next((row.values["cadre_code"] for row in report.rows if row.row_number == problem.row), "?")
        return f"Cán bộ {code}: {replace(problem, row=None)}"

    result = _create_accounts(
        lambda: accounts_for_cadres(
            db.session, None, unit_id, role=role, skip_bad_rows=skip_bad_rows, reason=reason, explain=_in_vietnamese
        ),
        passwords,
        dry_run,
        describe,
    )
    for problem in result.report.problems:
        click.echo(describe(problem, result.report), err=True)
    if result.skipped_rows:
        click.echo(f"bỏ qua {len(result.skipped_rows)} cán bộ không tạo được tài khoản.", err=True)


@users.command("edit", help="Correct the full name or e-mail address of USERNAME (an empty --email removes it).")
@click.argument("username")
@click.option("--full-name", default=None, help="The new full name; left as it is when omitted.")
@click.option("--email", default=None, help="The new e-mail address; left as it is when omitted.")
@_REASON
@with_appcontext
def edit_command(username: str, full_name: str | None, email: str | None, reason: str) -> None:
    user = _named_user(username)
    name = user.full_name if full_name is None else full_name
    mail = user.email if email is None else email
    _change_or_refuse(lambda: edit_details(db.session, None, user.id, full_name=name, email=mail, reason=reason))
    click.echo(f"Đã sửa họ tên và e-mail của {user.username}.")


@users.command(
    "rename",
    help="Change the username of USERNAME to NEW_USERNAME (checked as on creation); the person stays signed in and "
    "their API tokens keep working. The same name again changes nothing.",
)
@click.argument("username")
@click.argument("new_username")
@_REASON
@with_appcontext
def rename_command(username: str, new_username: str, reason: str) -> None:
    user = _named_user(username)
    before = user.username
    if _change_or_refuse(lambda: change_username(db.session, None, user.id, username=new_username, reason=reason)):
        click.echo(f"Đã đổi tên đăng nhập {before} thành {user.username}.")
    else:
        click.echo(f"Tên đăng nhập vẫn là {before}: không có gì thay đổi.")


@users.command("grant", help="Grant USERNAME the ROLE in the unit with code UNIT (it covers the units below).")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("unit")
@_REASON
@with_appcontext
def grant_command(username: str, role: str, unit: str, reason: str) -> None:
    user = _named_user(username)
    _change_or_refuse(lambda: grant_role(db.session, None, user.id, role=role, unit_id=_unit_id(unit), reason=reason))
    click.echo(f"Đã cấp vai trò {role} tại {unit.upper()} cho {user.username}.")


@users.command("revoke", help="Remove the ROLE USERNAME holds in the unit with code UNIT.")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("unit")
@_REASON
@with_appcontext
def revoke_command(username: str, role: str, unit: str, reason: str) -> None:
    user = _named_user(username)
    unit_id = _unit_id(unit)
    held = next((a.id for a in user.role_assignments if a.role == role and a.unit_id == unit_id), None)
    if held is None:
        exit_with(f"{user.username} không có vai trò {role} tại {unit.upper()}.")
    _change_or_refuse(lambda: revoke_role(db.session, None, user.id, assignment_id=held, reason=reason))
    click.echo(f"Đã bỏ vai trò {role} tại {unit.upper()} của {user.username}.")


@users.command("deactivate", help="Stop USERNAME signing in and their API tokens; their tasks and history stay.")
@click.argument("username")
@_REASON
@with_appcontext
def deactivate_command(username: str, reason: str) -> None:
    user = _named_user(username)
    _change_or_refuse(lambda: set_active(db.session, None, user.id, active=False, reason=reason))
    click.echo(f"Đã ngừng tài khoản {user.username}: không đăng nhập được, mã API không còn dùng được.")
    held = open_tasks_held(db.session, user.id)
    if held:
        click.echo(
            f"Tài khoản này vẫn còn {held} nhiệm vụ đang mở được giao; giao lại bằng `canbo tasks reassign`.", err=True
        )


@users.command("activate", help="Let USERNAME sign in again.")
@click.argument("username")
@_REASON
@with_appcontext
def activate_command(username: str, reason: str) -> None:
    user = _named_user(username)
    _change_or_refuse(lambda: set_active(db.session, None, user.id, active=True, reason=reason))
    click.echo(f"Đã kích hoạt lại tài khoản {user.username}.")


@users.command(
    "reset-password",
    help="Give USERNAME a new temporary password; prints it alone (shown once; they choose their own at sign-in).",
)
@click.argument("username")
@_REASON
@with_appcontext
def reset_password_command(username: str, reason: str) -> None:
    user = _named_user(username)
    password = _change_or_refuse(lambda: reset_password(db.session, None, user.id, reason=reason))
    click.echo(f"Mật khẩu tạm thời mới của {user.username} (chỉ hiện một lần):", err=True)
    click.echo(password)


# -- import / export ------------------------------------------------------------------------------------


def _file_format(path: Path, fmt: str | None, option: str) -> Format:
    """The format the file is written in: an .xlsx under another name would not open, or open as garbage."""
    extension = path.suffix.lower().removeprefix(".")
    if extension not in ("xlsx", "csv"):
        raise click.BadParameter(f"{path.name}: tệp phải có đuôi .xlsx hoặc .csv.", param_hint=option)
    if fmt is not None and fmt != extension:
        raise click.BadParameter(f"{path.name}: đuôi .{extension} không khớp --format {fmt}.", param_hint=option)
    return "csv" if extension == "csv" else "xlsx"


def _check_writable(path: Path, consequence: str) -> None:
    """Fails unless a file can be created beside PATH, before any work whose result would then be lost."""
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as error:
        exit_with(_cannot_write(path, error, consequence))


def _write_file(path: Path, content: bytes, *, mode: int = 0o666) -> None:
    """All or nothing: written beside PATH and renamed, so a failed write never leaves half a file. `mode` is the
    permission the file is created with (less what the umask takes away): 0o600 for what only its owner may read."""
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as file:
            file.write(content)
        part.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise


def _cannot_write(path: Path, error: OSError, consequence: str) -> str:
    folder = path.parent
    reasons = {
        errno.ENOENT: f"thư mục {folder} không tồn tại",
        errno.ENOTDIR: f"{folder} không phải là thư mục",
        errno.EACCES: f"không có quyền ghi vào {folder}",
        errno.EPERM: f"không có quyền ghi vào {folder}",
        errno.EROFS: f"{folder} chỉ cho phép đọc",
        errno.ENOSPC: "ổ đĩa đã đầy",
    }
    reason = reasons.get(error.errno or 0, error.strerror or type(error).__name__)
    return f"Không ghi được tệp {path}: {reason}; {consequence}."


@click.group("import", help="Import lists from .xlsx or .csv files.")
def import_group() -> None:
    pass


@import_group.command(
    "cadres",
    help="Import cadre records (template: `canbo export template`). Nothing is imported "
    "unless the whole file is valid, or with --skip-bad-rows.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows; write a report of the bad ones.")
@_REPORT_OPTION
@click.option("--as", "username", help="Record the changes as this user (default: the system).")
@with_appcontext
def import_cadres_command(path: Path, skip_bad_rows: bool, report_path: Path | None, username: str | None) -> None:
    report_target = report_path or path.with_name(f"{path.stem}-loi.xlsx")
    report_format = _file_format(report_target, None, "'--report'")
    actor = _user(username)
    if skip_bad_rows:
        # Checked before importing: the good rows would be committed, and the bad ones' report lost.
        hint = "" if report_path else " (chọn nơi khác bằng --report)"
        _check_writable(report_target, f"không có dòng nào được nhập{hint}")
    content = path.read_bytes()
    with click.progressbar(length=1, label="Kiểm tra tệp", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            with transaction(db.session):
                result = import_cadres(
                    db.session,
                    actor,
                    content,
                    path.name,
                    today=local_today(),
                    skip_bad_rows=skip_bad_rows,
                    on_progress=progress,
                    explain=_in_vietnamese,
                )
        except ImportRefused as refused:
            for problem in refused.report.problems:
                click.echo(str(problem), err=True)
            exit_with(f"{len(refused.report.problems)} lỗi; không có dòng nào được nhập.")
        except WorkflowError as error:
            exit_with(str(error))
    click.echo(f"đã tạo {result.created}, cập nhật {result.updated}, không đổi {result.unchanged}")
    if result.skipped_rows:
        try:
            _write_file(report_target, write_problem_report(result.report, report_format))
        except OSError as error:
            exit_with(_cannot_write(report_target, error, "các dòng hợp lệ đã được nhập"))
        click.echo(f"bỏ qua {len(result.skipped_rows)} dòng có lỗi; báo cáo: {report_target}", err=True)
    if result.skipped_rows and not result.created + result.updated + result.unchanged:
        exit_with(f"Cả {len(result.skipped_rows)} dòng đều có lỗi; không có dòng nào được nhập.")


def _passwords_target(path: Path, dry_run: bool) -> tuple[Path, Format]:
    """Checked before any account is made: accounts whose passwords could not be handed out would need a reset
    each."""
    fmt = _file_format(path, None, "'--passwords'")
    if not dry_run:
        if path.exists():
            exit_with(f"Tệp {path} đã có: không ghi đè mật khẩu đã phát; chọn tệp khác bằng --passwords.")
        _check_writable(path, "không tài khoản nào được tạo")
    return path, fmt


def _create_accounts(
    work: Callable[[], UserImportResult],
    passwords: tuple[Path, Format],
    dry_run: bool,
    describe: Callable[[CellProblem, ValidationReport], str] = lambda problem, _: str(problem),
) -> UserImportResult:
    """The accounts `work` creates, committed once their temporary passwords are in the file (mode 0600: only the
    operator reads it; `users create` prints the one password instead). A refusal lists every problem, nothing
    written; a dry run checks everything, rolls it all back and writes no file."""
    target, fmt = passwords
    written = False
    try:
        with transaction(db.session):
            result = work()
            if dry_run:
                db.session.rollback()
            elif result.created:
                rows = [vars(account) for account in result.created]
                _write_file(target, write_table(rows, PASSWORD_COLUMNS, fmt), mode=0o600)
                written = True
    except ImportRefused as refused:
        for problem in refused.report.problems:
            click.echo(describe(problem, refused.report), err=True)
        exit_with(f"{len(refused.report.problems)} lỗi; không tài khoản nào được tạo.")
    except WorkflowError as error:
        exit_with(str(error))
    except OSError as error:
        exit_with(_cannot_write(target, error, "không tài khoản nào được tạo"))
    except BaseException:
        if written:  # the accounts were not committed: their passwords must not be handed out
            target.unlink(missing_ok=True)
        raise
    if dry_run:
        click.echo(f"Chạy thử: sẽ tạo {len(result.created)} tài khoản; không có gì được ghi.")
    elif result.created:
        click.echo(f"Đã tạo {len(result.created)} tài khoản; mật khẩu tạm thời (chỉ bạn đọc được): {target}")
        click.echo("Mỗi người đổi mật khẩu ở lần đăng nhập đầu tiên; hãy xoá tệp sau khi đã trao mật khẩu.", err=True)
    else:
        click.echo("Không có tài khoản nào cần tạo.")
    return result


@import_group.command(
    "users",
    help="Create sign-in accounts from a .xlsx or .csv file (columns: Tên đăng nhập, Vai trò, Mã đơn vị, Mã cán bộ, "
    "Họ và tên, Email), each checked as `users create` checks it. Nothing is created unless the whole file is "
    "valid, or with --skip-bad-rows. The temporary passwords go to a file only you can read.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad-rows", is_flag=True, help="Create the good rows' accounts; write a report of the bad ones.")
@_REPORT_OPTION
@_PASSWORDS_OPTION
@_DRY_RUN_OPTION
@click.option("--reason", default=None, help="A note for each account's audit log.")
@click.option("--as", "username", help="Create the accounts as this administrator (default: the system).")
@with_appcontext
def import_users_command(
    path: Path,
    skip_bad_rows: bool,
    report_path: Path | None,
    passwords_path: Path | None,
    dry_run: bool,
    reason: str | None,
    username: str | None,
) -> None:
    report_target = report_path or path.with_name(f"{path.stem}-loi.xlsx")
    report_format = _file_format(report_target, None, "'--report'")
    passwords = _passwords_target(passwords_path or path.with_name(f"{path.stem}-mat-khau.csv"), dry_run)
    actor = _user(username)
    if skip_bad_rows and not dry_run:
        hint = "" if report_path else " (chọn nơi khác bằng --report)"
        _check_writable(report_target, f"không tài khoản nào được tạo{hint}")
    content = path.read_bytes()
    result = _create_accounts(
        lambda: import_users(
            db.session, actor, content, path.name, skip_bad_rows=skip_bad_rows, reason=reason, explain=_in_vietnamese
        ),
        passwords,
        dry_run,
    )
    if result.skipped_rows:
        for problem in result.report.problems:
            click.echo(str(problem), err=True)
        if not dry_run:
            try:
                _write_file(report_target, write_problem_report(result.report, report_format))
            except OSError as error:
                exit_with(_cannot_write(report_target, error, "các dòng hợp lệ đã được tạo tài khoản"))
            click.echo(f"bỏ qua {len(result.skipped_rows)} dòng có lỗi; báo cáo: {report_target}", err=True)
    if result.skipped_rows and not result.created:
        exit_with(f"Cả {len(result.skipped_rows)} dòng đều có lỗi; không tài khoản nào được tạo.")


def _in_vietnamese(problem: Problem) -> str:
    """A records problem said like the rest of the import's report, which personnel officers read in Vietnamese."""
    with force_locale("vi"):
        return problem_text(problem)


@click.group("export", help="Export lists to .xlsx or .csv with Vietnamese headers.")
def export_group() -> None:
    pass


FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None, help="Default: the extension of -o."
)
OUTPUT_OPTION = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file, .xlsx or .csv."
)


@export_group.command(
    "cadres", help="Export every cadre record (the import template's columns, and read-only ones the import ignores)."
)
@FORMAT_OPTION
@OUTPUT_OPTION
@with_appcontext
def export_cadres_command(fmt: str | None, output: Path) -> None:
    _export(output, lambda chosen: export_cadres(db.session, chosen, local_today()), fmt)


@export_group.command("template", help="Write the empty cadre import template, with a sheet explaining each column.")
@FORMAT_OPTION
@OUTPUT_OPTION
@with_appcontext
def export_template_command(fmt: str | None, output: Path) -> None:
    _export(output, lambda chosen: template(CADRE_COLUMNS, chosen), fmt)


EXPORT_LISTS = {
    "tasks": ("cong-viec", TASK_COLUMNS, lambda: task_records(db.session)),
    "evaluations": ("ket-qua-danh-gia", EVALUATION_COLUMNS, lambda: evaluation_records(db.session)),
    "audit": ("nhat-ky", AUDIT_COLUMNS, lambda: audit_records(db.session)),
}


@export_group.command("list", help="Export another list: tasks, evaluations (results) or audit (events).")
@click.argument("name", type=click.Choice(sorted(EXPORT_LISTS)))
@FORMAT_OPTION
@OUTPUT_OPTION
@with_appcontext
def export_list_command(name: str, fmt: str | None, output: Path) -> None:
    _stem, columns, records = EXPORT_LISTS[name]
    _export(output, lambda chosen: write_table(records(), columns, chosen), fmt)


def _export(output: Path, content: Callable[[Format], bytes], fmt: str | None) -> None:
    chosen = _file_format(output, fmt, "'-o' / '--output'")
    _check_writable(output, "không có gì được ghi")  # before the list is built: it can take a while
    try:
        _write_file(output, content(chosen))
    except OSError as error:
        exit_with(_cannot_write(output, error, "không có gì được ghi"))
    click.echo(str(output))


# -- monthly evaluation -----------------------------------------------------------------------------------------


@click.group(help="Monthly evaluation (đánh giá, xếp loại hằng tháng).")
def evaluation() -> None:
    pass


evaluation.add_command(rollup_command)  # canbo evaluation rollup: webapp/evaluation/rollup_cli.py
evaluation.add_command(annual_command)  # canbo evaluation annual: webapp/evaluation/rollup_cli.py


@evaluation.command(
    "open",
    help="Open MONTH for a unit (and the units below it): one evaluation per active cadre, committed in chunks. "
    "Running it again opens only what is missing.",
)
@click.option("--month", required=True, help="The month, YYYY-MM; it must have begun.")
@click.option("--unit", "unit_code", required=True, help="Code of the unit.")
@click.option("--no-subunits", is_flag=True, help="Only the unit itself, not the units below it.")
@click.option("--as", "username", help="Act as this (personnel) user (default: the system).")
@click.option("--chunk", type=click.IntRange(1, 10_000), default=500, show_default=True, help="Instances per commit.")
@click.option(
    "--products",
    "products_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An .xlsx/.csv of the work products assigned for the month (Mã cán bộ, Tên sản phẩm, công việc, "
    "Số sản phẩm quy đổi được giao): each self-assessment opens with its rows filled in.",
)
@click.option(
    "--include-without-account",
    is_flag=True,
    help="Open the evaluations of cadres without a login account too (default: skip them, as the page does; "
    "their self-assessment would reach nobody's inbox). Running again once they have one opens only theirs.",
)
@with_appcontext
def evaluation_open_command(
    month: str,
    unit_code: str,
    no_subunits: bool,
    username: str | None,
    chunk: int,
    products_file: Path | None,
    include_without_account: bool,
) -> None:
    from webapp.evaluation.opening import open_month, shown_codes

    actor = _user(username)
    products = None
    if products_file is not None:
        try:
            products = read_assigned_products(products_file.read_bytes(), products_file.name)
        except Invalid as error:
            exit_with(f"Không dùng được tệp sản phẩm được giao; không có gì được ghi.\n{error}")
    started = time.perf_counter()
    with click.progressbar(length=1, label=f"Mở kỳ đánh giá {month}", file=sys.stderr) as bar:

        def planned(plan: Any) -> None:
            bar.length = max(len(plan.cadres_to_open(skip_without_account=not include_without_account)), 1)

        try:
            summary = open_month(
                actor=actor,
                month=month,
                unit_code=unit_code,
                include_subunits=not no_subunits,
                skip_without_account=not include_without_account,
                chunk=chunk,
                products=products,
                on_planned=planned,
                on_chunk=bar.update,
            )
        except WorkflowError as error:
            exit_with(f"Không mở được kỳ đánh giá; không có gì được ghi.\n{error}")
    # The cadres without a login, said once: skipped (the default) or opened on request (decision 0068).
    if summary.skipped_without_account:
        without_login = f", bỏ qua {summary.skipped_without_account} cán bộ chưa có tài khoản"
    elif summary.without_account:
        without_login = f", đã mở cả cho {summary.without_account} cán bộ chưa có tài khoản"
    else:
        without_login = ""
    click.echo(
        f"{summary.month} {summary.unit_code} ({summary.unit_name}): đã mở {summary.opened}, "
        f"đã mở từ trước {summary.already_open}{without_login}"
        + (f", bỏ qua {len(summary.refused)} cán bộ bị từ chối khởi tạo" if summary.refused else "")
        + (f", không mở được {len(summary.failed)} cán bộ do quy trình gặp lỗi" if summary.failed else "")
        + f" ({time.perf_counter() - started:.1f} s)"
    )
    if summary.skipped_without_account:
        click.echo(
            "Phiếu của cán bộ chưa có tài khoản sẽ không đến hộp công việc của ai. Cấp tài khoản cho họ rồi chạy lại "
            "lệnh này (chỉ mở phần còn thiếu), hoặc thêm --include-without-account để mở cả cho họ.",
            err=True,
        )
    for reason, codes in summary.refused_by_reason().items():
        shown, more = shown_codes(codes)
        with force_locale("vi"):
            said = gettext(reason)
        click.echo(
            f"Cảnh báo: {len(codes)} phiếu không được mở vì khởi tạo riêng từng phiếu cũng bị từ chối: “{said}”. "
            f"Các cán bộ: {shown}" + (f" và {more} mã khác" if more else "") + ".",
            err=True,
        )
    for step, codes in summary.failed_by_step().items():
        shown, more = shown_codes(codes)
        click.echo(
            f"Lỗi: {len(codes)} phiếu chưa mở được vì quy trình gặp lỗi kỹ thuật ở bước “{step}” với các cán bộ "
            f"này (đã ghi nhận cho quản trị viên, mục Cần xử lý): {shown}"
            + (f" và {more} mã khác" if more else "")
            + ". Sửa quy trình rồi chạy lại lệnh này: chỉ mở phần còn thiếu.",
            err=True,
        )
    if summary.products_not_used:
        shown, more = shown_codes(summary.products_not_used)
        click.echo(
            f"Cảnh báo: tệp sản phẩm được giao có dòng của {len(summary.products_not_used)} cán bộ không được mở "
            f"trong lần này (mã không có, ngoài đơn vị, không còn hoạt động hoặc đã mở từ trước), các dòng đó không "
            f"được dùng: {shown}" + (f" và {more} mã khác" if more else ""),
            err=True,
        )
    if summary.failed:
        sys.exit(1)  # the others are open; the operator (or the cron job) must hear that some are not
