"""The load benchmark's own HTTP client (bench/load.py `exchange`), against a real server on loopback; its report's
arithmetic; and the completions it posts."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import ALL_STEPS, PROCEDURES, completion_budget, cores_needed, exchange, view_cpu
from bench.load_procedures import FIRST_TASKS, step_data
from workflows.deployment.validation import BundleFile, build_parser
from workflows.engine.operations import unknown_form_fields

ROOT = Path(__file__).resolve().parents[2]


def _serve_once(answer: bytes, *, close_after: bool = True) -> tuple[int, threading.Thread, list[bytes]]:
    """A one-connection server: reads the request's head, records it and sends `answer`."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen: list[bytes] = []

    def run() -> None:
        with listener, listener.accept()[0] as connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            seen.append(request)
            connection.sendall(answer)
            if not close_after:
                connection.recv(1)  # keep the connection open until the client closes it

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, seen


@pytest.fixture
def joined() -> Iterator[list[threading.Thread]]:
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_it_returns_the_status_and_exactly_the_body_its_length_announces(joined: list[threading.Thread]) -> None:
    port, thread, seen = _serve_once(b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"a":1}')
    joined.append(thread)
    request = b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    assert exchange(port, request) == (200, b'{"a":1}')
    assert seen == [request]


def test_it_does_not_wait_for_the_server_to_close_once_the_body_is_complete(joined: list[threading.Thread]) -> None:
    # A server that keeps the connection open: reading to the end would block until the timeout.
    port, thread, _ = _serve_once(b"HTTP/1.1 409 CONFLICT\r\ncontent-length: 2\r\n\r\n{}", close_after=False)
    joined.append(thread)

    assert exchange(port, b"POST /x HTTP/1.1\r\nHost: x\r\n\r\n") == (409, b"{}")


def test_without_a_length_the_body_runs_to_the_close(joined: list[threading.Thread]) -> None:
    port, thread, _ = _serve_once(b"HTTP/1.0 302 FOUND\r\nLocation: /auth/login\r\n\r\nredirecting")
    joined.append(thread)

    assert exchange(port, b"GET /inbox HTTP/1.1\r\nHost: x\r\n\r\n") == (302, b"redirecting")


def test_an_answer_that_is_not_http_is_an_error(joined: list[threading.Thread]) -> None:
    port, thread, _ = _serve_once(b"SSH-2.0-OpenSSH\r\n")
    joined.append(thread)

    with pytest.raises(ConnectionError):
        exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def test_the_views_cpu_is_read_from_the_request_log_by_kind_and_procedure() -> None:
    lines = [
        "[2026-12-04 23:07:02 +0000] [10807] [INFO] Starting gunicorn 26.2.0",
        '{"event": "request", "endpoint": "api.complete_task", "process_id": "sample_approval", "cpu_ms": 3.5}',
        '{"event": "request", "endpoint": "api.complete_task", "process_id": "monthly_evaluation", "cpu_ms": 6}',
        '{"event": "request", "endpoint": "audit.instance", "cpu_ms": 8.25}',
        '{"event": "request", "endpoint": "auth.login", "cpu_ms": 40}',
        '{"event": "job", "job": "timers", "cpu_ms": 2}',  # not a request
        '{"event": "request", "endpoint": "inbox.index"}',  # logged by a server that does not measure CPU
        '{"event": "request", "endpoint": "api.list_tasks", "cpu_ms": 2.',  # cut off mid-line by a kill
    ]

    assert view_cpu(lines) == {
        "complete": [3.5, 6.0],
        "complete_sample": [3.5],
        "complete_evaluation": [6.0],
        "history": [8.25],
        "other": [40.0],
    }


def test_the_cores_needed_scale_the_runs_cpu_per_completion_to_the_target_rate() -> None:
    # 150 completions (and their share of reads) cost the app 3 s and the database 0.75 s of CPU: 20 ms and 5 ms a
    # completion, so 300 completions a second keep 6 and 1.5 cores busy.
    needed = cores_needed(300, {"app": 3.0, "database": 0.75}, 150)
    assert needed == pytest.approx({"app": 6.0, "database": 1.5})


def test_a_run_without_a_completion_needs_no_cores_rather_than_dividing_by_zero() -> None:
    assert cores_needed(300, {"app": 3.0, "database": 0.75}, 0) == {"app": 0.0, "database": 0.0}


def test_every_completion_the_load_posts_holds_only_fields_of_its_tasks_form() -> None:
    """The API refuses a key that is not a field of the task's form (422): each step's body, as the load sends it
    through `POST /api/v1/tasks/<id>/complete`, must hold nothing else, or the run counts errors instead of steps."""
    models = sorted((ROOT / "bpmn").glob("*.bpmn")) + sorted((ROOT / "bpmn").glob("*.dmn"))
    parser = build_parser([BundleFile(path.name, path.read_bytes()) for path in models])
    first = {"sample": "submit_request", "evaluation": "self_assessment", **FIRST_TASKS}
    checked = 0
    for process_id, procedure in PROCEDURES.items():
        specs = parser.get_spec(process_id).task_specs
        task_key: str | None = first[procedure]
        for step in ALL_STEPS[procedure]:
            assert task_key is not None
            form_file = specs[task_key].extensions["properties"]["formJsonSchemaFilename"]
            form = json.loads((ROOT / "forms" / form_file).read_text(encoding="utf-8"))
            body = step_data(step, {"owner": "head1", "post": 1})
            assert unknown_form_fields(body, form) == [], (procedure, task_key)
            task_key = step[2]
            checked += 1
    assert checked == sum(len(steps) for steps in ALL_STEPS.values())


def test_a_completions_budget_divides_everything_the_run_paid_for_by_its_completions() -> None:
    # 4 completions (3 + 5 + 4 + 4 = 16 ms of view CPU, repeated by procedure) and 6 reads (12 ms); the workers spent
    # 40 ms in all, so 12 ms outside any view; the database 8 ms, the clients 2 ms: 40 ms + 8 + 2 over 4 completions.
    views = {
        "complete": [3.0, 5.0, 4.0, 4.0],
        "complete_sample": [3.0, 5.0],
        "complete_evaluation": [4.0, 4.0],
        "inbox_api": [1.0, 1.0, 1.0],
        "history": [3.0, 6.0],
        "other": [0.0],
    }
    budget = completion_budget(views, {"app": 0.040, "database": 0.008, "clients": 0.002}, raw_rate=500, cores=2)

    assert budget is not None
    assert budget.parts == pytest.approx(
        {
            "the completion's view": 4.0,
            "the reads' views": 3.0,
            "outside the views": 3.0,
            "the database": 2.0,
            "the load's clients": 0.5,
        }
    )
    assert budget.total == pytest.approx(12.5)
    assert budget.requests_per_completion == pytest.approx(2.5)
    # Two cores give 2,000 ms of CPU a second: 300 completions/s may each cost 6.67 ms; half of a raw 500/s is
    # 250/s, 8 ms each; one raw advance is 2 ms.
    assert budget.allowed_for_rate == pytest.approx(2000 / 300)
    assert budget.allowed_for_share == pytest.approx(8.0)
    assert budget.raw_advance == pytest.approx(2.0)


def test_a_run_without_a_completion_or_a_raw_rate_has_no_budget() -> None:
    cpu = {"app": 0.04, "database": 0.008, "clients": 0.002}
    assert completion_budget({"inbox_api": [1.0]}, cpu, raw_rate=500, cores=2) is None
    assert completion_budget({"complete": [3.0]}, cpu, raw_rate=0.0, cores=2) is None
