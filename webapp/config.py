"""Configuration defaults; every value can be overridden by an environment variable of the same name."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from workflows.errors import Invalid
from workflows.rules.appointment import AppointmentPolicy
from workflows.rules.evaluation import EvaluationPolicy
from workflows.rules.overdue_digest import DigestSchedule
from workflows.rules.planning import PlanningPolicy
from workflows.rules.rotation import RotationPolicy
from workflows.rules.units import UnitPolicy
from workflows.rules.workdays import DEFAULT_CALENDAR_CONFIG, WorkCalendar

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance_path: Path) -> str:
    """Never in the repository: taken from SECRET_KEY, else generated once into the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def default_config(instance_path: Path) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", f"sqlite:///{instance_path / 'canbo.db'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # A PostgreSQL streaming replica the report pages read from (webapp/reports/replica.py); empty: the primary.
        "REPORTS_DATABASE_URL": os.environ.get("REPORTS_DATABASE_URL", ""),
        "BPMN_DIR": os.environ.get("CANBO_BPMN_DIR", str(PROJECT_ROOT / "bpmn")),
        "FORMS_DIR": os.environ.get("CANBO_FORMS_DIR", str(PROJECT_ROOT / "forms")),
        "DEPLOY_ON_STARTUP": os.environ.get("CANBO_DEPLOY_ON_STARTUP", "1") == "1",
        "SCRIPT_TIME_LIMIT": float(os.environ.get("CANBO_SCRIPT_TIME_LIMIT", "1.0")),
        # Lane name → "role", "role@root" or "subject"; see workflows/assignment.py for the defaults.
        "LANE_RULES": {},
        "WORKER_POLL_SECONDS": float(os.environ.get("CANBO_WORKER_POLL_SECONDS", "5")),
        # Production mode (docs/deploy.md): /healthz fails when no worker has polled for this long; /metrics answers
        # only this bearer token (empty: /metrics is off); "json": one JSON line per request and per worker job.
        "WORKER_HEARTBEAT_MAX_AGE": float(os.environ.get("CANBO_WORKER_HEARTBEAT_MAX_AGE", "60")),
        # A worker not heard from for this long is forgotten: out of /healthz and /metrics, its row deleted.
        "WORKER_FORGET_AFTER": float(os.environ.get("CANBO_WORKER_FORGET_AFTER", "600")),
        "METRICS_TOKEN": os.environ.get("CANBO_METRICS_TOKEN", ""),
        # Unset: "json" under `canbo serve` and `canbo worker`, plain text for the other commands.
        "LOG_FORMAT": os.environ.get("CANBO_LOG_FORMAT", ""),
        "UPLOAD_DIR": os.environ.get("CANBO_UPLOAD_DIR", str(instance_path / "uploads")),
        "DISPLAY_TIMEZONE": os.environ.get("CANBO_TIMEZONE", "Asia/Ho_Chi_Minh"),
        # The Ed25519 key exported histories are signed with (decision 0077, webapp/audit/signing.py): a PEM file,
        # the same on every app host, never in the repository. Empty: generated into the instance folder on SQLite
        # (one machine: demo, development); refused on PostgreSQL. Checked at start-up.
        "EXPORT_SIGNING_KEY_FILE": os.environ.get("CANBO_EXPORT_SIGNING_KEY_FILE", ""),
        # The public keys (PEM files, separated by ":") of the keys exports were signed with before a rotation.
        "EXPORT_RETIRED_PUBLIC_KEYS": os.environ.get("CANBO_EXPORT_RETIRED_PUBLIC_KEYS", ""),
        # The weekly digest of overdue work sent to each unit's leaders (decision 0066): the weekday (0 Monday …
        # 6 Sunday) and the local hour (0–23, in DISPLAY_TIMEZONE) the worker sends it at. Checked at start-up.
        "OVERDUE_DIGEST_WEEKDAY": os.environ.get("CANBO_OVERDUE_DIGEST_WEEKDAY", "0"),
        "OVERDUE_DIGEST_HOUR": os.environ.get("CANBO_OVERDUE_DIGEST_HOUR", "7"),
        # E-mail notifications (empty SMTP_HOST: in-app notifications only).
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "0") == "1",
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "10")),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "canbo@localhost"),
        # The app's address as its users reach it, with any path prefix: the links in e-mails. Empty: the overdue
        # digest's e-mail names the page to open instead (decision 0068).
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        "BABEL_DEFAULT_LOCALE": "vi",
        "LANGUAGES": ["vi", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("CANBO_SECURE_COOKIES", "0") == "1",
        # A form's CSRF token lasts as long as the sign-in it belongs to, not Flask-WTF's hour: the session cookie
        # holding it ends with the browser (sessions are never made permanent) and signing in or out clears it.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        # The monthly evaluation's configurable rules (workflows.rules.evaluation.EvaluationPolicy): a JSON object
        # of the settings that differ from the defaults, e.g. {"criteria_max": [8, 12, 10], "max_returns": 1}.
        # Checked at start-up; an unknown or inconsistent setting stops the app with every problem listed.
        "EVALUATION_POLICY": os.environ.get("CANBO_EVALUATION_POLICY", "{}"),
        # Units (codes, comma-separated) whose month the worker opens by itself on the policy's opening day, with
        # every unit below them; empty: personnel officers open months by hand (`canbo evaluation open`).
        "EVALUATION_AUTO_OPEN_UNITS": os.environ.get("CANBO_EVALUATION_AUTO_OPEN_UNITS", ""),
        # Whether that scheduled opening opens the evaluations of cadres without a login account too ("1"); by
        # default it skips them as the page and `canbo evaluation open` do (decision 0068): nobody would receive them.
        "EVALUATION_AUTO_OPEN_INCLUDE_WITHOUT_ACCOUNT": os.environ.get(
            "CANBO_EVALUATION_AUTO_OPEN_INCLUDE_WITHOUT_ACCOUNT", "0"
        )
        == "1",
        # The appointment's configurable rules (workflows.rules.appointment.AppointmentPolicy): a JSON object of
        # the settings that differ from the defaults, e.g. {"min_annual_grade": "HTTNV"}. Checked at start-up.
        "APPOINTMENT_POLICY": os.environ.get("CANBO_APPOINTMENT_POLICY", "{}"),
        # The planning review's configurable rules (workflows.rules.planning.PlanningPolicy), e.g.
        # {"term_years": 5, "min_months_to_retirement": 120}; each review keeps the policy it started with.
        "PLANNING_POLICY": os.environ.get("CANBO_PLANNING_POLICY", "{}"),
        # The rotation's configurable rules (workflows.rules.rotation.RotationPolicy), e.g. {"min_duration_months": 24}.
        "ROTATION_POLICY": os.environ.get("CANBO_ROTATION_POLICY", "{}"),
        # The org tree (workflows.rules.units.UnitPolicy): which unit types may sit directly under which, e.g.
        # {"allowed_children": {"department": ["department", "party_body"]}} (each parent type given replaces its
        # list). Checked at start-up; units created or retyped afterwards are held to it.
        "UNIT_POLICY": os.environ.get("CANBO_UNIT_POLICY", "{}"),
        # The working-day calendar of the deadlines counted in working days (workflows/rules/workdays.py format:
        # {"holidays": [...], "working_days": [...], "weekend": [5, 6]}); empty: the shipped calendar (2026
        # official, 2027 provisional until the Prime Minister's notice, later years the solar holidays only).
        "WORK_CALENDAR": os.environ.get("CANBO_WORK_CALENDAR", ""),
    }


