"""Worker heartbeats: each `canbo worker` process writes its row after every poll."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.production.models import WorkerHeartbeat

# A worker silent this long is forgotten (CANBO_WORKER_FORGET_AFTER): left out of /healthz and /metrics, its row
# deleted by the live ones. A worker killed or restarted under a new pid would otherwise be reported, and alerted on,
# for ever (decision 0108). A worker that stops cleanly deletes its own row at once (`forget`).
FORGET_AFTER = timedelta(minutes=10)


def worker_forget_after(config: Mapping[str, Any]) -> timedelta:
    """WORKER_FORGET_AFTER (seconds), never shorter than WORKER_HEARTBEAT_MAX_AGE: a worker is reported late before
    it is forgotten."""
    seconds = float(config.get("WORKER_FORGET_AFTER", FORGET_AFTER.total_seconds()))
    return timedelta(seconds=max(seconds, float(config.get("WORKER_HEARTBEAT_MAX_AGE", 0))))


@dataclass
class WorkerIdentity:
    hostname: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_dt: datetime = field(default_factory=utcnow_naive)

    @property
    def worker_id(self) -> str:
        return f"{self.hostname[:100]}:{self.pid}"


def beat(
    session_factory: sessionmaker[Session],
    worker: WorkerIdentity,
    jobs_done: int,
    forget_after: timedelta = FORGET_AFTER,
) -> None:
    """Record that this worker is alive and has done `jobs_done` more jobs. Only this process writes its row."""
    now = utcnow_naive()
    with session_factory() as session, transaction(session):
        updated = session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.worker_id == worker.worker_id)
            .values(beat_dt=now, jobs=WorkerHeartbeat.jobs + jobs_done)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            session.add(
                WorkerHeartbeat(
                    worker_id=worker.worker_id,
                    hostname=worker.hostname[:255],
                    pid=worker.pid,
                    started_dt=worker.started_dt,
                    beat_dt=now,
                    jobs=jobs_done,
                )
            )
        if updated.rowcount == 0 or jobs_done == 0:  # type: ignore[attr-defined]
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_dt < now - forget_after))


def forget(session_factory: sessionmaker[Session], worker: WorkerIdentity) -> None:
    """This worker stops: its row goes with it."""
    with session_factory() as session, transaction(session):
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker.worker_id))


def heartbeats(session: Session, now: datetime, forget_after: timedelta = FORGET_AFTER) -> list[WorkerHeartbeat]:
    """The workers heard from within `forget_after`, the freshest first."""
    return list(
        session.scalars(
            select(WorkerHeartbeat)
            .where(WorkerHeartbeat.beat_dt >= now - forget_after)
            .order_by(WorkerHeartbeat.beat_dt.desc())
        )
    )
