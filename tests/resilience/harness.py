"""Real processes for the resilience suite: `canbo serve` and `canbo worker` as subprocesses on a PostgreSQL database
of their own (or on a private PostgreSQL cluster, for the restart), HTTP over loopback, and the consistency check at
the end. Bounded: every wait has a deadline, every process started here is ended here (by its pid).

CANBO_RESILIENCE_SCALE (a whole number, default 1) multiplies every test's operation counts — instances, hence
completions and due timers, and kills, cuts and restarts where they repeat — and its deadlines: 1 is the short form
CI runs, 10 the long form (make test-resilience-long)."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from workflows.db import make_engine, transaction
from workflows.deployment.operations import deploy_directory
from workflows.engine import operations
from workflows.engine.runtime import ProcessEngine
from workflows.migrate import upgrade
from workflows.production.consistency import CheckReport, check_consistency
from workflows.registry.demo import load_demo
from workflows.registry.models import Cadre, User
from workflows.registry.tokens import create_token

ROOT = Path(__file__).resolve().parents[2]
CANBO = str(Path(sys.executable).with_name("canbo"))


def _scale() -> int:
    raw = os.environ.get("CANBO_RESILIENCE_SCALE", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise RuntimeError(f"CANBO_RESILIENCE_SCALE must be a whole number >= 1, not {raw!r}")
    return int(raw)


SCALE = _scale()


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise RuntimeError(
            "the resilience suite runs against PostgreSQL only: set DATABASE_URL=postgresql+psycopg://... "
            "(.ci/run does); it is not skipped, it fails"
        )
    return url


def fresh_database(suffix: str, server_url: str | None = None) -> str:
    """An empty database of our own next to DATABASE_URL's (or server_url's), migrated, with the demo organisation
    and bpmn/."""
    base = make_url(server_url or postgres_url())
    name = f"{base.database}_{suffix}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    with sessionmaker(bind=engine)() as session:
        load_demo(session)
        deploy_directory(session, ROOT / "bpmn", ROOT / "forms", actor=None)
        session.commit()
    engine.dispose()
    return url


SEEDER_NAME = "canbo-resilience-test"  # application_name of the test's own connections


def terminate_connections(url: str) -> int:
    """pg_terminate_backend on every connection of the app's to this database (ours only: the server is shared);
    the test's own (the Seeder's) are spared, so its checks between rounds never meet a cut."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        cut = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid() AND application_name <> :spared"
            ),
            {"name": parsed.database, "spared": SEEDER_NAME},
        ).scalar_one()
    admin.dispose()
    return int(cut)


POSTGRESQL_VERSIONS = Path("/usr/lib/postgresql")


def postgresql_bin_dir() -> Path | None:
    """The newest installed server's bin directory (Debian's layout), holding initdb and pg_ctl."""
    found = [path for path in POSTGRESQL_VERSIONS.glob("*/bin") if (path / "initdb").is_file()]
    if not found:
        return None
    return max(found, key=lambda path: [int(part) for part in path.parent.name.split(".") if part.isdigit()])


def private_cluster_missing() -> str | None:
    """Why a private PostgreSQL cluster cannot be started here, or None when it can."""
    if postgresql_bin_dir() is None:
        return f"no PostgreSQL server binaries (initdb, pg_ctl) under {POSTGRESQL_VERSIONS}/<version>/bin"
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run initdb and pg_ctl as"
        if shutil.which("runuser") is None:
            return "running as root and there is no runuser to run initdb and pg_ctl as the `postgres` user"
    return None


def require_private_cluster() -> None:
    """Skip without the binaries or the OS user — but fail when CI is set: CI must prove the real restart."""
    missing = private_cluster_missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the private PostgreSQL cluster cannot be started: {missing}", pytrace=False)
    pytest.skip(missing)


