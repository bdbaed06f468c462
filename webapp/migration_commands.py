"""`canbo db …`: Flask-Migrate's commands, with Flask-Migrate and Alembic imported only when one of them runs.

Importing the two costs every process 0.2–0.3 s (decision 0117), and only the migrations need them: not the pages,
not `canbo serve` or `canbo worker`, not `canbo --help`. The `db` group itself is Flask-Migrate's, unchanged."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import ScriptInfo

from webapp.extensions import db
from workflows.migrate import MIGRATIONS_DIR


class MigrationCommands(click.Group):
    """Stands in for Flask-Migrate's `db` group in `canbo --help`. Once `canbo db …` is parsed, it binds Flask-Migrate
    to the app and hands the arguments to that group, which parses (its `--directory`, its `--help`) and runs them
    as if it had been registered itself. Never deploys first (decision 0108): a migration must not deploy into the
    schema it is building."""

    canbo_deploys_first = False

    def __init__(self) -> None:
        super().__init__("db", help="Perform database migrations.")

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        from flask_migrate import Migrate
        from flask_migrate.cli import db as migration_group

        assert parent is not None  # always a command of the `canbo` group
        app = parent.ensure_object(ScriptInfo).load_app()
        if "migrate" not in app.extensions:
            Migrate().init_app(app, db, directory=str(MIGRATIONS_DIR))
        return migration_group.make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return ctx.command.invoke(ctx)  # Flask-Migrate's group, which make_context chose
