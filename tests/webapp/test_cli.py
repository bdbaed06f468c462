"""The `canbo` commands operators use: clear output, non-zero exit on failure, the database unchanged."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg.errors
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DatabaseError, ProgrammingError

from tests.fixtures.app import configured_app
from tests.fixtures.evaluation import MONTH
from tests.fixtures.tampering import bypass_append_only
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from webapp.cli import _database_error_message, main
from webapp.extensions import db
from webapp.notifications import DIGEST_SCHEDULE_KEY
from workflows import clock
from workflows.db import make_engine, transaction
from workflows.engine import operations
from workflows.evaluation import PROCESS_ID as EVALUATION
from workflows.evaluation.demo_month import demo_products
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion
from workflows.production.models import WorkerHeartbeat
from workflows.registry.models import ApiToken, Cadre, OrgUnit, User
from workflows.rules.overdue_digest import DigestSchedule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _versions(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(ProcessVersion)) or 0


def test_deploy_prints_versions_and_is_idempotent(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    path = str(FIXTURES / "two_versions_v1.bpmn")
    first = runner.invoke(args=["processes", "deploy", path])
    assert first.exit_code == 0, first.output
    assert "versioned v1 (deployed)" in first.output
    again = runner.invoke(args=["processes", "deploy", path])
    assert "versioned v1 (unchanged)" in again.output
    listed = runner.invoke(args=["processes", "list"])
    assert "versioned\tv1" in listed.output and "sample_approval\tv1" in listed.output


def test_deploy_of_a_bad_model_stores_nothing_and_fails(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    before = _versions(driver)
    result = runner.invoke(args=["processes", "deploy", str(FIXTURES / "xsd_error.bpmn")])
    assert result.exit_code == 1
    assert "nothing was stored" in result.output and "line 7" in result.output
    assert _versions(driver) == before


def test_deploy_as_a_non_admin_is_refused(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    result = runner.invoke(args=["processes", "deploy", str(FIXTURES / "two_versions_v1.bpmn"), "--as", "officer1"])
    assert result.exit_code == 1 and "administrators" in result.output


def _audit_events(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_rollback_starts_new_instances_on_an_earlier_version_again(
    runner: FlaskCliRunner, driver: WorkflowDriver
) -> None:
    """Decision 0055: the earlier content deployed anew as the next version; bad requests exit 1, nothing stored."""
    v1, v2 = str(FIXTURES / "two_versions_v1.bpmn"), str(FIXTURES / "two_versions_v2.bpmn")
    assert runner.invoke(args=["processes", "deploy", v1]).exit_code == 0
    assert runner.invoke(args=["processes", "deploy", v2, "--as", "admin"]).exit_code == 0
    running = driver.start("versioned", as_user="personnel1", subject="CB0001")
    again = runner.invoke(args=["processes", "deploy", v1])
    assert again.exit_code == 0
    assert "versioned v1 (an earlier version, unchanged; v2 is in use." in again.output
    assert "canbo processes rollback versioned 1 --reason" in again.output

    before = (_versions(driver), _audit_events(driver))
    for args, said in [
        (["versioned", "1", "--reason", "  "], "Say why the earlier version is used again."),
        (["versioned", "9", "--reason", "x"], "This procedure has no version 9."),
        (["sample_approval", "2", "--reason", "x"], "This procedure has no version 2."),
        (["versioned", "2", "--reason", "x"], "Version 2 is the one in use."),
        (["nothing_like_it", "1", "--reason", "x"], "not deployed"),
        (["versioned", "1", "--reason", "x", "--as", "officer1"], "administrators"),
    ]:
        refused = runner.invoke(args=["processes", "rollback", *args])
        assert refused.exit_code == 1 and said in refused.output, (args, refused.output)
    assert runner.invoke(args=["processes", "rollback", "versioned", "1"]).exit_code == 2  # --reason is required
    assert (_versions(driver), _audit_events(driver)) == before

    done = runner.invoke(args=["processes", "rollback", "versioned", "1", "--reason", "v2 sai", "--as", "admin"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "versioned v3 deployed with the content of v1 (replacing v2)"
    assert "versioned\tv3\t" in (listed := runner.invoke(args=["processes", "list"]).output)
    assert next(line for line in listed.splitlines() if line.startswith("versioned\tv3")).endswith("same content as v1")
    assert driver.version_of(driver.start("versioned", as_user="personnel1", subject="CB0001")) == 3
    assert driver.version_of(running) == 2
    with driver.session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "process_rolled_back")).one()
        assert event.actor_name == "admin" and '"reason":"v2 sai"' in event.payload


def test_validate_lists_every_problem_with_its_place(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["processes", "validate", str(FIXTURES / "xsd_error.bpmn"), str(FIXTURES / "missing_form.bpmn")]
    )
    assert result.exit_code == 1
    assert "xsd_error.bpmn, line 7" in result.output and "xsd_error.bpmn, line 8" in result.output
    assert "does_not_exist.json" in result.output
    ok = runner.invoke(args=["processes", "validate", str(Path(__file__).parents[2] / "bpmn" / "sample_approval.bpmn")])
    assert ok.exit_code == 0 and "sample_approval" in ok.output


SHIPPED_MODELS = Path(__file__).parents[2] / "bpmn"


def test_deploy_of_a_directory_versions_only_what_changed(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    runner.invoke(args=["processes", "deploy", str(SHIPPED_MODELS)])  # whatever the app deployed, now all of it
    before = _versions(driver)
    again = runner.invoke(args=["processes", "deploy", str(SHIPPED_MODELS)])
    assert again.exit_code == 0, again.output
    assert "sample_approval v" in again.output and "(deployed)" not in again.output
    assert _versions(driver) == before

    # One changed process in a copy of the directory: only that one gets a new version.
    for model in SHIPPED_MODELS.iterdir():
        (tmp_path / model.name).write_bytes(model.read_bytes())
    changed = tmp_path / "sample_approval.bpmn"
    changed.write_text(changed.read_text(encoding="utf-8").replace("Lập đề nghị", "Lập tờ trình"), encoding="utf-8")
    result = runner.invoke(args=["processes", "deploy", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "(deployed)" in line] == [
        line for line in result.output.splitlines() if line.startswith("sample_approval ")
    ]
    assert _versions(driver) == before + 1


def test_validate_takes_directories_and_names_what_is_missing(runner: FlaskCliRunner, tmp_path: Path) -> None:
    ok = runner.invoke(args=["processes", "validate", str(SHIPPED_MODELS)])
    assert ok.exit_code == 0, ok.output
    assert "monthly_evaluation" in ok.output and "rotation" in ok.output
    empty = runner.invoke(args=["processes", "validate", str(tmp_path)])
    assert empty.exit_code == 1 and "holds no .bpmn file" in empty.output
    missing = runner.invoke(args=["processes", "validate", str(tmp_path / "nothing.bpmn")])
    assert missing.exit_code == 1 and "no such file or directory" in missing.output
    mixed = runner.invoke(args=["processes", "validate", str(SHIPPED_MODELS), str(FIXTURES / "xsd_error.bpmn")])
    assert mixed.exit_code == 1 and "xsd_error.bpmn, line 7" in mixed.output


def test_start_and_complete_from_the_command_line(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    started = runner.invoke(args=["instances", "start", "sample_approval", "--subject", "CB0001", "--as", "officer1"])
    assert started.exit_code == 0, started.output
    (task,) = driver.open_tasks(1)
    bad = runner.invoke(args=["tasks", "complete", str(task.id), "--as", "officer1", "--data", "{not json"])
    assert bad.exit_code == 1 and "not valid JSON" in bad.output
    invalid = runner.invoke(args=["tasks", "complete", str(task.id), "--as", "officer1", "--data", '{"amount": -1}'])
    assert invalid.exit_code == 1 and "subject_line" in invalid.output
    driver.save_draft("officer1", task.id, {"subject_line": "Nháp"})
    done = runner.invoke(
        args=["tasks", "complete", str(task.id), "--as", "officer1", "--data", '{"subject_line": "Đề nghị"}']
    )
    assert done.exit_code == 0 and "Xem xét, phê duyệt" in done.output
    assert driver.drafts() == {}  # the draft went with the task (decision 0085)


def test_a_completion_takes_only_the_forms_fields_as_the_api_does(
    runner: FlaskCliRunner, driver: WorkflowDriver
) -> None:
    """A key that is not a field of the step's form would overwrite the procedure's data (the request's subject,
    a count the model keeps): refused as the API refuses it, nothing written, the form's fields named."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    review = driver.task(instance_id, "review_request")
    before = everything_stored(driver.session_factory)
    for data in ('{"decision": "approve", "subject_line": "Đã sửa"}', '{"decision": "approve", "return_count": -100}'):
        refused = runner.invoke(args=["tasks", "complete", str(review.id), "--as", "supervisor1", "--data", data])
        assert refused.exit_code == 1, refused.output
        assert "unknown field" in refused.output and "nothing was changed" in refused.output
        assert "has the fields: decision, comment" in refused.output
        assert everything_stored(driver.session_factory) == before
    assert driver.task(instance_id, "review_request").id == review.id
    done = runner.invoke(
        args=["tasks", "complete", str(review.id), "--as", "supervisor1", "--data", '{"decision": "approve"}']
    )
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize(
    ("process_id", "command"),
    [
        ("appointment", "canbo appointment start"),
        ("planning_review", "canbo planning start"),
        ("rotation", "canbo rotation start"),
        ("monthly_evaluation", "canbo evaluation open"),
        ("annual_grading", "canbo evaluation annual"),
    ],
)
def test_a_procedure_with_its_own_start_is_refused_by_the_generic_one(
    runner: FlaskCliRunner, driver: WorkflowDriver, process_id: str, command: str
) -> None:
    """Started without the data its own command gathers, it failed at its first gateway with the engine's words."""
    result = runner.invoke(args=["instances", "start", process_id, "--subject", "CB0001", "--as", "personnel1"])
    assert result.exit_code == 1
    assert f"{process_id} is started with `{command}`" in result.output
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_worker_once_escalates_an_overdue_review(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    clock.set_now(T0)
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "x"})
    clock.set_now(T0 + timedelta(days=3, hours=1))
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "1 instance(s) advanced, 1 fired, 0 failed" in result.output
    assert driver.task(instance_id, "escalated_review")


