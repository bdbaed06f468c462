"""Two app hosts on one PostgreSQL database, behind a balancer without affinity (issue #9: "the same code scales out
by processes and hosts"), and one of them stopped mid-load as a rolling upgrade stops it (docs/deploy.md,
"Upgrades": the app hosts one at a time).

Each `canbo serve` here is a host of its own: its own processes, its own metrics directory, nothing shared but the
database and the settings every host is given (SECRET_KEY, AUDIT_ANCHOR_KEY). A person signed in on one host is
signed in on the other; a form token from one host's page is accepted by the other; completions spread over both
are each in the database exactly once; when one host stops (SIGTERM: gunicorn finishes what it has in hand), the
balancer sends everything to the other and nothing is lost or done twice."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import threading
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.resilience.harness import (
    SCALE,
    Answer,
    Http,
    Seeder,
    Server,
    answered,
    assert_every_round_done,
    complete_all,
    fresh_database,
    open_jobs,
    serve,
)
from workflows.registry.demo import DEMO_PASSWORD

pytestmark = pytest.mark.resilience

INSTANCES = 100 * SCALE  # two completions each


class Balancer:
    """What a reverse proxy without affinity does: each request to the next host in turn; a host that does not
    answer (connection refused: it has stopped) is taken out and the request sent to the next one."""

    def __init__(self, *hosts: Http) -> None:
        self.hosts = list(hosts)
        self.down: set[int] = set()
        self.served: Counter[int] = Counter()
        self._turn = 0
        self._lock = threading.Lock()

    def call(self, method: str, path: str, token: str | None = None, payload: Any = None) -> Answer:
        answer = Answer(0)
        for _ in range(len(self.hosts)):
            with self._lock:
                up = [host for host in self.hosts if host.port not in self.down]
                if not up:
                    break
                host = up[self._turn % len(up)]
                self._turn += 1
            answer = host.call(method, path, token, payload)
            if answer.status != 0:
                with self._lock:
                    self.served[host.port] += 1
                return answer
            with self._lock:
                self.down.add(host.port)
        return answer


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "no form token on the page"
    return found.group(1)


def _signed_in_on(host: Server, username: str) -> urllib.request.OpenerDirector:
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{host.port}"
    page = browser.open(f"{base}/auth/login", timeout=30).read().decode()
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": _csrf(page)}
    landed = browser.open(f"{base}/auth/login", data=urllib.parse.urlencode(form).encode(), timeout=30)
    assert landed.geturl().endswith("/inbox"), landed.geturl()
    return browser


def test_two_app_hosts_share_the_people_and_the_work_and_one_stops_mid_load(run_dir: Path, figures: Any) -> None:
    url = fresh_database("res_hosts")
    seeder = Seeder(url)
    try:
        instance_ids = seeder.start("sample_approval", INSTANCES)
        tokens = {name: seeder.token(name) for name in ("officer1", "supervisor1")}
        with serve(url, run_dir) as first, serve(url, run_dir) as second:
            # Signed in on the first host, the same browser is signed in on the second: the session is a cookie
            # signed with the key every host shares, not something one host remembers.
            browser = _signed_in_on(first, "officer1")
            inbox = browser.open(f"http://127.0.0.1:{second.port}/inbox", timeout=30)
            assert inbox.geturl().endswith("/inbox")  # not sent to the sign-in page
            # A form token handed out by the second host is accepted by the first (a balancer may send the page
            # and its submission to different hosts): choosing the language is a form like every other.
            page = browser.open(f"http://127.0.0.1:{second.port}/inbox", timeout=30).read().decode()
            chosen = browser.open(
                f"http://127.0.0.1:{first.port}/auth/language",
                data=urllib.parse.urlencode({"locale": "en", "csrf_token": _csrf(page), "next": "/inbox"}).encode(),
                timeout=30,
            )
            assert chosen.status == 200 and 'lang="en"' in chosen.read().decode()

            balancer = Balancer(first.http, second.http)
            submitted = complete_all(
                balancer,
                tokens,
                open_jobs(seeder, instance_ids, "submit_request", "officer1", {"subject_line": "Đề nghị"}),
            )
            assert set(balancer.served) == {first.port, second.port}  # both hosts took completions
            both_served = dict(balancer.served)

            stopped = threading.Event()

            def stop_first_host_halfway(progress: int) -> None:
                if progress >= INSTANCES // 2 and not stopped.is_set():
                    stopped.set()
                    first.process.send_signal(signal.SIGTERM)  # a rolling upgrade stops one host

            reviewed = complete_all(
                balancer,
                tokens,
                open_jobs(seeder, instance_ids, "review_request", "supervisor1", {"decision": "approve"}),
                on_progress=stop_first_host_halfway,
            )
            first.process.wait(timeout=30)
            assert stopped.is_set() and first.port in balancer.down
            assert second.http.call("GET", "/healthz?check=app").status == 200
        assert_every_round_done(seeder, instance_ids, submitted, reviewed)
        figures(
            operations=f"{2 * INSTANCES} completions over 2 app hosts",
            answers=answered(submitted, reviewed),
            seconds=submitted.seconds + reviewed.seconds,
            outages=(
                f"first round by host {sorted(both_served.values())}; one host stopped (SIGTERM) halfway through "
                f"the second, {reviewed.no_answer} answer(s) lost and retried, {len(reviewed.conflicts)} retried "
                "into a 409 (had committed)"
            ),
        )
    finally:
        seeder.close()
