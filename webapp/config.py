"""Configuration defaults; every value can be overridden by an environment variable of the same name."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workflows.errors import Invalid
from workflows.rules.evaluation import EvaluationPolicy

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
        "BPMN_DIR": os.environ.get("CANBO_BPMN_DIR", str(PROJECT_ROOT / "bpmn")),
        "FORMS_DIR": os.environ.get("CANBO_FORMS_DIR", str(PROJECT_ROOT / "forms")),
        "DEPLOY_ON_STARTUP": os.environ.get("CANBO_DEPLOY_ON_STARTUP", "1") == "1",
        "SCRIPT_TIME_LIMIT": float(os.environ.get("CANBO_SCRIPT_TIME_LIMIT", "1.0")),
        # Lane name → "role", "role@root" or "subject"; see workflows/assignment.py for the defaults.
        "LANE_RULES": {},
        "WORKER_POLL_SECONDS": float(os.environ.get("CANBO_WORKER_POLL_SECONDS", "5")),
        "UPLOAD_DIR": os.environ.get("CANBO_UPLOAD_DIR", str(instance_path / "uploads")),
        "DISPLAY_TIMEZONE": os.environ.get("CANBO_TIMEZONE", "Asia/Ho_Chi_Minh"),
        # E-mail notifications (empty SMTP_HOST: in-app notifications only).
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "0") == "1",
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "10")),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "canbo@localhost"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        "BABEL_DEFAULT_LOCALE": "vi",
        "LANGUAGES": ["vi", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("CANBO_SECURE_COOKIES", "0") == "1",
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        # The monthly evaluation's configurable rules (workflows.rules.evaluation.EvaluationPolicy): a JSON object
        # of the settings that differ from the defaults, e.g. {"criteria_max": [8, 12, 10], "max_returns": 1}.
        # Checked at start-up; an unknown or inconsistent setting stops the app with every problem listed.
        "EVALUATION_POLICY": os.environ.get("CANBO_EVALUATION_POLICY", "{}"),
        # Units (codes, comma-separated) whose month the worker opens by itself on the policy's opening day, with
        # every unit below them; empty: personnel officers open months by hand (`canbo evaluation open`).
        "EVALUATION_AUTO_OPEN_UNITS": os.environ.get("CANBO_EVALUATION_AUTO_OPEN_UNITS", ""),
    }


class ConfigError(ValueError):
    """A setting the app cannot run with; the message names the setting and every problem found."""


def evaluation_policy_from(value: Any) -> EvaluationPolicy:
    """EVALUATION_POLICY (a mapping, or its JSON text from the environment) as a checked policy."""
    if isinstance(value, EvaluationPolicy):
        return value
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value or "{}")
        except json.JSONDecodeError as error:
            raise ConfigError(f"EVALUATION_POLICY is not valid JSON: {error}") from error
    if not isinstance(value, Mapping):
        raise ConfigError("EVALUATION_POLICY must be a JSON object of settings")
    try:
        return EvaluationPolicy.from_mapping(value)
    except Invalid as invalid:
        problems = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in invalid.problems)
        raise ConfigError(f"EVALUATION_POLICY is not valid: {problems}") from invalid