def test_worker_once_sends_the_leaders_weekly_overdue_digest(
    app: Flask, runner: FlaskCliRunner, driver: WorkflowDriver
) -> None:
    """At the configured weekday and local hour (here Thursday 16:00, OVERDUE_DIGEST_*), once for the week."""
    app.extensions[DIGEST_SCHEDULE_KEY] = DigestSchedule(weekday=3, hour=16)
    clock.set_now(T0)
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    assert "overdue digest" not in runner.invoke(args=["worker", "--once"]).output  # last Thursday's week: none late
    with driver.session_factory() as s, transaction(s):  # a first step late, with no timer to move it on
        s.get(HumanTask, driver.task(instance_id, "submit_request").id).due_dt = datetime(2026, 11, 3)
    assert "overdue digest" not in runner.invoke(args=["worker", "--once"]).output  # that week is done
    clock.set_now(datetime(2026, 11, 5, 9, 0, tzinfo=UTC))  # Thursday 16:00 in Vietnam
    first = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "overdue digest sent to 2 leader(s)" in first.output
    again = runner.invoke(args=["worker", "--once"])
    assert again.exit_code == 0 and "overdue digest" not in again.output


def test_worker_once_opens_the_month_for_configured_units(app, runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    """EVALUATION_AUTO_OPEN_UNITS: on or after the opening day the worker opens the month as personnel would."""
    clock.set_now(datetime(2026, 11, 21, 3, 0, tzinfo=UTC))
    app.config["EVALUATION_AUTO_OPEN_UNITS"] = "X001"
    first = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "evaluation 2026-11 opened for X001" in first.output
    with driver.session_factory() as s:
        opened = s.scalar(
            select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == "monthly_evaluation")
        )
    assert opened and opened > 0
    again = runner.invoke(args=["worker", "--once"])
    assert "evaluation" not in again.output


