"""The web app: a Flask application factory. Business rules live in `workflows`; this package only speaks HTTP."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from webapp.config import (
    _secret_key,
    appointment_policy_from,
    database_url,
    default_config,
    digest_schedule_from,
    evaluation_policy_from,
    planning_policy_from,
    rotation_policy_from,
    unit_policy_from,
    work_calendar_from,
)
from webapp.extensions import babel, csrf, db, login_manager
from webapp.generated_keys import SECRET_KEY_GENERATED
from workflows.db import configure_engine
from workflows.deployment.operations import deploy_directory
from workflows.engine.runtime import ProcessEngine
from workflows.query_args import MAX_ID
from workflows.registry.models import User
from workflows.registry.signed_in import user_with_roles
from workflows.rules.evaluation import month_text
from workflows.states import Role

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None, *, deploy: bool = True) -> Flask:
    """The app; with `deploy` (and DEPLOY_ON_STARTUP) bpmn/ is deployed at once, which needs the database. The CLI
    passes False: its commands deploy when they run (`deploy_bundled_once`), so `--help` never touches the database."""
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    app.config.from_mapping(default_config(instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance_path)
        # `canbo serve` and `canbo worker` refuse a key made on one host when several share the database (0107).
        app.extensions[SECRET_KEY_GENERATED] = not os.environ.get("SECRET_KEY")
    from webapp.evaluation import POLICY_KEY

    # A bad setting stops the start with every problem named, rather than grading a month by wrong rules.
    app.extensions[POLICY_KEY] = evaluation_policy_from(app.config["EVALUATION_POLICY"])
    from webapp import appointment as appointment_settings

    app.extensions[appointment_settings.POLICY_KEY] = appointment_policy_from(app.config["APPOINTMENT_POLICY"])
    app.extensions[appointment_settings.CALENDAR_KEY] = work_calendar_from(app.config["WORK_CALENDAR"])
    from webapp import planning as planning_settings
    from webapp import rotation as rotation_settings

    app.extensions[planning_settings.POLICY_KEY] = planning_policy_from(app.config["PLANNING_POLICY"])
    app.extensions[rotation_settings.POLICY_KEY] = rotation_policy_from(app.config["ROTATION_POLICY"])
    from webapp import units as unit_settings

    app.extensions[unit_settings.POLICY_KEY] = unit_policy_from(app.config["UNIT_POLICY"])
    from webapp import notifications as notification_settings

    app.extensions[notification_settings.DIGEST_SCHEDULE_KEY] = digest_schedule_from(
        app.config["OVERDUE_DIGEST_WEEKDAY"], app.config["OVERDUE_DIGEST_HOUR"]
    )
    from webapp.audit import signing as export_signing

    export_signing.init_app(app)  # the export signing key and the retired public keys, read and checked once
    uri = app.config["SQLALCHEMY_DATABASE_URI"] = database_url(str(app.config["SQLALCHEMY_DATABASE_URI"]))
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"timeout": 30, "check_same_thread": False})

    from webapp.reports import replica

    replica.init_app(app)  # the reports replica is a bind of its own: set before db.init_app reads the binds
    db.init_app(app)
    from webapp.migration_commands import MigrationCommands

    app.cli.add_command(MigrationCommands())  # `canbo db …`; Flask-Migrate and Alembic load when one runs
    _init_login(app)
    csrf.init_app(app)
    from webapp.i18n import install_page_translations, select_locale

    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    install_page_translations(app)
    with app.app_context():
        for engine in db.engines.values():  # the primary, and the reports replica when there is one
            configure_engine(engine)

    app.extensions["canbo_engine"] = ProcessEngine(
        script_time_limit=app.config["SCRIPT_TIME_LIMIT"], lane_rules=app.config["LANE_RULES"]
    )

    _register_blueprints(app)
    _init_templates(app)
    _init_security_headers(app)
    from webapp import cli, errors

    errors.init_app(app)
    cli.init_app(app)
    from webapp import own_start_pages

    own_start_pages.init_app(app)

    if app.config["LOG_FORMAT"] == "json":
        from workflows.production.logs import use_json_lines

        use_json_lines()
    if deploy:
        deploy_bundled_once(app)
    return app


class BoundedInt(IntegerConverter):
    """Ids in URLs fit the database's integer column: a larger one is simply not found (404), not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    from webapp.accounts.views import bp as accounts_bp
    from webapp.admin.views import bp as admin_bp
    from webapp.api.views import bp as api_bp
    from webapp.appointment.views import bp as appointment_bp
    from webapp.audit.views import bp as audit_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.ballots.views import bp as ballots_bp
    from webapp.evaluation.views import bp as evaluation_bp
    from webapp.inbox.views import bp as inbox_bp
    from webapp.instances.views import bp as instances_bp
    from webapp.notifications.views import bp as notifications_bp
    from webapp.planning.views import bp as planning_bp
    from webapp.registry.views import bp as registry_bp
    from webapp.reports.views import bp as reports_bp
    from webapp.rotation.views import bp as rotation_bp
    from webapp.tasks.views import bp as tasks_bp
    from webapp.units.views import bp as units_bp

    blueprints = (
        auth_bp,
        inbox_bp,
        tasks_bp,
        instances_bp,
        notifications_bp,
        admin_bp,
        reports_bp,
        registry_bp,
        audit_bp,
        evaluation_bp,
        ballots_bp,
        appointment_bp,
        planning_bp,
        rotation_bp,
        units_bp,
        accounts_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.register_blueprint(csrf.exempt(api_bp))  # bearer tokens only, never the session cookie: no CSRF to forge
    from webapp.production import requests as production_requests
    from webapp.production.views import bp as production_bp

    app.register_blueprint(production_bp)  # /healthz, /metrics: GET only, read no session
    production_requests.init_app(app)


# What a person must still reach before choosing their own password: the form for it, leaving, the language.
_OPEN_BEFORE_OWN_PASSWORD = frozenset({"auth.password", "auth.logout", "auth.language", "auth.login", "static"})


def _init_login(app: Flask) -> None:
    from webapp.auth.session_cookie import SessionCookie

    app.session_interface = SessionCookie()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the sign-in page explains itself
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        user_id = session_id.partition(".")[0]
        if not user_id.isdigit():
            return None
        # One statement with the roles (their selectin load would be a second round trip on every page).
        user = user_with_roles(db.session, int(user_id))
        if user is None or not user.is_active or user.get_id() != session_id:
            return None  # deactivated, or the password changed since this session signed in
        return user

    @app.before_request
    def own_password_first() -> Response | None:
        """Someone signed in with a password an administrator chose (decision 0074) chooses their own before any
        page. Only page endpoints ask: the API, /healthz and /metrics never read the session's user for it."""
        endpoint = request.endpoint or ""
        if endpoint in _OPEN_BEFORE_OWN_PASSWORD or endpoint.startswith(("api.", "production.")) or not endpoint:
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            from flask import flash, redirect, url_for

            if request.method == "GET":
                flash(_("Your password was set by an administrator: choose your own to continue."), "warning")
            return redirect(url_for("auth.password"))
        return None

    @login_manager.unauthorized_handler
    def unauthorized() -> Response | tuple[Any, int]:
        from flask import jsonify, redirect, url_for

        if request.path.startswith("/api/"):
            return jsonify({"error": _("Sign-in required."), "status": 401}), 401
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def display_zone(app: Flask) -> timezone | ZoneInfo:
    try:
        return ZoneInfo(app.config.get("DISPLAY_TIMEZONE", "Asia/Ho_Chi_Minh"))
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=7))


