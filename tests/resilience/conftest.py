"""The resilience suite: faults injected into real processes on PostgreSQL (`-m resilience`; .ci/run runs it).

Not part of the default run (pytest's addopts deselect the marker, nothing is skipped): each test starts servers
and workers as subprocesses and takes tens of seconds. Without a PostgreSQL DATABASE_URL the tests fail, they do not
skip. The SMTP faults (unreachable, silent server) are covered by tests/workflows/test_notifications.py
(test_unreachable_server_backs_off_then_gives_up, test_a_server_that_never_answers_costs_one_timeout) and, with
timers due at the same time, by test_smtp_faults.py here. Each module sets `pytestmark = pytest.mark.resilience`.

Each test records its measured figures (operations, answers by status, seconds, outages) through the `figures`
fixture: they are printed in a "resilience figures" section at the end of the run and kept as the test's
properties (--junitxml). CANBO_RESILIENCE_SCALE multiplies the operation counts (harness.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.resilience.harness import SCALE

FIGURES = pytest.StashKey[list[tuple[str, dict[str, Any]]]]()


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """Logs and metrics files of the processes a test starts; outside pytest's tmp_path, which concurrent pytest
    sessions on a shared machine may prune while a server still writes there."""
    path = Path(tempfile.mkdtemp(prefix="canbo-resilience-"))
    yield path
    if not os.environ.get("CANBO_KEEP_RUN_DIR"):  # set it to read the servers' logs after a failure
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """figures(operations=..., answers={status: count}, seconds=..., outages=...): what the test measured."""

    def record(**values: Any) -> None:
        for name, value in values.items():
            request.node.user_properties.append((name, value))
        request.config.stash.setdefault(FIGURES, []).append((request.node.name, values))

    return record


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recorded = config.stash.get(FIGURES, [])
    if not recorded:
        return
    terminalreporter.section(f"resilience figures (CANBO_RESILIENCE_SCALE={SCALE})")
    for name, values in recorded:
        shown = ", ".join(
            f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}" for key, value in values.items()
        )
        terminalreporter.write_line(f"{name} — {shown}")