class ConfigError(ValueError):
    """A setting the app cannot run with; the message names the setting and every problem found."""


# The schemes DATABASE_URL may start with, and what each becomes: the app speaks to PostgreSQL through psycopg 3 only
# (its prepared statements and COPY, workflows/prepared.py, workflows/engine/bulk.py), so the forms every PostgreSQL
# tool and hosting provider prints (`postgres://`, `postgresql://`, which SQLAlchemy would take for psycopg2, which is
# not installed) are given that driver here, once, for the app, `canbo serve`, `canbo worker` and every command.
_DATABASE_SCHEMES = {
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}")
ACCEPTED_DATABASE_URLS = (
    "postgresql://user:password@host:5432/database (or postgres://, postgresql+psycopg://), sqlite:///path/to/file.db"
)


def database_url(uri: str, setting: str = "DATABASE_URL") -> str:
    """DATABASE_URL (or another `setting` holding a database URL) as the app connects with: `postgres://` and
    `postgresql://` get the psycopg 3 driver, every other part is kept as written (a password's escapes,
    `?sslmode=require`). Its form and driver are checked before anything connects; a refusal names the accepted
    forms but not the URL itself, which may hold a password."""
    scheme, separator, rest = uri.partition("://")
    if not separator or scheme.lower() not in _DATABASE_SCHEMES:
        # Only a scheme's usual characters are repeated: text before "://" could be a mistyped password.
        shown = f"the scheme {scheme!r}" if separator and _SCHEME.fullmatch(scheme) else "no scheme it knows"
        raise ConfigError(
            f"{setting} is not a database URL this app can use ({shown}): expected {ACCEPTED_DATABASE_URLS}"
        )
    normalised = f"{_DATABASE_SCHEMES[scheme.lower()]}://{rest}"
    try:
        make_url(normalised).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise ConfigError(
            f"{setting} is not a database URL this app can use ({type(error).__name__}): expected "
            f"{ACCEPTED_DATABASE_URLS}"
        ) from error
    return normalised


