"""Load benchmark (issue #9): real HTTP against `canbo serve` on PostgreSQL over loopback, mixed traffic.

What runs:
  * a fresh PostgreSQL database (--postgres-url), migrated, the demo organisation, bpmn/ deployed, and --instances
    sample_approval procedures started beforehand (each gives two completions: the officer's request, the
    supervisor's review);
  * `canbo serve --workers N` on 127.0.0.1 (a free port);
  * --clients client processes, each a closed loop (send, wait for the answer, send the next), mixing
      complete     POST /api/v1/tasks/<id>/complete   (request, then review of the same instance)
      inbox_api    GET  /api/v1/tasks                  (a person's open tasks)
      inbox_page   GET  /inbox                         (the HTML inbox, signed-in session)
      instance     GET  /instances/<id>                (the HTML instance page with its history)
      instance_api GET  /api/v1/instances/<id>
    until --duration seconds pass or --max-requests are sent, whichever comes first;
  * in the same run, before the load, the raw SpiffWorkflow advance rate for the same model on one core
    (deserialize + complete + engine steps + serialize, stock serializer, as bench/engine.py measures it).

Prints throughput and latency percentiles per request kind, completions/s against the target (≥ 300/s with p95
≤ 100 ms) and against 50 % of the raw single-core rate. Everything is bounded and stops by itself; only loopback.

Usage: python bench/load.py [--duration 20] [--max-requests 20000] [--clients 4] [--workers 4] [--instances 3000]
       [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/canbo_load]
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import multiprocessing
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.stats import percentile  # noqa: E402
from workflows.db import make_engine, transaction  # noqa: E402
from workflows.deployment.operations import deploy_directory  # noqa: E402
from workflows.engine import operations  # noqa: E402
from workflows.engine.runtime import ProcessEngine  # noqa: E402
from workflows.migrate import upgrade  # noqa: E402
from workflows.registry.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from workflows.registry.models import Cadre, User  # noqa: E402
from workflows.registry.tokens import create_token  # noqa: E402

MODEL = ROOT / "bpmn" / "sample_approval.bpmn"
PROCESS_ID = "sample_approval"
REQUEST = {"subject_line": "Đề nghị cấp phòng họp", "amount": 1}
REVIEW = {"decision": "approve", "comment": "Đồng ý"}
# Share of the non-completion requests among all requests (the rest are completions).
READ_MIX = {"inbox_api": 0.1, "inbox_page": 0.1, "instance": 0.1, "instance_api": 0.1}
TARGET_RATE, TARGET_P95, TARGET_RAW_SHARE = 300.0, 0.100, 0.5


# -- raw engine, one core ------------------------------------------------------------------------------------------


def raw_rate(instances: int) -> tuple[float, list[float]]:
    """Advances per second of SpiffWorkflow alone on this model: each advance deserializes, completes the READY
    user task, runs the engine to the next wait and serializes (the unit the app's completion also pays)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODEL))
    spec, subs = parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    timings = []
    for _ in range(instances):
        workflow = BpmnWorkflow(spec, subs)
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        for data in (REQUEST, REVIEW):
            started = time.perf_counter()
            workflow = serializer.deserialize_json(state)
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
            state = serializer.serialize_json(workflow)
            timings.append(time.perf_counter() - started)
    return len(timings) / sum(timings), timings


# -- set-up --------------------------------------------------------------------------------------------------------


def prepare(url: str, instances: int) -> dict[str, Any]:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    process_engine = ProcessEngine(script_time_limit=1.0)
    with factory() as session, transaction(session):
        load_demo(session)
        deploy_directory(session, ROOT / "bpmn", ROOT / "forms", actor=None)
    tokens = {}
    with factory() as session, transaction(session):
        for username in ("officer1", "supervisor1"):
            user = session.scalars(select(User).where(User.username == username)).one()
            tokens[username] = create_token(session, user, "load")
    started = time.perf_counter()
    ids: list[int] = []
    with factory() as session:
        officer = session.scalars(select(User).where(User.username == "officer1")).one()
        subject = session.scalar(select(Cadre.id).where(Cadre.code == "CB0001"))
        while len(ids) < instances:
            with transaction(session):
                for _ in range(min(200, instances - len(ids))):
                    instance = operations.start_instance(
                        session, process_engine, actor=officer, process_id=PROCESS_ID, subject_cadre_id=subject
                    )
                    ids.append(instance.id)
    print(f"set-up: {instances} {PROCESS_ID} instances started in {time.perf_counter() - started:.1f} s")
    with engine.connect() as conn:
        first_tasks = dict(
            conn.execute(
                text("SELECT instance_id, id FROM human_tasks WHERE status = 'open' AND instance_id = ANY(:ids)"),
                {"ids": ids},
            ).all()
        )
    engine.dispose()
    return {"tokens": tokens, "work": [(i, first_tasks[i]) for i in ids]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, workers: int, port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        CANBO_DEPLOY_ON_STARTUP="0",
        SECRET_KEY="load-benchmark",
        CANBO_LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(log_dir / "metrics"),
    )
    log = (log_dir / "serve.log").open("wb")
    canbo = str(Path(sys.executable).with_name("canbo"))
    process = subprocess.Popen(
        [canbo, "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz?check=app")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit("canbo serve did not come up; see " + str(log_dir / "serve.log"))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _backend_pids(url: str) -> list[int]:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"))
    with admin.connect() as conn:
        pids = list(
            conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": parsed.database}).scalars()
        )
    admin.dispose()
    return pids


def cpu_snapshot(server_pid: int, url: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL backends serving this database: the cost
    per request independent of how loaded the machine is (what sizing needs)."""
    return {
        "app": {pid: _cpu_seconds(pid) for pid in _children(server_pid)},
        "database": {pid: _cpu_seconds(pid) for pid in _backend_pids(url)},
    }


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    return {side: sum(seconds - before[side].get(pid, 0.0) for pid, seconds in after[side].items()) for side in after}


# -- clients -------------------------------------------------------------------------------------------------------


def _signed_in_opener(port: int) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/auth/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token, "no CSRF token on the sign-in page"
    form = urllib.parse.urlencode({"username": "officer1", "password": DEMO_PASSWORD, "csrf_token": token.group(1)})
    opener.open(f"http://127.0.0.1:{port}/auth/login", data=form.encode(), timeout=30).read()
    return opener


def client(
    port: int, tokens: dict[str, str], work: list[tuple[int, int]], stop_at: float, budget: int, seed: int, out: Any
) -> None:
    random.seed(seed)
    opener = _signed_in_opener(port)
    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    pending_reviews: list[tuple[int, int]] = []
    queue = list(reversed(work))
    seen = [instance_id for instance_id, _ in work[:50]]
    sent = 0

    def api(method: str, path: str, token: str, payload: Any = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        body = None
        if payload is not None:
            body, headers["Content-Type"] = json.dumps(payload).encode(), "application/json"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw and response.status == 200 else None)
        finally:
            connection.close()

    while time.monotonic() < stop_at and sent < budget:
        roll = random.random()
        kind = "complete"
        for name, share in READ_MIX.items():
            if roll < share:
                kind = name
                break
            roll -= share
        started = time.perf_counter()
        status = 0
        try:
            if kind == "complete":
                if pending_reviews and (not queue or random.random() < 0.5):
                    instance_id, task_id = pending_reviews.pop(0)
                    status, _ = api("POST", f"/api/v1/tasks/{task_id}/complete", tokens["supervisor1"], REVIEW)
                elif queue:
                    instance_id, task_id = queue.pop()
                    status, body = api("POST", f"/api/v1/tasks/{task_id}/complete", tokens["officer1"], REQUEST)
                    if status == 200:
                        if body["open_tasks"]:
                            pending_reviews.append((instance_id, body["open_tasks"][0]["id"]))
                        seen.append(instance_id)
                else:
                    break  # no work left for this client
            elif kind == "inbox_api":
                status, _ = api("GET", "/api/v1/tasks", tokens["officer1"])
            elif kind == "instance_api":
                status, _ = api("GET", f"/api/v1/instances/{random.choice(seen)}", tokens["officer1"])
            else:
                path = "/inbox" if kind == "inbox_page" else f"/instances/{random.choice(seen)}"
                with opener.open(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
                    response.read()
                    status = response.status
        except Exception:
            status = -1
        elapsed = time.perf_counter() - started
        sent += 1
        if status == 200:
            results[kind].append(elapsed)
        else:
            errors[f"{kind}:{status}"] += 1
    out.put((dict(results), dict(errors)))


# -- report --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_load")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--instances", type=int, default=3000)
    parser.add_argument("--raw-instances", type=int, default=300)
    args = parser.parse_args()
    if make_url(args.postgres_url).host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load benchmark runs against a database on this machine only")

    rate, raw = raw_rate(args.raw_instances)
    print(
        f"raw SpiffWorkflow advance, one core, {PROCESS_ID}: {rate:.0f}/s "
        f"(median {percentile(raw, 0.5) * 1000:.2f} ms, p95 {percentile(raw, 0.95) * 1000:.2f} ms, {len(raw)} advances)"
    )
    setup = prepare(args.postgres_url, args.instances)
    log_dir = Path(tempfile.mkdtemp(prefix="canbo-load-"))
    port = free_port()
    server = start_server(args.postgres_url, args.workers, port, log_dir)
    try:
        work = setup["work"]
        shares = [work[i :: args.clients] for i in range(args.clients)]
        out: multiprocessing.Queue[Any] = multiprocessing.Queue()
        started = time.monotonic()
        stop_at = started + args.duration
        budget = args.max_requests // args.clients
        processes = [
            multiprocessing.Process(target=client, args=(port, setup["tokens"], shares[i], stop_at, budget, i, out))
            for i in range(args.clients)
        ]
        for process in processes:
            process.start()
        # The clients sign in first (a few requests); the snapshot is taken while they do, close enough.
        before = cpu_snapshot(server.pid, args.postgres_url)
        collected = [out.get(timeout=args.duration + 120) for _ in processes]
        wall = time.monotonic() - started
        used = cpu_used(before, cpu_snapshot(server.pid, args.postgres_url))
        for process in processes:
            process.join(timeout=30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for got, failed in collected:
        for kind, values in got.items():
            results[kind].extend(values)
        for kind, count in failed.items():
            errors[kind] += count
    total = sum(len(v) for v in results.values())
    print(
        f"\nload: {args.clients} client processes (closed loop) → canbo serve --workers {args.workers}, PostgreSQL, "
        f"loopback; {wall:.1f} s, {total} answered requests ({total / wall:.0f}/s), errors: {dict(errors) or 'none'}"
    )
    print(f"{'kind':<14}{'count':>8}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind in ("complete", "inbox_api", "inbox_page", "instance", "instance_api"):
        values = results.get(kind, [])
        if not values:
            continue
        print(
            f"{kind:<14}{len(values):>8}{len(values) / wall:>9.1f}{percentile(values, 0.5) * 1000:>9.1f}"
            f"{percentile(values, 0.95) * 1000:>9.1f}{percentile(values, 0.99) * 1000:>9.1f}"
        )
    completions = results.get("complete", [])
    per_second = len(completions) / wall
    p95 = percentile(completions, 0.95) if completions else float("nan")
    print(
        f"\ncompletions: {per_second:.0f}/s, p95 {p95 * 1000:.0f} ms "
        f"(target ≥ {TARGET_RATE:.0f}/s with p95 ≤ {TARGET_P95 * 1000:.0f} ms: "
        f"{'met' if per_second >= TARGET_RATE and p95 <= TARGET_P95 else 'NOT met'})"
    )
    print(
        f"completions / raw single-core advance rate: {per_second / rate:.0%} "
        f"(target ≥ {TARGET_RAW_SHARE:.0%}: {'met' if per_second / rate >= TARGET_RAW_SHARE else 'NOT met'})"
    )
    if total:
        print(
            f"CPU per answered request: app {used['app'] / total * 1000:.1f} ms (gunicorn workers), database "
            f"{used['database'] / total * 1000:.1f} ms (its backends); {used['app'] / wall:.2f} + "
            f"{used['database'] / wall:.2f} cores busy on average"
        )
    print(f"server log: {log_dir / 'serve.log'}")


if __name__ == "__main__":
    main()
