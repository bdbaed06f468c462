"""Inbox benchmark (issue #3): 50,000 open and 1,000,000 closed human_task rows on PostgreSQL.

Measures, for supervisor1 (5,000 open group tasks in scope in commune X001):
  * the inbox query (workflows.inbox.inbox_page, first page of 25, with the total count), and
  * the full inbox page (GET /inbox?scope=group through the real Flask app: sign-in session, nav counts, template),
  median and p95 over repeated runs; target p95 ≤ 50 ms for the page, server side.

The rows are bulk-generated with SQL (generate_series): the inbox reads only human_tasks and its joins, never
the workflow state, so the instances behind the rows carry an empty state.

Usage: python bench/inbox.py [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench_inbox]
       [--open 50000] [--closed 1000000] [--in-scope 5000] [--runs 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import summary  # noqa: E402
from webapp import create_app  # noqa: E402
from workflows.db import make_engine, transaction  # noqa: E402
from workflows.deployment.operations import deploy_directory  # noqa: E402
from workflows.inbox import InboxFilters, inbox_page  # noqa: E402
from workflows.migrate import upgrade  # noqa: E402
from workflows.registry.demo import load_demo  # noqa: E402
from workflows.registry.models import OrgUnit, User  # noqa: E402

# The first `in_scope` open rows belong to X001's supervisors; the others are spread over 99 other communes.
UNIT_OF_ROW = "CASE WHEN g <= :in_scope THEN :x001 ELSE (SELECT id FROM org_units WHERE code = 'B' || (1 + g % 99)) END"


def fresh_database(url: str) -> str:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


def populate(url: str, open_rows: int, closed_rows: int, in_scope: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s, transaction(s):
        load_demo(s)
        deploy_directory(s, ROOT / "bpmn", ROOT / "forms", actor=None)
    with factory() as s, transaction(s):
        province = s.scalars(select(OrgUnit).where(OrgUnit.code == "T01")).one()
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        officer = s.scalars(select(User).where(User.username == "officer1")).one()
        params = {
            "province": province.id,
            "x001": x001.id,
            "cadre": officer.cadre_id,
            "open": open_rows,
            "closed": closed_rows,
            "in_scope": in_scope,
        }
        s.execute(
            text(
                "INSERT INTO org_units (code, name, unit_type, parent_id, path, is_active, created_dt) "
                "SELECT 'B' || g, 'Xã mẫu ' || g, 'commune', :province, '/' || :province || '/', true, now() "
                "FROM generate_series(1, 99) g"
            ),
            params,
        )
        version_id = s.execute(text("SELECT id FROM process_versions WHERE process_id = 'sample_approval'")).scalar()
        params["version"] = version_id
        total = open_rows + closed_rows
        s.execute(
            text(
                "INSERT INTO process_instances (process_version_id, process_id, status, subject_cadre_id, unit_id, "
                "started_dt, state, serializer_version, lock_version, audit_seq, audit_head) "
                "SELECT :version, 'sample_approval', 'running', :cadre, :x001, now(), '', 'bench', 1, 0, "
                "repeat('0', 64) FROM generate_series(1, :n)"
            ),
            {**params, "n": total // 5},
        )
        first_instance = s.execute(text("SELECT min(id) FROM process_instances")).scalar()
        params["first_instance"] = first_instance
        params["instances"] = total // 5
        # Open rows: in_scope for X001's supervisors, the rest spread over the other communes.
        s.execute(
            text(
                "INSERT INTO human_tasks (instance_id, spiff_task_id, task_key, name, lane, form_filename, process_id, "
                "process_name, subject_cadre_id, unit_id, candidate_role, candidate_unit_id, assignee_id, due_dt, "
                "status, opened_dt) "
                "SELECT :first_instance + (g % :instances), md5('o' || g), 'review_request', 'Xem xét, phê duyệt', "
                "'Lãnh đạo trực tiếp', 'sample_review.json', 'sample_approval', 'Phê duyệt đề nghị (mẫu)', :cadre, "
                f"{UNIT_OF_ROW}, 'supervisor', {UNIT_OF_ROW}, "
                "NULL, now() + ((g % 20) - 5) * interval '1 day', 'open', now() - (g % 30) * interval '1 day' "
                "FROM generate_series(1, :open) g"
            ),
            params,
        )
        s.execute(
            text(
                "INSERT INTO human_tasks (instance_id, spiff_task_id, task_key, name, lane, form_filename, process_id, "
                "process_name, subject_cadre_id, unit_id, candidate_role, candidate_unit_id, assignee_id, due_dt, "
                "status, opened_dt, closed_dt) "
                "SELECT :first_instance + (g % :instances), md5('c' || g), 'submit_request', 'Lập đề nghị', 'Cán bộ', "
                "'sample_request.json', 'sample_approval', 'Phê duyệt đề nghị (mẫu)', :cadre, :x001, 'supervisor', "
                ":x001, NULL, NULL, 'completed', now() - interval '60 days', now() - interval '59 days' "
                "FROM generate_series(1, :closed) g"
            ),
            params,
        )
    engine.dispose()
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench_inbox")
    parser.add_argument("--open", type=int, default=50_000)
    parser.add_argument("--closed", type=int, default=1_000_000)
    parser.add_argument("--in-scope", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="skip populating (the database is already filled)")
    args = parser.parse_args()

    url = make_url(args.postgres_url).render_as_string(hide_password=False)
    if not args.reuse:
        url = fresh_database(url)
        started = time.perf_counter()
        populate(url, args.open, args.closed, args.in_scope)
        elapsed = time.perf_counter() - started
        print(f"populated {args.open:,} open + {args.closed:,} closed human_task rows in {elapsed:.0f} s")

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "DEPLOY_ON_STARTUP": False, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        from webapp.extensions import db

        user = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        for scope in ("group", "mine"):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                page = inbox_page(db.session, user, InboxFilters(scope=scope))
                times.append(time.perf_counter() - started)
            print(f"inbox query   scope={scope:5s} ({page.total:,} tasks in scope): {summary(times, 1)}")

    client = app.test_client()
    response = client.post("/auth/login", data={"username": "supervisor1", "password": "demo"})
    assert response.status_code == 302, response.status_code
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        response = client.get("/inbox?scope=group")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(f"inbox page    GET /inbox?scope=group (server side, test client): {summary(times, 1)}  (target p95 ≤ 50 ms)")


if __name__ == "__main__":
    main()
