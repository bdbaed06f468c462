"""Persistent shape of process definitions, their running instances, the inbox projection and the audit trail.

Definition vs runtime: a *process version* is an immutable deployed model; a *process instance* runs one version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.clock import utcnow_naive
from workflows.db import Base
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import InstanceStatus, TaskStatus


class ProcessVersion(Base):
    """One deployed version of one executable BPMN process, with every file it was deployed from."""

    __tablename__ = "process_versions"
    # A content hash may recur: an earlier version used again is deployed anew as the next version (decision 0055).
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    # {"filename": "xml text"} of the BPMN and DMN files, and {"filename": "json text"} of the forms they name.
    files: Mapped[dict] = mapped_column(JSON, deferred=True)
    forms: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    # Set on the latest version when the procedure is withdrawn from use (decision 0050): nothing new starts from
    # it, the running instances go on; a newer version deployed is in use again.
    retired_dt: Mapped[datetime | None] = mapped_column(DateTime)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_reason: Mapped[str | None] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<ProcessVersion {self.process_id} v{self.version}>"


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        UniqueConstraint("process_id", "business_key"),
        Index("ix_process_instances_due_timers", "status", "next_timer_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    # Optional caller-chosen key that makes a start idempotent (e.g. one evaluation per cadre per month).
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=InstanceStatus.RUNNING, index=True)
    subject_cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadres.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    ended_dt: Mapped[datetime | None] = mapped_column(DateTime)
    # The serialized SpiffWorkflow state is the source of truth; the spec is referenced, not embedded.
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    next_timer_at: Mapped[datetime | None] = mapped_column(DateTime)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Head of this instance's audit hash chain, kept on the row the advance locks and updates anyway.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    # The case in a few of its values, as the model's `caseSummary` names them ([[key, value, title], ...]): what a row
    # says the procedure is about ("Mua máy tính · 35.000.000") without reading its state (decision 0144).
    summary: Mapped[list | None] = mapped_column(JSON)

    process_version: Mapped[ProcessVersion] = relationship()
    subject: Mapped[Cadre | None] = relationship()
    unit: Mapped[OrgUnit | None] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def reference(self) -> str:
        return f"{self.process_id}#{self.id}"

    def __repr__(self) -> str:
        return f"<ProcessInstance {self.reference} {self.status}>"


class HumanTask(Base):
    """The inbox: one row per user task SpiffWorkflow holds READY, kept in step with the state in each advance."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # A person's open tasks in the inbox's default order ("due"): the first page is read from the index, not
        # sorted out of every open task they hold (thousands for a supervisor; migration 20261203_1100).
        Index(
            "ix_human_tasks_own_by_due",
            "status",
            "assignee_id",
            text("(due_dt IS NULL)"),
            "due_dt",
            "opened_dt",
            "id",
        ),
        Index("ix_human_tasks_open_group", "status", "candidate_role", "candidate_unit_id"),
        Index("ix_human_tasks_instance_status", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    task_key: Mapped[str] = mapped_column(String(120))  # the BPMN element id
    name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(120))
    form_filename: Mapped[str | None] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(120))
    process_name: Mapped[str] = mapped_column(String(255))
    subject_cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadres.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    candidate_role: Mapped[str | None] = mapped_column(String(20))
    candidate_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_dt: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN)
    opened_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    closed_dt: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignment_problem: Mapped[str | None] = mapped_column(Text)

    instance: Mapped[ProcessInstance] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN

    def __repr__(self) -> str:
        return f"<HumanTask {self.id} {self.task_key} {self.status}>"


class AuditChain(Base):
    """Head of a chain that has no owning row (the system chain). Instance chains keep their head on the instance.

    Appends lock the head, so a chain can never fork; verify checks the tail against it.
    """

    __tablename__ = "audit_chains"

    chain_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only. Each event hashes the previous event's hash and its own canonical JSON."""

    __tablename__ = "audit_events"
    # (actor_id, id): the log searched by who acted, newest first, reads that person's events from the index.
    __table_args__ = (UniqueConstraint("chain_key", "seq"), Index("ix_audit_events_actor", "actor_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_key: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(40), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(80))
    occurred_dt: Mapped[datetime] = mapped_column(DateTime)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.chain_key}#{self.seq} {self.event_type}>"


class TaskDraft(Base):
    """What a person typed into a task form and saved without submitting. It never outlives its task: the trigger
    human_tasks_drafts_go_when_closed deletes it in the statement that moves the task's row out of "open", whichever
    way the task closed (decision 0085; migration e2b9c4d7a810). It goes
    with the task when the task is handed to another person (decision 0084): `user_id` is whose it is now — the only
    person shown it —, `saved_by_id` who saved it when that was someone else (None when they saved it themselves)."""

    __tablename__ = "task_drafts"

    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    data: Mapped[dict] = mapped_column(JSON)
    saved_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)


