"""`canbo check`: the invariants that must hold whatever crashed, was killed or retried.

1. The inbox matches the engine: every open human_task is a READY user task of its running instance's stored state,
   and every READY user task of a running instance has exactly one open human_task. A finished instance has none.
2. Every audit chain verifies (hashes, sequence, head on the instance or chain row).
3. No instance was advanced twice: each completed human_task has exactly one `task_completed` event on its
   instance's chain, no task has two, and no open or cancelled task has one. (Two advances from the same state
   cannot both commit — the instance UPDATE checks lock_version — so a duplicate here means a double submission
   got through.)

Reads only; the whole check runs in one read transaction. Cost: one engine load per running instance, so on a
large database run it off-peak or on the reporting replica.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from workflows.audit import verify_chains
from workflows.engine.runtime import ProcessEngine
from workflows.models import AuditEvent, HumanTask, ProcessInstance
from workflows.states import EventType, InstanceStatus, TaskStatus

INBOX = "inbox"
AUDIT = "audit"
ADVANCES = "advances"

_BATCH = 500


@dataclass(frozen=True)
class Finding:
    invariant: str
    instance_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"instance {self.instance_id}: " if self.instance_id is not None else ""
        return f"[{self.invariant}] {where}{self.message}"


@dataclass
class CheckReport:
    instances: int = 0
    open_tasks: int = 0
    chains: int = 0
    events: int = 0
    completions: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def check_consistency(session: Session, engine: ProcessEngine) -> CheckReport:
    report = CheckReport()
    _check_inbox(session, engine, report)
    _check_audit(session, report)
    _check_advances(session, report)
    session.rollback()
    return report


# -- 1. inbox vs engine ---------------------------------------------------------------------------------------------


def _running_instances(session: Session) -> Iterator[list[ProcessInstance]]:
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.id > last_id)
                .order_by(ProcessInstance.id)
                .limit(_BATCH)
            )
        )
        if not batch:
            return
        yield batch
        last_id = batch[-1].id
        session.expunge_all()  # states are large; keep one batch in memory


def _check_inbox(session: Session, engine: ProcessEngine, report: CheckReport) -> None:
    for batch in _running_instances(session):
        ids = [instance.id for instance in batch]
        open_rows: dict[int, list[str]] = defaultdict(list)
        for instance_id, spiff_task_id in session.execute(
            select(HumanTask.instance_id, HumanTask.spiff_task_id).where(
                HumanTask.instance_id.in_(ids), HumanTask.status == TaskStatus.OPEN
            )
        ):
            open_rows[instance_id].append(spiff_task_id)
        for instance in batch:
            report.instances += 1
            rows = open_rows.get(instance.id, [])
            report.open_tasks += len(rows)
            try:
                workflow = engine.load(engine.definition(session, instance.process_version_id), instance)
            except Exception as error:  # a state the engine cannot read is itself a finding
                report.findings.append(Finding(INBOX, instance.id, f"the stored state cannot be loaded: {error}"))
                continue
            ready = engine.ready_task_ids(workflow)
            for spiff_task_id in sorted(set(rows) - ready):
                report.findings.append(
                    Finding(INBOX, instance.id, f"open inbox task {spiff_task_id} is not READY in the engine")
                )
            for spiff_task_id in sorted(ready - set(rows)):
                report.findings.append(
                    Finding(INBOX, instance.id, f"READY engine task {spiff_task_id} has no open inbox task")
                )
            for spiff_task_id in sorted({t for t in rows if rows.count(t) > 1}):
                report.findings.append(
                    Finding(
                        INBOX,
                        instance.id,
                        f"engine task {spiff_task_id} has {rows.count(spiff_task_id)} open inbox tasks",
                    )
                )
    finished = session.execute(
        select(HumanTask.instance_id, func.count())
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.status == TaskStatus.OPEN, ProcessInstance.status != InstanceStatus.RUNNING)
        .group_by(HumanTask.instance_id)
    )
    for instance_id, count in finished:
        report.findings.append(
            Finding(INBOX, instance_id, f"the instance has ended but {count} inbox task(s) are open")
        )


# -- 2. audit chains ------------------------------------------------------------------------------------------------


def _check_audit(session: Session, report: CheckReport) -> None:
    verified = verify_chains(session)
    report.chains, report.events = verified.chains, verified.events
    for chain_break in verified.breaks:
        instance_id = None
        if chain_break.chain_key.startswith("instance:"):
            instance_id = int(chain_break.chain_key.split(":", 1)[1])
        report.findings.append(Finding(AUDIT, instance_id, str(chain_break)))


# -- 3. each task completed once --------------------------------------------------------------------------------------


def _check_advances(session: Session, report: CheckReport) -> None:
    completed_events = (
        select(AuditEvent.human_task_id, func.count().label("times"))
        .where(AuditEvent.event_type == EventType.TASK_COMPLETED, AuditEvent.human_task_id.is_not(None))
        .group_by(AuditEvent.human_task_id)
        .subquery()
    )
    rows = session.execute(
        select(HumanTask.id, HumanTask.instance_id, HumanTask.status, completed_events.c.times)
        .outerjoin(completed_events, completed_events.c.human_task_id == HumanTask.id)
        .where(
            (HumanTask.status == TaskStatus.COMPLETED)
            | and_(HumanTask.status != TaskStatus.COMPLETED, completed_events.c.times.is_not(None))
        )
        .execution_options(yield_per=5000)
    )
    for task_id, instance_id, status, times in rows:
        if status == TaskStatus.COMPLETED:
            report.completions += 1
        if status == TaskStatus.COMPLETED and times == 1:
            continue
        if status != TaskStatus.COMPLETED:
            message = f"task {task_id} is {status} but was recorded as completed {times} time(s)"
        elif times is None:
            message = f"task {task_id} is completed but no completion is recorded"
        else:
            message = f"task {task_id} was completed {times} times"
        report.findings.append(Finding(ADVANCES, instance_id, message))
