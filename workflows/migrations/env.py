"""Alembic environment. Works under Flask-Migrate (`canbo db upgrade`) and without Flask (workflows.migrate)."""

from alembic import context

import workflows.models  # noqa: F401  (registers every table on the metadata)
from workflows.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _connectable():
    connection = config.attributes.get("connection")
    if connection is not None:
        return connection
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return make_engine(url)
    from flask import current_app  # only when run through Flask-Migrate

    return current_app.extensions["migrate"].db.engine


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = _connectable()
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
            connection.commit()
        if config.get_main_option("sqlalchemy.url") and config.attributes.get("connection") is None:
            connectable.dispose()  # the engine made here for the URL: its connection is not left for the collector
    else:
        _run(connectable)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
