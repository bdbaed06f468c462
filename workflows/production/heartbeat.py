"""Worker heartbeats: each `canbo worker` process writes its row after every poll."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.production.models import WorkerHeartbeat

# Rows of workers gone this long are deleted by the live ones: a host renamed or a pid reused leaves no clutter.
FORGET_AFTER = timedelta(days=1)


@dataclass
class WorkerIdentity:
    hostname: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_dt: datetime = field(default_factory=utcnow_naive)

    @property
    def worker_id(self) -> str:
        return f"{self.hostname[:100]}:{self.pid}"


def beat(session_factory: sessionmaker[Session], worker: WorkerIdentity, jobs_done: int) -> None:
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
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_dt < now - FORGET_AFTER))


def heartbeats(session: Session) -> list[WorkerHeartbeat]:
    return list(session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_dt.desc())))
