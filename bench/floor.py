"""The floor under issue #9's targets (decision 0124): what one HTTP request costs this stack when its view does
almost nothing, and how many completions per second the mix could reach at best on this machine from that alone.

What runs: a fresh PostgreSQL database (--postgres-url) with the demo organisation and bpmn/ deployed (no
procedure started), `canbo serve --workers N` as `bench/load.py` starts it (JSON request log, file-backed metrics),
and --clients closed-loop client processes sending, one kind after the other for --duration seconds each,
  static   GET /static/favicon.svg        (gunicorn and Flask with the app's request hooks and log line; no database)
  api_token GET /api/v1/audit/verify     (as officer1: the bearer token read with its user and roles, then refused,
                                           403 — less than any request of the mix does: each is signed in and reads
                                           what it shows)
with the load's own client (a new loopback connection per request, as a proxy talks to gunicorn's sync workers).
It measures the CPU per answered request of the gunicorn workers, the PostgreSQL backends and the clients, and the
raw SpiffWorkflow advance of each shipped procedure on one core (as `bench/load.py` does).

The ceiling: in issue #9's mix a completion comes with 1/0.6 requests (40 % of the requests are reads). Each of them
pays at least the api_token floor, and the completion at least its engine advance. So at most
    cores / (floor per request × requests per completion + raw advance)
completions per second fit on this machine, whatever the views do beyond that — printed against the target of 300/s
and, divided by the raw single-core rate, against the target ratio of 50 %. The raw advance taken is the cheapest
procedure's (the most generous ceiling); the load's own mix costs more per advance.

Usage: python bench/floor.py [--duration 15] [--clients 4] [--workers 4] [--cores 2]
       [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/canbo_floor]
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402
    RAW_MODELS,
    READ_MIX,
    TARGET_RATE,
    TARGET_RAW_SHARE,
    cpu_snapshot,
    cpu_used,
    exchange,
    free_port,
    prepare,
    raw_rate,
    require_local_database,
    start_server,
)


def completion_ceiling(floor_ms: float, raw_ms: float, read_share: float, cores: float) -> float:
    """The most completions per second `cores` can carry when each request of the mix costs at least `floor_ms` of
    CPU (app, database and client together) and each completion also its engine advance, `raw_ms`."""
    requests_per_completion = 1 / (1 - read_share)
    return cores * 1000 / (floor_ms * requests_per_completion + raw_ms)


# kind: (path, the status its answer must have)
KINDS = {"static": ("/static/favicon.svg", 200), "api_token": ("/api/v1/audit/verify", 403)}


def client(port: int, kind: str, token: str, duration: float, out: Any, go: Any) -> None:
    path, expected = KINDS[kind]
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\nConnection: close\r\n\r\n"
    ).encode()
    go.wait(timeout=120)
    cpu_started = time.process_time()
    stop_at, answered, failed = time.monotonic() + duration, 0, 0
    while time.monotonic() < stop_at:
        try:
            status, _body = exchange(port, request)
        except OSError:
            status = -1
        if status == expected:
            answered += 1
        else:
            failed += 1
    out.put((answered, failed, time.process_time() - cpu_started))


def measure(port: int, kind: str, token: str, args: argparse.Namespace, server_pid: int) -> dict[str, float]:
    """The CPU per answered request of `kind` (app, database, clients), printed."""
    out: multiprocessing.Queue[Any] = multiprocessing.Queue()
    go = multiprocessing.Event()
    processes = [
        multiprocessing.Process(target=client, args=(port, kind, token, args.duration, out, go))
        for _ in range(args.clients)
    ]
    for process in processes:
        process.start()
    before = cpu_snapshot(server_pid, args.postgres_url)
    started = time.monotonic()
    go.set()
    collected = [out.get(timeout=args.duration + 120) for _ in processes]
    wall = time.monotonic() - started
    used = cpu_used(before, cpu_snapshot(server_pid, args.postgres_url))
    for process in processes:
        process.join(timeout=30)
    answered, failed = sum(item[0] for item in collected), sum(item[1] for item in collected)
    if not answered:
        raise SystemExit(f"no {kind} request was answered as expected")
    parts = {"app": used["app"], "database": used["database"], "clients": sum(item[2] for item in collected)}
    per_request = {part: seconds / answered * 1000 for part, seconds in parts.items()}
    path = KINDS[kind][0]
    print(
        f"{kind:<9} GET {path}: {answered} answered in {wall:.1f} s ({answered / wall:.0f}/s), failed {failed}; "
        "CPU per request "
        + ", ".join(f"{part} {ms:.2f}" for part, ms in per_request.items())
        + f", {sum(per_request.values()):.2f} ms in all"
    )
    return per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_floor")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each kind")
    parser.add_argument("--cores", type=float, default=2.0, help="the cores the target is set for")
    parser.add_argument("--raw-instances", type=int, default=300)
    args = parser.parse_args()
    require_local_database(args.postgres_url, "floor")

    raw = {procedure: raw_rate(procedure, args.raw_instances)[0] for procedure in RAW_MODELS}
    print(
        "raw SpiffWorkflow advance, one core: "
        + ", ".join(f"{RAW_MODELS[procedure][1]} {rate:.0f}/s" for procedure, rate in raw.items())
    )
    setup = prepare(args.postgres_url, 0, 0, 0, 0, 0)
    log_dir = Path(tempfile.mkdtemp(prefix="canbo-floor-"))
    port = free_port()
    server = start_server(args.postgres_url, args.workers, port, log_dir)
    print(f"\nfloor: {args.clients} clients (closed loop) → canbo serve --workers {args.workers}, PostgreSQL, loopback")
    try:
        floors = {kind: measure(port, kind, setup["tokens"]["officer1"], args, server.pid) for kind in KINDS}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    floor_ms = sum(floors["api_token"].values())
    read_share = sum(READ_MIX.values())
    cheapest = max(raw, key=lambda procedure: raw[procedure])
    ceiling = completion_ceiling(floor_ms, 1000 / raw[cheapest], read_share, args.cores)
    ratio = ceiling / raw[cheapest]
    print(
        f"ceiling on {args.cores:g} cores for the mix ({read_share:.0%} reads; every request at least the api_token "
        f"floor, every completion also the cheapest raw advance, {RAW_MODELS[cheapest][1]}'s): "
        f"{ceiling:.0f} completions/s (target {TARGET_RATE:.0f}/s: {_verdict(ceiling >= TARGET_RATE)}), "
        f"{ratio:.0%} of that raw rate (target {TARGET_RAW_SHARE:.0%}: {_verdict(ratio >= TARGET_RAW_SHARE)})"
    )


def _verdict(reachable: bool) -> str:
    return "within reach" if reachable else "OUT OF REACH"


if __name__ == "__main__":
    main()
