"""The settings `canbo serve` hands to gunicorn (webapp/production/gunicorn_conf.py)."""

from __future__ import annotations

import gc

from flask import Flask
from sqlalchemy import text

from webapp.production import gunicorn_conf


def test_a_started_worker_leaves_what_it_loaded_out_of_later_collections(app: Flask) -> None:
    loaded = app.view_functions  # loaded with the app, before the worker starts serving
    assert gc.is_tracked(loaded)
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 0
        # Frozen objects are in no generation: a collection, full or not, does not walk them again.
        assert not any(obj is loaded for obj in gc.get_objects())
        created_later: dict[str, list[int]] = {"served": []}  # what a request makes is still collected
        assert any(obj is created_later for obj in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(obj is loaded for obj in gc.get_objects())


def test_a_started_worker_has_every_page_template_compiled(app: Flask) -> None:
    """The first request for a page in a new worker does not compile its template: post_worker_init did."""

    class Worker:
        wsgi = app

    pages = {name for name in app.jinja_env.list_templates() if name.endswith(".html")}
    assert {"instances/show.html", "inbox/index.html", "audit/instance.html"} <= pages
    compiled = app.jinja_env.cache
    assert compiled is not None and not compiled
    try:
        gunicorn_conf.post_worker_init(worker=Worker())
    finally:
        gc.unfreeze()
    assert {name for _loader, name in compiled} == pages


def test_the_master_is_left_ready_to_fork_without_a_database_connection(app: Flask) -> None:
    """The master loads the app (and may deploy through the database); a worker forked from it must not inherit a
    connection, and starts with its templates compiled and what the master loaded frozen."""
    from webapp.extensions import db

    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        pool = db.engine.pool
        assert pool.checkedin() == 1  # the loading's connection, kept by the pool
    loaded = app.view_functions
    try:
        gunicorn_conf.prepare_for_fork(app)
        with app.app_context():
            assert db.engine.pool is not pool and db.engine.pool.checkedin() == 0
        assert not any(obj is loaded for obj in gc.get_objects())
        assert {name for _loader, name in app.jinja_env.cache} >= {"instances/show.html", "inbox/index.html"}
    finally:
        gc.unfreeze()


def test_a_forked_worker_forgets_the_masters_connections_without_closing_them(app: Flask) -> None:
    from webapp.extensions import db

    class Application:
        def wsgi(self) -> Flask:
            return app

    class Worker:
        app = Application()

    with app.app_context():
        inherited = db.engine.raw_connection()
        driver_connection = inherited.dbapi_connection
        inherited.close()  # back to the pool, as the master would leave it
        pool = db.engine.pool
        dialect = db.engine.dialect.name
    gunicorn_conf.post_fork(server=None, worker=Worker())
    with app.app_context():
        assert db.engine.pool is not pool and db.engine.pool.checkedin() == 0
    # Closing it here would close it for the master too (the socket is shared): it is left alone.
    if dialect == "postgresql":
        assert not driver_connection.closed
    else:
        driver_connection.execute("SELECT 1")  # sqlite3 raises ProgrammingError on a closed connection
    driver_connection.close()


def test_gunicorn_builds_no_access_line_beside_the_apps_own() -> None:
    """The app logs every request itself; gunicorn's logger, though configured (JSON lines for its own messages),
    neither builds nor writes an access line."""
    from gunicorn.config import Config

    config = Config()
    config.set("logconfig_dict", gunicorn_conf.logconfig_dict)
    config.set("logger_class", gunicorn_conf.logger_class)
    assert config.logger_class is gunicorn_conf.WithoutAccessLines
    # Made without its set-up: that applies logconfig_dict to this process's logging (a JSON handler on the root
    # logger at INFO), which the tests that read log records after this one would then see.
    logger = object.__new__(config.logger_class)
    assert not logger.access_log_enabled

    built: list[object] = []
    logger.atoms = lambda *args: built.append(args) or {}  # type: ignore[method-assign]
    logger.access(None, None, {}, None)
    assert built == []
