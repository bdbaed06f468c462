"""Load benchmark (issue #9): real HTTP against `canbo serve` on PostgreSQL over loopback, mixed traffic.

What runs:
  * a fresh PostgreSQL database (--postgres-url), migrated, the demo organisation, bpmn/ deployed, --instances
    sample_approval procedures started beforehand (the officer's request, the supervisor's review) and the current
    month's monthly evaluation opened for --evaluations cadres given logins in commune X001 (the cadre's
    self-assessment, the direct leader's review, the head's decision — the procedure with the national volume);
    --appointments, --rotations and --plannings appointment, rotation and planning-review procedures started with
    the services of their start pages (bench/load_procedures.py: the people and data they need, and which of their
    steps the load completes — up to the first ballot step or timer, which the API cannot do or wait for);
  * `canbo serve --workers N` on 127.0.0.1 (a free port);
  * --clients client processes, each a closed loop (send, wait for the answer, send the next) that starts once
    every client has signed in (the sign-ins' password hashing is not part of the measured load), mixing
      complete     POST /api/v1/tasks/<id>/complete   (each instance's steps in order, by the right person; one
                                                       row per procedure: sample, evaluation, appointment, rotation,
                                                       planning)
      inbox_api    GET  /api/v1/tasks                  (the open tasks of anyone with a token: the evaluated
                                                       cadres, officer1 — who starts every sample approval and so
                                                       has thousands —, the leaders and personnel officers)
      inbox_page   GET  /inbox                         (the HTML inbox, signed in as officer1 or supervisor1)
      instance     GET  /instances/<id>                (the HTML instance page with its history, as officer1)
      instance_api GET  /api/v1/instances/<id>         (by someone who may see it: its cadre, its starter)
      history      GET  /audit/instances/<id>          (the inspector's full history page, signed in as auditor1)
    until --duration seconds pass or --max-requests are sent, whichever comes first;
  * in the same run, before and again after the load, the raw SpiffWorkflow advance rate of the same models on one
    core (deserialize + complete + engine steps + serialize, stock serializer, as bench/engine.py measures it),
    with the data the app's hooks would add, and its rate for the mix of completions the run achieved (each
    procedure weighted by its completions; all five procedures have a raw figure: none of their covered steps goes
    through a call activity or a signal). The ratio is taken against both measurements together, and against each.

Prints throughput and latency percentiles per request kind, completions/s against the target (≥ 300/s with p95
≤ 100 ms) and against 50 % of the raw single-core rate, the CPU per request of the app workers and the database, and
where the workers' CPU went: each kind's CPU per request as the server's JSON request log records it (`cpu_ms`,
the view's own, completions also by procedure) and the part outside the views (gunicorn's own work). Last, one
completion's CPU part by part — its own view, the reads that come with it in the mix, the workers' CPU outside the
views, the database, the load's clients — beside the CPU per completion each target allows on this machine's cores:
the gap to the targets in one unit. Everything is bounded and stops by itself; only loopback.

Usage: python bench/load.py [--duration 20] [--max-requests 20000] [--clients 4] [--workers 4] [--instances 3000]
       [--evaluations 1000] [--appointments 150] [--rotations 150] [--plannings 150] [--read-share 0.4]
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import bindparam, create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.load_procedures import (  # noqa: E402
    FIRST_TASKS,
    PROCESS_IDS,
    RAW_PROCEDURES,
    STEPS,
    RawModel,
    prepare_procedures,
)
from bench.load_procedures import step_data as procedure_step_data  # noqa: E402
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
# The monthly evaluation (the procedure with the national volume): self-assessment by the cadre, the direct
# leader's review, the head's decision; the data of tests/workflows/test_monthly_evaluation.py.
SELF_ASSESSMENT = {
    "products": [
        {"name": "Tham mưu văn bản", "assigned": 10, "completed": 10, "completed_quality": 10, "completed_on_time": 10},
        {"name": "Giải quyết hồ sơ", "assigned": 20, "completed": 20, "completed_quality": 20, "completed_on_time": 20},
    ],
    "criteria_politics": 10,
    "criteria_competence": 9,
    "criteria_innovation": 9,
    "self_report": "Hoàn thành đầy đủ",
    "proposed_grade": "HTXSNV",
}
# The leader keeps the cadre's figures: the review form's fields only (the API refuses any other key — the cadre's own
# report and proposed grade are not the leader's to rewrite).
REVIEWED = ("products", "criteria_politics", "criteria_competence", "criteria_innovation")
MANAGER_REVIEW = {**{key: SELF_ASSESSMENT[key] for key in REVIEWED}, "decision": "submit"}
# (user, data, the task the answer should show next) per step; None: the cadre of the instance.
SAMPLE_STEPS = (("officer1", REQUEST, "review_request"), ("supervisor1", REVIEW, None))
EVALUATION_STEPS = (
    (None, SELF_ASSESSMENT, "manager_review"),
    ("supervisor1", MANAGER_REVIEW, "head_decision"),
    ("head1", {"grade": "HTXSNV"}, None),
)
# Share of the non-completion requests among all requests (the rest are completions).
READ_MIX = {"inbox_api": 0.1, "inbox_page": 0.1, "instance": 0.075, "instance_api": 0.075, "history": 0.05}
ALL_STEPS = {"sample": SAMPLE_STEPS, "evaluation": EVALUATION_STEPS, **STEPS}
# The procedure of each process, and the task each instance's chain starts with.
PROCEDURES = {PROCESS_ID: "sample", "monthly_evaluation": "evaluation", **{p: k for k, p in PROCESS_IDS.items()}}
FIRST_KEYS = ("submit_request", "self_assessment", *FIRST_TASKS.values())
TARGET_RATE, TARGET_P95, TARGET_RAW_SHARE = 300.0, 0.100, 0.5
# The view that answers each kind of request: the server's request log names views by endpoint.
KIND_ENDPOINTS = {
    "api.complete_task": "complete",
    "api.list_tasks": "inbox_api",
    "inbox.index": "inbox_page",
    "instances.show": "instance",
    "api.show_instance": "instance_api",
    "audit.instance": "history",
}


# -- raw engine, one core ------------------------------------------------------------------------------------------


RAW_MODELS: dict[str, RawModel] = {
    # procedure: (files, process id, data set at the start, (task key, data as the app's hooks leave it) of each
    # step, whether the last step ends the instance)
    "sample": ((MODEL,), PROCESS_ID, {}, (("submit_request", REQUEST), ("review_request", REVIEW)), True),
    "evaluation": (
        (ROOT / "bpmn" / "monthly_evaluation.bpmn", ROOT / "bpmn" / "evaluation_grade.dmn"),
        "monthly_evaluation",
        {
            "deadline_self_assessment": "2099-12-10T00:00:00",
            "deadline_review": "2099-12-15T00:00:00",
            "deadline_decision": "2099-12-20T00:00:00",
            "return_count": 0,
            "max_returns": 2,
            "disciplined": False,
            "degradation": False,
            "unit_corruption": False,
        },
        (
            ("self_assessment", {**SELF_ASSESSMENT, "self_score": 98.0}),
            ("manager_review", {"decision": "submit", "score": 95.0}),
            ("head_decision", {"grade": "HTXSNV"}),
        ),
        True,
    ),
    **RAW_PROCEDURES,
}


def raw_rate(procedure: str, instances: int) -> tuple[float, list[float]]:
    """Advances per second of SpiffWorkflow alone on one core: each advance deserializes, completes the READY user
    task, runs the engine to the next wait and serializes (the unit the app's completion also pays)."""
    files, process_id, initial, steps, finishes = RAW_MODELS[procedure]
    parser = SpiffBpmnParser()
    for path in files:
        if path.suffix == ".dmn":
            parser.add_dmn_file(str(path))
        else:
            parser.add_bpmn_file(str(path))
    spec, subs = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    timings = []
    for _ in range(instances):
        workflow = BpmnWorkflow(spec, subs)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(initial)
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        for key, data in steps:
            started = time.perf_counter()
            workflow = serializer.deserialize_json(state)
            (task,) = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == key]
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
            state = serializer.serialize_json(workflow)
            timings.append(time.perf_counter() - started)
        assert workflow.is_completed() == finishes, f"the raw {process_id} run did not end where the load's does"
    return len(timings) / sum(timings), timings


