"""The app's CPU per read of issue #9's mix, in-process (decision 0093): after `bench/load.py` has built its
database (and left it as its run ended), each read kind of `READ_MIX` is sent through the Flask test client as
the load sends it — the instance page as officer1, the inspector's history as auditor1, both inboxes, the API's
instance — and the API completion (`complete`: the sample approvals' and the monthly evaluations' steps in order, by
the right person, as the load completes them; each run uses up some of the open work, --part K/N keeps two runs at
the same time on disjoint instances) — and timed with `time.process_time()` (the machine is shared: wall time would
count the waits for a core). With --production the app logs its JSON request lines (to /dev/null) and counts its
metrics in files, as under `canbo serve`. Rounds of --requests per kind, kinds interleaved; prints each kind's
median and spread of the rounds. --profile KIND runs that kind under cProfile instead and prints the top of the
profile.

Usage: python bench/views.py [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/canbo_load]
       [--rounds 5] [--requests 40] [--profile history] [--sort tottime] [--lines 45] [--production]
       [--part 1/2]
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.load import EVALUATION_STEPS, SAMPLE_STEPS  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from workflows.production.logs import use_json_lines  # noqa: E402
from workflows.registry.demo import DEMO_PASSWORD  # noqa: E402
from workflows.registry.models import User  # noqa: E402
from workflows.registry.tokens import create_token  # noqa: E402

# Each procedure's steps as bench/load.py completes them: (user, None for the task's assignee; data; next task key).
COMPLETION_STEPS = {"sample_approval": SAMPLE_STEPS, "monthly_evaluation": EVALUATION_STEPS}


def _signed_in(client: FlaskClient, username: str) -> FlaskClient:
    page = client.get("/auth/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "no CSRF token on the sign-in page"
    answer = client.post(
        "/auth/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": match.group(1)}
    )
    assert answer.status_code == 302, f"{username} was not signed in"
    return client


def completions_of(app: Flask, part: tuple[int, int], rng: random.Random) -> Callable[[], int]:
    """A callable completing one open step of a sample approval or a monthly evaluation through the API, as the
    load's clients do: a chain's next step (60 %) or the first step of an instance not yet moved (the `part[0]`-th
    of every `part[1]` first tasks). Each first step is taken once; the next one comes from the answer."""
    number, parts = part
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT t.id, t.process_id, u.username FROM human_tasks t LEFT JOIN users u ON u.id = t.assignee_id "
                "WHERE t.status = 'open' AND t.task_key IN ('submit_request', 'self_assessment') ORDER BY t.id"
            )
        ).all()
        rows = [row for row in rows if row[0] % parts == number - 1]
        tokens: dict[str, str] = {}
        people = {"officer1", "supervisor1", "head1", *(row[2] for row in rows if row[2])}
        for user in db.session.scalars(select(User).where(User.username.in_(people))):
            tokens[user.username] = create_token(db.session, user, "bench views")
        db.session.commit()
    queue = [(row[0], row[1], row[2], 0) for row in rows]
    rng.shuffle(queue)
    pending: list[tuple[int, str, str | None, int]] = []
    api = app.test_client()

    def complete() -> int:
        task_id, process_id, owner, number = pending.pop(0) if pending and rng.random() < 0.6 else queue.pop()
        user, data, next_key = COMPLETION_STEPS[process_id][number]
        answer = api.post(
            f"/api/v1/tasks/{task_id}/complete",
            json=data,
            headers={"Authorization": f"Bearer {tokens[user or owner or 'officer1']}", "Accept": "application/json"},
        )
        if answer.status_code == 200 and next_key:
            following = [t["id"] for t in answer.get_json()["open_tasks"] if t["task_key"] == next_key]
            if not following:
                return -2  # the data took another path: not the load's chain
            pending.append((following[0], process_id, owner, number + 1))
        return answer.status_code

    return complete


def requests_of(app: Flask, seed: int = 7, part: tuple[int, int] = (1, 1)) -> dict[str, Callable[[], int]]:
    """One callable per kind; each sends one request like the load's clients and returns its status."""
    rng = random.Random(seed)
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT i.id, i.process_id, count(e.id) FROM process_instances i "
                "LEFT JOIN audit_events e ON e.instance_id = i.id GROUP BY i.id"
            )
        ).all()
        officer = db.session.scalars(select(User).where(User.username == "officer1")).one()
        token = create_token(db.session, officer, "bench views")
        db.session.commit()
    # Instances the load has moved on (more history): officer1's sample approvals, and every procedure's.
    samples = [row[0] for row in rows if row[1] == "sample_approval" and row[2] > 3][:50] or [
        row[0] for row in rows if row[1] == "sample_approval"
    ][:50]
    inspected = [row[0] for row in sorted(rows, key=lambda row: -row[2])[:200]]
    officer_page = _signed_in(app.test_client(), "officer1")
    supervisor_page = _signed_in(app.test_client(), "supervisor1")
    inspector = _signed_in(app.test_client(), "auditor1")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return {
        "inbox_api": lambda: api.get("/api/v1/tasks", headers=bearer).status_code,
        "inbox_page": lambda: rng.choice((officer_page, supervisor_page)).get("/inbox").status_code,
        "instance": lambda: officer_page.get(f"/instances/{rng.choice(samples)}").status_code,
        "instance_api": lambda: api.get(f"/api/v1/instances/{rng.choice(samples)}", headers=bearer).status_code,
        "history": lambda: inspector.get(f"/audit/instances/{rng.choice(inspected)}").status_code,
        "complete": completions_of(app, part, rng),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_load")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=45, help="how many lines of the profile to print")
    parser.add_argument("--callers", default=None, help="also print the callers of the functions matching this")
    parser.add_argument("--callees", default=None, help="also print what the functions matching this call")
    parser.add_argument("--production", action="store_true", help="JSON request log lines and file-backed metrics")
    parser.add_argument("--part", default="1/1", help="K/N: complete only the K-th of every N instances")
    args = parser.parse_args()
    if args.production:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="canbo-views-metrics-")
    app = create_app(
        {
            "LOG_FORMAT": "json" if args.production else "text",
            "SECRET_KEY": "bench-views",
            "SQLALCHEMY_DATABASE_URI": args.postgres_url,
            "DEPLOY_ON_STARTUP": False,
            "BPMN_DIR": str(ROOT / "bpmn"),
            "FORMS_DIR": str(ROOT / "forms"),
            "UPLOAD_DIR": tempfile.mkdtemp(prefix="canbo-views-"),
        }
    )
    if args.production:
        use_json_lines(open(os.devnull, "w"), level=logging.INFO)  # noqa: SIM115 -- lives as long as the run
    number, parts = (int(value) for value in args.part.split("/"))
    kinds = requests_of(app, part=(number, parts))
    for send in kinds.values():  # warm up: compiled templates, parsed versions, prepared statements
        for _ in range(5):
            assert send() == 200
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(args.requests * args.rounds):
            kinds[args.profile]()
        profile.disable()
        stats = pstats.Stats(profile).sort_stats(args.sort)
        stats.print_stats(args.lines)
        if args.callers:
            stats.print_callers(args.callers)
        if args.callees:
            stats.print_callees(args.callees)
        return
    rounds: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind, send in kinds.items():
            started = time.process_time()
            for _ in range(args.requests):
                send()
            rounds[kind].append((time.process_time() - started) * 1000 / args.requests)
    print(f"{'kind':<14}{'median ms':>10}{'min':>8}{'max':>8}   (app CPU per request, {args.rounds} rounds)")
    for kind, values in rounds.items():
        print(f"{kind:<14}{statistics.median(values):>10.2f}{min(values):>8.2f}{max(values):>8.2f}")


if __name__ == "__main__":
    main()