class Comment(Base):
    """A remark on an instance (also the required comment of a return or a rejection). Kept out of workflow data:
    a growing list in task data makes the state grow quadratically."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    author: Mapped[User] = relationship()


class Attachment(Base):
    """A file uploaded for a task; stored outside the workflow state, named by its SHA-256 in the upload folder."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    field_name: Mapped[str | None] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    instance: Mapped[ProcessInstance] = relationship()


class Notification(Base):
    """In-app notification, also e-mailed by the worker (after the commit that caused it) unless the user opted out."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_dt"),
        Index("ix_notifications_email_pending", "email_status"),
        UniqueConstraint("user_id", "kind", "human_task_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))  # new_task | returned | due_soon | overdue
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    read_dt: Mapped[datetime | None] = mapped_column(DateTime)
    email_status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | skipped | failed
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_next_try_dt: Mapped[datetime | None] = mapped_column(DateTime)
    email_error: Mapped[str | None] = mapped_column(Text)


class WorkerCursor(Base):
    """How far a background job has read an append-only log (e.g. the audit events it turns into notifications)."""

    __tablename__ = "worker_cursors"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)


# -- secret ballots (issue #6; docs/decisions/0015) ---------------------------------------------------------------


class BallotMode(StrEnum):
    ONLINE = "online"  # members vote on their own screen
    PAPER = "paper"  # members vote on paper; the secretary enters the counts of the tally minutes


class BallotBoxStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class BallotBox(Base):
    """One secret ballot of one step of a procedure: who is summoned, who came, the ballots, and the tally once
    closed. The rules (workflows/rules/ballots.py) are stored as the step configured them."""

    __tablename__ = "ballot_boxes"
    __table_args__ = (Index("ix_ballot_boxes_instance_step", "instance_id", "step_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)  # the collective that votes
    step_key: Mapped[str] = mapped_column(String(120))  # the BPMN element the ballot serves
    question: Mapped[str] = mapped_column(Text)
    candidates: Mapped[list] = mapped_column(JSON)  # [{"key": "...", "name": "..."}] in ballot order
    rules: Mapped[dict] = mapped_column(JSON)  # BallotRules.to_json()
    members_count: Mapped[int] = mapped_column(Integer)  # members of the collective (a possible denominator)
    mode: Mapped[str] = mapped_column(String(10), default=BallotMode.ONLINE)
    is_signable: Mapped[bool] = mapped_column(Boolean, default=False)  # a voter may sign the slip (step 4)
    status: Mapped[str] = mapped_column(String(10), default=BallotBoxStatus.OPEN)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_dt: Mapped[datetime | None] = mapped_column(DateTime)
    tally: Mapped[dict | None] = mapped_column(JSON)  # TallyResult.to_json(), the same for paper and online

    instance: Mapped[ProcessInstance] = relationship()
    unit: Mapped[OrgUnit] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == BallotBoxStatus.OPEN

    def __repr__(self) -> str:
        return f"<BallotBox {self.id} {self.step_key} {self.status}>"


class BallotElector(Base):
    """A member called to the conference: THAT they came and THAT they voted — never what they marked."""

    __tablename__ = "ballot_electors"

    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_boxes.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    is_summoned: Mapped[bool] = mapped_column(Boolean, default=True)
    is_present: Mapped[bool] = mapped_column(Boolean, default=False)
    has_voted: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()


class Ballot(Base):
    """What one ballot marked, with nothing that points at the voter: a random id, no time, no sequence. At the
    close every ballot of the box is written again in shuffled order under fresh ids (decision 0015). A slip the
    voter chose to sign, where the box allows it, names them."""

    __tablename__ = "ballots"
    __table_args__ = {"sqlite_with_rowid": False}  # no hidden insertion-ordered rowid on SQLite

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4, never sequential
    box_id: Mapped[int] = mapped_column(ForeignKey("ballot_boxes.id"), index=True)
    contents: Mapped[dict] = mapped_column(JSON)  # candidate key → yes | no | abstain
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# -- the auditor workspace (issue #8; docs/decisions/0021, 0022) ---------------------------------------------------


class RecordView(Base):
    """Someone read a personal record or a procedure's history: who, what, when. Append-only like the audit log
    (refused UPDATE/DELETE on PostgreSQL), so inspectors can see who looked at what."""

    __tablename__ = "record_views"
    __table_args__ = (Index("ix_record_views_object", "object_kind", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    viewer_name: Mapped[str] = mapped_column(String(80))
    object_kind: Mapped[str] = mapped_column(String(30))  # workflows.inspection.reads.ViewedObject
    object_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))  # the unit the object belongs to (scope)
    viewed_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive, index=True)
    # A list exported as a file (decision 0137): its format and filters, as the reader's query string gave them.
    detail: Mapped[str | None] = mapped_column(String(500))


class AuditAnchor(Base):
    """A signed digest of the head of every audit chain at one moment (decision 0022): exported and kept off the
    server, it proves later that no chain was rewritten from its start."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anchored_on: Mapped[str] = mapped_column(String(10), index=True)  # the local day, ISO
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    chains: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text, deferred=True)  # the signed digest, exactly as exported