def measure_raw(instances: int, when: str) -> dict[str, list[float]]:
    """Each procedure's raw advance times; measured before and after the load, because a shared machine's one-core
    speed moves by a third within minutes and one measurement alone would tilt the ratio either way."""
    timings = {}
    for procedure in RAW_MODELS:
        rate, raw = raw_rate(procedure, instances)
        timings[procedure] = raw
        print(
            f"raw SpiffWorkflow advance, one core, {RAW_MODELS[procedure][1]}, {when}: {rate:.0f}/s (median "
            f"{percentile(raw, 0.5) * 1000:.2f} ms, p95 {percentile(raw, 0.95) * 1000:.2f} ms, {len(raw)} advances)"
        )
    return timings


def mix_rate(timings: dict[str, list[float]], done: dict[str, int]) -> float:
    """Raw advances per second for a mix with `done` completions of each procedure."""
    seconds = sum(done[p] * sum(timings[p]) / len(timings[p]) for p in RAW_MODELS)
    return sum(done.values()) / max(seconds, 1e-9)


def cores_needed(rate: float, cpu_seconds: dict[str, float], completions: int) -> dict[str, float]:
    """The cores each part would keep busy at `rate` completions per second, the reads of the mix coming with them
    in the same proportion, at the CPU this run measured: the sizing figure (docs/deploy.md) and what the target asks
    of this machine."""
    if not completions:
        return {part: 0.0 for part in cpu_seconds}
    return {part: rate * seconds / completions for part, seconds in cpu_seconds.items()}


