"""Engine benchmark (issue #2): the cost of one complete-task service call vs. raw SpiffWorkflow.

For the 10-user-task approval in bench/models/approval_10_steps.bpmn, on SQLite and/or PostgreSQL:
  * complete-task service call (load + lock + complete + project + audit + commit): median and p95
  * instances started per second (start + first task projected + commit)
  * raw SpiffWorkflow advance for the same model, same machine:
      - "raw advance": deserialize + complete + engine steps + serialize, stock serializer and script engine
        (the unit the SpiffWorkflow notes measure), and
      - "raw step": complete + engine steps on an in-memory workflow (no persistence at all)
  * ratio service / raw advance (targets: ≤ 3 on SQLite, ≤ 4 on PostgreSQL) and state size after 10 steps (≤ 10 KB)

Usage: python bench/engine.py [--db sqlite|postgres|both] [--instances 200]
       [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from bench.stats import summary  # noqa: E402
from workflows.db import make_engine, transaction  # noqa: E402
from workflows.deployment.operations import deploy_bundle  # noqa: E402
from workflows.deployment.validation import BundleFile  # noqa: E402
from workflows.engine import operations  # noqa: E402
from workflows.engine.runtime import ProcessEngine  # noqa: E402
from workflows.migrate import upgrade  # noqa: E402
from workflows.models import HumanTask, ProcessInstance  # noqa: E402
from workflows.registry.demo import load_demo  # noqa: E402
from workflows.registry.models import Cadre, User  # noqa: E402
from workflows.states import TaskStatus  # noqa: E402

MODEL = ROOT / "bench" / "models" / "approval_10_steps.bpmn"
PROCESS_ID = "approval_10_steps"


class RawEngine:
    """The same model on stock SpiffWorkflow, one advance at a time, so that it can be timed side by side with the
    service: on a shared machine the load changes during a run, and a ratio of two figures taken minutes apart
    measures the load as much as the code."""

    def __init__(self) -> None:
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(MODEL))
        self.spec, self.subs = parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.state = self._new_instance()

    def _new_instance(self) -> str:
        workflow = BpmnWorkflow(self.spec, self.subs)
        workflow.do_engine_steps()
        return self.serializer.serialize_json(workflow)

    def advance(self) -> tuple[float, float]:
        """One user task completed: (deserialize + complete + engine + serialize, complete + engine) in seconds."""
        while True:
            t0 = time.perf_counter()
            workflow = self.serializer.deserialize_json(self.state)
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if ready:
                break
            self.state = self._new_instance()
        t1 = time.perf_counter()
        ready[0].data.update({"decision": "approve"})
        ready[0].run()
        workflow.do_engine_steps()
        t2 = time.perf_counter()
        self.state = self.serializer.serialize_json(workflow)
        t3 = time.perf_counter()
        return t3 - t0, t2 - t1


def raw_engine(instances: int) -> tuple[list[float], list[float]]:
    raw = RawEngine()
    timings = [raw.advance() for _ in range(instances * 10)]
    return [advance for advance, _ in timings], [step for _, step in timings]


def fresh_database(kind: str, postgres_url: str) -> tuple[str, str | None]:
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="canbo-bench-")
        return f"sqlite:///{directory}/bench.db", directory
    url = make_url(postgres_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False), None


def service_benchmark(kind: str, url: str, instances: int) -> dict[str, object]:
    """Each timed service completion is followed by one timed raw advance (`RawEngine`) under the same load."""
    raw = RawEngine()
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s, transaction(s):
        load_demo(s)
        deploy_bundle(s, [BundleFile(MODEL.name, MODEL.read_bytes())], actor=None, forms_dir=None)
    process_engine = ProcessEngine()
    with factory() as s:
        subject_id = s.scalar(select(Cadre.id).where(Cadre.code == "CB0001"))
        users = {u.username: u for u in s.scalars(select(User))}
        for user in users.values():
            _ = user.role_assignments

    # warm-up: parse + cache the spec, compile scripts
    with factory() as s, transaction(s):
        operations.start_instance(s, process_engine, actor=None, process_id=PROCESS_ID, subject_cadre_id=subject_id)

    start_times: list[float] = []
    ids: list[int] = []
    for _ in range(instances):
        t0 = time.perf_counter()
        with factory() as s, transaction(s):
            instance = operations.start_instance(
                s, process_engine, actor=None, process_id=PROCESS_ID, subject_cadre_id=subject_id
            )
            ids.append(instance.id)
        start_times.append(time.perf_counter() - t0)

    complete_times: list[float] = []
    raw_times: list[float] = []
    for instance_id in ids:
        while True:
            with factory() as s:
                row = s.execute(
                    select(HumanTask.id, HumanTask.lane)
                    .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
                    .limit(1)
                ).first()
            if row is None:
                break
            actor = users["officer1" if row.lane == "Cán bộ" else "supervisor1"]
            t0 = time.perf_counter()
            with factory() as s, transaction(s):
                s.add(actor)
                operations.complete_task(s, process_engine, actor=actor, task_id=row.id, data={"decision": "approve"})
            complete_times.append(time.perf_counter() - t0)
            raw_times.append(raw.advance()[0])

    with factory() as s:
        sizes = [len(state) for state in s.scalars(select(ProcessInstance.state).where(ProcessInstance.id.in_(ids)))]
    statements = statements_per_completion(engine, factory, process_engine, users, subject_id)
    floor = transaction_floor(engine, len(complete_times) // 4)
    engine.dispose()
    return {
        "complete": complete_times,
        "raw_side_by_side": raw_times,
        "start": start_times,
        "state_bytes": max(sizes),
        "statements": statements,
        "floor": floor,
    }


def transaction_floor(engine: Engine, rounds: int) -> list[float]:
    """The database's own floor, for reading the ratio on a busy machine: the same round trips as a completion
    (BEGIN, a locking SELECT, one UPDATE, COMMIT — durably) on a one-row table, with nothing else to do."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO bench_floor VALUES (1, 0)")
    lock = select(text("counter")).select_from(text("bench_floor")).where(text("id = 1"))
    if engine.dialect.name == "postgresql":
        lock = lock.with_for_update()
    bump = text("UPDATE bench_floor SET counter = counter + 1 WHERE id = 1")
    times = []
    with engine.connect() as conn:
        for _ in range(max(rounds, 50)):
            t0 = time.perf_counter()
            with conn.begin():
                conn.execute(lock).scalar_one()
                conn.execute(bump)
            times.append(time.perf_counter() - t0)
    return times


