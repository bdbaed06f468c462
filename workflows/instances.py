"""Reading procedure instances for the people who follow them: the list in one's scope, one instance's page
(tasks, data, history, comments, files, diagram), and what the start form offers.

Nothing here changes an instance; starting and cancelling stay in `workflows.engine.operations`.
Lookups outside a user's scope raise `NotFound`, exactly like lookups of ids that do not exist.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    Subquery,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload

from workflows.access import can_view_instance, holds_role_over_instance, in_subtree, role_units, sees_task
from workflows.assignment import chain_of
from workflows.audit import instance_chain
from workflows.diagram import ENGLISH, DiagramWords, element_states_from_workflow, render_svg
from workflows.engine.runtime import Definition, ProcessEngine, instance_data
from workflows.engine.store import nobody_can_take
from workflows.errors import NotFound
from workflows.inbox import PER_PAGE, visible_instances_query
from workflows.models import Attachment, AuditEvent, Comment, HumanTask, ProcessInstance, ProcessVersion
from workflows.outcomes import Ending, ending_of
from workflows.planning.steps import is_nomination_key
from workflows.prepared import server_prepared
from workflows.query_args import MAX_ID, page_within, reference_condition
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.registry.search import cadre_match
from workflows.rules.evaluation import REVIEW_CHANGES
from workflows.states import EventType, InstanceStatus, Role, TaskStatus
from workflows.text import as_typed

SORTS = ("newest", "oldest", "ended", "process", "subject")
STATUSES = tuple(status.value for status in InstanceStatus)
# Keys a model keeps for its own bookkeeping; the task page hides them too (workflows.tasks).
HIDDEN_PREFIX = "_"
ATTACHMENT_PREFIX = "attachment:"
MAX_SUBJECT_CHOICES = 1000
# What one search of a start form's cadre box lists: enough to pick from, and the person types on to narrow it.
SUBJECT_SEARCH_LIMIT = 20
DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
STARTING_ROLES = (Role.PERSONNEL, Role.ADMIN)


# -- the list ---------------------------------------------------------------------------------------------


@dataclass
class InstanceFilters:
    status: str | None = None
    process_id: str | None = None
    version: int | None = None  # of process_id: the instances started on that version of the procedure
    unit_id: int | None = None
    search: str | None = None  # the subject's name or code, or a reference such as "#12"
    subject_code: str | None = None  # the subject's cadre code exactly (the API's filter; `search` is the page's)
    started_from: datetime | None = None  # naive UTC, inclusive
    started_before: datetime | None = None  # naive UTC, exclusive
    sort: str = "newest"
    page: int = 1
    per_page: int = PER_PAGE


@dataclass
class InstanceRow:
    instance: ProcessInstance
    current_steps: list[str]
    ending: Ending | None = None  # how a completed instance ended (decision 0064); None for the others


@dataclass
class InstancePage:
    rows: list[InstanceRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def parse_day(text: str) -> date:
    """A calendar day as officials write it (02/11/2026) or as date inputs send it (2026-11-02).

    Raises ValueError; years outside 1900–2999 too, since they are typing mistakes and would overflow
    once shifted to UTC.
    """
    for fmt in DAY_FORMATS:
        try:
            day = datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
        if 1900 <= day.year <= 2999:
            return day
    raise ValueError(f"not a day: {text!r}")


def day_start_utc(day: date, zone: tzinfo) -> datetime:
    """Stored times are naive UTC while people pick days on their own calendar."""
    return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)


def _filtered(user: User, filters: InstanceFilters, subject: Any, version: Any) -> Select[Any]:
    query = (
        visible_instances_query(user)
        .join(version, ProcessInstance.process_version_id == version.id)
        .outerjoin(subject, ProcessInstance.subject_cadre_id == subject.id)
    )
    if filters.status in STATUSES:
        query = query.where(ProcessInstance.status == filters.status)
    if filters.process_id:
        query = query.where(ProcessInstance.process_id == filters.process_id)
        if filters.version is not None:
            query = query.where(version.version == filters.version)
    if filters.unit_id is not None:
        query = query.where(ProcessInstance.unit_id.in_(select(OrgUnit.id).where(in_subtree(OrgUnit, filters.unit_id))))
    if filters.started_from is not None:
        query = query.where(ProcessInstance.started_dt >= filters.started_from)
    if filters.started_before is not None:
        query = query.where(ProcessInstance.started_dt < filters.started_before)
    if filters.search:
        query = query.where(_search_condition(filters.search, subject))
    if filters.subject_code is not None:
        query = query.where(subject.code == filters.subject_code)
    return query


def _search_condition(text: str, subject: Any) -> ColumnElement[bool]:
    text = text.strip()
    reference = reference_condition(text, ProcessInstance.id, ProcessInstance.process_id)
    if reference is not None:
        return reference
    # lower() folds only ASCII on SQLite; PostgreSQL folds Vietnamese letters too.
    return or_(
        func.lower(subject.full_name).contains(text.lower(), autoescape=True),
        func.lower(subject.code) == text.lower(),
    )


def _order_keys(sort: str, subject: Any, version: Any) -> tuple[Any, ...]:
    # NULLs sort first on SQLite and last on PostgreSQL; an explicit IS NULL key makes both agree.
    if sort == "oldest":
        return (ProcessInstance.started_dt, ProcessInstance.id)
    if sort == "ended":
        return (ProcessInstance.ended_dt.is_(None), ProcessInstance.ended_dt.desc(), ProcessInstance.id.desc())
    if sort == "process":
        return (version.name, ProcessInstance.id.desc())
    if sort == "subject":
        return (subject.full_name.is_(None), subject.full_name, ProcessInstance.id.desc())
    return (ProcessInstance.started_dt.desc(), ProcessInstance.id.desc())


def _order(query: Select[Any], sort: str, subject: Any, version: Any) -> Select[Any]:
    return query.order_by(*_order_keys(sort, subject, version))


def count_instances(session: Session, user: User, filters: InstanceFilters) -> int:
    """How many instances the list has in all, its filters applied (in the user's scope)."""
    query = _filtered(user, filters, aliased(Cadre), aliased(ProcessVersion))
    return (
        session.scalar(
            select(func.count()).select_from(query.with_only_columns(ProcessInstance.id).order_by(None).subquery())
        )
        or 0
    )


def instance_page_ids(user: User, filters: InstanceFilters) -> Subquery:
    """One page of the list — `instance_page`'s scope, filters and order — as a subquery of the instances' `id`, their
    `position` in that order and the list's `total` (a window count), for a read that adds the columns it needs (the
    API's answer joins each instance's labels and open tasks to it, in one statement). The page is not clamped:
    past the last one it has no row."""
    subject = aliased(Cadre)
    version = aliased(ProcessVersion)
    keys = _order_keys(filters.sort if filters.sort in SORTS else "newest", subject, version)
    return (
        _filtered(user, filters, subject, version)
        .with_only_columns(
            ProcessInstance.id.label("id"),
            func.row_number().over(order_by=keys).label("position"),
            func.count().over().label("total"),
        )
        .order_by(*keys)
        .limit(filters.per_page)
        .offset((max(1, filters.page) - 1) * filters.per_page)
        .subquery("listed")
    )


def instance_page(session: Session, user: User, filters: InstanceFilters) -> InstancePage:
    subject = aliased(Cadre)
    version = aliased(ProcessVersion)
    query = _filtered(user, filters, subject, version)
    result = InstancePage(rows=[], total=count_instances(session, user, filters), page=1, per_page=filters.per_page)
    # Past the last page shows the last page: a huge page number must not reach the database as an offset.
    result.page = page_within(filters.page, result.total, result.per_page)
    rows = session.execute(
        _order(
            query.add_columns(_COMPLETION_PAYLOAD),
            filters.sort if filters.sort in SORTS else "newest",
            subject,
            version,
        )
        .options(
            contains_eager(ProcessInstance.process_version.of_type(version)),
            contains_eager(ProcessInstance.subject.of_type(subject)),
            joinedload(ProcessInstance.unit),
        )
        .limit(result.per_page)
        .offset((result.page - 1) * result.per_page)
    ).all()
    steps = current_steps(session, [instance.id for instance, _payload in rows])
    result.rows = [InstanceRow(instance, steps.get(instance.id, []), _ending(payload)) for instance, payload in rows]
    return result


# How a completed instance ended is on its completion's audit event (decision 0064): a column of the page's own
# read, looked up for the page's completed rows only, rather than one more statement (or one per row).
_COMPLETION_PAYLOAD = case(
    (
        ProcessInstance.status == InstanceStatus.COMPLETED,
        select(AuditEvent.payload)
        .where(AuditEvent.instance_id == ProcessInstance.id, AuditEvent.event_type == EventType.INSTANCE_COMPLETED)
        .order_by(AuditEvent.id.desc())
        .limit(1)
        .correlate(ProcessInstance)
        .scalar_subquery(),
    ),
    else_=None,
).label("completion_payload")


def _ending(payload: str | None) -> Ending | None:
    if payload is None:
        return None
    try:
        recorded = json.loads(payload)
    except ValueError:
        recorded = {}
    return ending_of([(EventType.INSTANCE_COMPLETED, recorded if isinstance(recorded, dict) else {})])


def current_steps(session: Session, instance_ids: list[int]) -> dict[int, list[str]]:
    """Names of the open tasks of each instance, in the order they opened."""
    steps: dict[int, list[str]] = {}
    if not instance_ids:
        return steps
    rows = session.execute(
        select(HumanTask.instance_id, HumanTask.name)
        .where(HumanTask.instance_id.in_(instance_ids), HumanTask.status == TaskStatus.OPEN)
        .order_by(HumanTask.id)
    )
    for instance_id, name in rows:
        steps.setdefault(instance_id, []).append(name)
    return steps


# -- a cadre's procedures -----------------------------------------------------------------------------------

# How many of a cadre's ended procedures the record page shows under the running ones: the latest say what was
# just decided; the whole list is the instance list searched by the cadre's code.
RECENTLY_ENDED = 5


@dataclass
class CadreProcedures:
    running: list[InstanceRow]
    recently_ended: list[InstanceRow]


def cadre_procedures(
    session: Session, user: User, cadre_id: int, *, ended_limit: int = RECENTLY_ENDED
) -> CadreProcedures:
    """The procedures about one cadre that this user may open (the instance list's rule, `instance_scope_condition`,
    in the statement itself): every running one, oldest first, with its current steps, and the last few that ended.
    Three statements, whatever the number of procedures."""
    version = aliased(ProcessVersion)

    def about_the_cadre(statuses: Collection[str]) -> Select[Any]:
        return (
            visible_instances_query(user)
            .join(version, ProcessInstance.process_version_id == version.id)
            .where(ProcessInstance.subject_cadre_id == cadre_id, ProcessInstance.status.in_(list(statuses)))
            .add_columns(_COMPLETION_PAYLOAD)
            .options(contains_eager(ProcessInstance.process_version.of_type(version)))
        )

    running = session.execute(
        about_the_cadre([InstanceStatus.RUNNING]).order_by(ProcessInstance.started_dt, ProcessInstance.id)
    ).all()
    ended = session.execute(
        about_the_cadre([InstanceStatus.COMPLETED, InstanceStatus.CANCELLED])
        .order_by(ProcessInstance.ended_dt.is_(None), ProcessInstance.ended_dt.desc(), ProcessInstance.id.desc())
        .limit(ended_limit)
    ).all()
    steps = current_steps(session, [instance.id for instance, _payload in running])
    return CadreProcedures(
        running=[InstanceRow(instance, steps.get(instance.id, [])) for instance, _payload in running],
        recently_ended=[InstanceRow(instance, [], _ending(payload)) for instance, payload in ended],
    )


# -- permissions --------------------------------------------------------------------------------------------


def is_read_only(user: User) -> bool:
    """Auditors inspect and never take part: someone whose only role is auditor changes nothing."""
    roles = user.roles
    return bool(roles) and roles <= {Role.AUDITOR}


def can_comment(user: User) -> bool:
    """Anyone who can see an instance may remark on it, except read-only inspectors (the caller checked scope)."""
    return not is_read_only(user)


def can_cancel_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Mirrors operations.can_cancel (an administrator over the instance's unit) for a loaded instance row.
    Whether the instance is still running is the operation's business: it answers Conflict."""
    return holds_role_over_instance(session, user, Role.ADMIN, instance)


def sees_errors(user: User) -> bool:
    """Script errors name model internals, which only administrators can act on."""
    return Role.ADMIN in user.roles


# Who reads the model's working data (ids and keys of other rows, settings objects): the administrator, who mends a
# model, and the auditor, who inspects the raw record. Everyone else reads the procedure's facts in words (0095).
TECHNICAL_DATA_READERS = frozenset({Role.ADMIN, Role.AUDITOR})


def sees_technical_data(user: User) -> bool:
    return bool(user.roles & TECHNICAL_DATA_READERS)


def may_start_for_someone(user: User) -> bool:
    """Someone who takes part and either is a cadre (their own procedures) or starts them for others."""
    if is_read_only(user):
        return False
    return user.cadre_id is not None or any(role in STARTING_ROLES for role in user.roles)


# Whether any procedure is deployed at all (a fresh installation has none).
ANY_VERSION_DEPLOYED = select(ProcessVersion.id).limit(1).exists()


def can_start_any(session: Session, user: User) -> bool:
    """Whether to offer "start a procedure": something is deployed and the user may start for someone."""
    return may_start_for_someone(user) and bool(session.scalar(select(ANY_VERSION_DEPLOYED)))


# -- loading one instance -----------------------------------------------------------------------------------


# Every page of an instance shows its process version and its subject, and asks of its unit who may see and who may
# cancel it: loaded with it, not one read each.
_WITH_WHAT_ITS_PAGES_NEED = (
    joinedload(ProcessInstance.process_version),
    joinedload(ProcessInstance.subject),
    joinedload(ProcessInstance.unit),
)


# A statement built once and prepared on the connection: `Session.get` builds its query anew on every call and the
# server plans its four-table join every time (issue #9: the instance page, the history and the API's instance).
_INSTANCE_FOR_ITS_PAGES = server_prepared(
    select(ProcessInstance).options(*_WITH_WHAT_ITS_PAGES_NEED).where(ProcessInstance.id == bindparam("instance_id"))
)


def load_visible_instance(session: Session, user: User, instance_id: int) -> ProcessInstance:
    instance = (
        session.execute(_INSTANCE_FOR_ITS_PAGES, {"instance_id": instance_id}).unique().scalar_one_or_none()
        if 0 < instance_id <= MAX_ID
        else None
    )
    if instance is None or not can_view_instance(session, user, instance):
        raise NotFound(f"instance {instance_id} does not exist")
    return instance


def load_visible_attachment(session: Session, user: User, attachment_id: int) -> Attachment:
    attachment = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    load_visible_instance(session, user, attachment.instance_id)
    return attachment


@dataclass
class OpenTask:
    task: HumanTask
    assignee_name: str | None
    candidate_unit_name: str | None
    can_open: bool = False  # whether the task page would let this user in
    nobody_can_take: bool = False  # a group task whose role no active user holds where it waits


@dataclass
class DataCell:
    key: str
    value: Any
    attachment: Attachment | None = None


@dataclass
class DataTable:
    """A value that is a list of rows (a form's table), shown as a table: a cell holding a stored file's reference
    (a row's evidence) links to it."""

    columns: list[tuple[str, str]]  # (key, label)
    rows: list[list[DataCell]]


@dataclass
class DataItem:
    key: str
    label: str
    value: Any
    attachment: Attachment | None = None
    table: DataTable | None = None
    # A review's changes (REVIEWED_KEYS): each value under its place on the form rather than as a dict of field paths.
    reviewed: list[ReviewedValue] | None = None
    # The model's bookkeeping that no form names — a policy's or calendar's settings, ids and keys of other rows:
    # kept for who needs it, folded away on the pages so that a person reads the procedure's own facts first.
    technical: bool = False


@dataclass
class DataChange:
    key: str
    label: str
    before: Any
    after: Any
    removed: bool = False
    # A list of rows (a form's table) changed: only its rows that changed, each with the cells that changed, rather
    # than the whole table before and after. None for any other value.
    rows: list[RowChange] | None = None
    # A review's changes (REVIEWED_KEYS): what this review changed, each value under its place on the form, and what
    # the earlier round had changed; None for any other value.
    reviewed: list[ReviewedValue] | None = None
    reviewed_before: list[ReviewedValue] | None = None


@dataclass
class ReviewedValue:
    """One value a review changed, where the form has it: a table's row (from 1) and column, or a field; the value
    the reviewed person wrote, the reviewer's and the reason given ("Dòng 2, Đã hoàn thành: 38 → 30 — lý do: …")."""

    path: str  # the field's path as the engine names it: `products.1.completed`, `criteria_politics`
    key: str  # the column's or field's own key (`completed`): what its value's choices and wording go by
    label: str  # the column's or field's title on the version's form; its key when the form has none
    table: str | None  # the table's key (`products`) for a cell, None for a field
    row: int | None  # the row's number from 1 for a cell
    before: Any
    after: Any
    reason: str | None


@dataclass
class CellChange:
    key: str
    label: str
    before: Any
    after: Any


@dataclass
class RowChange:
    """A row of a changed table: its number (from 1), the name people know it by (its first column, a file aside), and
    what changed in it; `added` / `removed` when the whole row came or went (its cells then are its values)."""

    number: int
    name: Any
    cells: list[CellChange]
    added: bool = False
    removed: bool = False


@dataclass
class TimelineEntry:
    event: AuditEvent
    payload: dict[str, Any]
    actor_full_name: str | None
    changes: list[DataChange] = field(default_factory=list)
    assignee_name: str | None = None
    candidate_unit_name: str | None = None
    due_dt: datetime | None = None
    # A task handed on (decision 0078): whom it was with before; None when it waited for its group.
    previous_assignee_name: str | None = None
    # A draft that went with it (decision 0084): who had saved it.
    draft_saved_by_name: str | None = None


@dataclass
class CommentRow:
    comment: Comment
    author_name: str
    task_name: str | None


@dataclass
class AttachmentRow:
    attachment: Attachment
    uploaded_by_name: str | None


@dataclass
class InstanceDetail:
    instance: ProcessInstance
    definition: Definition
    started_by_name: str | None
    open_tasks: list[OpenTask]
    data: list[DataItem]
    comments: list[CommentRow]
    attachments: list[AttachmentRow]
    timeline: list[TimelineEntry]
    diagram_svg: str | None
    can_comment: bool
    can_cancel: bool
    sees_errors: bool
    # Open steps waiting for a role nobody holds where they wait: (task, unit name), for the page's warning
    untakeable: list[tuple[HumanTask, str]] = field(default_factory=list)
    ending: Ending | None = None  # how a completed instance ended, from its audit events


def load_instance_detail(
    session: Session,
    engine: ProcessEngine,
    user: User,
    instance_id: int,
    *,
    locale: str = "vi",
    diagram_words: DiagramWords = ENGLISH,
) -> InstanceDetail:
    """Everything the instance page shows; NotFound when the instance is missing or outside the user's scope."""
    instance = load_visible_instance(session, user, instance_id)
    return instance_detail(session, engine, user, instance, locale=locale, diagram_words=diagram_words)


def instance_detail(
    session: Session,
    engine: ProcessEngine,
    user: User,
    instance: ProcessInstance,
    *,
    locale: str = "vi",
    every_event: bool = False,
    diagram_words: DiagramWords = ENGLISH,
) -> InstanceDetail:
    """Everything the instance page shows of an instance the caller has already checked the user may see; one
    workflow load serves both the data and the diagram, one read of people's names the timeline and the starter.
    `every_event`: the inspector's timeline (see `timeline`). `diagram_words`: the diagram's own words in the
    reader's language (the web layer translates them, `webapp.i18n.diagram_words`)."""
    definition = engine.definition(session, instance.process_version_id)
    workflow = engine.load(definition, instance)
    names = field_names(definition, locale)
    attachments = instance_attachments(session, instance.id)
    events = _EventsRead.read(session, instance.id, every_event=every_event, also_named=instance.started_by_id)
    waiting = open_tasks(session, instance.id, user)
    return InstanceDetail(
        instance=instance,
        definition=definition,
        started_by_name=_name_of(events.people, instance.started_by_id),
        open_tasks=waiting,
        data=data_summary(instance_data(workflow), names, [row.attachment for row in attachments]),
        comments=instance_comments(session, instance.id),
        attachments=attachments,
        timeline=events.timeline(names),
        diagram_svg=instance_diagram(definition, workflow, words=diagram_words),
        can_comment=can_comment(user),
        can_cancel=can_cancel_instance(session, user, instance),
        sees_errors=sees_errors(user),
        ending=ending_of(zip((e.event_type for e in events.events), events.payloads, strict=True)),
        untakeable=[(item.task, item.candidate_unit_name or "") for item in waiting if item.nobody_can_take],
    )


def untakeable_tasks(session: Session, *, instance_id: int | None = None, limit: int = 100) -> list[Any]:
    """Open group tasks nobody can take (`store.nobody_can_take`): (task, unit name) rows, oldest first; `instance_id`:
    only that instance's (the flash after a start). The instance page reads the same from its open tasks' row."""
    unit = aliased(OrgUnit)
    query = (
        select(HumanTask, unit.name)
        .join(unit, unit.id == HumanTask.candidate_unit_id)
        .where(HumanTask.status == TaskStatus.OPEN, nobody_can_take(unit.id, unit.path))
        .order_by(HumanTask.opened_dt, HumanTask.id)
        .limit(limit)
    )
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    return list(session.execute(query).tuples())


@dataclass(frozen=True)
class FieldNames:
    """How a version's forms name its data, so that people read "Nội dung đề nghị: Trả lại" rather than
    "subject_line: return"."""

    titles: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table → column → title
    # Where each key comes in the forms, the steps in the order the model reaches them and each form's fields in
    # its own order: the data is shown in that order, the values the procedure works out after.
    order: dict[str, int] = field(default_factory=dict)

    def position(self, key: str) -> tuple[int, str]:
        return (self.order.get(key, len(self.order)), key)

    def title(self, key: str) -> str:
        return self.titles.get(key, key)

    def column(self, key: str, column: str) -> str:
        return self.columns.get(key, {}).get(column, column)

    def value(self, key: str, value: Any) -> Any:
        """A choice by its label; a list of choices (the documents ticked received) as the list of their labels."""
        if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
            labels = self.choices.get(key, {})
            return [labels.get(item, item) for item in value]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return value
        return self.choices.get(key, {}).get(str(value), value)


def field_names(definition: Definition, locale: str = "vi") -> FieldNames:
    """Titles and choice labels from every form of the version, in the reader's language where the form has it
    (the same hints webapp.tasks.schema_forms reads: title / x-ui label_en, oneOf titles / x-labels / labels_en).
    Worked out once per version and language."""
    names: FieldNames = definition.derived(("field_names", locale), lambda: _field_names(definition, locale))
    return names


def _forms_in_step_order(definition: Definition) -> list[dict[str, Any]]:
    """The version's forms in the order its steps come (the parser reaches the task specs from the start event
    onwards, the called processes' after); a form no step names after them, in its stored order."""
    filenames: list[str] = []
    for spec in [definition.spec, *(definition.subprocess_specs or {}).values()]:
        for task_spec in (getattr(spec, "task_specs", None) or {}).values():
            extensions = getattr(task_spec, "extensions", None)
            properties = extensions.get("properties") if isinstance(extensions, dict) else None
            filename = properties.get("formJsonSchemaFilename") if isinstance(properties, dict) else None
            if isinstance(filename, str) and filename in definition.forms and filename not in filenames:
                filenames.append(filename)
    filenames += [name for name in definition.forms if name not in filenames]
    return [definition.forms[name] for name in filenames]


def _fields_in_order(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """A form's fields as the form shows them: its `x-ui` order first, then the rest as the schema lists them."""
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        return []
    hints = schema.get("x-ui")
    listed = hints.get("order") if isinstance(hints, dict) else None
    ordered = [key for key in listed if key in properties] if isinstance(listed, list) else []
    return [(key, properties[key]) for key in dict.fromkeys([*ordered, *properties])]


def _field_names(definition: Definition, locale: str) -> FieldNames:
    names = FieldNames()
    for schema in _forms_in_step_order(definition):
        hints = schema.get("x-ui") or {}
        top_labels = schema.get("x-labels") or {}
        for key, prop in _fields_in_order(schema):
            if not isinstance(prop, dict):
                continue
            names.order.setdefault(key, len(names.order))
            hint = hints.get(key)
            if not isinstance(hint, dict):
                hint = {}
            title = (hint.get("label_en") if locale == "en" else None) or prop.get("title")
            if isinstance(title, str) and title:
                names.titles.setdefault(key, title)
            choices: dict[str, str] = {}
            for source in (top_labels.get(key), prop.get("x-labels")):
                if isinstance(source, dict):
                    choices.update({str(v): str(label) for v, label in source.items()})
            items = prop.get("items")
            # A list of choices (checkboxes) names them on its items.
            options = [*(prop.get("oneOf") or []), *((items.get("oneOf") or []) if isinstance(items, dict) else [])]
            for option in options:
                if isinstance(option, dict) and "const" in option and isinstance(option.get("title"), str):
                    choices[str(option["const"])] = option["title"]
            if locale == "en" and isinstance(hint.get("labels_en"), dict):
                choices.update({str(v): str(label) for v, label in hint["labels_en"].items()})
            if choices:
                names.choices.setdefault(key, choices)
            if isinstance(items, dict) and isinstance(items.get("properties"), dict):
                raw_hints = items.get("x-ui")
                row_hints: dict[str, Any] = raw_hints if isinstance(raw_hints, dict) else {}
                columns = names.columns.setdefault(key, {})
                for column, column_prop in items["properties"].items():
                    raw_hint = row_hints.get(column)
                    column_hint: dict[str, Any] = raw_hint if isinstance(raw_hint, dict) else {}
                    column_title = (column_hint.get("label_en") if locale == "en" else None) or (
                        column_prop.get("title") if isinstance(column_prop, dict) else None
                    )
                    if isinstance(column_title, str) and column_title:
                        columns.setdefault(column, column_title)
    return names


def _data_table(key: str, value: Any, names: FieldNames, by_reference: dict[str, Attachment]) -> DataTable | None:
    if not isinstance(value, list) or not value or not all(isinstance(row, dict) for row in value):
        return None
    keys = [
        column
        for column in dict.fromkeys(
            column for row in value for column in row if not str(column).startswith(HIDDEN_PREFIX)
        )
        if not is_id_column(column, value)
    ]
    return DataTable(
        columns=[(column, names.column(key, column)) for column in keys],
        rows=[
            [
                DataCell(
                    column,
                    row.get(column),
                    by_reference.get(row[column]) if isinstance(row.get(column), str) else None,
                )
                for column in keys
            ]
            for row in value
        ],
    )


@dataclass(frozen=True)
class InstanceVariables:
    """The procedure's data as values (the API's), with each key's title from the version's forms."""

    data: dict[str, Any]
    titles: dict[str, str]


def instance_variables(
    session: Session, engine: ProcessEngine, instance: ProcessInstance, *, locale: str = "vi"
) -> InstanceVariables:
    """The data the instance page shows, as values rather than text, of an instance the caller has already checked
    the user may see: merged across branches (`instance_data`), hidden bookkeeping keys left out, as the page does."""
    definition = engine.definition(session, instance.process_version_id)
    names = field_names(definition, locale)
    data = {
        key: value
        for key, value in sorted(
            instance_data(engine.load(definition, instance)).items(), key=lambda item: names.position(item[0])
        )
        if not key.startswith(HIDDEN_PREFIX)
    }
    return InstanceVariables(data, {key: names.title(key) for key in data if key in names.titles})


def data_summary(data: dict[str, Any], names: FieldNames, attachments: list[Attachment]) -> list[DataItem]:
    by_reference = {f"{ATTACHMENT_PREFIX}{a.id}": a for a in attachments}
    return [
        DataItem(
            key,
            names.title(key),
            names.value(key, value),
            by_reference.get(value) if isinstance(value, str) else None,
            _data_table(key, value, names, by_reference),
            reviewed=reviewed_values(key, value, names),
            technical=is_technical(key, value, names),
        )
        for key, value in sorted(data.items(), key=lambda item: names.position(item[0]))
        if not key.startswith(HIDDEN_PREFIX)
    ]


# What the shipped procedures write for their own routing, each said in words elsewhere on the page (decision 0109):
# where a ballot led (its result, in the decision's summary), whether the planning review has nominees and committee
# nominees (the list of nominees), the planning review's unit code (its name, `unit_name`).
ROUTING_KEYS = frozenset({"ballot_next", "has_nominees", "has_committee_nominees", "unit_code"})


def is_technical(key: str, value: Any, names: FieldNames) -> bool:
    """Working data of the model rather than a fact of the procedure: a settings object, an id or key of another row,
    or a list of ids (the ballot boxes used), a value the model routes by (`ROUTING_KEYS`) — unless a form names it or
    the page words it (a review's changes, whose reader is the reviewed person and whoever follows the file, decision
    0095)."""
    if key in ROUTING_KEYS:
        return True
    if key in names.titles or key in REVIEWED_KEYS:
        return False
    ids = isinstance(value, list) and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    return isinstance(value, dict) or ids or key.endswith(("_id", "_ids", "_key"))


def is_id_column(column: Any, rows: list[dict[str, Any]]) -> bool:
    """A table's column holding ids of other rows (a planning entry's, a title's): a number people never see. The row
    names what it points at in its own words (the cadre's code and name, the title) — or a list beside it does, the
    nominees beside the nominations — so the pages leave the column out; the data keeps it (decision 0095). So is a
    nomination's ballot key, which carries a title's id ("SH000580@40", decision 0109)."""
    if column == "key" and rows and all(is_nomination_key(row.get(column)) for row in rows):
        return True
    if not str(column).endswith("_id"):
        return False
    return all(isinstance(row.get(column), int | None) and not isinstance(row.get(column), bool) for row in rows)


def display_value(value: Any) -> Any:
    """Text for a data value; None and booleans pass through for the page to word in the reader's language."""
    if value is None or isinstance(value, bool | str | int | float):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


_open_task_assignee = aliased(User, name="open_task_assignee")
_open_task_candidate_unit = aliased(OrgUnit, name="open_task_candidate_unit")
_open_task_unit = aliased(OrgUnit, name="open_task_unit")
# Built once, with both units' paths: whether the reader may open each task is then decided without a query per task.
_OPEN_TASKS = server_prepared(
    select(
        HumanTask,
        _open_task_assignee.full_name,
        _open_task_candidate_unit.name,
        _open_task_candidate_unit.path,
        _open_task_unit.path,
        nobody_can_take(_open_task_candidate_unit.id, _open_task_candidate_unit.path).label("nobody_can_take"),
    )
    .outerjoin(_open_task_assignee, HumanTask.assignee_id == _open_task_assignee.id)
    .outerjoin(_open_task_candidate_unit, HumanTask.candidate_unit_id == _open_task_candidate_unit.id)
    .outerjoin(_open_task_unit, HumanTask.unit_id == _open_task_unit.id)
    .where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == TaskStatus.OPEN)
    .order_by(HumanTask.id)
)


def open_tasks(session: Session, instance_id: int, user: User | None = None) -> list[OpenTask]:
    held = role_units(user) if user is not None else []
    found = []
    for task, assignee_name, unit_name, candidate_path, unit_path, untakeable in session.execute(
        _OPEN_TASKS, {"instance_id": instance_id}
    ):
        # `workflows.tasks.can_view`, on the paths read with the rows
        can_open = user is not None and sees_task(
            user.id, held, task, chain_of(task.candidate_unit_id, candidate_path), chain_of(task.unit_id, unit_path)
        )
        found.append(OpenTask(task, assignee_name, unit_name, can_open, bool(untakeable)))
    return found


# The instance page's reads, each built once (with bound parameters) rather than on every page view, and prepared on
# the connection: planning them cost the server more than running them (issue #9; decision 0028).
_COMMENTS = server_prepared(
    select(Comment, User.full_name, HumanTask.name)
    .join(User, Comment.author_id == User.id)
    .outerjoin(HumanTask, Comment.human_task_id == HumanTask.id)
    .where(Comment.instance_id == bindparam("instance_id"))
    .order_by(Comment.created_dt, Comment.id)
)
_ATTACHMENTS = server_prepared(
    select(Attachment, User.full_name)
    .outerjoin(User, Attachment.uploaded_by_id == User.id)
    .where(Attachment.instance_id == bindparam("instance_id"))
    .order_by(Attachment.uploaded_dt, Attachment.id)
)
_EVENTS = server_prepared(
    select(AuditEvent).where(AuditEvent.instance_id == bindparam("instance_id")).order_by(AuditEvent.seq)
)
_EVENTS_AND_CHAIN = server_prepared(
    select(AuditEvent)
    .where(or_(AuditEvent.instance_id == bindparam("instance_id"), AuditEvent.chain_key == bindparam("chain_key")))
    .order_by(AuditEvent.seq)
)
_PEOPLE_NAMES = select(User.id, User.full_name).where(User.id.in_(bindparam("ids", expanding=True)))
_UNIT_NAMES = select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(bindparam("ids", expanding=True)))
# On PostgreSQL both in one statement, the ids as arrays: its text is then the same for every page, and prepared.
# SQLite has no arrays (nor round trips to save) and keeps the two IN lists above.
_NAMES_BY_ARRAYS: CompoundSelect = server_prepared(
    union_all(
        select(literal_column("'user'").label("kind"), User.id, User.full_name.label("name")).where(
            User.id == any_(bindparam("user_ids", type_=ARRAY(Integer)))
        ),
        select(literal_column("'unit'"), OrgUnit.id, OrgUnit.name).where(
            OrgUnit.id == any_(bindparam("unit_ids", type_=ARRAY(Integer)))
        ),
    )
)


def _names(session: Session, user_ids: set[int], unit_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    """The full names of these users and the names of these units."""
    people: dict[int, str] = {}
    units: dict[int, str] = {}
    if not user_ids and not unit_ids:
        return people, units
    if session.get_bind().dialect.name == "postgresql":
        parameters = {"user_ids": sorted(user_ids), "unit_ids": sorted(unit_ids)}
        for kind, key, name in session.execute(_NAMES_BY_ARRAYS, parameters):
            (people if kind == "user" else units)[key] = name
        return people, units
    if user_ids:
        people = {row.id: row.full_name for row in session.execute(_PEOPLE_NAMES, {"ids": sorted(user_ids)})}
    if unit_ids:
        units = {row.id: row.name for row in session.execute(_UNIT_NAMES, {"ids": sorted(unit_ids)})}
    return people, units


def instance_comments(session: Session, instance_id: int) -> list[CommentRow]:
    rows = session.execute(_COMMENTS, {"instance_id": instance_id})
    return [CommentRow(comment, author, task_name) for comment, author, task_name in rows]


def instance_attachments(session: Session, instance_id: int) -> list[AttachmentRow]:
    rows = session.execute(_ATTACHMENTS, {"instance_id": instance_id})
    return [AttachmentRow(attachment, name) for attachment, name in rows]


def timeline(
    session: Session, instance_id: int, names: FieldNames | None = None, *, every_event: bool = False
) -> list[TimelineEntry]:
    """The audit events of an instance in order. A data change right after a task completion with the same task
    is folded into it: people read "X completed the step, changing A from … to …". `every_event` (inspectors)
    keeps each event as its own entry, hidden bookkeeping changes included."""
    return _EventsRead.read(session, instance_id, every_event=every_event).timeline(names)


def event_entries(
    session: Session, events: list[AuditEvent], engine: ProcessEngine, *, locale: str = "vi"
) -> list[TimelineEntry]:
    """Any events (the audit log's page: of many chains, in its own order), each as the inspector's history words
    it — its actor's and assignee's names, the unit it waited at, its changes before → after under the titles of
    its procedure version's forms — one read of names for them all. Nothing is folded: each event is its own entry."""
    instance_ids = sorted({event.instance_id for event in events if event.instance_id is not None})
    per_instance: dict[int, FieldNames] = {}
    if instance_ids:
        versions: dict[int, FieldNames] = {}
        rows = session.execute(
            select(ProcessInstance.id, ProcessInstance.process_version_id).where(ProcessInstance.id.in_(instance_ids))
        )
        for instance_id, version_id in rows:
            if version_id not in versions:
                versions[version_id] = field_names(engine.definition(session, version_id), locale)
            per_instance[instance_id] = versions[version_id]
    return _EventsRead.named(session, events, every_event=True).timeline(per_instance=per_instance)


@dataclass
class _EventsRead:
    """An instance's audit events with the names of the people and units they mention."""

    events: list[AuditEvent]
    payloads: list[dict[str, Any]]
    people: dict[int, str]
    units: dict[int, str]
    every_event: bool

    @classmethod
    def read(
        cls, session: Session, instance_id: int, *, every_event: bool = False, also_named: int | None = None
    ) -> _EventsRead:
        """`every_event`: the inspector's reading, which also takes any event of the instance's chain that does not
        name the instance (none should; the inspector sees it, and the chain is verified on exactly what was
        shown). `also_named`: a user whose name is wanted beside the events' (the starter's, on the instance page)."""
        if every_event:
            parameters = {"instance_id": instance_id, "chain_key": instance_chain(instance_id)}
            events = list(session.scalars(_EVENTS_AND_CHAIN, parameters))
        else:
            events = list(session.scalars(_EVENTS, {"instance_id": instance_id}))
        return cls.named(session, events, every_event=every_event, also_named=also_named)

    @classmethod
    def named(
        cls, session: Session, events: list[AuditEvent], *, every_event: bool = False, also_named: int | None = None
    ) -> _EventsRead:
        """These events with the names of the people and units they mention, in one read."""
        payloads = [_payload(event) for event in events]
        user_ids = {e.actor_id for e in events if e.actor_id is not None}
        if also_named is not None:
            user_ids.add(also_named)
        unit_ids: set[int] = set()
        for payload in payloads:
            for key in ("assignee_id", "from_assignee_id", "draft_saved_by_id"):
                if isinstance(payload.get(key), int):
                    user_ids.add(payload[key])
            if isinstance(payload.get("candidate_unit_id"), int):
                unit_ids.add(payload["candidate_unit_id"])
        people, units = _names(session, user_ids, unit_ids)
        return cls(events, payloads, people, units, every_event)

    def timeline(
        self, names: FieldNames | None = None, *, per_instance: Mapping[int, FieldNames] | None = None
    ) -> list[TimelineEntry]:
        """`per_instance`: events of several instances, each named by its own instance's forms."""
        people, units, every_event = self.people, self.units, self.every_event
        entries: list[TimelineEntry] = []
        for event, payload in zip(self.events, self.payloads, strict=True):
            named = per_instance.get(event.instance_id) if per_instance and event.instance_id is not None else names
            changes = _changes(payload.get("changes"), named or FieldNames(), every_event)
            previous = entries[-1] if entries else None
            if not every_event and event.event_type == EventType.DATA_CHANGED:
                if (
                    previous is not None
                    and previous.event.event_type == EventType.TASK_COMPLETED
                    and previous.event.human_task_id == event.human_task_id
                    and not previous.changes
                ):
                    previous.changes = changes
                    continue
                if not changes:
                    continue  # only hidden bookkeeping keys changed
            entries.append(
                TimelineEntry(
                    event=event,
                    payload=payload,
                    actor_full_name=_name_of(people, event.actor_id),
                    changes=changes,
                    assignee_name=_name_of(people, payload.get("assignee_id")),
                    candidate_unit_name=_name_of(units, payload.get("candidate_unit_id")),
                    due_dt=_parse_datetime(payload.get("due_dt")),
                    previous_assignee_name=_name_of(people, payload.get("from_assignee_id")),
                    draft_saved_by_name=_name_of(people, payload.get("draft_saved_by_id")),
                )
            )
        return entries


def _name_of(names: dict[int, str], key: Any) -> str | None:
    return names.get(key) if isinstance(key, int) else None


def _payload(event: AuditEvent) -> dict[str, Any]:
    try:
        payload = json.loads(event.payload)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _changes(raw: Any, names: FieldNames, with_hidden: bool = False) -> list[DataChange]:
    """A data change as people read it, in the forms' order. A key recorded as changed whose value reads the same
    before and after (a value the model set to nothing where there was none: `leader_unit_factor` of a cadre who
    leads nobody) is left out: the audit chain keeps it as recorded, the page does not show "— → —"."""
    if not isinstance(raw, dict):
        return []
    changes = []
    for key, change in sorted(raw.items(), key=lambda item: names.position(str(item[0]))):
        key = str(key)
        if (key.startswith(HIDDEN_PREFIX) and not with_hidden) or not isinstance(change, dict):
            continue
        removed = bool(change.get("removed"))
        before, after = change.get("from"), change.get("to")
        if not removed and _reads_the_same(before, after):
            continue
        rows = None if removed else _row_changes(key, before, after, names)
        if rows == []:
            continue  # only a row's hidden bookkeeping changed
        reviewed = reviewed_values(key, after, names)
        changes.append(
            DataChange(
                key=key,
                label=names.title(key),
                before=names.value(key, before),
                after=names.value(key, after),
                removed=removed,
                rows=rows,
                reviewed=[] if reviewed is None and key in REVIEWED_KEYS and not removed else reviewed,
                reviewed_before=reviewed_values(key, before, names),
            )
        )
    return changes


# Data keys holding what a review changed, by the form's field path → {before, after, reason}: the monthly review's
# (decision 0062). Worded under the form's own titles wherever data is shown: the data section, the history, the
# audit log and an export's readable part.
REVIEWED_KEYS = frozenset({REVIEW_CHANGES})


def reviewed_values(key: str, value: Any, names: FieldNames) -> list[ReviewedValue] | None:
    """A review's changes (REVIEWED_KEYS), each under its place on the form, in the form's order: a table's cell
    (`products.1.completed`) by its row number and column title, a field (`criteria_politics`) by its title. None
    for any other key or value; an entry that is not a change (an older or hand-made shape) is left out."""
    if key not in REVIEWED_KEYS or not isinstance(value, Mapping):
        return None
    found = []
    for path, change in value.items():
        if not isinstance(change, Mapping):
            continue
        path = str(path)
        table, row, column = _field_place(path)
        field_key = column if column is not None else path
        reason = change.get("reason")
        found.append(
            ReviewedValue(
                path=path,
                key=field_key,
                label=names.column(table, field_key) if table is not None else names.title(path),
                table=table,
                row=row,
                before=names.value(field_key, change.get("before")),
                after=names.value(field_key, change.get("after")),
                reason=str(reason) if reason not in (None, "") else None,
            )
        )
    return sorted(found, key=lambda seen: (names.position(seen.table or seen.path), seen.row or 0, seen.path))


def _field_place(path: str) -> tuple[str | None, int | None, str | None]:
    """A table cell's path (`products.1.completed`) as its table, its row number from 1 and its column; a field's
    path as (None, None, None)."""
    parts = path.split(".")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1]) + 1, parts[2]
    return None, None, None