# -- set-up --------------------------------------------------------------------------------------------------------


def _evaluated_cadres(session: Any, count: int) -> dict[str, str]:
    """`count` cadres with their own logins in commune X001 (whose leaders review and decide); their tokens."""
    from workflows.registry.models import OrgUnit, RoleAssignment
    from workflows.states import Role

    unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "X001"))
    tokens = {}
    for number in range(count):
        cadre = Cadre(code=f"LD{number:05d}", full_name=f"Cán bộ tải {number}", unit_id=unit_id)
        session.add(cadre)
        session.flush()
        user = User(username=f"ld{number:05d}", full_name=cadre.full_name, unit_id=unit_id, cadre_id=cadre.id)
        user.role_assignments.append(RoleAssignment(role=Role.OFFICER, unit_id=unit_id))
        session.add(user)
        session.flush()
        tokens[user.username] = create_token(session, user, "load")
    return tokens


def prepare(
    url: str, instances: int, evaluations: int, appointments: int, rotations: int, plannings: int
) -> dict[str, Any]:
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
        for username in ("officer1", "supervisor1", "head1"):
            user = session.scalars(select(User).where(User.username == username)).one()
            tokens[username] = create_token(session, user, "load")
        tokens.update(_evaluated_cadres(session, evaluations))
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
    if evaluations:
        from workflows.evaluation.opening import open_for_cadres, plan_month
        from workflows.rules.evaluation import EvaluationPolicy

        with factory() as session, transaction(session):
            personnel = session.scalars(select(User).where(User.username == "personnel1")).one()
            # The current month: its deadlines lie ahead, so no escalation overtakes the load.
            plan = plan_month(session, actor=personnel, month=time.strftime("%Y-%m", time.gmtime()), unit_code="X001")
            cadres = [c for c in plan.to_open if c.code.startswith("LD")]
            opened = open_for_cadres(
                session, process_engine, actor=personnel, plan=plan, cadres=cadres, policy=EvaluationPolicy()
            )
        print(f"set-up: {opened.opened} monthly evaluations opened")
    started = time.perf_counter()
    procedure_tokens, contexts = prepare_procedures(
        factory, process_engine, appointments=appointments, rotations=rotations, plannings=plannings
    )
    tokens.update(procedure_tokens)
    print(
        f"set-up: {appointments} appointments, {rotations} rotations, {plannings} planning reviews started in "
        f"{time.perf_counter() - started:.1f} s"
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.instance_id, t.id, t.process_id, u.username FROM human_tasks t "
                "LEFT JOIN users u ON u.id = t.assignee_id WHERE t.status = 'open' "
                "AND t.task_key IN :keys ORDER BY t.id"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": list(FIRST_KEYS)},
        ).all()
    engine.dispose()
    # (instance, first task, procedure, the instance's own person, its context); the own person is the evaluated
    # cadre (the task's assignee) or, for a planning review, the head of the ward reviewed.
    work = []
    for row in rows:
        context = contexts.get(row.instance_id, {})
        work.append((row.instance_id, row.id, PROCEDURES[row.process_id], context.get("owner", row.username), context))
    random.Random(7).shuffle(work)
    return {"tokens": tokens, "work": work}


