"""The one table production mode adds. Kept in this package so that the feature stays in one place; the migration is
workflows/migrations/versions/*_worker_heartbeats.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workflows.db import Base


class WorkerHeartbeat(Base):
    """The last sign of life of one worker process, written on every poll; /healthz and /metrics read it.

    One row per process (host:pid): a worker that dies leaves its row to age, which is what the health check sees."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_dt: Mapped[datetime] = mapped_column(DateTime)
    beat_dt: Mapped[datetime] = mapped_column(DateTime, index=True)
    jobs: Mapped[int] = mapped_column(Integer, default=0)