@pytest.mark.parametrize("include", [False, True])
def test_worker_opening_skips_cadres_without_a_login_unless_configured(
    app: Flask, runner: FlaskCliRunner, driver: WorkflowDriver, include: bool
) -> None:
    """EVALUATION_AUTO_OPEN_INCLUDE_WITHOUT_ACCOUNT (default off, decision 0068); the log line says how many."""
    with driver.session_factory() as s, transaction(s):
        x001 = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "X001"))
        s.add(Cadre(code="CB0100", full_name="Ngô Văn Tư", unit_id=x001))
    clock.set_now(datetime(2026, 11, 21, 3, 0, tzinfo=UTC))
    app.config["EVALUATION_AUTO_OPEN_UNITS"] = "X001"
    if include:
        app.config["EVALUATION_AUTO_OPEN_INCLUDE_WITHOUT_ACCOUNT"] = True
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    # The cadres without a login said once: skipped, or opened by the setting.
    if include:
        assert ", 1 of them for cadre(s) without a login account" in result.output
        assert "skipped" not in result.output
    else:
        assert ", 1 cadre(s) without a login account skipped" in result.output
        assert "of them for" not in result.output
    with driver.session_factory() as s:
        opened = s.scalar(
            select(func.count(ProcessInstance.id)).where(ProcessInstance.business_key == "2026-11/CB0100")
        )
    assert opened == (1 if include else 0)


