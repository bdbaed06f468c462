"""What an inspector reads: an instance's whole history, and every procedure that touched a cadre.

Built on the instance page's reading (`workflows.instances`) — the same scope, the same readable before → after —
with what only an inspection needs: every event on its own (hidden bookkeeping included), the role each person
acted in, the model version and the hashes of the rule files every decision ran under, the ballot tallies (never
a ballot), the eligibility results as they stood when decided, and whether the chain is intact.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from workflows.access import ancestry
from workflows.audit import ChainBreak, instance_chain, verify_chains
from workflows.diagram import ENGLISH, DiagramWords
from workflows.engine.runtime import ProcessEngine
from workflows.errors import NotFound
from workflows.exports import audit_roots
from workflows.inspection.notes import NOTE_EVENT
from workflows.instances import (
    MAX_ID,
    InstanceDetail,
    TimelineEntry,
    instance_detail,
    load_visible_instance,
)
from workflows.models import AuditEvent, BallotBox, BallotElector, HumanTask, ProcessInstance, ProcessVersion
from workflows.prepared import server_prepared
from workflows.registry.models import Cadre, User
from workflows.registry.records import cadre_chain
from workflows.states import EventType, Role

# Events that record a decision: the model version and its rule files are shown with them.
DECISION_EVENTS = (EventType.TASK_COMPLETED, EventType.DATA_CHANGED, EventType.TIMER_FIRED, "ballot_closed")
# Events of a person acting on the step the event names: taking it, returning it, completing it (and the data that
# completion changed). Only the step's role (its candidate role, or its lane when assigned to a person) let them
# (`assignment.can_act_on_task`), so it is the role they acted in. Any other event naming a step — opened or closed
# as the consequence of someone's completion, a timer, a cancellation — tells nothing of its actor's role: the role
# of the step it opened is the step's, and its description names it.
ACTS_ON_STEP = (EventType.TASK_CLAIMED, EventType.TASK_RELEASED, EventType.TASK_COMPLETED, EventType.DATA_CHANGED)
RULE_SUFFIXES = (".dmn",)
# How a process reads in a cadre's timeline; anything else is "other".
PROCEDURE_KINDS = {
    "monthly_evaluation": "evaluation",
    "annual_grading": "evaluation",
    "appointment": "appointment",
    "reappointment": "appointment",
    "planning": "planning",
    "planning_review": "planning",
    "rotation": "rotation",
}


@dataclass(frozen=True)
class RuleFile:
    name: str
    sha256: str


@dataclass(frozen=True)
class ModelVersion:
    process_id: str
    name: str
    version: int
    content_hash: str
    rule_files: tuple[RuleFile, ...]


def model_version(version: ProcessVersion) -> ModelVersion:
    """The deployed version and the SHA-256 of each decision table it carries: the rule version of its decisions."""
    rules = tuple(
        RuleFile(name, hashlib.sha256(text.encode()).hexdigest())
        for name, text in sorted(version.files.items())
        if name.endswith(RULE_SUFFIXES)
    )
    return ModelVersion(version.process_id, version.name, version.version, version.content_hash, rules)


@dataclass
class BallotTally:
    box_id: int
    step_key: str
    question: str
    mode: str
    is_open: bool
    closed_dt: datetime | None
    tally: dict[str, Any]
    candidate_names: dict[str, str]
    present: int
    voted: int


# The history page's own reads, built once and prepared on the connection (decision 0028).
_BALLOT_BOXES = server_prepared(
    select(BallotBox).where(BallotBox.instance_id == bindparam("instance_id")).order_by(BallotBox.id)
)
_ATTENDANCE = server_prepared(
    select(
        func.count().filter(BallotElector.is_present.is_(True)),
        func.count().filter(BallotElector.has_voted.is_(True)),
    ).where(BallotElector.box_id == bindparam("box_id"))
)
_TASK_LANES = server_prepared(
    select(HumanTask.id, HumanTask.candidate_role, HumanTask.lane).where(
        HumanTask.instance_id == bindparam("instance_id")
    )
)


def ballot_tallies(session: Session, instance_id: int) -> list[BallotTally]:
    """Each ballot box of the instance with its tally and attendance counts. The ballots table is never read."""
    boxes = session.scalars(_BALLOT_BOXES, {"instance_id": instance_id})
    result = []
    for box in boxes:
        present, voted = session.execute(_ATTENDANCE, {"box_id": box.id}).one()
        result.append(
            BallotTally(
                box_id=box.id,
                step_key=box.step_key,
                question=box.question,
                mode=box.mode,
                is_open=box.is_open,
                closed_dt=box.closed_dt,
                tally=dict(box.tally or {}),
                candidate_names={str(c.get("key")): str(c.get("name")) for c in box.candidates or []},
                present=present or 0,
                voted=voted or 0,
            )
        )
    return result


@dataclass
class HistoryEntry:
    entry: TimelineEntry
    role: str | None  # the role the actor acted in (ACTS_ON_STEP: the step's; a note: inspector), else None
    is_decision: bool

    @property
    def event(self) -> AuditEvent:
        return self.entry.event


@dataclass
class EligibilitySnapshot:
    """The eligibility results exactly as the chain recorded them when they were decided."""

    decided_dt: datetime
    actor_name: str
    eligible: bool | None
    checked_on: str | None
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class InspectionNote:
    """An inspection note as the history's notes section lists it: who wrote it, when, and what."""

    seq: int
    written_dt: datetime
    author_name: str
    text: str