def _reads_the_same(before: Any, after: Any) -> bool:
    """Nothing and an empty text read alike ("—"); so do 9 and 9.0."""
    if before in (None, "") and after in (None, ""):
        return True
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    return bool(before == after) if numbers or type(before) is type(after) else False


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(row, dict) for row in value)


def _row_changes(key: str, before: Any, after: Any, names: FieldNames) -> list[RowChange] | None:
    """The rows of a table that changed, row by row (a table's rows have no ids: the n-th row before is compared
    with the n-th after), each with the cells that changed; a row added or removed at the end with its values."""
    if not (_is_rows(before) or before is None) or not _is_rows(after) or (before is None and not after):
        return None
    old_rows: list[dict[str, Any]] = list(before or [])
    new_rows: list[dict[str, Any]] = list(after)

    def cells(old: dict[str, Any], new: dict[str, Any]) -> list[CellChange]:
        columns = [
            c
            for c in dict.fromkeys([*old, *new])
            if not str(c).startswith(HIDDEN_PREFIX) and not is_id_column(c, [old, new])
        ]
        return [
            CellChange(
                str(column),
                names.column(key, str(column)),
                names.value(str(column), old.get(column)),
                names.value(str(column), new.get(column)),
            )
            for column in columns
            if not _reads_the_same(old.get(column), new.get(column))
        ]

    def name(row: dict[str, Any]) -> Any:
        # A stored file's reference ("attachment:12") is no name: the cell shows the file.
        first = next(
            (
                v
                for c, v in row.items()
                if not str(c).startswith(HIDDEN_PREFIX) and not (isinstance(v, str) and v.startswith(ATTACHMENT_PREFIX))
            ),
            None,
        )
        return first if isinstance(first, str) else None

    rows = []
    for index in range(max(len(old_rows), len(new_rows))):
        old = old_rows[index] if index < len(old_rows) else None
        new = new_rows[index] if index < len(new_rows) else None
        if old is None and new is not None:
            rows.append(RowChange(index + 1, name(new), cells({}, new), added=True))
        elif new is None and old is not None:
            rows.append(RowChange(index + 1, name(old), cells(old, {}), removed=True))
        elif old is not None and new is not None and (changed := cells(old, new)):
            rows.append(RowChange(index + 1, name(new), changed))
    return rows


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo is not None else parsed


