"""Opening a month of evaluations (issue #5): `canbo demo load --cadres N`, then open month M for the whole
province, then the inbox page.

Loads the demo province with N cadres into a fresh PostgreSQL database (or SQLite), deploys bpmn/, and opens the
current month for the province (every unit below it) through `workflows.evaluation.opening`, one transaction per
chunk as the CLI does. Reports the wall time of the opening, the peak memory of this process during it, the
instances per second, and afterwards the inbox page time for officer1 and supervisor1 through the real app.
Target: ≤ 60 s and ≤ 1 GB for 50,000 cadres on PostgreSQL.

`--model FILE` deploys that BPMN file (e.g. tests/fixtures/bpmn/evaluation_heads_apart.bpmn) as a newer version of
the monthly evaluation after bpmn/, as an administrator would: a model that reads a cadre's data before the first
step is started cadre by cadre (decisions 0080, 0087). `--profile N` prints the N costliest functions of the
opening (cProfile, cumulative time); the times it reports are inflated by the profiler.

Usage: python bench/evaluation_open.py [--cadres 50000] [--chunk 1000] [--postgres-url URL | --sqlite]
       [--model FILE] [--as USERNAME] [--profile N] [--runs 10]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import summary  # noqa: E402
from webapp import create_app  # noqa: E402
from workflows.db import make_engine, transaction  # noqa: E402
from workflows.deployment.operations import deploy_bundle, deploy_directory  # noqa: E402
from workflows.deployment.validation import BundleFile  # noqa: E402
from workflows.engine.runtime import ProcessEngine  # noqa: E402
from workflows.evaluation import PROCESS_ID  # noqa: E402
from workflows.evaluation.opening import open_for_cadres, plan_month  # noqa: E402
from workflows.models import HumanTask, ProcessInstance  # noqa: E402
from workflows.registry.demo import PROVINCE_CODE, load_demo, load_demo_province  # noqa: E402
from workflows.registry.models import User  # noqa: E402
from workflows.rules.evaluation import DEFAULT_POLICY  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cadres", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench_evaluation")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--model", type=Path, help="a BPMN file deployed as the evaluation's newest version")
    parser.add_argument(
        "--as",
        dest="username",
        help="open as this user (default: the system), e.g. personnel1, whose role covers the province: each start's "
        "permission is then decided on that role (decision 0104)",
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the opening's N costliest calls")
    args = parser.parse_args()

    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='canbo-eval-')}/bench.db"
    else:
        parsed = make_url(args.postgres_url)
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
        url = parsed.render_as_string(hide_password=False)

    engine = make_engine(url)
    from workflows.migrate import upgrade

    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.perf_counter()
    with factory() as s, transaction(s):
        load_demo(s)
        load_demo_province(s, cadres=args.cadres, today=date.today())
        deploy_directory(s, ROOT / "bpmn", ROOT / "forms", actor=None)
        if args.model is not None:
            model = BundleFile(args.model.name, args.model.read_bytes())
            deploy_bundle(s, [model], actor=None, forms_dir=ROOT / "forms")
    print(f"demo load --cadres {args.cadres:,}: {time.perf_counter() - started:.1f} s (RSS so far {_rss_mb():.0f} MB)")

    month = date.today().strftime("%Y-%m")
    process_engine = ProcessEngine()
    rss_before = _rss_mb()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    cpu_started = time.process_time()
    with factory() as s:
        # Its roles loaded with it: the session is emptied after each chunk.
        actor = (
            s.scalars(
                select(User).where(User.username == args.username).options(selectinload(User.role_assignments))
            ).one()
            if args.username
            else None
        )
        plan = plan_month(s, actor=actor, month=month, unit_code=PROVINCE_CODE)
        cadres = plan.to_open
        s.rollback()
        opened = refused = 0
        for offset in range(0, len(cadres), args.chunk):
            with transaction(s):
                result = open_for_cadres(
                    s,
                    process_engine,
                    actor=actor,
                    plan=plan,
                    cadres=cadres[offset : offset + args.chunk],
                    policy=DEFAULT_POLICY,
                )
            opened += result.opened
            refused += len(result.refused)
            s.expunge_all()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    with factory() as s:
        instances = s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == PROCESS_ID))
        tasks = s.scalar(select(func.count(HumanTask.id)).where(HumanTask.task_key.like("%self_assessment")))
    print(
        f"open {month} for {len(cadres):,} cadres"
        f"{f' with {args.model.name}' if args.model is not None else ''}: {elapsed:.1f} s "
        f"({opened / elapsed:,.0f} instances/s), CPU of this process {cpu:.1f} s, "
        f"peak RSS {_rss_mb():.0f} MB (was {rss_before:.0f} MB before opening); "
        f"{instances:,} instances, {tasks:,} self-assessment tasks, {refused:,} cadres refused  (target ≤ 60 s, ≤ 1 GB)"
    )
    engine.dispose()

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "DEPLOY_ON_STARTUP": False, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    for username in ("officer1", "supervisor1"):
        client = app.test_client()
        assert client.post("/auth/login", data={"username": username, "password": "demo"}).status_code == 302
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = client.get("/inbox")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        print(f"GET /inbox as {username:<12} {summary(times, 1)}")


if __name__ == "__main__":
    main()
