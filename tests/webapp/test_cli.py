"""The `canbo` commands operators use: clear output, non-zero exit on failure, the database unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text

from tests.fixtures.tampering import bypass_append_only
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.models import AuditEvent, ProcessInstance, ProcessVersion

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


def test_validate_lists_every_problem_with_its_place(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["processes", "validate", str(FIXTURES / "xsd_error.bpmn"), str(FIXTURES / "missing_form.bpmn")]
    )
    assert result.exit_code == 1
    assert "xsd_error.bpmn, line 7" in result.output and "xsd_error.bpmn, line 8" in result.output
    assert "does_not_exist.json" in result.output
    ok = runner.invoke(args=["processes", "validate", str(Path(__file__).parents[2] / "bpmn" / "sample_approval.bpmn")])
    assert ok.exit_code == 0 and "sample_approval" in ok.output


def test_start_and_complete_from_the_command_line(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    started = runner.invoke(args=["instances", "start", "sample_approval", "--subject", "CB0001", "--as", "officer1"])
    assert started.exit_code == 0, started.output
    (task,) = driver.open_tasks(1)
    bad = runner.invoke(args=["tasks", "complete", str(task.id), "--as", "officer1", "--data", "{not json"])
    assert bad.exit_code == 1 and "not valid JSON" in bad.output
    invalid = runner.invoke(args=["tasks", "complete", str(task.id), "--as", "officer1", "--data", '{"amount": -1}'])
    assert invalid.exit_code == 1 and "subject_line" in invalid.output
    done = runner.invoke(
        args=["tasks", "complete", str(task.id), "--as", "officer1", "--data", '{"subject_line": "Đề nghị"}']
    )
    assert done.exit_code == 0 and "Xem xét, phê duyệt" in done.output


def test_worker_once_escalates_an_overdue_review(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    clock.set_now(T0)
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "x"})
    clock.set_now(T0 + timedelta(days=3, hours=1))
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "1 instance(s) advanced, 1 fired, 0 failed" in result.output
    assert driver.task(instance_id, "escalated_review")


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