def require_local_database(url: str, benchmark: str) -> None:
    """The benchmarks load the machine they run on and drop and create their database: never another server's."""
    if make_url(url).host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the {benchmark} benchmark runs against a database on this machine only")


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
        AUDIT_ANCHOR_KEY="load-benchmark-audit-anchor-key",  # serve refuses PostgreSQL without it (decision 0107)
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


USER_AGENT = "canbo-load-benchmark"


def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a new loopback connection: the answer's status and body.

    The simulated users share the machine with the server they load, so they should cost it as little as they can:
    http.client's request and its parsing of the answer took about twice this CPU per API call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as connection:
        connection.settimeout(60)
        connection.connect(("127.0.0.1", port))
        connection.sendall(request)
        received = bytearray()
        end = length = -1
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
            if end < 0:
                end = received.find(b"\r\n\r\n")
                if end >= 0:
                    found = re.search(rb"\r\ncontent-length: *(\d+)", bytes(received[:end]), re.IGNORECASE)
                    length = int(found.group(1)) if found else -1
            if end >= 0 and length >= 0 and len(received) >= end + 4 + length:
                break  # the whole answer is here: no need to wait for the server to close
    if end < 0 or not received.startswith(b"HTTP/1."):
        raise ConnectionError("no HTTP answer")
    return int(received[9:12]), bytes(received[end + 4 : end + 4 + length] if length >= 0 else received[end + 4 :])