@dataclass
class Cluster:
    """A PostgreSQL cluster of our own: restarting it disturbs nobody else's work."""

    bin_dir: Path
    directory: Path  # data/, the server's log, its unix socket
    port: int
    as_owner: list[str]  # the command prefix that runs a program as the cluster's OS user

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        """The server's URL; fresh_database makes its database next to the one named here."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/canbo"

    def run(self, program: str, *args: str, timeout: float = 120) -> None:
        # Output to a file, not a pipe: the server pg_ctl starts would hold a pipe open after pg_ctl returns.
        with (self.directory / "commands.log").open("ab") as output:
            subprocess.run(
                [*self.as_owner, str(self.bin_dir / program), *args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=timeout,
            )

    def pg_ctl(self, command: str, *args: str) -> None:
        log = str(self.directory / "server.log")
        self.run("pg_ctl", command, "-D", str(self.data), "-l", log, "-w", "-t", "90", *args)

    def restart(self, held_down: float = 0.0) -> tuple[float, float]:
        """pg_ctl restart -m fast (connections terminated, a shutdown checkpoint, a new postmaster); with
        held_down, pg_ctl stop -m fast, that many seconds with no server (connections refused, as while a big
        server checkpoints and recovers), pg_ctl start. Its start and end on time.monotonic()."""
        started = time.monotonic()
        if held_down:
            self.pg_ctl("stop", "-m", "fast")
            time.sleep(held_down)
            self.pg_ctl("start")
        else:
            self.pg_ctl("restart", "-m", "fast")
        return started, time.monotonic()

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for name in ("commands.log", "server.log"):
            path = self.directory / name
            if path.exists():
                texts.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """initdb a cluster in a temporary directory (trust auth, 127.0.0.1 on a free port, its socket in that
    directory), start it, and stop and remove it at the end whatever happened. As root, initdb and pg_ctl run as
    the `postgres` OS user, which then owns the directory."""
    missing = private_cluster_missing()
    if missing:
        raise RuntimeError(missing)
    bin_dir = postgresql_bin_dir()
    assert bin_dir is not None
    directory = Path(tempfile.mkdtemp(prefix="canbo-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(bin_dir, directory, free_port(), as_owner)
    started = False
    try:
        cluster.run(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {cluster.port}\n"
                f"unix_socket_directories = '{directory}'\nmax_connections = 50\nshared_buffers = 32MB\n"
            )
        started = True  # from here on, stop it even if the start itself fails halfway
        cluster.pg_ctl("start")
        yield cluster
    except subprocess.SubprocessError as error:
        raise AssertionError(f"the private PostgreSQL cluster failed: {error}\n{cluster.log_tail()}") from error
    finally:
        try:
            if started and (cluster.data / "postmaster.pid").exists():
                try:
                    cluster.pg_ctl("stop", "-m", "fast")
                except subprocess.SubprocessError:
                    pid = cluster.postmaster_pid()
                    os.kill(pid, signal.SIGQUIT)  # immediate shutdown, by its pid
                    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, what="the postmaster to end")
        finally:
            shutil.rmtree(directory, ignore_errors=True)


class Seeder:
    """Starts instances and hands out API tokens in-process, through the real services."""

    def __init__(self, url: str) -> None:
        # pre-ping: the database is restarted under it (terminate_connections spares its connections by name)
        self.engine: Engine = make_engine(url, pool_pre_ping=True, connect_args={"application_name": SEEDER_NAME})
        self.session_factory: sessionmaker[Session] = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.process_engine = ProcessEngine(script_time_limit=1.0)

    def user(self, session: Session, username: str) -> User:
        return session.scalars(select(User).where(User.username == username)).one()

    def token(self, username: str) -> str:
        with self.session_factory() as session, transaction(session):
            return create_token(session, self.user(session, username), "resilience")

    def start(self, process_id: str, count: int, *, as_user: str = "officer1", subject: str = "CB0001") -> list[int]:
        ids = []
        with self.session_factory() as session:
            actor = self.user(session, as_user)
            subject_id = session.scalar(select(Cadre.id).where(Cadre.code == subject))
            for _ in range(count):
                with transaction(session):
                    instance = operations.start_instance(
                        session,
                        self.process_engine,
                        actor=actor,
                        process_id=process_id,
                        subject_cadre_id=subject_id,
                    )
                ids.append(instance.id)
        return ids

    def complete(self, username: str, task_id: int, data: dict[str, Any]) -> None:
        with self.session_factory() as session, transaction(session):
            operations.complete_task(
                session, self.process_engine, actor=self.user(session, username), task_id=task_id, data=data
            )

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def check(self) -> CheckReport:
        with self.session_factory() as session:
            return check_consistency(session, self.process_engine)

    def close(self) -> None:
        self.engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=url, CANBO_DEPLOY_ON_STARTUP="0", SECRET_KEY="resilience", CANBO_LOG_FORMAT="json")
    # `canbo serve` and `canbo worker` do not start on PostgreSQL without the keys every host shares (decision 0107).
    env.update(AUDIT_ANCHOR_KEY="resilience-audit-anchor-key")
    env.update(extra)
    return env


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused, reset or timed out)
    body: Any = None


class Caller(Protocol):
    """What sends a request to the app and returns its answer: one host (`Http`) or a balancer over several."""

    def call(self, method: str, path: str, token: str | None = None, payload: Any = None) -> Answer: ...


class Http:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout

    def call(self, method: str, path: str, token: str | None = None, payload: Any = None) -> Answer:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            return Answer(0)
        finally:
            connection.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Answer(response.status, parsed)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def http(self) -> Http:
        return Http(self.port)

    def worker_pids(self) -> list[int]:
        return _children(self.process.pid)

    def errors(self, limit: int = 12) -> list[str]:
        """The last exception lines gunicorn wrote (tracebacks' final lines, in its JSON lines' "exception"), to say
        what a 500 was."""
        text = "\n".join(
            [self.log_path.read_text(errors="replace")] + [line.get("exception", "") for line in self.log_lines()]
        )
        found = [line for line in text.splitlines() if line[:1].isalpha() and "Error" in line.split(":", 1)[0]]
        return found[-limit:]

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
        return lines


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until(condition: Any, *, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def serve(url: str, tmp_path: Path, workers: int = 2) -> Iterator[Server]:
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [CANBO, "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
            env=_env(url, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"metrics-{port}")),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    server = Server(process, port, log_path)
    try:
        wait_until(
            lambda: (
                server.http.call("GET", "/healthz?check=app").status == 200 and len(server.worker_pids()) == workers
            ),
            timeout=90,
            what="canbo serve to answer",
        )
        yield server
    finally:
        _stop(process)


@contextmanager
def worker(url: str, tmp_path: Path, name: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    log_path = tmp_path / f"worker-{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [CANBO, "worker", "--poll", "0.2"],
            env=_env(url, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        yield process
    finally:
        _stop(process)


@dataclass
class Job:
    task_id: int
    username: str
    data: dict[str, Any]


@dataclass
class Outcomes:
    acknowledged: list[int] = field(default_factory=list)  # 200: the completion must be in the database once
    conflicts: list[int] = field(default_factory=list)  # 409 on a retry: an earlier attempt had gone through
    unavailable: int = 0  # 503 answers (retried)
    no_answer: int = 0  # connection reset or refused (retried)
    other: list[tuple[int, int, Any]] = field(default_factory=list)
    answers: list[tuple[float, int]] = field(default_factory=list)  # (time.monotonic(), status) of every attempt
    seconds: float = 0.0  # from the first request to the last answer

    def statuses(self) -> Counter[int]:
        return Counter(status for _, status in self.answers)


def answered(*outcomes: Outcomes) -> dict[int, int]:
    """Answers by HTTP status over several rounds (0: no answer), for the figures."""
    total: Counter[int] = Counter()
    for outcome in outcomes:
        total.update(outcome.statuses())
    return dict(sorted(total.items()))


def complete_all(
    http: Caller,
    tokens: dict[str, str],
    jobs: list[Job],
    *,
    threads: int = 4,
    on_progress: Any = None,
    deadline_seconds: float = 240 * SCALE,
    outcomes: Outcomes | None = None,
) -> Outcomes:
    """POST each job's completion from `threads` clients; retry what got no answer or a 503 until the deadline.
    `outcomes`, when given, is filled as the answers come (another thread may watch it)."""
    pending = list(reversed(jobs))
    lock = threading.Lock()
    outcomes = outcomes if outcomes is not None else Outcomes()
    attempts: dict[int, int] = {}
    done = 0
    started = time.monotonic()
    stop_at = started + deadline_seconds

    def client() -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            with lock:
                if not pending:
                    return
                job = pending.pop()
                attempts[job.task_id] = attempts.get(job.task_id, 0) + 1
                first_try = attempts[job.task_id] == 1
            answer = http.call("POST", f"/api/v1/tasks/{job.task_id}/complete", tokens[job.username], job.data)
            retry = False
            with lock:
                outcomes.answers.append((time.monotonic(), answer.status))
                if answer.status == 200:
                    outcomes.acknowledged.append(job.task_id)
                elif answer.status == 409 and not first_try:
                    outcomes.conflicts.append(job.task_id)
                elif answer.status in (0, 503):
                    if answer.status == 0:
                        outcomes.no_answer += 1
                    else:
                        outcomes.unavailable += 1
                    retry = True
                else:
                    outcomes.other.append((job.task_id, answer.status, answer.body))
                done += 1
                progress = done
            if retry:
                time.sleep(0.2)
                with lock:
                    pending.insert(0, job)
            if on_progress is not None:
                on_progress(progress)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=deadline_seconds + 60)
    outcomes.seconds = time.monotonic() - started
    assert not pending, f"{len(pending)} completion(s) still pending at the deadline"
    return outcomes


def open_jobs(seeder: Seeder, instance_ids: list[int], task_key: str, username: str, data: dict[str, Any]) -> list[Job]:
    rows = seeder.rows(
        "SELECT id FROM human_tasks WHERE status = 'open' AND task_key = :key AND instance_id = ANY(:ids) ORDER BY id",
        key=task_key,
        ids=instance_ids,
    )
    return [Job(row.id, username, data) for row in rows]


def assert_exactly_once(seeder: Seeder, acknowledged: list[int]) -> None:
    """Every acknowledged completion is in the database, completed, with exactly one completion event."""
    if not acknowledged:
        return
    rows = seeder.rows(
        "SELECT t.id, t.status, (SELECT count(*) FROM audit_events e WHERE e.human_task_id = t.id "
        "AND e.event_type = 'task_completed') AS times FROM human_tasks t WHERE t.id = ANY(:ids)",
        ids=acknowledged,
    )
    assert len(rows) == len(set(acknowledged)) == len(acknowledged), "a task was acknowledged twice"
    wrong = [(row.id, row.status, row.times) for row in rows if row.status != "completed" or row.times != 1]
    assert not wrong, f"acknowledged completions not in the database exactly once: {wrong[:10]}"


def assert_consistent(seeder: Seeder) -> CheckReport:
    report = seeder.check()
    assert report.ok, "\n".join(str(finding) for finding in report.findings[:20])
    return report


def assert_every_round_done(seeder: Seeder, instance_ids: list[int], *rounds: Outcomes) -> None:
    """Each round completed one step of every instance: each job ended acknowledged or, after a lost answer, as a
    409 because its first try had committed; nothing else was answered; every acknowledged completion is in the
    database exactly once; and every instance ended, `canbo check` holding."""
    for outcome in rounds:
        assert not outcome.other, outcome.other[:5]
        assert_exactly_once(seeder, outcome.acknowledged)
        assert len(outcome.acknowledged) + len(outcome.conflicts) == len(instance_ids)
    assert_all_completed(seeder, instance_ids, len(rounds) * len(instance_ids))


def assert_all_completed(seeder: Seeder, instance_ids: list[int], completions: int) -> None:
    """Every sample approval of the run ended, with `completions` task completions in all, and `canbo check` holds."""
    completed = seeder.scalar(
        "SELECT count(*) FROM process_instances WHERE status = 'completed' AND id = ANY(:ids)", ids=instance_ids
    )
    assert completed == len(instance_ids)
    assert assert_consistent(seeder).completions == completions