# -- the diagram --------------------------------------------------------------------------------------------


def instance_diagram(
    definition: Definition, workflow: Any, title: str | None = None, *, words: DiagramWords = ENGLISH
) -> str | None:
    """The version's diagram with this workflow's progress; None when no stored file defines the process.

    Drawn once per version, progress and language (instances at the same step look the same to readers of one
    language): parsing the model and laying out the SVG cost more than the rest of the instance page together."""
    source = definition.diagram_source
    if source is None:
        return None
    states, taken = element_states_from_workflow(workflow)
    title = title or f"{definition.name} v{definition.version}"
    progress = tuple(sorted((element, str(state)) for element, state in states.items()))
    # The words are part of the key: an English reader must not be served the drawing a Vietnamese one was.
    key = ("diagram", progress, frozenset(taken), title, words)
    return str(
        definition.derived(
            key,
            lambda: render_svg(source, definition.process_id, states, title=title, taken_steps=taken, words=words),
        )
    )


def diagram_for(
    session: Session, engine: ProcessEngine, instance: ProcessInstance, *, words: DiagramWords = ENGLISH
) -> str | None:
    definition = engine.definition(session, instance.process_version_id)
    return instance_diagram(definition, engine.load(definition, instance), words=words)


# -- starting -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessChoice:
    process_id: str
    name: str
    version: int


