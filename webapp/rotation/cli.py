"""`canbo rotation start` and `canbo rotation signals`: the rotation page and the signals page from the shell."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.appointment import work_calendar
from webapp.extensions import db
from webapp.rotation import rotation_policy
from webapp.start_commands import exit_with, start_or_exit
from workflows.errors import Invalid, WorkflowError
from workflows.registry.models import User
from workflows.rotation.service import RotationRequest, start_rotation
from workflows.rotation.signals import can_see_signals, rotation_signals, signal_scope


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username, User.is_active))
    if user is None:
        exit_with(f"no such user: {username}")
    assert user is not None
    return user


@click.group(help="Rotations (luân chuyển cán bộ).")
def rotation() -> None:
    pass


@rotation.command("start", help="Start the rotation of CADRE_CODE to a post of another unit.")
@click.argument("cadre_code")
@click.option("--to-unit", "to_unit_id", type=int, required=True, help="The receiving unit's id.")
@click.option("--position", "position_id", type=int, required=True, help="The post's id at the receiving unit.")
@click.option("--starts-on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The first day (YYYY-MM-DD).")
@click.option("--ends-on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The last day (YYYY-MM-DD).")
@click.option("--purpose", required=True, help="training, non_local, term_limit or other.")
@click.option("--note", default="", help="The competent authority's grounds (needed for 'other').")
@click.option("--as", "username", required=True, help="The personnel officer starting it.")
@with_appcontext
def rotation_start(
    cadre_code: str, to_unit_id: int, position_id: int, starts_on: datetime, ends_on: datetime, purpose: str, note: str,
    username: str,
) -> None:  # fmt: skip
    actor = _user(username)
    request = RotationRequest(
        cadre_code=cadre_code,
        to_unit_id=to_unit_id,
        position_id=position_id,
        starts_on=starts_on.date(),
        planned_end_on=ends_on.date(),
        purpose=purpose,
        purpose_note=note,
    )
    instance = start_or_exit(
        lambda: start_rotation(
            db.session, current_app.extensions["canbo_engine"], actor=actor, request=request,
            policy=rotation_policy(), calendar=work_calendar(),
        ),
        refused=_refusal_text,
    )  # fmt: skip
    click.echo(f"started {instance.reference} ({instance.business_key})")


def _refusal_text(error: WorkflowError) -> str:
    """A refused rotation: an invalid request says the refusal, then each problem once."""
    if not isinstance(error, Invalid):
        return str(error)
    problems = (f"  {p.field}: {p.explained}" if p.field else f"  {p.explained}" for p in error.problems)
    return "\n".join([error.explained, *problems])


@rotation.command("signals", help="List the cadres to consider for rotation in USERNAME's scope.")
@click.option("--as", "username", required=True, help="The personnel officer whose scope is listed.")
@with_appcontext
def rotation_signals_command(username: str) -> None:
    user = _user(username)
    if not can_see_signals(user):  # as the signals page answers 403
        exit_with(f"{username} may not see rotation signals: only personnel officers and administrators may.")
    found = rotation_signals(db.session, signal_scope(user))
    for signal in found:
        click.echo(f"{signal.kind}\t{signal.cadre_code}\t{signal.cadre_name}\t{signal.reason.vietnamese()}")
    click.echo(f"{len(found)} signal(s)")