def _signed_in_cookie(port: int, username: str) -> str:
    """The Cookie header of a browser signed in as `username` (through the sign-in form, CSRF token and all)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # The session is bound to the browser that signed in (Flask-Login's strong protection): the pages' requests
    # must present the same User-Agent.
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"http://127.0.0.1:{port}/auth/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token, "no CSRF token on the sign-in page"
    form = urllib.parse.urlencode({"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)})
    opener.open(f"http://127.0.0.1:{port}/auth/login", data=form.encode(), timeout=30).read()
    assert any(cookie.name == "session" for cookie in jar), f"{username} was not signed in"
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def client(
    port: int,
    tokens: dict[str, str],
    work: list[tuple[int, int, str, str | None, dict[str, Any]]],
    duration: float,
    budget: int,
    seed: int,
    out: Any,
    read_scale: float,
    signed_in: Any,
    go: Any,
) -> None:
    """One simulated user's closed loop. It signs in first, tells so at `signed_in` (a barrier shared with the
    other clients and the caller) and waits for `go` (an event the caller sets once it has noted where the measured
    window starts): a sign-in hashes a password (0.2–0.3 s of a worker's CPU, by design), so a dozen of them inside
    the window would take from the load's own figures. The `duration` counts from `go`."""
    random.seed(seed)
    officer = _signed_in_cookie(port, "officer1")
    # Many people read their inboxes, not one: a second signed-in page reader, every token for the API.
    page_readers = [officer, _signed_in_cookie(port, "supervisor1")]
    readers = sorted(tokens)
    inspector = _signed_in_cookie(port, "auditor1")
    signed_in.wait()
    go.wait(timeout=120)
    stop_at = time.monotonic() + duration
    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    # (instance, task, procedure, the instance's own person, its context, step number)
    pending_steps: list[tuple[int, int, str, str | None, dict[str, Any], int]] = []
    queue = [(*item, 0) for item in reversed(work)]
    # Instances officer1 may open (the ones they started); the evaluations are other cadres' business.
    seen = [item[0] for item in work if item[2] == "sample"][:50]
    # (instance, someone who may read it through the API): the cadre evaluated, else the person who started it.
    starters = {"sample": "officer1"}
    readable = [(item[0], item[3] or starters.get(item[2], "personnel1")) for item in work]
    # The inspector sees every instance: any procedure's, running or done.
    inspected = [item[0] for item in work]
    host = f"127.0.0.1:{port}"
    sent = 0

    def api(method: str, path: str, token: str, payload: Any = None) -> tuple[int, Any]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        head += "Accept: application/json\r\n"
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        status, answer = exchange(port, (head + "Connection: close\r\n\r\n").encode() + body)
        return status, (json.loads(answer) if answer and status == 200 else None)

    def page(path: str, cookie: str) -> int:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nCookie: {cookie}\r\n"
            "Connection: close\r\n\r\n"
        )
        status, answer = exchange(port, request.encode())
        return status if answer else -3  # a page answered without its content is not a page shown

    while time.monotonic() < stop_at and sent < budget:
        roll = random.random()
        kind = "complete"
        for name, share in READ_MIX.items():
            share *= read_scale
            if roll < share:
                kind = name
                break
            roll -= share
        started = time.perf_counter()
        status = 0
        try:
            if kind == "complete":
                if pending_steps and (not queue or random.random() < 0.6):
                    step = pending_steps.pop(0)
                elif queue:
                    step = queue.pop()
                else:
                    break  # no work left for this client
                instance_id, task_id, procedure, owner, context, number = step
                user, _data, next_key = ALL_STEPS[procedure][number]
                data = procedure_step_data(ALL_STEPS[procedure][number], context)
                kind = f"complete_{procedure}"
                path = f"/api/v1/tasks/{task_id}/complete"
                status, body = api("POST", path, tokens[user or owner or "officer1"], data)
                if status == 200:
                    if procedure == "sample":
                        seen.append(instance_id)
                    following = [t["id"] for t in body["open_tasks"] if t["task_key"] == next_key]
                    if next_key and following:
                        pending_steps.append((instance_id, following[0], procedure, owner, context, number + 1))
                    elif next_key:
                        status = -2  # the answer does not show the next step: the step data took another path
            elif kind == "inbox_api":
                status, _ = api("GET", "/api/v1/tasks", tokens[random.choice(readers)])
            elif kind == "instance_api":
                instance_id, reader = random.choice(readable)
                status, _ = api("GET", f"/api/v1/instances/{instance_id}", tokens[reader])
            elif kind == "history":
                status = page(f"/audit/instances/{random.choice(inspected)}", inspector)
            elif kind == "inbox_page":
                status = page("/inbox", random.choice(page_readers))
            else:
                status = page(f"/instances/{random.choice(seen)}", officer)
        except Exception:
            status = -1
        elapsed = time.perf_counter() - started
        sent += 1
        if status == 200:
            results[kind].append(elapsed)
        else:
            errors[f"{kind}:{status}"] += 1
    out.put((dict(results), dict(errors), time.process_time()))


# -- report --------------------------------------------------------------------------------------------------------