def startable_processes(session: Session) -> list[ProcessChoice]:
    """The latest version of every deployed process in use: what a start uses (operations.latest_version)."""
    return _latest_versions(session, in_use_only=True)


def deployed_processes(session: Session) -> list[ProcessChoice]:
    """Every deployed process, those withdrawn from use too: what lists and searches filter by."""
    return _latest_versions(session, in_use_only=False)


def _latest_versions(session: Session, *, in_use_only: bool) -> list[ProcessChoice]:
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    query = select(ProcessVersion.process_id, ProcessVersion.name, ProcessVersion.version).join(
        latest,
        and_(ProcessVersion.process_id == latest.c.process_id, ProcessVersion.version == latest.c.version),
    )
    if in_use_only:
        query = query.where(ProcessVersion.retired_dt.is_(None))
    rows = session.execute(query.order_by(ProcessVersion.name, ProcessVersion.process_id))
    return [ProcessChoice(process_id, name, version) for process_id, name, version in rows]


def _scope_roots(user: User) -> set[int]:
    return {unit_id for _role, unit_id in role_units(user)} | {user.unit_id}


def find_cadre(session: Session, user: User, code: str) -> Cadre | None:
    """A cadre by code among those the user can see (their units' subtrees, and themself); None otherwise, so
    that a code outside one's scope reads the same as a code that does not exist."""
    code = code.strip()
    if not code:
        return None
    unit_condition = or_(*(in_subtree(OrgUnit, root) for root in _scope_roots(user)))
    in_scope = or_(Cadre.id == user.cadre_id, Cadre.unit_id.in_(select(OrgUnit.id).where(unit_condition)))
    candidates = session.scalars(
        select(Cadre).where(func.upper(Cadre.code) == code.upper(), in_scope).options(joinedload(Cadre.unit))
    ).all()
    # Codes are compared case-insensitively for people typing them; an exact match wins if both exist.
    exact = [cadre for cadre in candidates if cadre.code == code]
    return next(iter(exact or candidates), None)


