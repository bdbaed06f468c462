"""The web app: a Flask application factory. Business rules live in `workflows`; this package only speaks HTTP."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from webapp.config import _secret_key, default_config
from webapp.extensions import babel, csrf, db, login_manager, migrate
from workflows.db import configure_engine
from workflows.deployment.operations import deploy_directory
from workflows.engine.runtime import ProcessEngine
from workflows.migrate import MIGRATIONS_DIR

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    app.config.from_mapping(default_config(instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"timeout": 30, "check_same_thread": False})

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    app.extensions["canbo_engine"] = ProcessEngine(
        script_time_limit=app.config["SCRIPT_TIME_LIMIT"], lane_rules=app.config["LANE_RULES"]
    )

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    from webapp import cli

    cli.init_app(app)

    if app.config["DEPLOY_ON_STARTUP"]:
        deploy_bundled_processes(app)
    return app


def process_engine(app: Flask) -> ProcessEngine:
    return app.extensions["canbo_engine"]


def deploy_bundled_processes(app: Flask) -> None:
    """Deploy bpmn/ when the schema exists. Identical content is a no-op, so every process may try it."""
    with app.app_context():
        if not inspect(db.engine).has_table("process_versions"):
            return
        try:
            results = deploy_directory(
                db.session, Path(app.config["BPMN_DIR"]), Path(app.config["FORMS_DIR"]), actor=None
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another process deployed the same version at the same moment
            return
        for result in results:
            if result.created:
                log.info("deployed %s", result)
