"""`webapp.config`: the policy and calendar settings of the procedures — read from the configuration or the environment, checked
when the app starts (a bad one stops the start naming the setting), and the policy a procedure starts with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.fixtures.app import configured_app
from tests.fixtures.planning import setup_planning
from webapp.config import ConfigError, database_url
from webapp.extensions import db
from webapp.notifications import digest_schedule
from webapp.planning import planning_policy
from webapp.rotation import rotation_policy
from webapp.units import unit_policy
from workflows.models import ProcessInstance
from workflows.rules.overdue_digest import DigestSchedule
from workflows.rules.planning import DEFAULT_POLICY as DEFAULT_PLANNING_POLICY
from workflows.rules.rotation import DEFAULT_POLICY as DEFAULT_ROTATION_POLICY
from workflows.rules.units import DEFAULT_POLICY as DEFAULT_UNIT_POLICY


def test_without_settings_the_shipped_policies_apply(tmp_path: Path) -> None:
    app = configured_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert planning_policy(app) == DEFAULT_PLANNING_POLICY
    assert rotation_policy(app) == DEFAULT_ROTATION_POLICY
    assert unit_policy(app) == DEFAULT_UNIT_POLICY
    assert digest_schedule(app) == DigestSchedule(weekday=0, hour=7)  # Monday 07:00


def test_the_overdue_digest_schedule_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANBO_OVERDUE_DIGEST_WEEKDAY", "4")
    monkeypatch.setenv("CANBO_OVERDUE_DIGEST_HOUR", "16")
    app = configured_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert digest_schedule(app) == DigestSchedule(weekday=4, hour=16)


def test_the_policies_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANBO_PLANNING_POLICY", '{"term_years": 4, "young_age_years": 35}')
    monkeypatch.setenv("CANBO_ROTATION_POLICY", '{"min_duration_months": 24}')
    monkeypatch.setenv("CANBO_UNIT_POLICY", '{"allowed_children": {"department": []}}')
    app = configured_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert planning_policy(app).term_years == 4 and planning_policy(app).young_age_years == 35
    assert rotation_policy(app).min_duration_months == 24
    assert unit_policy(app).allowed_children["department"] == ()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"PLANNING_POLICY": '{"term_yeras": 5}'}, "term_yeras"),
        ({"PLANNING_POLICY": '{"term_years": 0}'}, "term_years"),
        ({"PLANNING_POLICY": "[5]"}, "JSON object"),
        ({"ROTATION_POLICY": '{"min_duration_months": "ba năm"}'}, "min_duration_months"),
        ({"ROTATION_POLICY": '{"min_duration_months": '}, "not valid JSON"),
        ({"APPOINTMENT_POLICY": '{"confidence_low_above": [2, 1]}'}, "confidence_low_above"),
        ({"APPOINTMENT_POLICY": '{"min_annual_grad": "HTNV"}'}, "min_annual_grad"),
        ({"APPOINTMENT_POLICY": "[1]"}, "JSON object"),
        ({"WORK_CALENDAR": '{"holidays": ["2027-02-30"]}'}, "holidays.0"),
        ({"WORK_CALENDAR": '{"holidays": '}, "not valid JSON"),
        ({"EVALUATION_POLICY": '{"max_returns": -1}'}, "max_returns"),
        ({"UNIT_POLICY": '{"allowed_children": {"province": ["district"]}}'}, "allowed_children.province.district"),
        ({"UNIT_POLICY": '{"allowed_children": '}, "not valid JSON"),
        ({"OVERDUE_DIGEST_WEEKDAY": "7"}, "weekday"),
        ({"OVERDUE_DIGEST_HOUR": "7h"}, "hour"),
    ],
)
def test_a_bad_setting_stops_the_start_with_a_clear_error(tmp_path: Path, settings: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        configured_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, **settings)
    assert next(iter(settings)) in str(refused.value) and named in str(refused.value)


def test_a_planning_review_starts_with_the_configured_policy(
    app: Flask, database_url: str, tmp_path: Path, session_factory: Any
) -> None:
    setup_planning(session_factory)
    configured = configured_app(database_url, tmp_path, PLANNING_POLICY='{"term_years": 4}')
    runner = configured.test_cli_runner()
    start = ["planning", "start", "--unit", "X001", "--variant", "term", "--as", "personnel1", "--term"]
    refused = runner.invoke(args=[*start, "2026-2031"])  # five years: not a term under this policy
    assert refused.exit_code == 1 and "term:" in refused.output
    started = runner.invoke(args=[*start, "2026-2030"])
    assert started.exit_code == 0, started.output
    with configured.app_context():
        from webapp.extensions import db

        instance = db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.process_id == "planning_review")
        ).one()
        engine = configured.extensions["canbo_engine"]
        data = engine.load(engine.definition(db.session, instance.process_version_id), instance).last_task.data
        db.session.remove()
        db.engine.dispose()
    assert data["policy"]["term_years"] == 4


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgres://canbo:s%40cret@db.example:5432/canbo",
            "postgresql+psycopg://canbo:s%40cret@db.example:5432/canbo",
        ),
        ("postgresql://postgres@127.0.0.1/canbo", "postgresql+psycopg://postgres@127.0.0.1/canbo"),
        ("postgresql://u@h/canbo?sslmode=require", "postgresql+psycopg://u@h/canbo?sslmode=require"),
        ("POSTGRES://u@h/canbo", "postgresql+psycopg://u@h/canbo"),
        ("postgresql+psycopg://u@h:5433/canbo", "postgresql+psycopg://u@h:5433/canbo"),
        ("sqlite:////var/lib/canbo/canbo.db", "sqlite:////var/lib/canbo/canbo.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_the_database_url_gets_the_psycopg_3_driver_and_keeps_the_rest(given: str, used: str) -> None:
    assert database_url(given) == used


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("mysql://canbo:secret@db/canbo", "the scheme 'mysql'"),
        ("postgresql+psycopg2://canbo:secret@db/canbo", "the scheme 'postgresql+psycopg2'"),
        ("postgresql+asyncpg://canbo:secret@db/canbo", "the scheme 'postgresql+asyncpg'"),
        ("canbo:secret@db/canbo", "no scheme it knows"),
        ("secret", "no scheme it knows"),
        ("postgres://canbo:secret@db:port/canbo", "ValueError"),
    ],
)
def test_a_database_url_of_another_kind_is_refused_naming_the_accepted_forms(given: str, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        database_url(given)
    message = str(refused.value)
    assert message.startswith("DATABASE_URL is not a database URL this app can use (") and named in message
    assert "postgresql://" in message and "postgres://" in message and "sqlite:///" in message
    assert "secret" not in message  # the URL may hold a password: never repeated


def test_the_app_connects_with_the_normalised_url(tmp_path: Path) -> None:
    """What create_app keeps is what every command and `canbo serve`'s gunicorn use (none connects here)."""
    app = configured_app("postgres://canbo@127.0.0.1:1/canbo", tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://canbo@127.0.0.1:1/canbo"
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg"


def test_an_app_on_another_database_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the scheme 'mysql'"):
        configured_app("mysql://canbo@127.0.0.1/canbo", tmp_path)
