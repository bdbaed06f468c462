"""What changed in a procedure's steps between two of its versions, read from the stored BPMN of each.

Steps are the process's flow nodes — tasks, sub-processes, gateways, events — matched by their BPMN id: the id is
what a running instance's state refers to, so a step whose id stayed is the same step even when its name changed.
Sequence flows, scripts and conditions are not compared: the content hash already says that something changed, and
this says which steps an administrator will see appear, go or change their name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from workflows.deployment.validation import parse_xml_safely
from workflows.diagram import BPMN_NS, FLOW_NODES
from workflows.engine.runtime import defining_bpmn_file
from workflows.errors import Invalid, NotFound
from workflows.models import ProcessVersion


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # the BPMN element's local name: userTask, scriptTask, exclusiveGateway, startEvent…
    name: str


@dataclass(frozen=True)
class ChangedStep:
    before: Step
    after: Step

    @property
    def renamed(self) -> bool:
        return self.before.name != self.after.name

    @property
    def retyped(self) -> bool:
        return self.before.kind != self.after.kind


@dataclass(frozen=True)
class StepChanges:
    added: list[Step] = field(default_factory=list)
    removed: list[Step] = field(default_factory=list)
    changed: list[ChangedStep] = field(default_factory=list)  # same id, another name or another kind

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def process_steps(bpmn_xml: str | bytes, process_id: str) -> dict[str, Step]:
    """The flow nodes of `process_id` (those inside its sub-processes too), by id, in document order.

    Parsed as every uploaded model is (no DTD, no entities, no network); raises `workflows.errors.Invalid` on XML
    that cannot be read. A file that does not define the process gives no steps."""
    content = bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml
    root = parse_xml_safely(content, f"{process_id}.bpmn")
    process = next(
        (p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == process_id),
        None,
    )
    steps: dict[str, Step] = {}
    if process is None:
        return steps
    for element in process.iter(f"{{{BPMN_NS}}}*"):
        kind = etree.QName(element.tag).localname
        element_id = element.get("id")
        if kind in FLOW_NODES and element_id and element_id not in steps:
            name = unicodedata.normalize("NFC", " ".join((element.get("name") or "").split()))
            steps[element_id] = Step(element_id, kind, name)
    return steps


def compare_steps(before: dict[str, Step], after: dict[str, Step]) -> StepChanges:
    """Steps of `after` not in `before`, of `before` not in `after`, and those in both under another name or kind."""
    return StepChanges(
        added=[step for step_id, step in after.items() if step_id not in before],
        removed=[step for step_id, step in before.items() if step_id not in after],
        changed=[
            ChangedStep(before[step_id], step)
            for step_id, step in after.items()
            if step_id in before and (before[step_id].name, before[step_id].kind) != (step.name, step.kind)
        ],
    )


def load_version(session: Session, process_id: str, version: int) -> ProcessVersion:
    """One stored version with its files and forms; NotFound when the procedure has no such version."""
    found = session.scalars(
        select(ProcessVersion)
        .options(undefer(ProcessVersion.files), undefer(ProcessVersion.forms))
        .where(ProcessVersion.process_id == process_id, ProcessVersion.version == version)
    ).first()
    if found is None:
        raise NotFound(f"{process_id} has no version {version}")
    return found


def version_steps(version: ProcessVersion) -> dict[str, Step] | None:
    """The steps of the version's own process; None when no stored file can be read as defining it."""
    source = defining_bpmn_file(version)
    if source is None:
        return None
    try:
        return process_steps(source, version.process_id)
    except Invalid:  # stored files were validated when deployed; an unreadable one is shown as unknown, not a 500
        return None


@dataclass(frozen=True)
class VersionModel:
    """What a version was deployed from, by name, and how its steps differ from the version before it."""

    files: list[str]  # BPMN and DMN
    forms: list[str]
    changes: StepChanges | None  # None: the first version, or a model that cannot be read


def version_models(session: Session, process_id: str) -> dict[int, VersionModel]:
    """Every version's stored files and its steps against the version before it, by version number.

    A version whose model cannot be read, or whose predecessor's cannot, gets no comparison: nothing is said
    rather than every step being said to be new."""
    versions = session.scalars(
        select(ProcessVersion)
        .options(undefer(ProcessVersion.files), undefer(ProcessVersion.forms))
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version)
    ).all()
    models: dict[int, VersionModel] = {}
    previous: dict[str, Step] | None = None
    for index, version in enumerate(versions):
        steps = version_steps(version)
        changes = compare_steps(previous, steps) if index > 0 and previous is not None and steps is not None else None
        models[version.version] = VersionModel(sorted(version.files), sorted(version.forms or {}), changes)
        previous = steps
    return models


def changes_from_previous(session: Session, version: ProcessVersion) -> StepChanges | None:
    """The version's steps against the version before it; None for the first version or an unreadable model."""
    if version.version <= 1:
        return None
    try:
        previous = load_version(session, version.process_id, version.version - 1)
    except NotFound:
        return None
    before, after = version_steps(previous), version_steps(version)
    return compare_steps(before, after) if before is not None and after is not None else None
