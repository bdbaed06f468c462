"""The timer worker: finds instances whose next timer is due and advances each in its own transaction.

PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several workers share the due work without waiting on each other and
no timer is fired twice. SQLite: one writer at a time anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from workflows.clock import utcnow_naive
from workflows.db import is_sqlite
from workflows.engine.operations import fire_due_timers, record_failure
from workflows.engine.runtime import ProcessEngine
from workflows.errors import ScriptFailure
from workflows.models import ProcessInstance
from workflows.states import InstanceStatus

log = logging.getLogger(__name__)

# A failing instance is retried later rather than on every poll, so one broken model cannot starve the rest.
RETRY_AFTER_FAILURE = timedelta(minutes=5)


@dataclass
class TimerRun:
    instances: int = 0
    timers_fired: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def _claim_next_due(session: Session, skip: set[int]) -> int | None:
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.next_timer_at <= utcnow_naive())
        .order_by(ProcessInstance.next_timer_at)
        .limit(1)
    )
    if skip:
        query = query.where(ProcessInstance.id.not_in(skip))
    if not is_sqlite(session):
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def run_due_timers(session_factory: sessionmaker[Session], engine: ProcessEngine, limit: int = 1000) -> TimerRun:
    """Process up to `limit` due instances, one transaction each; returns what happened."""
    run = TimerRun()
    skip: set[int] = set()
    while run.instances + len(run.failures) < limit:
        with session_factory() as session:
            instance_id = _claim_next_due(session, skip)
            if instance_id is None:
                session.rollback()
                break
            started = (time.perf_counter(), time.process_time())
            try:
                fired = fire_due_timers(session, engine, instance_id)
                session.commit()
            except ScriptFailure as failure:
                session.rollback()
                _note_failure(session, instance_id, failure)
                run.failures.append((instance_id, str(failure)))
                skip.add(instance_id)
                _log_job(instance_id, started, fired=0, error=str(failure))
                continue
            _log_job(instance_id, started, fired=len(fired))
            run.instances += 1
            run.timers_fired += len(fired)
            if not fired:
                # Due but nothing fired (a clock skew or an already-handled timer): the save above recomputed
                # next_timer_at; make sure we do not spin on it.
                skip.add(instance_id)
    return run


def _log_job(instance_id: int, started: tuple[float, float], *, fired: int, error: str | None = None) -> None:
    """One line per job; as JSON under `canbo worker` in production (workflows/production/logs.py). `started`:
    the job's start on the wall clock and on the process's CPU clock."""
    wall, cpu = started
    log.info(
        "timer job",
        extra={
            "event": "job",
            "job": "timers",
            "instance_id": instance_id,
            "fired": fired,
            "duration_ms": round((time.perf_counter() - wall) * 1000, 2),
            "cpu_ms": round((time.process_time() - cpu) * 1000, 2),
            "error": error,
        },
    )


def _note_failure(session: Session, instance_id: int, failure: ScriptFailure) -> None:
    log.warning("timer step of instance %s failed: %s", instance_id, failure)
    try:
        record_failure(session, actor=None, instance_id=instance_id, error=failure)
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(next_timer_at=utcnow_naive() + RETRY_AFTER_FAILURE)
        )
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not record the failure of instance %s", instance_id)
