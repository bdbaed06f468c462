"""Audit benchmark (issue #8): the inspector's history page of an instance with many events, and `verify` of the
whole audit trail (target ≥ 50,000 events/s).

* history: one sample_approval instance whose chain is extended to --history-events events (data changes with
  before → after, as task completions write them); GET /audit/instances/<id> as auditor1 through the real app,
  server side, median and p95 of --runs requests. Each request also logs the read (one INSERT, committed).
* verify: --verify-events events in chains of --chain-length (instance-sized chains, heads in audit_chains),
  then `verify_chains` over everything, timed --runs times; events per second of the median.

Usage: python bench/audit.py [--db sqlite|postgres] [--history-events 500] [--verify-events 100000]
       [--chain-length 40] [--runs 10] [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench_audit]
Small check: python bench/audit.py --history-events 50 --verify-events 5000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import summary  # noqa: E402
from webapp import create_app  # noqa: E402
from workflows.audit import PendingEvent, _chain_rows, insert_audit_rows, instance_audit_rows, verify_chains  # noqa: E402
from workflows.db import make_engine, transaction  # noqa: E402
from workflows.deployment.operations import deploy_directory  # noqa: E402
from workflows.engine import operations  # noqa: E402
from workflows.engine.runtime import ProcessEngine  # noqa: E402
from workflows.engine.store import lock_instance, save_instance  # noqa: E402
from workflows.migrate import upgrade  # noqa: E402
from workflows.models import AuditChain  # noqa: E402
from workflows.registry.demo import load_demo  # noqa: E402
from workflows.registry.models import Cadre, User  # noqa: E402
from workflows.states import EventType  # noqa: E402

BATCH = 2000


def _database(args: argparse.Namespace) -> str:
    if args.db == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='canbo-audit-')}/bench.db"
    parsed = make_url(args.postgres_url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


def _history_instance(factory: sessionmaker, events: int) -> int:  # type: ignore[type-arg]
    """A started sample_approval whose chain is extended to `events` events of realistic size."""
    with factory() as s, transaction(s):
        officer = s.scalars(select(User).where(User.username == "officer1")).one()
        cadre_id = s.scalars(select(Cadre.id).where(Cadre.code == "CB0001")).one()
        instance = operations.start_instance(
            s, ProcessEngine(), actor=officer, process_id="sample_approval", subject_cadre_id=cadre_id
        )
        instance_id = instance.id
    with factory() as s, transaction(s):
        officer = s.scalars(select(User).where(User.username == "officer1")).one()
        snapshot = lock_instance(s, instance_id)
        pending = [
            PendingEvent(
                EventType.DATA_CHANGED,
                {
                    "changes": {
                        "subject_line": {"from": f"Đề nghị lần {n}", "to": f"Đề nghị lần {n + 1}"},
                        "amount": {"from": n, "to": n + 1},
                    }
                },
            )
            for n in range(max(0, events - snapshot.audit_seq))
        ]
        rows, seq, head = instance_audit_rows(snapshot, pending, actor=officer)
        save_instance(s, snapshot, audit_rows=rows, audit_seq=seq, audit_head=head)
    return instance_id


def _verify_chains(factory: sessionmaker, events: int, chain_length: int) -> None:  # type: ignore[type-arg]
    """`events` more events in chains of `chain_length`, written as appends would write them."""
    chains = max(1, events // chain_length)
    with factory() as s, transaction(s):
        rows_batch, heads = [], []
        for n in range(chains):
            pending = [
                PendingEvent(EventType.DATA_CHANGED, {"changes": {"score": {"from": i, "to": i + 1}}, "n": i})
                for i in range(chain_length)
            ]
            key = f"bench:{n}"
            rows, seq, head = _chain_rows(key, pending, actor=None, instance_id=None, seq=0, prev_hash="0" * 64)
            rows_batch.extend(rows)
            heads.append({"chain_key": key, "last_seq": seq, "last_hash": head})
            if len(rows_batch) >= BATCH:
                insert_audit_rows(s, rows_batch)
                rows_batch = []
        insert_audit_rows(s, rows_batch)
        s.execute(insert(AuditChain), heads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--history-events", type=int, default=500)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--chain-length", type=int, default=40)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench_audit")
    args = parser.parse_args()

    url = _database(args)
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s, transaction(s):
        load_demo(s)
        deploy_directory(s, ROOT / "bpmn", ROOT / "forms", actor=None)
    instance_id = _history_instance(factory, args.history_events)
    t0 = time.perf_counter()
    _verify_chains(factory, args.verify_events, args.chain_length)
    print(f"{args.db}: wrote {args.verify_events:,} events in {time.perf_counter() - t0:.1f} s")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "DEPLOY_ON_STARTUP": False, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    client = app.test_client()
    assert client.post("/auth/login", data={"username": "auditor1", "password": "demo"}).status_code == 302
    path = f"/audit/instances/{instance_id}"
    first = client.get(path)  # warm-up: templates compiled, pools filled
    assert first.status_code == 200, first.status_code
    rows = first.get_data(as_text=True).count("<tr data-event=")
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(f"GET {path} ({rows} events shown) as auditor1: {summary(times, 1)}")

    durations = []
    for _ in range(args.runs):
        with factory() as s:
            started = time.perf_counter()
            report = verify_chains(s)
            durations.append(time.perf_counter() - started)
        assert report.ok, report.breaks[:3]
    median = statistics.median(durations)
    print(
        f"verify: {report.events:,} events in {report.chains:,} chains, {summary(durations, 0)}; "
        f"{report.events / median:,.0f} events/s (target ≥ 50,000)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
