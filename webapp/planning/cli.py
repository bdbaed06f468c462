"""`canbo planning start`: a planning review started from the command line, with the same checks as the page."""

from __future__ import annotations

from typing import NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.appointment import work_calendar
from webapp.extensions import db
from webapp.http import process_engine
from webapp.planning import planning_policy
from webapp.start_commands import start_or_exit
from workflows.planning.service import Variant, start_planning
from workflows.registry.models import User


def _click_error(message: str) -> NoReturn:
    """Click's way, as this command's other refusals: "Error: <message>" on stderr, exit status 1."""
    raise click.ClickException(message)


@click.group(help="Cadre planning (quy hoạch): the next term's plan and the annual review.")
def planning() -> None:
    pass


@planning.command("start", help="Start a planning review of a unit for a term.")
@click.option("--unit", "unit_code", required=True, help="The unit's code (its titles and those below it).")
@click.option("--term", required=True, help="The term, like 2026-2031.")
@click.option("--variant", type=click.Choice([v.value for v in Variant]), required=True, help="annual or term.")
@click.option("--as", "username", required=True, help="The personnel officer starting it.")
@with_appcontext
def planning_start(unit_code: str, term: str, variant: str, username: str) -> None:
    actor = db.session.scalar(select(User).where(User.username == username, User.is_active))
    if actor is None:
        raise click.ClickException(f"no active user {username!r}")
    instance = start_or_exit(
        lambda: start_planning(
            db.session,
            process_engine(),
            actor=actor,
            unit_code=unit_code,
            term=term,
            variant=variant,
            policy=planning_policy(),
            calendar=work_calendar(),
        ),
        fail=_click_error,
    )
    click.echo(f"started {instance.reference} ({instance.business_key})")