def active_cadres_named(session: Session, name: str, limit: int = 6) -> list[Cadre]:
    """Active cadres whose full name is `name` as typed (case and spacing aside): a picker's text that is a name,
    not a code. Up to `limit`: enough to say there are several."""
    wanted = as_typed(name).lower()
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Cadre)
            .where(func.lower(Cadre.full_name) == wanted, Cadre.is_active.is_(True))
            .order_by(Cadre.code)
            .limit(limit)
        )
    )


def _startable_scope(user: User) -> ColumnElement[bool] | None:
    roots = [unit_id for role, unit_id in role_units(user) if role in STARTING_ROLES]
    conditions: list[ColumnElement[bool]] = []
    if user.cadre_id is not None:
        conditions.append(Cadre.id == user.cadre_id)
    if roots:
        units = select(OrgUnit.id).where(or_(*(in_subtree(OrgUnit, root) for root in roots)))
        conditions.append(Cadre.unit_id.in_(units))
    return or_(*conditions) if conditions else None


def startable_subjects(session: Session, user: User, limit: int = MAX_SUBJECT_CHOICES) -> list[Cadre]:
    """Cadres the start form suggests: everyone in the units where the user may start procedures, and the
    user themself (anyone may start a procedure about themself)."""
    scope = _startable_scope(user)
    if scope is None:
        return []
    return list(
        session.scalars(select(Cadre).where(scope).options(joinedload(Cadre.unit)).order_by(Cadre.code).limit(limit))
    )


