"""`canbo evaluation rollup --year 2026 --unit CODE [--write]`: the year's roll-up of a unit and its HTXSNV quota.

Registered in the `evaluation` group of webapp/cli.py. The task groups of the quota come from the configuration key
EVALUATION_TASK_GROUPS (a mapping of position title codes to group names; unlisted title codes are their own group,
no position is "chung"); the ratio, rounding and tie-break from EVALUATION_POLICY.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from webapp.config import ConfigError
from webapp.evaluation import evaluation_policy, task_grouping
from webapp.extensions import db
from webapp.http import process_engine
from webapp.i18n import task_group_name
from webapp.start_commands import exit_with, start_or_exit
from workflows.db import transaction
from workflows.errors import WorkflowError
from workflows.evaluation.annual import start_annual_run
from workflows.evaluation.rollup import VIEW_ROLES, WRITE_ROLES, Rollup, TaskGrouping, build_rollup, record_rollup
from workflows.registry.models import User


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _grouping() -> TaskGrouping:
    try:
        return task_grouping()
    except ConfigError:
        exit_with("EVALUATION_TASK_GROUPS phải là một ánh xạ mã chức danh → tên nhóm.")
        raise


def print_rollup(rollup: Rollup) -> None:
    click.echo(f"Tổng hợp kết quả năm {rollup.year} — {rollup.unit.code} ({rollup.unit.name})")
    click.echo(f"{'Mã':<12} {'Họ và tên':<30} {'Đơn vị':<12} {'Nhóm':<14} {'Số tháng':>8} {'Điểm năm':>9}  Đề xuất")
    for row in rollup.cadres:
        click.echo(
            f"{row.code:<12} {row.full_name[:30]:<30} {row.unit_code:<12} {row.task_group[:14]:<14} "
            f"{row.months_worked:>8} {_score(row.annual):>9}  {row.proposed_grade or '—'}"
        )
    codes = {row.cadre_id: row for row in rollup.cadres}
    # The quota's groups as the page names them: the unit by name with its code, the task group by its name.
    units = {row.unit_id: f"{row.unit_name or row.unit_code} ({row.unit_code})" for row in rollup.cadres}
    click.echo("")
    click.echo("Tỷ lệ HTXSNV (≤ 20% số HTTNV, theo đơn vị và nhóm nhiệm vụ — NĐ 335 Điều 20):")
    report = rollup.quota()
    if not report.groups:
        click.echo("  (chưa có kết quả tháng nào trong năm)")
    with force_locale("vi"):  # the command speaks Vietnamese, as the page does by default
        groups = {group.task_group: task_group_name(group.task_group) for group in report.groups}
    for group in report.groups:
        click.echo(
            f"  {units[group.unit_id]} / {groups[group.task_group]}: HTTNV {group.httnv}, HTXSNV {group.htxsnv}, "
            f"được phép {group.allowed}, vượt {len(group.over)}"
        )
        for rank, cadre_id in enumerate(group.over, start=1):
            row = codes[cadre_id]
            click.echo(f"    {rank}. {row.code} {row.full_name} — {_score(row.annual)}")
        if group.tied_at_cut:
            tied = ", ".join(codes[c].code for c in group.tied_at_cut)
            click.echo(f"    bằng điểm tại ngưỡng, thủ trưởng quyết định: {tied}")


@click.command(
    "rollup",
    help="The year's quarterly and annual results of a unit (and the units below it) from the monthly results, "
    "the proposed grades and the HTXSNV quota per unit and task group. With --write, the quarter results are "
    "recorded, and the year results too when no group is over the quota (otherwise use the annual grading run).",
)
@click.option("--year", required=True, help="The year, YYYY; it must have begun.")
@click.option("--unit", "unit_code", required=True, help="Code of the unit.")
@click.option("--no-subunits", is_flag=True, help="Only the unit itself, not the units below it.")
@click.option("--write", is_flag=True, help="Record the quarter (and, within the quota, the year) results.")
@click.option("--as", "username", help="Act as this user (default: the system).")
@with_appcontext
def rollup_command(year: str, unit_code: str, no_subunits: bool, write: bool, username: str | None) -> None:
    actor = None
    if username is not None:
        actor = db.session.scalar(select(User).where(User.username == username))
        if actor is None:
            exit_with(f"no such user: {username}")
    grouping = _grouping()
    try:
        with transaction(db.session):
            rollup = build_rollup(
                db.session,
                actor=actor,
                unit_code=unit_code,
                year=year,
                include_subunits=not no_subunits,
                grouping=grouping,
                policy=evaluation_policy(),
                roles=WRITE_ROLES if write else VIEW_ROLES,
            )
            print_rollup(rollup)
            if write:
                within = rollup.quota().is_within
                written = record_rollup(db.session, actor, rollup, with_year=within)
                click.echo("")
                click.echo(f"Đã ghi {written.quarters} kết quả quý, {written.years} kết quả năm.")
                if not within:
                    click.echo(
                        "Chưa ghi kết quả năm: còn HTXSNV vượt tỷ lệ; thủ trưởng giải quyết trong quy trình "
                        "xếp loại cuối năm."
                    )
    except WorkflowError as error:
        exit_with(f"Không tổng hợp được; không có gì được ghi.\n{error}")


@click.command(
    "annual",
    help="Start the annual grading run of a unit (and the units below it): the personnel officer prepares the "
    "roll-up, the head confirms it and resolves any HTXSNV over the quota. Starting it again finds the same run.",
)
@click.option("--year", required=True, help="The year, YYYY; it must have begun.")
@click.option("--unit", "unit_code", required=True, help="Code of the unit.")
@click.option("--no-subunits", is_flag=True, help="Only the unit itself, not the units below it.")
@click.option("--as", "username", help="Act as this (personnel) user (default: the system).")
@with_appcontext
def annual_command(year: str, unit_code: str, no_subunits: bool, username: str | None) -> None:
    actor = None
    if username is not None:
        actor = db.session.scalar(select(User).where(User.username == username))
        if actor is None:
            exit_with(f"no such user: {username}")
    grouping = _grouping()
    instance_id = start_or_exit(
        lambda: start_annual_run(
            db.session,
            process_engine(),
            actor=actor,
            unit_code=unit_code,
            year=year,
            include_subunits=not no_subunits,
            grouping=grouping,
            policy=evaluation_policy(),
        ),
        refused=lambda error: f"Không bắt đầu được kỳ xếp loại cuối năm; không có gì được ghi.\n{error}",
    )
    click.echo(f"Kỳ xếp loại cuối năm {year} của {unit_code}: quy trình số {instance_id}.")