# Zones whose readers call their time by the country's name; any other is named by its key.
_VIETNAM_ZONES = ("Asia/Ho_Chi_Minh", "Asia/Saigon")


def display_zone_label(app: Flask) -> str:
    """The zone the pages show times in, as a reader is told it: "giờ Việt Nam (UTC+7)". Where times leave the
    screen (a file, a list whose header says "UTC" otherwise) the zone has to be stated."""
    zone = display_zone(app)
    offset = datetime.now(zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    key = getattr(zone, "key", None)
    name = _("Vietnam time") if key in _VIETNAM_ZONES or (key is None and minutes == 7 * 60) else str(key or utc)
    return f"{name} ({utc})"


def _init_templates(app: Flask) -> None:
    zone = display_zone(app)
    app.jinja_env.globals["display_zone_label"] = lambda: display_zone_label(app)

    def localdatetime(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        """Stored times are naive UTC; officials read Vietnam time."""
        if value is None:
            return ""
        return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)

    app.jinja_env.filters["localdatetime"] = localdatetime
    app.jinja_env.filters["month_text"] = month_text  # "tháng 11/2026", not "2026-11"
    from webapp.start_form import unit_tree

    app.jinja_env.filters["unit_tree"] = unit_tree

    def page_url(number: int) -> str:
        """The current page's URL with its filters kept and another page number."""
        from flask import url_for

        args = request.args.to_dict()
        args["page"] = str(number)
        return url_for(request.endpoint or "inbox.index", **(request.view_args or {}), **args)

    app.jinja_env.globals["page_url"] = page_url
    from webapp.upload_limits import upload_limit

    app.jinja_env.globals["upload_limit"] = upload_limit
    from webapp.ballots.steps import OPEN_BALLOT_PAGES

    app.jinja_env.globals["open_ballot_pages"] = OPEN_BALLOT_PAGES

    @app.context_processor
    def navigation() -> dict[str, Any]:
        context: dict[str, Any] = {"current_locale": str(get_locale() or "vi")}
        if g.get("database_unavailable") or not current_user.is_authenticated:
            return context
        from workflows.navigation import menu_facts

        facts = menu_facts(db.session, current_user, g.get("inbox_counts"))
        context["nav_counts"] = facts.counts
        context["nav_items"] = _nav_items(facts)
        return context


def _nav_items(facts: Any) -> list[dict[str, Any]]:
    from flask import url_for

    items = [{"url": url_for("instances.index"), "label": _("Procedures"), "prefix": "instances."}]
    if facts.can_start:
        items.append({"url": url_for("instances.start"), "label": _("Start a procedure"), "prefix": "instances.start"})
    items += [
        {
            "url": url_for("notifications.index"),
            "label": _("Notifications"),
            "prefix": "notifications",
            "count": facts.unread,
        },
    ]
    from webapp.evaluation.views import nav_items as evaluation_nav_items

    items += evaluation_nav_items(current_user)
    from webapp.planning.views import nav_items as planning_nav_items

    items += planning_nav_items(current_user)
    from webapp.rotation.views import nav_items as rotation_nav_items

    items += rotation_nav_items(current_user)
    from workflows.reports import can_view_dashboard

    if can_view_dashboard(current_user):
        items.append({"url": url_for("registry.cadres"), "label": _("Cadre records"), "prefix": "registry.cadre"})
        items.append({"url": url_for("reports.targets"), "label": _("Targets"), "prefix": "reports"})
    from workflows.exports import can_view_audit

    if can_view_audit(current_user):
        items.append({"url": url_for("audit.events"), "label": _("Audit log"), "prefix": "audit."})
    if current_user.has_role(Role.ADMIN):
        items.append({"url": url_for("admin.index"), "label": _("Administration"), "prefix": "admin"})
    return items


# Everything is served by the app itself (it must work offline); no inline scripts. A view may set its own (the
# instance pages' policy names their drawings' style hashes): only the headers a response lacks are added.
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
_SECURITY_HEADERS_BY_KEY = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)


def _init_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response: Response) -> Response:
        # What `setdefault` does for each, with one pass over the response's headers instead of one per header
        # (every request: 10 µs instead of 22, decision 0101).
        present = {name.lower() for name, _value in response.headers.to_wsgi_list()}
        for key, name, value in _SECURITY_HEADERS_BY_KEY:
            if key not in present:
                response.headers.add(name, value)
        return response


def process_engine(app: Flask) -> ProcessEngine:
    return app.extensions["canbo_engine"]


# Set in app.extensions once bpmn/ has been deployed (or found unchanged) by this process.
_BUNDLE_DEPLOYED = "canbo_bundle_deployed"


def deploy_bundled_once(app: Flask) -> None:
    """Deploy bpmn/ if DEPLOY_ON_STARTUP says so and this process has not yet done it."""
    if app.config["DEPLOY_ON_STARTUP"] and not app.extensions.get(_BUNDLE_DEPLOYED):
        deploy_bundled_processes(app)


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
            app.extensions[_BUNDLE_DEPLOYED] = True
            return
        app.extensions[_BUNDLE_DEPLOYED] = True
        for result in results:
            if result.created:
                log.info("deployed %s", result)


__all__ = ["create_app", "process_engine"]