def search_startable_subjects(
    session: Session, user: User, text: str, limit: int = SUBJECT_SEARCH_LIMIT
) -> list[Cadre]:
    """The cadres of `startable_subjects` a start form's search box finds as `text` is typed: those whose code starts
    with it, or whose name holds it with case and Vietnamese marks ignored ("nguyen thi thu" finds "Nguyễn Thị
    Thu"). Up to `limit`, codes first in code order: a search narrows as the person types, it never lists all."""
    scope = _startable_scope(user)
    return _search_cadres(session, scope, text, limit) if scope is not None else []


def _unit_scope(unit_id: int) -> ColumnElement[bool]:
    return Cadre.unit_id.in_(select(OrgUnit.id).where(in_subtree(OrgUnit, unit_id)))


def search_unit_cadres(session: Session, unit_id: int, text: str, limit: int = SUBJECT_SEARCH_LIMIT) -> list[Cadre]:
    """The active cadres of a procedure's unit (or below it) that a task form's cadre box finds, as
    `search_startable_subjects` finds them: a task names the people of the procedure's unit, whoever fills it in."""
    return _search_cadres(session, and_(Cadre.is_active, _unit_scope(unit_id)), text, limit)


def unit_cadre_names(session: Session, unit_id: int, codes: Collection[str]) -> dict[str, str]:
    """The names of the cadres of a procedure's unit (or below it) that these codes name, for a task form showing
    the name beside each code; a code naming nobody there is left out."""
    if not codes:
        return {}
    rows = session.execute(
        select(Cadre.code, Cadre.full_name).where(Cadre.code.in_(sorted(codes)), _unit_scope(unit_id))
    )
    return {code: name for code, name in rows}


def _search_cadres(session: Session, scope: ColumnElement[bool], text: str, limit: int) -> list[Cadre]:
    match = cadre_match(text)
    if match is None:
        return []
    return list(
        session.scalars(
            select(Cadre)
            .where(scope, match.either)
            .options(joinedload(Cadre.unit))
            .order_by(match.by_code.desc(), Cadre.code)
            .limit(limit)
        )
    )
