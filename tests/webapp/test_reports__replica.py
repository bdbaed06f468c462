"""The report pages on a reports replica (REPORTS_DATABASE_URL, webapp/reports/replica.py, decision 0125): their
figures are read there, read-only; the signed-in user, the menu and the sign-in stay on the primary; a replica that
cannot be reached makes the report pages answer 503 and nothing else."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from tests.fixtures.app import AuthActions, configured_app
from tests.fixtures.statements import statements_sent
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.reports.replica import REPORTS_BIND, reports_session

FIGURE = "/reports/targets/non_local_commune_pc_chair"


def _tables(statements: list[str]) -> set[str]:
    """The tables statements read FROM or JOIN."""
    return {name for sql in statements for name in re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql)}


@pytest.fixture
def postgres_url(database_url: str, demo_users: dict) -> str:
    """The test database on PostgreSQL, with the demo's people (personnel1 sees the province's reports)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a streaming replica is PostgreSQL's; SQLite has none")
    return database_url


@pytest.fixture
def on_replica(tmp_path: Path) -> Iterator[Callable[[str, str], Flask]]:
    """An app on `database_url` whose reports read `replica_url`; its connections, both pools', closed after."""
    made: list[Flask] = []

    def make(database_url: str, replica_url: str) -> Flask:
        made.append(configured_app(database_url, tmp_path, REPORTS_DATABASE_URL=replica_url))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_the_report_figures_are_read_on_the_replica_and_only_read(
    postgres_url: str, on_replica: Callable[[str, str], Flask]
) -> None:
    # The primary's own database stands in for its replica: the replica's sessions are read-only, as a hot
    # standby's are, so a report that wrote anything would fail here as it would there.
    app = on_replica(postgres_url, postgres_url)
    client = app.test_client()
    AuthActions(client).login("personnel1")
    with app.app_context():
        replica, primary = db.engines[REPORTS_BIND], db.engine
    assert replica is not primary

    with statements_sent(replica) as sent_to_replica, statements_sent(primary) as sent_to_primary:
        dashboard = client.get("/reports/targets")
        figure = client.get(FIGURE)
        export = client.get(f"{FIGURE}?format=csv")

    assert dashboard.status_code == figure.status_code == export.status_code == 200
    assert "Mã cán bộ" in export.get_data(as_text=True)
    assert len(sent_to_replica.statements) >= 6, str(sent_to_replica)  # the figures, the units, the drill-down's rows
    assert all(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in sent_to_replica.statements), str(
        sent_to_replica
    )
    assert sent_to_replica.commits == 0
    # The primary still answers for the person and the menu, not for the figures.
    figures_tables = {"evaluation_results", "planning_entries", "positions"}
    assert figures_tables <= _tables(sent_to_replica.statements)
    assert not figures_tables & _tables(sent_to_primary.statements), str(sent_to_primary)


def test_the_replicas_session_refuses_a_write(postgres_url: str, on_replica: Callable[[str, str], Flask]) -> None:
    app = on_replica(postgres_url, postgres_url)
    with app.test_request_context():
        session = reports_session()
        assert session is reports_session()  # one per request
        with pytest.raises(Exception, match="read-only transaction"):
            session.execute(text("CREATE TEMPORARY TABLE written_on_a_replica (id integer)"))


def test_a_replica_out_of_reach_stops_the_reports_and_nothing_else(
    postgres_url: str, on_replica: Callable[[str, str], Flask]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = f"postgresql://postgres@127.0.0.1:{port}/replica?connect_timeout=2"
    app = on_replica(postgres_url, unreachable)
    client = app.test_client()
    AuthActions(client).login("personnel1")

    refused = client.get("/reports/targets")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert client.get("/inbox").status_code == 200


def test_without_a_replica_the_reports_read_the_apps_own_database(app: Flask) -> None:
    with app.test_request_context():
        assert reports_session() is db.session


@pytest.mark.parametrize("given", ["sqlite:///reports.db", "mysql://user@host/db", "not a url"])
def test_a_reports_database_other_than_postgresql_is_refused_at_start(
    database_url: str, on_replica: Callable[[str, str], Flask], given: str
) -> None:
    with pytest.raises(ConfigError, match="REPORTS_DATABASE_URL"):
        on_replica(database_url, given)


def test_the_reports_database_url_is_taken_as_tools_print_it(
    database_url: str, on_replica: Callable[[str, str], Flask]
) -> None:
    app = on_replica(database_url, "postgres://reader:s%40cret@replica.example:5432/canbo")
    bind = app.config["SQLALCHEMY_BINDS"][REPORTS_BIND]
    assert bind["url"] == "postgresql+psycopg://reader:s%40cret@replica.example:5432/canbo"
    assert bind["connect_args"]["options"] == "-c default_transaction_read_only=on"