def _settings_from(name: str, value: Any, empty: str = "{}") -> Mapping[str, Any]:
    """A setting given as a mapping, or as its JSON text from the environment (`empty` when blank)."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value or empty)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{name} is not valid JSON: {error}") from error
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a JSON object of settings")
    return value


def _invalid_setting(name: str, invalid: Invalid) -> ConfigError:
    problems = "; ".join(f"{p.field}: {p.explained}" if p.field else p.explained for p in invalid.problems)
    return ConfigError(f"{name} is not valid: {problems}")


P = TypeVar("P", EvaluationPolicy, AppointmentPolicy, PlanningPolicy, RotationPolicy, UnitPolicy)


def _policy_from(name: str, policy_class: type[P], value: Any) -> P:
    """A policy setting (a mapping, or its JSON text from the environment) as a checked policy: an unknown or
    inconsistent setting raises ConfigError naming `name` and every problem."""
    if isinstance(value, policy_class):
        return value
    try:
        return policy_class.from_mapping(_settings_from(name, value))
    except Invalid as invalid:
        raise _invalid_setting(name, invalid) from invalid


def evaluation_policy_from(value: Any) -> EvaluationPolicy:
    return _policy_from("EVALUATION_POLICY", EvaluationPolicy, value)


def appointment_policy_from(value: Any) -> AppointmentPolicy:
    return _policy_from("APPOINTMENT_POLICY", AppointmentPolicy, value)


def planning_policy_from(value: Any) -> PlanningPolicy:
    return _policy_from("PLANNING_POLICY", PlanningPolicy, value)


def rotation_policy_from(value: Any) -> RotationPolicy:
    return _policy_from("ROTATION_POLICY", RotationPolicy, value)


def unit_policy_from(value: Any) -> UnitPolicy:
    return _policy_from("UNIT_POLICY", UnitPolicy, value)


def work_calendar_from(value: Any) -> WorkCalendar:
    """WORK_CALENDAR (a mapping, or its JSON text; blank: the shipped calendar) as a checked calendar."""
    if isinstance(value, WorkCalendar):
        return value
    if value is None or (isinstance(value, str | bytes) and not value.strip()):
        value = DEFAULT_CALENDAR_CONFIG
    try:
        return WorkCalendar.from_mapping(_settings_from("WORK_CALENDAR", value))
    except Invalid as invalid:
        raise _invalid_setting("WORK_CALENDAR", invalid) from invalid


def digest_schedule_from(weekday: Any, hour: Any) -> DigestSchedule:
    """OVERDUE_DIGEST_WEEKDAY and OVERDUE_DIGEST_HOUR (numbers, or their text from the environment) as a schedule."""
    if isinstance(weekday, DigestSchedule):
        return weekday
    try:
        return DigestSchedule.from_values(weekday, hour)
    except Invalid as invalid:
        raise _invalid_setting("OVERDUE_DIGEST_WEEKDAY/OVERDUE_DIGEST_HOUR", invalid) from invalid
