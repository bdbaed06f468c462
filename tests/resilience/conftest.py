"""The resilience suite: faults injected into real processes on PostgreSQL (`-m resilience`; .ci/run runs it).

Not part of the default run (pytest's addopts deselect the marker, nothing is skipped): each test starts servers
and workers as subprocesses and takes tens of seconds. Without a PostgreSQL DATABASE_URL the tests fail, they do not
skip. The SMTP faults (unreachable, silent server) are covered by tests/workflows/test_notifications.py
(test_unreachable_server_backs_off_then_gives_up, test_a_server_that_never_answers_costs_one_timeout) and, with
timers due at the same time, by test_smtp_faults.py here. Each module sets `pytestmark = pytest.mark.resilience`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """Logs and metrics files of the processes a test starts; outside pytest's tmp_path, which concurrent pytest
    sessions on a shared machine may prune while a server still writes there."""
    path = Path(tempfile.mkdtemp(prefix="canbo-resilience-"))
    yield path
    if not os.environ.get("CANBO_KEEP_RUN_DIR"):  # set it to read the servers' logs after a failure
        shutil.rmtree(path, ignore_errors=True)