def test_audit_verify_names_a_tampered_event(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0 and "intact" in intact.output
    with driver.session_factory() as s:
        event_id = s.scalars(select(AuditEvent.id).where(AuditEvent.instance_id == instance_id)).first()
        bypass_append_only(s)
        s.execute(text("UPDATE audit_events SET actor_name = 'someone' WHERE id = :id"), {"id": event_id})
        s.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"event id {event_id}" in broken.output and "NOT intact" in broken.output
    one = runner.invoke(args=["audit", "verify", "--instance", str(instance_id)])
    assert one.exit_code == 1
    missing = runner.invoke(args=["audit", "verify", "--instance", "999"])
    assert missing.exit_code == 1 and "no audit chain" in missing.output


def test_demo_load_is_idempotent_and_prints_logins(runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["demo", "load"])
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == second.exit_code == 0
    for login in ("admin", "officer1", "officer2", "supervisor1", "head1", "officer3", "personnel1", "auditor1"):
        assert login in second.output
    assert "password: demo" in second.output
    # A decided appointment for the inspector to read, made by the first load and only found by the second.
    told = re.search(r"History to read: appointment #(\d+), (.+) to Phó Chủ tịch UBND of Xã An Phú", first.output)
    assert told is not None, first.output
    assert f"/audit/instances/{told.group(1)}" in first.output and "kept from an earlier load" not in first.output
    assert f"appointment #{told.group(1)}, {told.group(2)} " in second.output
    assert "kept from an earlier load" in second.output


def test_import_and_export_cadres_from_the_command_line(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    template = tmp_path / "mau.xlsx"
    assert runner.invoke(args=["export", "template", "-o", str(template)]).exit_code == 0
    exported = tmp_path / "canbo.csv"
    result = runner.invoke(args=["export", "cadres", "--format", "csv", "-o", str(exported)])
    assert result.exit_code == 0 and "CB0001" in exported.read_text(encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    bad.write_text(exported.read_text(encoding="utf-8-sig").replace("X001", "NOWHERE", 1), encoding="utf-8")
    refused = runner.invoke(args=["import", "cadres", str(bad)])
    assert refused.exit_code == 1 and "NOWHERE" in refused.output and "không có dòng nào được nhập" in refused.output
    ok = runner.invoke(args=["import", "cadres", str(exported)])
    assert ok.exit_code == 0, ok.output
    assert "không đổi" in ok.output
    skipped = runner.invoke(args=["import", "cadres", str(bad), "--skip-bad-rows"])
    assert skipped.exit_code == 0 and (tmp_path / "bad-loi.xlsx").exists()


def test_export_tasks_evaluations_and_audit_lists(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    for name, expected in (("tasks", "Lập đề nghị"), ("audit", "instance_started")):
        target = tmp_path / f"{name}.csv"
        result = runner.invoke(args=["export", "list", name, "--format", "csv", "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert expected in target.read_text(encoding="utf-8-sig")
    target = tmp_path / "evaluations.xlsx"
    assert runner.invoke(args=["export", "list", "evaluations", "-o", str(target)]).exit_code == 0
    assert target.read_bytes()[:2] == b"PK"


# -- refusals: a clear message, a non-zero exit, the database unchanged -------------------------------------------


def _count(driver: WorkflowDriver, model: type) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_token_with_a_too_long_name_is_refused(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    result = runner.invoke(args=["users", "token", "admin", "--name", "x" * 121])
    assert result.exit_code == 1
    assert "the token name is too long" in result.output and "at most 120 characters" in result.output
    assert "Traceback" not in result.output
    assert _count(driver, ApiToken) == 0


def test_token_for_a_deactivated_user_is_refused(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        s.scalars(select(User).where(User.username == "officer2")).one().is_active = False
    result = runner.invoke(args=["users", "token", "officer2"])
    assert result.exit_code == 1 and "officer2 is deactivated" in result.output
    assert _count(driver, ApiToken) == 0
    assert runner.invoke(args=["users", "token", "officer1"]).exit_code == 0


EXPORTS = (["export", "cadres"], ["export", "template"], ["export", "list", "tasks"])


@pytest.mark.parametrize("command", EXPORTS, ids=lambda c: " ".join(c[1:]))
def test_export_to_a_place_that_cannot_be_written_fails_cleanly(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path, command: list[str]
) -> None:
    folder = tmp_path / "out"  # tmp_path holds the test database too
    folder.mkdir()
    not_a_folder = folder / "a-file"
    not_a_folder.write_text("")
    for target, reason in (
        (folder / "missing" / "x.xlsx", "không tồn tại"),
        (not_a_folder / "x.xlsx", "không phải là thư mục"),
    ):
        result = runner.invoke(args=[*command, "-o", str(target)])
        assert result.exit_code == 1, result.output
        assert f"Không ghi được tệp {target}" in result.output and reason in result.output
        assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["a-file"]


@pytest.mark.parametrize("command", EXPORTS, ids=lambda c: " ".join(c[1:]))
def test_export_refuses_an_extension_that_is_not_the_format(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path, command: list[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for options, message in (
        (["-o", str(folder / "x.pdf")], "x.pdf: tệp phải có đuôi .xlsx hoặc .csv"),
        (["-o", str(folder / "r.csv"), "--format", "xlsx"], "r.csv: đuôi .csv không khớp --format xlsx"),
    ):
        result = runner.invoke(args=[*command, *options])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not list(folder.iterdir())
    inferred = runner.invoke(args=[*command, "-o", str(folder / "r.csv")])
    assert inferred.exit_code == 0, inferred.output
    assert (folder / "r.csv").read_bytes()[:2] != b"PK"  # csv, as its name says, not a workbook


def _half_bad_file(runner: FlaskCliRunner, folder: Path) -> Path:
    """One new cadre (CB9001) that can be imported, one row with an unknown unit that cannot."""
    exported = folder / "all.csv"
    assert runner.invoke(args=["export", "cadres", "--format", "csv", "-o", str(exported)]).exit_code == 0
    header, first, second = exported.read_text(encoding="utf-8-sig").splitlines()[:3]
    exported.unlink()
    path = folder / "half.csv"
    path.write_text(
        "\n".join([header, first.replace("CB0001", "CB9001", 1), second.replace("X001", "NOWHERE", 1)]) + "\n",
        encoding="utf-8",
    )
    return path


def test_import_checks_the_report_can_be_written_before_importing(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = _half_bad_file(runner, folder)
    before = _count(driver, Cadre)
    unwritable = runner.invoke(
        args=["import", "cadres", str(path), "--skip-bad-rows", "--report", str(folder / "missing" / "r.xlsx")]
    )
    assert unwritable.exit_code == 1, unwritable.output
    assert "không tồn tại" in unwritable.output and "không có dòng nào được nhập" in unwritable.output
    assert "Traceback" not in unwritable.output
    wrong_extension = runner.invoke(
        args=["import", "cadres", str(path), "--skip-bad-rows", "--report", str(folder / "r.pdf")]
    )
    assert wrong_extension.exit_code == 2 and ".xlsx hoặc .csv" in wrong_extension.output
    assert _count(driver, Cadre) == before
    assert sorted(p.name for p in folder.iterdir()) == ["half.csv"]
    report = folder / "r.csv"
    done = runner.invoke(args=["import", "cadres", str(path), "--skip-bad-rows", "--report", str(report)])
    assert done.exit_code == 0, done.output
    assert "đã tạo 1" in done.output and _count(driver, Cadre) == before + 1
    assert "NOWHERE" in report.read_text(encoding="utf-8-sig")


def test_import_of_only_bad_rows_fails(runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path) -> None:
    path = _half_bad_file(runner, tmp_path)
    header, _good, bad = path.read_text(encoding="utf-8").splitlines()
    path.write_text(f"{header}\n{bad}\n", encoding="utf-8")
    before = _count(driver, Cadre)
    result = runner.invoke(args=["import", "cadres", str(path), "--skip-bad-rows"])
    assert result.exit_code == 1, result.output
    assert "không có dòng nào được nhập" in result.output
    assert (tmp_path / "half-loi.xlsx").exists()  # the officer still gets the list of what to correct
    assert _count(driver, Cadre) == before


@pytest.mark.parametrize("poll", ["-1", "0", "nan", "inf", "-inf", "1e9", "soon"])
def test_worker_refuses_a_poll_interval_out_of_range(runner: FlaskCliRunner, poll: str) -> None:
    result = runner.invoke(args=["worker", "--once", "--poll", poll])
    assert result.exit_code == 2, result.output
    assert "--poll" in result.output and "Traceback" not in result.output


def test_worker_refuses_a_configured_poll_interval_out_of_range(app: Flask, runner: FlaskCliRunner) -> None:
    app.config["WORKER_POLL_SECONDS"] = float("nan")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 1 and "CANBO_WORKER_POLL_SECONDS" in result.output


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://localhost/canbo", True),
        ("", True),  # e-mails then name the page to open: works, but the operator should know
        ("https://canbo.sonha.gov.vn", False),
        ("http://10.0.0.5:8080/canbo", False),
        ("canbo.sonha.gov.vn", True),  # no scheme: every link would be a path on the reader's own mail client
        ("not a url", True),
        ("ftp://canbo.sonha.gov.vn", True),
        ("https://", True),
    ],
)
def test_the_worker_warns_when_e_mail_links_point_to_its_own_machine(
    app: Flask, runner: FlaskCliRunner, base_url: str, warned: bool
) -> None:
    """With SMTP set and BASE_URL left at its loopback default, every e-mailed link would open nothing for its reader."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9, BASE_URL=base_url)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert ("warning: BASE_URL is" in result.output) is warned


def test_the_worker_does_not_warn_about_links_without_e_mail(app: Flask, runner: FlaskCliRunner) -> None:
    app.config.update(SMTP_HOST="", BASE_URL="http://127.0.0.1:5000")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "BASE_URL" not in result.output


class _StopTheLoop(Exception):
    """Raised from the worker's second sleep: the loop never ends by itself."""


@contextlib.contextmanager
def _write_lock_held(database_url: str) -> Iterator[Callable[[], None]]:
    """Another client in the middle of a long write, as a large import is: it holds the lock the worker's heartbeat
    needs until the function yielded is called. Yields that release."""
    if database_url.startswith("postgresql"):
        holder = make_engine(database_url)
        held = holder.connect()
        held.execute(text("LOCK TABLE worker_heartbeats IN ACCESS EXCLUSIVE MODE"))
        try:
            yield held.rollback
        finally:
            held.close()
            holder.dispose()
        return
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        yield lambda: writer.execute("COMMIT")
    finally:
        writer.close()


@contextlib.contextmanager
def _impatient_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with a database wait of 0.2 s instead of SQLite's 30 s (PostgreSQL: its lock_timeout)."""
    if database_url.startswith("postgresql"):
        options: dict[str, Any] = {"connect_args": {"options": "-c lock_timeout=200"}}
    else:
        options = {"connect_args": {"timeout": 0.2, "check_same_thread": False}}
    app = configured_app(database_url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS=options)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_worker_waits_for_a_locked_database_and_carries_on(
    database_url: str, db_engine: Engine, demo_users: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long import holds the database's write lock past the worker's wait (or PostgreSQL is away): the worker says
    so, waits and tries again. Before, it exited, and no deadline, escalation or notification ran afterwards."""
    slept: list[float] = []
    with _impatient_app(database_url, tmp_path) as app, _write_lock_held(database_url) as release:

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            if len(slept) > 1:
                raise _StopTheLoop
            release()

        monkeypatch.setattr(time, "sleep", sleep)
        result = app.test_cli_runner().invoke(args=["worker", "--poll", "0.5"])
    assert isinstance(result.exception, _StopTheLoop), result.output
    assert "database unavailable (" in result.output and "try 1 failed, the next in 1.0 s" in result.output
    assert "database available again after 1 failed try" in result.output
    assert slept == [1.0, 0.5]  # the retry waited twice the poll interval; then the usual poll
    with db_engine.connect() as connection:
        beats = connection.execute(select(WorkerHeartbeat.jobs)).all()
    assert beats == [(0,)]


def test_worker_once_does_not_wait_for_the_database(database_url: str, demo_users: dict, tmp_path: Path) -> None:
    """`--once` is run by cron or by hand: a database away is an error to see at once, with a non-zero exit."""
    with _impatient_app(database_url, tmp_path) as app, _write_lock_held(database_url):
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code != 0
    assert isinstance(result.exception, DatabaseError)


@pytest.mark.parametrize("instance_id", ["0", "-1", "999999999", str(2**40)])
def test_tasks_of_a_missing_instance_is_an_error(
    runner: FlaskCliRunner, driver: WorkflowDriver, instance_id: str
) -> None:
    result = runner.invoke(args=["tasks", "list", instance_id])
    assert result.exit_code == 1, result.output
    assert f"no such instance: {instance_id}" in result.output


def test_tasks_name_who_they_wait_for_and_why_someone_may_not_complete_them(
    runner: FlaskCliRunner, driver: WorkflowDriver
) -> None:
    """An operator reads user names and unit codes, not ids or "None"; a refused completion says whom the task waits
    for instead of calling it missing."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    submit = driver.task(instance_id, "submit_request")
    listed = runner.invoke(args=["tasks", "list", str(instance_id)])
    assert f"task {submit.id}: Lập đề nghị" in listed.output and "→ user officer1" in listed.output, listed.output
    refused = runner.invoke(args=["tasks", "complete", str(submit.id), "--as", "head1"])
    assert refused.exit_code == 1
    assert f"head1 may not complete task {submit.id} “Lập đề nghị”: it waits for user officer1" in refused.output
    with driver.session_factory() as s, transaction(s):
        task = s.get(HumanTask, submit.id)
        assert task is not None
        unit_code = s.get(OrgUnit, task.unit_id).code  # type: ignore[union-attr]
        task.assignee_id = None
        task.candidate_role = None
        task.candidate_unit_id = None
        task.assignment_problem = "no one holds the role"
    nobody = runner.invoke(args=["tasks", "list", str(instance_id)])
    assert f"→ nobody yet (unit {unit_code}: no one holds the role)" in nobody.output, nobody.output
    assert "None" not in nobody.output
    refused = runner.invoke(args=["tasks", "complete", str(submit.id), "--as", "officer1"])
    assert refused.exit_code == 1 and "does not exist" not in refused.output
    assert f"officer1 may not complete task {submit.id}" in refused.output and "nobody yet" in refused.output
    missing = runner.invoke(args=["tasks", "complete", "999999", "--as", "officer1"])
    assert missing.exit_code == 1 and "task 999999 does not exist" in missing.output


def test_tasks_of_an_instance_without_open_tasks_says_so(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    listed = runner.invoke(args=["tasks", "list", str(instance_id)])
    assert listed.exit_code == 0 and "Lập đề nghị" in listed.output
    with driver.session_factory() as s, transaction(s):
        operations.cancel_instance(s, driver.engine, actor=None, instance_id=instance_id, reason="trùng")
    none_open = runner.invoke(args=["tasks", "list", str(instance_id)])
    assert none_open.exit_code == 0
    assert none_open.output.strip() == f"sample_approval#{instance_id}: cancelled, no open tasks"


# -- `canbo` itself, on a database it cannot use ---------------------------------------------------------------


def _canbo(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: Path, *args: str):  # type: ignore[no-untyped-def]
    """The installed entry point, as an operator runs it: its exit code and everything it printed."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("AUDIT_ANCHOR_KEY", "test-audit-anchor-key-of-32-chars")
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "0")
    monkeypatch.setattr(sys, "argv", ["canbo", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    printed = capsys.readouterr()
    return exited.value.code, printed.out + printed.err


def test_a_database_without_schema_asks_for_db_upgrade(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.db"
    for command in (["check"], ["processes", "list"], ["users", "token", "admin"]):
        code, printed = _canbo(monkeypatch, capsys, fresh, *command)
        assert code == 1, printed
        assert "run `canbo db upgrade` first" in printed and "no such table" in printed
        assert "Traceback" not in printed and len(printed.strip().splitlines()) == 1
    code, printed = _canbo(monkeypatch, capsys, fresh, "db", "upgrade")
    assert code == 0, printed
    code, printed = _canbo(monkeypatch, capsys, fresh, "processes", "list")
    assert code == 0, printed


def test_another_database_error_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database " * 100)
    code, printed = _canbo(monkeypatch, capsys, junk, "processes", "list")
    assert code == 1
    assert printed.strip() == "database error (DatabaseError): file is not a database"


@pytest.mark.parametrize("url", ["xyz", "nonsense://", "postgresql+nodriver://u:secret@h/d"])
def test_a_database_url_that_cannot_be_used_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setattr(sys, "argv", ["canbo", "check"])
    with pytest.raises(SystemExit) as exited:
        main()
    printed = capsys.readouterr()
    assert exited.value.code == 1
    assert printed.err.startswith("DATABASE_URL is not a database URL this app can use")
    assert "secret" not in printed.out + printed.err and "Traceback" not in printed.err


NOTHING_ANSWERS = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["users", "--help"], ["users", "create", "--help"], ["worker", "--help"], ["serve", "--help"]],
)
def test_help_needs_no_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    """An operator reads how to use a command before the database is set up, or while it is away: help is parsed
    before any command runs, and the procedures are deployed only when one does (decision 0108)."""
    monkeypatch.setenv("DATABASE_URL", NOTHING_ANSWERS)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.delenv("CANBO_DEPLOY_ON_STARTUP", raising=False)
    monkeypatch.setattr(sys, "argv", ["canbo", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    printed = capsys.readouterr()
    assert exited.value.code == 0, printed
    assert printed.out.startswith("Usage: canbo") and "database" not in printed.err


def test_verify_export_with_the_installs_keys_needs_no_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/deploy.md: the check runs on any machine, no database — with the install's own (here: retired) keys too."""
    exports = Path(__file__).resolve().parents[1] / "workflows" / "exports"
    monkeypatch.setenv("DATABASE_URL", NOTHING_ANSWERS)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("CANBO_EXPORT_RETIRED_PUBLIC_KEYS", str(exports / "format-4-public-key.pem"))
    monkeypatch.delenv("CANBO_DEPLOY_ON_STARTUP", raising=False)
    monkeypatch.setattr(sys, "argv", ["canbo", "audit", "verify-export", str(exports / "format-4.json")])
    with pytest.raises(SystemExit) as exited:
        main()
    printed = capsys.readouterr()
    assert exited.value.code in (0, None), printed
    assert "intact" in printed.out and "database" not in printed.err


def test_a_command_deploys_the_bundled_procedures_when_it_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """What loading the app did before: the command that runs finds bpmn/ deployed (the migrations do not deploy
    into the schema they are building)."""
    fresh = tmp_path / "fresh.db"
    code, printed = _canbo(monkeypatch, capsys, fresh, "db", "upgrade")
    assert code == 0, printed
    monkeypatch.setenv("CANBO_DEPLOY_ON_STARTUP", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{fresh}")
    monkeypatch.setattr(sys, "argv", ["canbo", "processes", "list"])
    with pytest.raises(SystemExit) as exited:
        main()
    printed_now = capsys.readouterr()
    assert exited.value.code in (0, None), printed_now
    assert "sample_approval\tv1" in printed_now.out


def test_postgresql_missing_table_is_recognised_by_its_sqlstate() -> None:
    missing = ProgrammingError("SELECT 1", {}, psycopg.errors.UndefinedTable('relation "users" does not exist'))
    assert "run `canbo db upgrade` first" in _database_error_message(missing)
    other = DatabaseError("SELECT 1", {}, sqlite3.DatabaseError("disk I/O error"))
    assert _database_error_message(other) == "database error (DatabaseError): disk I/O error"


# -- the demo's waiting work -----------------------------------------------------------------------------------------


def _evaluations_of(driver: WorkflowDriver, month: str) -> list[ProcessInstance]:
    with driver.session_factory() as s:
        return list(
            s.scalars(
                select(ProcessInstance).where(
                    ProcessInstance.process_id == EVALUATION, ProcessInstance.business_key.like(f"{month}/%")
                )
            )
        )


def test_demo_load_opens_the_current_month_for_the_demo_commune_once(
    runner: FlaskCliRunner, driver: WorkflowDriver, in_november: None
) -> None:
    first = runner.invoke(args=["demo", "load", "--cadres", "0"])
    assert first.exit_code == 0, first.output
    assert f"Work waiting: the evaluation of {MONTH} is open in Xã An Phú" in first.output
    opened = _evaluations_of(driver, MONTH)
    # The cadres who can sign in, and only they: the others' tasks could be assigned to nobody.
    assert {instance.business_key for instance in opened} == {f"{MONTH}/CB000{n}" for n in range(1, 5)}
    with driver.session_factory() as s:
        officer = s.scalars(select(User).where(User.username == "officer1")).one()
        (task,) = s.scalars(select(HumanTask).where(HumanTask.assignee_id == officer.id, HumanTask.status == "open"))
        assert task.task_key == "self_assessment"
        instance = s.get(ProcessInstance, task.instance_id)
        assert instance is not None
        data = driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance).last_task.data
    # Her self-assessment opens with the month's assigned work products, as from the unit's assignment file.
    assert [(p["name"], p["assigned"], p["completed"]) for p in data["products"]] == [
        (p["name"], p["assigned"], 0) for p in demo_products()["CB0001"]
    ]
    second = runner.invoke(args=["demo", "load", "--cadres", "0"])
    assert second.exit_code == 0 and f"the evaluation of {MONTH} in Xã An Phú was already open" in second.output
    assert len(_evaluations_of(driver, MONTH)) == len(opened)


def test_demo_load_can_leave_the_month_unopened(
    runner: FlaskCliRunner, driver: WorkflowDriver, in_november: None
) -> None:
    result = runner.invoke(args=["demo", "load", "--cadres", "0", "--no-open-month"])
    assert result.exit_code == 0 and "Work waiting" not in result.output
    assert _evaluations_of(driver, MONTH) == []


def test_demo_load_says_why_no_month_was_opened_and_keeps_the_demo(
    runner: FlaskCliRunner, driver: WorkflowDriver, in_november: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("webapp.cli.DEMO_UNIT_CODE", "NOPE")
    result = runner.invoke(args=["demo", "load", "--cadres", "0"])
    assert result.exit_code == 0
    assert f"The evaluation of {MONTH} was not opened for the demo logins" in result.stderr
    assert "no unit with the code 'NOPE'" in result.stderr and "Demo logins" in result.stdout
    assert _evaluations_of(driver, MONTH) == []


# The libraries only some commands use (decision 0117): a spreadsheet, a PDF, a migration.
ONLY_WHEN_USED = ("openpyxl", "PIL", "fpdf", "fontTools", "alembic", "flask_migrate")


def test_the_cli_and_the_app_load_without_the_libraries_only_some_commands_use(tmp_path: Path) -> None:
    """`canbo --help` and every command build the app first: it must not import what only a spreadsheet, the tally
    minutes' PDF or a migration needs. A fresh interpreter, since this test process has them all loaded."""
    probe = (
        "import sys; sys.argv = ['canbo', '--help']\n"
        "from webapp.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(','.join(sorted(m for m in {ONLY_WHEN_USED!r} if m in sys.modules)))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CANBO_", "PYTEST_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'never-opened.db'}", SECRET_KEY="probe", AUDIT_ANCHOR_KEY="probe")
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == ""
    assert not (tmp_path / "never-opened.db").exists()


def test_the_migration_commands_load_flask_migrate_when_they_run(app: Flask, runner: FlaskCliRunner) -> None:
    assert "migrate" not in app.extensions
    listed = runner.invoke(args=["db", "--help"])  # Flask-Migrate's own group: its options and its commands
    assert listed.exit_code == 0 and "upgrade" in listed.output and "--directory" in listed.output
    assert app.extensions["migrate"].directory.endswith("migrations")
    for args in (["db", "current"], ["db", "upgrade"], ["db", "heads"]):
        ran = runner.invoke(args=args)
        assert ran.exit_code == 0, (args, ran.output)