@dataclass
class InstanceHistory:
    detail: InstanceDetail
    model: ModelVersion
    entries: list[HistoryEntry]
    tallies: list[BallotTally]
    eligibility: list[EligibilitySnapshot]
    chain_problems: list[ChainBreak] = field(default_factory=list)
    notes: list[InspectionNote] = field(default_factory=list)

    @property
    def chain_intact(self) -> bool:
        return not self.chain_problems


def load_instance_history(
    session: Session,
    engine: ProcessEngine,
    user: User,
    instance_id: int,
    *,
    locale: str = "vi",
    diagram_words: DiagramWords = ENGLISH,
) -> InstanceHistory:
    """NotFound outside the user's scope, like the instance page (the caller checked they are an inspector)."""
    instance = load_visible_instance(session, user, instance_id)
    return instance_history(session, engine, user, instance, locale=locale, diagram_words=diagram_words)


def instance_history(
    session: Session,
    engine: ProcessEngine,
    user: User,
    instance: ProcessInstance,
    *,
    locale: str = "vi",
    diagram_words: DiagramWords = ENGLISH,
) -> InstanceHistory:
    """The history of an instance the caller has already checked the user may see."""
    # Every event, where the instance page folds a step's data changes into its completion.
    detail = instance_detail(
        session, engine, user, instance, locale=locale, every_event=True, diagram_words=diagram_words
    )
    instance_id = instance.id
    entries = detail.timeline
    lanes = {
        row.id: row.candidate_role or row.lane for row in session.execute(_TASK_LANES, {"instance_id": instance_id})
    }
    history_entries = []
    for entry in entries:
        kind = entry.event.event_type
        role = acted_as(kind, entry.event.human_task_id, lanes)
        history_entries.append(HistoryEntry(entry, role, kind in DECISION_EVENTS))
    report = verify_chains(session, instance_chain(instance_id), events=[entry.event for entry in entries])
    return InstanceHistory(
        detail=detail,
        # Versions are immutable: their rule files are read and hashed once, not on every view (each view read
        # the version's every stored file, up to 120 KB of XML).
        model=detail.definition.derived("model_version", lambda: model_version(detail.instance.process_version)),
        entries=history_entries,
        tallies=ballot_tallies(session, instance_id),
        eligibility=eligibility_snapshots(entries),
        chain_problems=list(report.breaks),
        notes=inspection_notes(entries),
    )


def acted_as(event_type: str, human_task_id: int | None, step_roles: dict[int, str | None]) -> str | None:
    """The role the actor of an event acted in, as far as the chain tells it (see ACTS_ON_STEP), else None."""
    if event_type == NOTE_EVENT:
        return Role.AUDITOR
    if event_type in ACTS_ON_STEP and human_task_id is not None:
        return step_roles.get(human_task_id)
    return None


def inspection_notes(entries: list[TimelineEntry]) -> list[InspectionNote]:
    """The notes among the history's events (`inspection_note` on the instance's chain), in the order they were
    added — the newest last — each with its author's name as the chain's entry reads it."""
    return [
        InspectionNote(
            seq=entry.event.seq,
            written_dt=entry.event.occurred_dt,
            author_name=entry.actor_full_name or entry.event.actor_name,
            text=str(entry.payload.get("note") or ""),
        )
        for entry in sorted(entries, key=lambda entry: entry.event.seq)
        if entry.event.event_type == NOTE_EVENT
    ]


