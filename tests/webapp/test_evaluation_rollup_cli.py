"""`canbo evaluation rollup`: the year's table and quota report of a unit, --write, and the refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.workflows.test_evaluation_rollup import DECEMBER, UNIT, seed_unit
from workflows import clock
from workflows.db import transaction
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, EvaluationResult


@pytest.fixture(autouse=True)
def _december() -> Iterator[None]:
    clock.set_now(DECEMBER)
    yield
    clock.set_now(None)


@pytest.fixture
def seeded(app, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, transaction(session):
        seed_unit(session)


def _results(session_factory: sessionmaker[Session], kind: str) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count(EvaluationResult.id)).where(EvaluationResult.period_kind == kind)) or 0


def test_rollup_prints_the_table_and_the_quota_per_unit_and_task_group(
    runner: FlaskCliRunner, seeded, session_factory: sessionmaker[Session]
) -> None:
    result = runner.invoke(args=["evaluation", "rollup", "--year", "2026", "--unit", "X001", "--as", "personnel1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    leave = next(line for line in lines if line.startswith("RG10"))
    assert leave.split()[-3:] == ["9", "82.00", "HTTNV"]
    nothing = next(line for line in lines if line.startswith("RN01"))
    assert nothing.split()[-3:] == ["0", "—", "—"]
    assert (
        f"Văn phòng (thử) ({UNIT}) / Nhóm chung (không giữ chức danh): HTTNV 10, HTXSNV 3, được phép 2, vượt 1"
        in result.output
    )
    assert "1. RX01 Cán bộ RX01 — 91.00" in result.output
    assert f"Văn phòng (thử) ({UNIT}) / ke_toan: HTTNV 1, HTXSNV 1, được phép 0, vượt 1" in result.output
    # The commune's own cadres (no result yet) are listed too: --unit X001 covers the units below it.
    assert any(line.startswith("CB0001") for line in lines)
    assert _results(session_factory, "quarter") == 0  # without --write nothing is recorded


def test_task_groups_are_configurable(runner: FlaskCliRunner, seeded) -> None:
    runner.app.config["EVALUATION_TASK_GROUPS"] = {"ke_toan": "chung"}
    result = runner.invoke(args=["evaluation", "rollup", "--year", "2026", "--unit", UNIT])
    assert result.exit_code == 0, result.output
    assert (
        f"Văn phòng (thử) ({UNIT}) / Nhóm chung (không giữ chức danh): HTTNV 11, HTXSNV 4, được phép 2, vượt 2"
        in result.output
    )
    assert "ke_toan:" not in result.output


def test_write_records_quarters_but_not_the_year_while_over_quota(
    runner: FlaskCliRunner, seeded, session_factory: sessionmaker[Session]
) -> None:
    result = runner.invoke(args=["evaluation", "rollup", "--year", "2026", "--unit", UNIT, "--write"])
    assert result.exit_code == 0, result.output
    assert "Chưa ghi kết quả năm" in result.output
    assert _results(session_factory, "quarter") == 4 * 16 - 1  # 16 graded cadres (all but RN01), RG10 has no Q3
    assert _results(session_factory, "year") == 0


def test_write_records_the_year_when_within_quota(
    runner: FlaskCliRunner, seeded, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, transaction(session):
        for code in ("RX01", "RA02"):  # bring both groups within the quota
            cadre_id = session.scalars(select(Cadre.id).where(Cadre.code == code)).one()
            for row in session.scalars(select(EvaluationResult).where(EvaluationResult.cadre_id == cadre_id)):
                row.score = 85.0
    result = runner.invoke(
        args=["evaluation", "rollup", "--year", "2026", "--unit", UNIT, "--write", "--as", "personnel1"]
    )
    assert result.exit_code == 0, result.output
    assert "63 kết quả quý, 16 kết quả năm" in result.output
    assert _results(session_factory, "year") == 16


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2027", "--unit", UNIT], "the year has not begun yet"),
        (["--year", "abcd", "--unit", UNIT], "expected a year"),
        (["--year", "2026", "--unit", "NOPE"], "there is no unit with the code 'NOPE'"),
        (["--year", "2026", "--unit", UNIT, "--as", "officer1"], "you may not see"),
        (["--year", "2026", "--unit", "X002", "--as", "head1"], "you may not see"),
        (["--year", "2026", "--unit", UNIT, "--write", "--as", "auditor1"], "you may not see"),
        (["--year", "2026", "--unit", UNIT, "--as", "nobody"], "no such user"),
    ],
)
def test_bad_requests_exit_non_zero_and_write_nothing(
    runner: FlaskCliRunner, seeded, session_factory: sessionmaker[Session], args: list[str], message: str
) -> None:
    result = runner.invoke(args=["evaluation", "rollup", *(args if "--write" in args else [*args, "--write"])])
    assert result.exit_code == 1
    assert message in result.output
    assert _results(session_factory, "quarter") == 0 and _results(session_factory, "year") == 0


def test_annual_command_starts_the_run_once_and_refuses_outside_scope(runner, driver) -> None:
    first = runner.invoke(args=["evaluation", "annual", "--year", "2026", "--unit", "X001", "--as", "personnel1"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["evaluation", "annual", "--year", "2026", "--unit", "X001", "--as", "personnel1"])
    assert again.exit_code == 0 and again.output == first.output  # the same run, not a second one
    refused = runner.invoke(args=["evaluation", "annual", "--year", "2026", "--unit", "X001", "--as", "officer1"])
    assert refused.exit_code != 0
    with driver.session_factory() as s:
        runs = s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == "annual_grading"))
    assert runs == 1