def view_cpu(log_lines: Iterable[str]) -> dict[str, list[float]]:
    """The CPU milliseconds of each request the server logged, by kind ("other" for the sign-ins, health checks …;
    completions also by procedure, as complete_<procedure>), read from its JSON request log (`cpu_ms`: the worker's
    CPU from the request's start to its answer, without gunicorn's accepting, parsing and writing)."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    for line in log_lines:
        if not line.startswith("{"):
            continue  # gunicorn's own lines
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("event") != "request" or "cpu_ms" not in record:
            continue
        kind = KIND_ENDPOINTS.get(record.get("endpoint", ""), "other")
        by_kind[kind].append(float(record["cpu_ms"]))
        if kind == "complete" and record.get("process_id") in PROCEDURES:
            by_kind[f"complete_{PROCEDURES[record['process_id']]}"].append(float(record["cpu_ms"]))
    return dict(by_kind)


def print_view_cpu(views: dict[str, list[float]], worker_seconds: float) -> None:
    """Where the workers' CPU went: each kind's CPU per request, and its share of all the views' CPU."""
    # Every request once: the complete_<procedure> rows repeat the completions by procedure.
    each_once = [values for kind, values in views.items() if not kind.startswith("complete_")]
    total = sum(sum(values) for values in each_once) / 1000
    if not total:
        return
    title = "the views' CPU (the server's request log)"
    print(f"\n{title:<50}{'requests':>9}{'ms each':>9}{'p95 ms':>9}{'share':>8}")
    for kind in ("complete", *(f"complete_{procedure}" for procedure in ALL_STEPS), *READ_MIX, "other"):
        values = views.get(kind)
        if not values:
            continue
        print(
            f"{kind:<50}{len(values):>9}{sum(values) / len(values):>9.2f}{percentile(values, 0.95):>9.2f}"
            f"{sum(values) / 1000 / total:>8.0%}"
        )
    requests = sum(len(values) for values in each_once)
    print(
        f"the views: {total:.1f} s of CPU, the workers {worker_seconds:.1f} s while the load ran: "
        f"{(worker_seconds - total) / requests * 1000:.2f} ms per request outside the views (gunicorn's accepting, "
        "parsing and writing; the request's set-up and teardown around the view)"
    )


@dataclass(frozen=True)
class CompletionBudget:
    """One completion's CPU in the mix, by part (ms), beside what the targets allow it on this machine's cores."""

    parts: dict[str, float]
    requests_per_completion: float
    raw_rate: float  # raw advances a second of the same mix, one core
    cores: int

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    @property
    def allowed_for_rate(self) -> float:
        """ms of CPU per completion at which TARGET_RATE completions a second fill the cores."""
        return self.cores * 1000 / TARGET_RATE

    @property
    def allowed_for_share(self) -> float:
        """ms of CPU per completion at which TARGET_RAW_SHARE of the raw rate fills the cores."""
        return self.cores * 1000 / (self.raw_rate * TARGET_RAW_SHARE)

    @property
    def raw_advance(self) -> float:
        return 1000 / self.raw_rate


def completion_budget(
    views: dict[str, list[float]],
    cpu_seconds: dict[str, float],
    raw_rate: float,
    cores: int,
) -> CompletionBudget | None:
    """Everything the run's CPU paid for, divided by its completions: the completions' own views, the other requests'
    views (the mix's reads, which come with the completions in the same proportion), the workers' CPU outside any view,
    the database and the load's clients (`cpu_seconds`: app, database, clients). The targets turn into the same unit:
    `cores` kept busy by TARGET_RATE completions a second, or by TARGET_RAW_SHARE of `raw_rate`. None without a
    completion (nothing to divide by)."""
    completions = len(views.get("complete", []))
    if not completions or raw_rate <= 0:
        return None
    # The complete_<procedure> rows repeat the completions; every other kind is counted once.
    own = sum(views["complete"])
    others = [values for kind, values in views.items() if not kind.startswith("complete")]
    reads = sum(sum(values) for values in others)
    parts = {
        "the completion's view": own / completions,
        "the reads' views": reads / completions,
        "outside the views": (cpu_seconds["app"] * 1000 - own - reads) / completions,
        "the database": cpu_seconds["database"] * 1000 / completions,
        "the load's clients": cpu_seconds["clients"] * 1000 / completions,
    }
    return CompletionBudget(
        parts=parts,
        requests_per_completion=(completions + sum(len(values) for values in others)) / completions,
        raw_rate=raw_rate,
        cores=cores,
    )


