"""`canbo planning start`: a planning review started from the command line, with the same checks as the page."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.extensions import db
from webapp.http import act, process_engine, script_failure_text
from webapp.planning import planning_policy
from workflows.errors import ScriptFailure, WorkflowError
from workflows.planning.service import Variant, start_planning
from workflows.registry.models import User


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
    try:
        # Through `act`, as the page starts it: a failed model script is noted for /admin after the rollback.
        instance = act(
            lambda: start_planning(
                db.session,
                process_engine(),
                actor=actor,
                unit_code=unit_code,
                term=term,
                variant=variant,
                policy=planning_policy(),
            )
        )
    except ScriptFailure as failure:
        raise click.ClickException(script_failure_text(failure)) from failure
    except WorkflowError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"started {instance.reference} ({instance.business_key})")