def eligibility_snapshots(entries: list[TimelineEntry]) -> list[EligibilitySnapshot]:
    """Each eligibility check the chain recorded, with its results, its verdict and the day it was checked. A data
    change records only what changed: a re-check whose verdict stayed the same has no `eligible` in its diff, one on
    another day with the same results has only `eligibility_checked_on`; what it does not say is what stood before it,
    carried from the events before. A verdict the chain never recorded is the one the results imply: eligible when
    every rule passed (`rules.appointment.is_eligible`)."""
    snapshots = []
    standing: dict[str, Any] = {}
    for entry in entries:  # in the chain's order
        changes = entry.payload.get("changes")
        if not isinstance(changes, dict):
            continue
        checked = [key for key in _ELIGIBILITY_KEYS if isinstance(changes.get(key), dict)]
        for key in checked:
            standing[key] = changes[key].get("to")
        results = standing.get("eligibility")
        if not ({"eligibility", "eligibility_checked_on"} & set(checked)) or not isinstance(results, list):
            continue
        shown = [r for r in results if isinstance(r, dict)]
        eligible = standing.get("eligible")
        if not isinstance(eligible, bool) and shown and all(isinstance(r.get("passed"), bool) for r in shown):
            eligible = all(r["passed"] for r in shown)
        checked_on = standing.get("eligibility_checked_on")
        snapshots.append(
            EligibilitySnapshot(
                decided_dt=entry.event.occurred_dt,
                actor_name=entry.actor_full_name or entry.event.actor_name,
                eligible=eligible if isinstance(eligible, bool) else None,
                checked_on=checked_on if isinstance(checked_on, str) else None,
                results=shown,
            )
        )
    return snapshots


# The data an eligibility check writes (workflows/appointment/hooks.py, workflows/rotation/hooks.py).
_ELIGIBILITY_KEYS = ("eligibility", "eligible", "eligibility_checked_on")


# -- a cadre ----------------------------------------------------------------------------------------------------


@dataclass
class CadreTimelineItem:
    when: datetime
    kind: str  # "started", "completed", "cancelled" (a procedure) or "record" (an event of the cadre's record)
    procedure_kind: str | None  # evaluation, appointment, planning, rotation, other
    instance: ProcessInstance | None
    event_type: str | None
    actor_name: str | None
    payload: dict[str, Any]
    event: AuditEvent | None = None  # the record's event, for the page's wording of its changes


@dataclass
class CadreHistory:
    cadre: Cadre
    procedures: list[ProcessInstance]
    items: list[CadreTimelineItem]


def load_cadre(session: Session, user: User, cadre_id: int) -> Cadre:
    """A cadre of the inspector's scope (the subtree of a unit where they inspect), else NotFound."""
    cadre = session.get(Cadre, cadre_id) if 0 < cadre_id <= MAX_ID else None
    roots = audit_roots(session, user)
    if cadre is None or (roots is not None and not set(roots) & set(ancestry(session, cadre.unit_id))):
        raise NotFound(f"cadre {cadre_id} does not exist")
    return cadre


def load_cadre_history(session: Session, user: User, cadre_id: int) -> CadreHistory:
    """Every procedure about the cadre and every change to their record, in time order."""
    cadre = load_cadre(session, user, cadre_id)
    procedures = list(
        session.scalars(
            select(ProcessInstance)
            .options(joinedload(ProcessInstance.process_version))
            .where(ProcessInstance.subject_cadre_id == cadre.id)
            .order_by(ProcessInstance.started_dt, ProcessInstance.id)
        )
    )
    items: list[CadreTimelineItem] = []
    for instance in procedures:
        kind = PROCEDURE_KINDS.get(instance.process_id, "other")
        items.append(CadreTimelineItem(instance.started_dt, "started", kind, instance, None, None, {}))
        if instance.ended_dt is not None:
            items.append(CadreTimelineItem(instance.ended_dt, instance.status, kind, instance, None, None, {}))
    record_events = session.scalars(
        select(AuditEvent).where(AuditEvent.chain_key == cadre_chain(cadre.id)).order_by(AuditEvent.seq)
    )
    for event in record_events:
        try:
            payload = json.loads(event.payload)
        except ValueError:
            payload = {}
        items.append(
            CadreTimelineItem(
                event.occurred_dt,
                "record",
                None,
                None,
                event.event_type,
                event.actor_name,
                payload if isinstance(payload, dict) else {},
                event,
            )
        )
    items.sort(key=lambda item: item.when)  # stable: a procedure's start stays before what it wrote that instant
    return CadreHistory(cadre, procedures, items)