def print_completion_budget(budget: CompletionBudget | None) -> None:
    """The gap to the targets in one unit: what a completion costs, part by part, and what they allow it."""
    if budget is None:
        return
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in budget.parts.items())
    print(
        f"\none completion's CPU in this mix ({budget.requests_per_completion:.2f} requests per completion): {parts} — "
        f"{budget.total:.2f} ms in all; the raw advance of the same mix is {budget.raw_advance:.2f} ms"
    )
    print(
        f"on {budget.cores} cores the targets allow {budget.allowed_for_rate:.2f} ms ({TARGET_RATE:.0f} "
        f"completions/s) and {budget.allowed_for_share:.2f} ms ({TARGET_RAW_SHARE:.0%} of the raw "
        f"{budget.raw_rate:.0f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_load")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--instances", type=int, default=3000, help="sample_approval instances (2 steps each)")
    parser.add_argument(
        "--evaluations", type=int, default=1000, help="monthly evaluations of cadres with logins (3 steps each)"
    )
    for name, what in (
        ("appointments", "appointments (3 steps each through the API, up to the first ballot)"),
        ("rotations", "rotations (12 steps each, up to the end-of-rotation timer)"),
        ("plannings", "annual planning reviews (7 steps each, to the end)"),
    ):
        parser.add_argument(f"--{name}", type=int, default=150, help=what)
    parser.add_argument("--raw-instances", type=int, default=300)
    parser.add_argument(
        "--read-share",
        type=float,
        default=0.4,
        help="share of reads among the requests (the mix's proportions kept); 0: completions only",
    )
    args = parser.parse_args()
    require_local_database(args.postgres_url, "load")
    # The interpreter's build moves every figure below by 15–20 % (docs/deploy.md, "The interpreter"): say which ran.
    print(f"python {sys.version.split()[0]} at {Path(sys.executable).resolve()} (the app and the raw engine alike)")

    raw_before = measure_raw(args.raw_instances, "before the load")
    setup = prepare(
        args.postgres_url, args.instances, args.evaluations, args.appointments, args.rotations, args.plannings
    )
    log_dir = Path(tempfile.mkdtemp(prefix="canbo-load-"))
    port = free_port()
    server = start_server(args.postgres_url, args.workers, port, log_dir)
    try:
        work = setup["work"]
        shares = [work[i :: args.clients] for i in range(args.clients)]
        out: multiprocessing.Queue[Any] = multiprocessing.Queue()
        budget = args.max_requests // args.clients
        # The clients and this process meet here once every client has signed in; the measured window starts at
        # `go`, after this process has noted the workers' CPU and the end of the server's log so far.
        signed_in, go = multiprocessing.Barrier(args.clients + 1, timeout=120), multiprocessing.Event()
        read_scale = args.read_share / 0.4
        processes = [
            multiprocessing.Process(
                target=client,
                args=(port, setup["tokens"], shares[i], args.duration, budget, i, out, read_scale, signed_in, go),
            )
            for i in range(args.clients)
        ]
        for process in processes:
            process.start()
        signed_in.wait()
        before = cpu_snapshot(server.pid, args.postgres_url)
        log_offset = (log_dir / "serve.log").stat().st_size  # the request lines of the sign-ins lie before this
        started = time.monotonic()
        go.set()
        collected = [out.get(timeout=args.duration + 120) for _ in processes]
        wall = time.monotonic() - started
        used = cpu_used(before, cpu_snapshot(server.pid, args.postgres_url))
        for process in processes:
            process.join(timeout=30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    raw_after = measure_raw(args.raw_instances, "after the load")

    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    client_cpu = sum(item[2] for item in collected)
    for got, failed, _cpu in collected:
        for kind, values in got.items():
            results[kind].extend(values)
        for kind, count in failed.items():
            errors[kind] += count
    total = sum(len(v) for v in results.values())  # before the combined "complete" row is added
    print(
        f"\nload: {args.clients} client processes (closed loop) → canbo serve --workers {args.workers}, PostgreSQL, "
        f"loopback; {wall:.1f} s, {total} answered requests ({total / wall:.0f}/s), errors: {dict(errors) or 'none'}"
    )
    print(f"{'kind':<20}{'count':>8}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    results["complete"] = [value for procedure in ALL_STEPS for value in results.get(f"complete_{procedure}", [])]
    for kind in ("complete", *(f"complete_{procedure}" for procedure in ALL_STEPS), *READ_MIX):
        values = results.get(kind, [])
        if not values:
            continue
        print(
            f"{kind:<20}{len(values):>8}{len(values) / wall:>9.1f}{percentile(values, 0.5) * 1000:>9.1f}"
            f"{percentile(values, 0.95) * 1000:>9.1f}{percentile(values, 0.99) * 1000:>9.1f}"
        )
    completions = results.get("complete", [])
    per_second = len(completions) / wall
    # The raw rate of the same mix: the mean raw advance weighted by how many completions each procedure had.
    done = {procedure: len(results.get(f"complete_{procedure}", [])) for procedure in RAW_MODELS}
    before, after = mix_rate(raw_before, done), mix_rate(raw_after, done)
    rate = mix_rate({p: raw_before[p] + raw_after[p] for p in RAW_MODELS}, done)
    print(
        f"raw single-core rate of this mix of completions: {rate:.0f}/s ({before:.0f}/s before the load, "
        f"{after:.0f}/s after it; weighted: {', '.join(RAW_MODELS)})"
    )
    p95 = percentile(completions, 0.95) if completions else float("nan")
    print(
        f"\ncompletions: {per_second:.0f}/s, p95 {p95 * 1000:.0f} ms "
        f"(target ≥ {TARGET_RATE:.0f}/s with p95 ≤ {TARGET_P95 * 1000:.0f} ms: "
        f"{'met' if per_second >= TARGET_RATE and p95 <= TARGET_P95 else 'NOT met'})"
    )
    share = per_second / rate if rate else 0.0  # no completion at all (a run too short for the clients' sign-in)
    print(
        f"completions / raw single-core advance rate: {share:.0%} "
        f"(target ≥ {TARGET_RAW_SHARE:.0%}: {'met' if share >= TARGET_RAW_SHARE else 'NOT met'}; "
        f"{per_second / before if before else 0.0:.0%} against the rate before the load, "
        f"{per_second / after if after else 0.0:.0%} against the rate after it)"
    )
    if total:
        print(
            f"CPU per answered request: app {used['app'] / total * 1000:.1f} ms (gunicorn workers), database "
            f"{used['database'] / total * 1000:.1f} ms (its backends); {used['app'] / wall:.2f} + "
            f"{used['database'] / wall:.2f} cores busy on average; the load's own clients "
            f"{client_cpu / total * 1000:.1f} ms per request, {client_cpu / wall:.2f} cores (the same machine)"
        )
        needed = cores_needed(TARGET_RATE, {**used, "clients": client_cpu}, len(completions))
        print(
            f"at this run's CPU per request, {TARGET_RATE:.0f} completions/s with this mix's reads would keep "
            f"{sum(needed.values()):.1f} cores busy (app {needed['app']:.1f}, database {needed['database']:.1f}, "
            f"clients {needed['clients']:.1f}); this machine has {os.cpu_count()}"
        )
    with (log_dir / "serve.log").open("rb") as server_log:
        server_log.seek(log_offset)
        log_lines = server_log.read().decode("utf-8", errors="replace").splitlines()
    views = view_cpu(log_lines)
    print_view_cpu(views, used["app"])
    print_completion_budget(completion_budget(views, {**used, "clients": client_cpu}, rate, os.cpu_count() or 1))
    print(f"server log: {log_dir / 'serve.log'}")


if __name__ == "__main__":
    main()