def statements_per_completion(
    engine: Engine, factory: sessionmaker[Session], process_engine: ProcessEngine, users: dict[str, User], subject: int
) -> float:
    """Statements one complete-task call sends (besides BEGIN and COMMIT), counted on one more instance, untimed:
    on PostgreSQL each is a round trip, which is most of what the service adds to the raw engine."""
    with factory() as s, transaction(s):
        instance_id = operations.start_instance(
            s, process_engine, actor=None, process_id=PROCESS_ID, subject_cadre_id=subject
        ).id
    sent: list[str] = []
    calls = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            sent.append(statement)

    while True:
        with factory() as s:
            row = s.execute(
                select(HumanTask.id, HumanTask.lane)
                .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
                .limit(1)
            ).first()
        if row is None:
            break
        actor = users["officer1" if row.lane == "Cán bộ" else "supervisor1"]
        event.listen(engine, "before_cursor_execute", count)
        try:
            with factory() as s, transaction(s):
                s.add(actor)
                operations.complete_task(s, process_engine, actor=actor, task_id=row.id, data={"decision": "approve"})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        calls += 1
    return len(sent) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench")
    args = parser.parse_args()

    raw_advance, raw_step = raw_engine(args.instances)
    raw_median = statistics.median(raw_advance)
    print(f"raw SpiffWorkflow advance (deserialize+complete+engine+serialize): {summary(raw_advance)}")
    print(f"raw SpiffWorkflow step (complete+engine, in memory):              {summary(raw_step)}")

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    targets = {"sqlite": 3.0, "postgres": 4.0}
    for kind in kinds:
        url, directory = fresh_database(kind, args.postgres_url)
        try:
            result = service_benchmark(kind, url, args.instances)
        finally:
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
        complete = result["complete"]
        start = result["start"]
        assert isinstance(complete, list) and isinstance(start, list)
        raw_side_by_side = result["raw_side_by_side"]
        assert isinstance(raw_side_by_side, list)
        ratio = statistics.median(complete) / statistics.median(raw_side_by_side)
        ratio_step = statistics.median(complete) / statistics.median(raw_step)
        print(f"\n[{kind}] {args.instances} instances × 10 user tasks")
        print(f"  complete-task service call: {summary(complete)}  ({len(complete)} calls)")
        print(f"  instances started/s:        {len(start) / sum(start):.0f}  (start call {summary(start)})")
        print(f"  raw advance, side by side:  {summary(raw_side_by_side)}  (one after each service call)")
        print(f"  ratio service/raw advance:  {ratio:.2f}  (target ≤ {targets[kind]:.0f}; side-by-side medians)")
        print(f"  ratio to the raw run above: {statistics.median(complete) / raw_median:.2f}  (measured before, alone)")
        print(f"  ratio service/raw step:     {ratio_step:.2f}  (no persistence at all in the denominator)")
        print(f"  state size after 10 steps:  {result['state_bytes'] / 1024:.1f} KB  (target ≤ 10 KB)")
        print(f"  statements per completion:  {result['statements']:.1f}  (besides BEGIN and COMMIT)")
        floor = result["floor"]
        assert isinstance(floor, list)
        print(f"  bare locked transaction:    {summary(floor)}  (BEGIN, SELECT, UPDATE, COMMIT of one row: the")
        print("                              database's floor under this machine's load, inside the service time)")


if __name__ == "__main__":
    main()
