"""The only write path for cadre records: each change is validated, applied, then appended to the cadre's audit chain.

Every function flushes and never commits; the caller owns the transaction. An event's payload is
`{"changes": {field: {"from": old, "to": new}}}` (dates as ISO strings), plus `record_id` for the rows that hang off
the cadre (positions held, discipline, planning, evaluations, rotations). Rows are updated in place — a planning
entry is marked removed, an evaluation re-graded — because the chain `cadre:{id}` keeps every earlier value, with who
changed it and when; `verify_chains` proves that nobody rewrote it.

Messages are English msgids; the web layer shows them in Vietnamese through the catalog, which is why each one is a
literal inside `Problem(...)`, `NotFound(...)`, `Conflict(...)` or `Invalid(...)`, where extraction finds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from workflows import clock
from workflows.audit import PendingEvent, append_events
from workflows.errors import N_, Conflict, Invalid, NotFound, Problem, too_long
from workflows.models import ProcessInstance
from workflows.prepared import server_prepared
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineLevel,
    DisciplineRecord,
    EducationLevel,
    EvaluationGrade,
    EvaluationResult,
    Gender,
    OrgUnit,
    PeriodKind,
    PlanningEntry,
    PlanningStatus,
    PoliticalTheory,
    Position,
    RotationRecord,
    User,
)
from workflows.rules.retirement import DEFAULT_SCHEDULE, RetirementSchedule, add_months, retirement_date

# Vietnam has kept UTC+7 without daylight saving since 1975: "today" for a record is the Vietnamese calendar day.
VIETNAM_TZ = timezone(timedelta(hours=7))

# Luật Cán bộ, công chức: a cadre or civil servant is at least 18; the Party Charter (Điều 1) admits members from 18.
ADULT_AGE_MONTHS = 18 * 12

# QĐ 377-QĐ/TW (domain rules §2.2, [V]): at most 3 cadres per planned title, at most 3 titles per cadre at one level.
MAX_CADRES_PER_TITLE = 3
MAX_TITLES_PER_CADRE_AND_LEVEL = 3

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,39}")
TERM_PATTERN = re.compile(r"(\d{4})-(\d{4})")
PERIOD_PATTERNS: dict[str, re.Pattern[str]] = {
    PeriodKind.MONTH: re.compile(r"(\d{4})-(0[1-9]|1[0-2])"),
    PeriodKind.QUARTER: re.compile(r"(\d{4})-Q([1-4])"),
    PeriodKind.YEAR: re.compile(r"(\d{4})"),
}


def _create_failed(problems: list[Problem]) -> Invalid:
    return Invalid("the cadre was not created", problems)


def _change_failed(problems: list[Problem]) -> Invalid:
    return Invalid("the cadre record was not changed", problems)


class CadreEvent(StrEnum):
    CREATED = "cadre_created"
    UPDATED = "cadre_updated"
    POSITION_ADDED = "cadre_position_added"
    POSITION_ENDED = "cadre_position_ended"
    DISCIPLINE_ADDED = "discipline_added"
    PLANNING_ADDED = "planning_entry_added"
    PLANNING_REMOVED = "planning_entry_removed"
    EVALUATION_RECORDED = "evaluation_recorded"
    ROTATION_ADDED = "rotation_added"
    ROTATION_ENDED = "rotation_ended"


def cadre_chain(cadre_id: int) -> str:
    return f"cadre:{cadre_id}"


def local_today() -> date:
    return clock.now().astimezone(VIETNAM_TZ).date()


# --- Parsing one value: each parser returns the clean value or raises _Rejected with the field's problem. ---


class _Rejected(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _text(limit: int) -> Callable[[str, Any], str | None]:
    def parse(field: str, raw: Any) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise _Rejected(Problem("expected text", field=field))
        value = raw.strip()
        if len(value) > limit:
            raise _Rejected(too_long(field, limit))
        return value or None

    return parse


def _code(field: str, raw: Any) -> str | None:
    value = _text(255)(field, raw)
    if value is None:
        return None
    # Codes are looked up case-insensitively elsewhere (workflows.instances.find_cadre); store one spelling.
    value = value.upper()
    if not CODE_PATTERN.fullmatch(value):
        raise _Rejected(
            Problem("a code is 1 to 40 Latin letters or digits, with '.', '-' or '_' after the first", field=field)
        )
    return value


def _date(field: str, raw: Any) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise _Rejected(Problem("expected a date (YYYY-MM-DD)", field=field))


def _bool(field: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Rejected(Problem("expected true or false", field=field))
    return raw


def _id(field: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _Rejected(Problem("expected the id of a record", field=field))
    return raw


def _choice(choices: type[StrEnum]) -> Callable[[str, Any], str | None]:
    allowed = {c.value for c in choices}

    def parse(field: str, raw: Any) -> str | None:
        if raw is None or raw == "":
            return None
        if raw not in allowed:
            raise _Rejected(Problem("not one of the allowed values", field=field))
        return str(raw)

    return parse


def _score(field: str, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        value = float(raw)
        if 0 <= value <= 100:  # NaN fails both comparisons
            return round(value, 2)
    raise _Rejected(Problem("a score is a number from 0 to 100", field=field))


def _required(field: str) -> Problem:
    return Problem("this field is required", field=field)


def _not_future(field: str) -> Problem:
    return Problem("the date cannot be in the future", field=field)


class _Form:
    """Collects every problem of one call, so the person sees them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def take(self, field: str, raw: Any, parse: Callable[[str, Any], Any]) -> Any:
        try:
            return parse(field, raw)
        except _Rejected as rejected:
            self.problems.append(rejected.problem)
            return None

    def need(self, field: str, raw: Any, parse: Callable[[str, Any], Any]) -> Any:
        problems_before = len(self.problems)
        value = self.take(field, raw, parse)
        if value is None and len(self.problems) == problems_before:
            self.problems.append(_required(field))
        return value

    def past(self, field: str, value: date | None, today: date) -> None:
        if value is not None and value > today:
            self.problems.append(_not_future(field))

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def check(self, failure: Callable[[list[Problem]], Invalid]) -> None:
        if self.problems:
            raise failure(self.problems)


# --- Loading what a call refers to. ---


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("the org unit does not exist")
    return unit


def _position(session: Session, position_id: int) -> Position:
    position = session.get(Position, position_id)
    if position is None:
        raise NotFound("the position does not exist")
    return position


def _check_instance(session: Session, instance_id: int | None) -> None:
    # Only whether it exists: loading the instance would also bring its serialized workflow (kilobytes) along.
    if (
        instance_id is not None
        and session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id)) is None
    ):
        raise NotFound("the process instance does not exist")


_LOCKED_CADRE = server_prepared(
    select(Cadre).where(Cadre.id == bindparam("cadre_id")).with_for_update().execution_options(populate_existing=True)
)


def lock_cadre(session: Session, cadre_id: int) -> Cadre:
    """Read the cadre from the database, locked (PostgreSQL; SQLite already holds the write lock), so the "from"
    values in the chain are the stored ones even when two people change the same record at once. Attribute edits
    made on the object outside this module are discarded, not audited as somebody else's change."""
    with session.no_autoflush:
        locked = session.scalars(_LOCKED_CADRE, {"cadre_id": cadre_id}).one_or_none()
    if locked is None:
        raise NotFound("the cadre does not exist")
    return locked


def _lock(session: Session, cadre: Cadre) -> Cadre:
    return lock_cadre(session, cadre.id)


def _require_active(form: _Form, cadre: Cadre) -> None:
    if not cadre.is_active:
        form.add(Problem("the cadre is not active"))


# --- Audit. ---


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _change(old: Any, new: Any) -> dict[str, Any]:
    return {"from": _plain(old), "to": _plain(new)}


def _snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {name: _change(None, getattr(row, name)) for name in fields if getattr(row, name) is not None}


def _audit(session: Session, actor: User | None, cadre_id: int, event: CadreEvent, payload: dict[str, Any]) -> None:
    append_events(session, cadre_chain(cadre_id), [PendingEvent(event, payload)], actor=actor)


# --- Cadres. ---

_CADRE_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "code": _code,
    "full_name": _text(255),
    "unit_id": _id,
    "birth_date": _date,
    "gender": _choice(Gender),
    "ethnicity": _text(60),
    "hometown": _text(255),
    "hometown_unit_id": _id,
    "is_party_member": _bool,
    "party_joined_date": _date,
    "education_level": _choice(EducationLevel),
    "education_field": _text(255),
    "is_science_technology": _bool,
    "political_theory": _choice(PoliticalTheory),
    "state_management_training": _text(255),
    "retirement_date": _date,
    "is_active": _bool,
}
_REQUIRED_CADRE_FIELDS = ("code", "full_name", "unit_id", "birth_date", "gender")
_CADRE_DEFAULTS: dict[str, Any] = {"is_party_member": False, "is_science_technology": False, "is_active": True}


def _parse_cadre_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], _Form]:
    """The values that parsed, and a form holding the problems of the others (checked with the rest later)."""
    form = _Form()
    cleaned = {}
    for name, raw in values.items():
        parse = _CADRE_FIELDS.get(name)
        if parse is None:
            form.add(Problem("unknown field", field=str(name)))
            continue
        problems_before = len(form.problems)
        value = form.take(name, raw, parse)
        if len(form.problems) == problems_before:
            cleaned[name] = value
    return cleaned, form


def _computed_retirement(state: Mapping[str, Any], schedule: RetirementSchedule) -> date | None:
    if state["birth_date"] is None or state["gender"] not in set(Gender):
        return None
    return retirement_date(state["birth_date"], state["gender"], schedule)


def _check_cadre(
    session: Session,
    state: dict[str, Any],
    changed: set[str],
    form: _Form,
    *,
    cadre_id: int | None,
    retirement_given: bool,
    schedule: RetirementSchedule,
    failure: Callable[[list[Problem]], Invalid],
) -> None:
    """Checks the merged record where the change touches it; fills in the retirement date."""
    today = local_today()
    unparsed = {problem.field for problem in form.problems}
    for name in _REQUIRED_CADRE_FIELDS:
        if name in changed and state[name] is None and name not in unparsed:
            form.add(_required(name))
    form.check(failure)

    if "unit_id" in changed and not _unit(session, state["unit_id"]).is_active_on(today):
        form.add(Problem("the unit is not active", field="unit_id"))
    if "hometown_unit_id" in changed and state["hometown_unit_id"] is not None:
        _unit(session, state["hometown_unit_id"])
    if "code" in changed:
        taken = select(Cadre.id).where(Cadre.code == state["code"])
        if cadre_id is not None:
            taken = taken.where(Cadre.id != cadre_id)
        if session.scalar(taken) is not None:
            form.add(Problem("this code is already used by another cadre", field="code"))

    birth = state["birth_date"]
    if "birth_date" in changed and birth is not None:
        if birth > today:
            form.add(_not_future("birth_date"))
        elif add_months(birth, ADULT_AGE_MONTHS) > today:
            form.add(Problem("the cadre must be at least 18 years old", field="birth_date"))
    joined = state["party_joined_date"]
    if changed & {"party_joined_date", "is_party_member", "birth_date"} and joined is not None:
        if not state["is_party_member"]:
            form.add(Problem("only a party member has a party joining date", field="party_joined_date"))
        elif joined > today:
            form.add(_not_future("party_joined_date"))
        elif birth is not None and joined < add_months(birth, ADULT_AGE_MONTHS):
            form.add(Problem("party members join at 18 or older", field="party_joined_date"))

    if changed & {"birth_date", "gender", "retirement_date"}:
        computed = _computed_retirement(state, schedule)
        if retirement_given and state["retirement_date"] != computed:
            form.add(Problem("the retirement date follows from the birth date and gender", field="retirement_date"))
        state["retirement_date"] = computed
    form.check(failure)


def create_cadre(
    session: Session,
    actor: User | None,
    values: Mapping[str, Any],
    *,
    schedule: RetirementSchedule = DEFAULT_SCHEDULE,
) -> Cadre:
    """`values` uses the column names; `retirement_date` may be left out (it is computed) or must match."""
    cleaned, form = _parse_cadre_values(values)
    state = {name: None for name in _CADRE_FIELDS} | _CADRE_DEFAULTS | cleaned
    _check_cadre(
        session,
        state,
        set(_CADRE_FIELDS),
        form,
        cadre_id=None,
        retirement_given="retirement_date" in cleaned,
        schedule=schedule,
        failure=_create_failed,
    )
    cadre = Cadre(**state)
    session.add(cadre)
    session.flush()
    _audit(session, actor, cadre.id, CadreEvent.CREATED, {"changes": _snapshot(cadre, tuple(_CADRE_FIELDS))})
    return cadre


def update_cadre(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    changes: Mapping[str, Any],
    *,
    schedule: RetirementSchedule = DEFAULT_SCHEDULE,
) -> dict[str, dict[str, Any]]:
    """Returns what changed, as written to the chain; `{}` (and nothing written) when every value is already so."""
    cleaned, form = _parse_cadre_values(changes)
    form.check(_change_failed)
    cadre = _lock(session, cadre)
    current = {name: getattr(cadre, name) for name in _CADRE_FIELDS}
    differing = {name: value for name, value in cleaned.items() if value != current[name]}
    if not differing:
        return {}
    state = current | differing
    _check_cadre(
        session,
        state,
        set(differing),
        form,
        cadre_id=cadre.id,
        retirement_given="retirement_date" in differing,
        schedule=schedule,
        failure=_change_failed,
    )
    diff = {name: _change(current[name], state[name]) for name in _CADRE_FIELDS if state[name] != current[name]}
    if not diff:
        return {}
    for name in diff:
        setattr(cadre, name, state[name])
    session.flush()
    _audit(session, actor, cadre.id, CadreEvent.UPDATED, {"changes": diff})
    return diff


def recompute_retirement_dates(
    session: Session, actor: User | None, *, schedule: RetirementSchedule = DEFAULT_SCHEDULE
) -> int:
    """After the schedule is reconfigured, or for cadres stored before retirement dates were: returns how many
    cadres changed, each audited like any other change."""
    changed = 0
    cadres = session.scalars(
        select(Cadre).where(Cadre.birth_date.is_not(None), Cadre.gender.in_(list(Gender))).order_by(Cadre.id)
    ).all()
    for cadre in cadres:
        if cadre.birth_date is None or cadre.gender is None:
            continue
        computed = retirement_date(cadre.birth_date, cadre.gender, schedule)
        if computed != cadre.retirement_date:
            changed += bool(update_cadre(session, actor, cadre, {"retirement_date": computed}, schedule=schedule))
    return changed


# --- Positions held. ---

_CADRE_POSITION_FIELDS = ("position_id", "started_on", "ended_on", "term_ends_on", "source_instance_id")


def add_position(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    *,
    position_id: int,
    started_on: date | str,
    term_ends_on: date | str | None = None,
    source_instance_id: int | None = None,
) -> CadrePosition:
    """`started_on` may lie ahead (a decision takes effect later). Without `term_ends_on` the term runs the
    position's `term_years` and ends the day before the anniversary."""
    form = _Form()
    position_id = form.need("position_id", position_id, _id)
    start = form.need("started_on", started_on, _date)
    term_end = form.take("term_ends_on", term_ends_on, _date)
    source_instance_id = form.take("source_instance_id", source_instance_id, _id)
    form.check(_change_failed)

    cadre = _lock(session, cadre)
    position = _position(session, position_id)
    _check_instance(session, source_instance_id)
    _require_active(form, cadre)
    if term_end is None and position.term_years:
        term_end = add_months(start, 12 * position.term_years) - timedelta(days=1)
    if term_end is not None and term_end < start:
        form.add(Problem("the term cannot end before it starts", field="term_ends_on"))
    held = select(CadrePosition.id).where(
        CadrePosition.cadre_id == cadre.id, CadrePosition.position_id == position.id, CadrePosition.ended_on.is_(None)
    )
    if session.scalar(held) is not None:
        form.add(Problem("the cadre already holds this position", field="position_id"))
    form.check(_change_failed)

    row = CadrePosition(
        cadre_id=cadre.id,
        position_id=position.id,
        started_on=start,
        term_ends_on=term_end,
        source_instance_id=source_instance_id,
    )
    session.add(row)
    session.flush()
    changes = _snapshot(row, _CADRE_POSITION_FIELDS)
    _audit(session, actor, cadre.id, CadreEvent.POSITION_ADDED, {"record_id": row.id, "changes": changes})
    return row


def end_position(
    session: Session, actor: User | None, cadre: Cadre, cadre_position_id: int, *, ended_on: date | str | None = None
) -> CadrePosition:
    """Without `ended_on`, the position ends today."""
    return _end_record(
        session,
        actor,
        cadre,
        CadrePosition,
        cadre_position_id,
        ended_on,
        missing=N_("the position held does not exist"),
        already=N_("this position has already ended"),
        event=CadreEvent.POSITION_ENDED,
    )


def _end_record(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    model: Any,
    record_id: int,
    ended_on: date | str | None,
    *,
    missing: str,
    already: str,
    event: CadreEvent,
) -> Any:
    """Close a dated record of this cadre (a position held, a rotation): checks, the end date, the audit event."""
    form = _Form()
    end = form.take("ended_on", ended_on, _date)
    form.check(_change_failed)
    cadre = _lock(session, cadre)
    row = session.scalar(select(model).where(model.id == record_id, model.cadre_id == cadre.id))
    if row is None:
        raise NotFound(missing)
    if row.ended_on is not None:
        raise Conflict(already)
    today = local_today()
    end = end or today
    form.past("ended_on", end, today)
    if end < row.started_on:
        form.add(Problem("the end date cannot be before the start date", field="ended_on"))
    form.check(_change_failed)

    row.ended_on = end
    session.flush()
    changes = {"ended_on": _change(None, end)}
    _audit(session, actor, cadre.id, event, {"record_id": row.id, "changes": changes})
    return row


# --- Discipline. ---

_DISCIPLINE_FIELDS = ("level", "decided_on", "expires_on", "note")


def add_discipline(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    *,
    level: str,
    decided_on: date | str,
    expires_on: date | str | None = None,
    note: str | None = None,
) -> DisciplineRecord:
    form = _Form()
    today = local_today()
    level = form.need("level", level, _choice(DisciplineLevel))
    decided = form.need("decided_on", decided_on, _date)
    expires = form.take("expires_on", expires_on, _date)
    note = form.take("note", note, _text(2000))
    form.past("decided_on", decided, today)
    if decided is not None and expires is not None and expires < decided:
        form.add(Problem("the discipline cannot expire before it was decided", field="expires_on"))
    form.check(_change_failed)

    cadre = _lock(session, cadre)
    row = DisciplineRecord(cadre_id=cadre.id, level=level, decided_on=decided, expires_on=expires, note=note)
    session.add(row)
    session.flush()
    changes = _snapshot(row, _DISCIPLINE_FIELDS)
    _audit(session, actor, cadre.id, CadreEvent.DISCIPLINE_ADDED, {"record_id": row.id, "changes": changes})
    return row


# --- Planning. ---

_PLANNING_FIELDS = ("position_id", "term", "status", "added_on", "source_instance_id")


def _term(field: str, raw: Any) -> str | None:
    value = _text(255)(field, raw)
    if value is None:
        return None
    match = TERM_PATTERN.fullmatch(value)
    if match is None or int(match.group(2)) <= int(match.group(1)):
        raise _Rejected(Problem("a term is written like 2026-2031", field=field))
    return value


def add_planning_entry(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    *,
    position_id: int,
    term: str,
    added_on: date | str | None = None,
    source_instance_id: int | None = None,
) -> PlanningEntry:
    """Checks the verified limits of QĐ 377 (3 cadres per title, 3 titles per cadre and level, per term — a title the
    cadre holds not counted) and that the cadre does not already hold the title; the other planning conditions are
    decided in the planning procedure."""
    form = _Form()
    today = local_today()
    position_id = form.need("position_id", position_id, _id)
    term = form.need("term", term, _term)
    added = form.take("added_on", added_on, _date) or today
    source_instance_id = form.take("source_instance_id", source_instance_id, _id)
    form.past("added_on", added, today)
    form.check(_change_failed)

    cadre = _lock(session, cadre)
    position = _position(session, position_id)
    _check_instance(session, source_instance_id)
    _require_active(form, cadre)
    active = select(func.count(PlanningEntry.id)).where(
        PlanningEntry.term == term, PlanningEntry.status == PlanningStatus.ACTIVE
    )
    if session.scalar(active.where(PlanningEntry.cadre_id == cadre.id, PlanningEntry.position_id == position.id)):
        form.add(Problem("the cadre is already planned for this title in this term", field="position_id"))
    elif (session.scalar(active.where(PlanningEntry.position_id == position.id)) or 0) >= MAX_CADRES_PER_TITLE:
        form.add(Problem("this title already has the most planned cadres allowed for the term", field="position_id"))
    # A title the cadre holds is no plan (only higher titles are), so it takes none of the 3 (decision 0113).
    held_posts = select(CadrePosition.position_id).where(
        CadrePosition.cadre_id == cadre.id, CadrePosition.ended_on.is_(None)
    )
    same_level = active.join(Position, Position.id == PlanningEntry.position_id).where(
        PlanningEntry.cadre_id == cadre.id,
        Position.level == position.level,
        PlanningEntry.position_id.not_in(held_posts),
    )
    if (session.scalar(same_level) or 0) >= MAX_TITLES_PER_CADRE_AND_LEVEL:
        form.add(Problem("the cadre is already planned for the most titles allowed at this level", field="position_id"))
    held = held_posts.where(CadrePosition.position_id == position.id)
    if session.scalar(held) is not None:
        form.add(Problem("a cadre is planned only for a title they do not hold", field="position_id"))
    form.check(_change_failed)

    row = PlanningEntry(
        cadre_id=cadre.id,
        position_id=position.id,
        term=term,
        status=PlanningStatus.ACTIVE,
        added_on=added,
        source_instance_id=source_instance_id,
    )
    session.add(row)
    session.flush()
    changes = _snapshot(row, _PLANNING_FIELDS)
    _audit(session, actor, cadre.id, CadreEvent.PLANNING_ADDED, {"record_id": row.id, "changes": changes})
    return row


def remove_planning_entry(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    entry_id: int,
    *,
    reason: str,
    removed_on: date | str | None = None,
    removal_instance_id: int | None = None,
) -> PlanningEntry:
    """The entry stays, marked removed, with the date and the reason (annual review: domain rules §2.4), and the
    procedure that removed it when one did."""
    form = _Form()
    today = local_today()
    reason = form.take("reason", reason, _text(2000))
    if reason is None and not any(problem.field == "reason" for problem in form.problems):
        form.add(Problem("a reason is required", field="reason"))
    removed = form.take("removed_on", removed_on, _date) or today
    removal_instance_id = form.take("removal_instance_id", removal_instance_id, _id)
    form.past("removed_on", removed, today)
    form.check(_change_failed)

    cadre = _lock(session, cadre)
    _check_instance(session, removal_instance_id)
    row = session.scalar(select(PlanningEntry).where(PlanningEntry.id == entry_id, PlanningEntry.cadre_id == cadre.id))
    if row is None:
        raise NotFound("the planning entry does not exist")
    if row.status == PlanningStatus.REMOVED:
        raise Conflict("this planning entry has already been removed")
    if removed < row.added_on:
        form.add(Problem("the entry cannot be removed before it was added", field="removed_on"))
    form.check(_change_failed)

    changes = {
        "status": _change(row.status, PlanningStatus.REMOVED.value),
        "removed_on": _change(None, removed),
        "reason": _change(None, reason),
    }
    if removal_instance_id is not None:
        changes["removal_instance_id"] = _change(None, removal_instance_id)
    row.status, row.removed_on, row.reason = PlanningStatus.REMOVED, removed, reason
    row.removal_instance_id = removal_instance_id
    session.flush()
    _audit(session, actor, cadre.id, CadreEvent.PLANNING_REMOVED, {"record_id": row.id, "changes": changes})
    return row


# --- Evaluations. ---


def period_start(period_kind: str, period: str) -> date | None:
    """The first day of a period written as its kind expects ("2026-11", "2026-Q4", "2026"); None otherwise."""
    pattern = PERIOD_PATTERNS.get(period_kind)
    match = pattern.fullmatch(period) if pattern is not None and isinstance(period, str) else None
    if match is None:
        return None
    year = int(match.group(1))
    if period_kind == PeriodKind.MONTH:
        return date(year, int(match.group(2)), 1)
    if period_kind == PeriodKind.QUARTER:
        return date(year, 3 * int(match.group(2)) - 2, 1)
    return date(year, 1, 1)


_RESULT_OF_PERIOD = server_prepared(
    select(EvaluationResult).where(
        EvaluationResult.cadre_id == bindparam("cadre_id"),
        EvaluationResult.period_kind == bindparam("period_kind"),
        EvaluationResult.period == bindparam("period"),
    )
)


def record_evaluation(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    *,
    period_kind: str,
    period: str,
    grade: str,
    score: float | Decimal | None = None,
    unit_id: int | None = None,
    source_instance_id: int | None = None,
    quota_exception: str | None = None,
    reason: str | None = None,
    cadre_locked: bool = False,
    source_locked: bool = False,
) -> EvaluationResult:
    """One result per cadre and period: a second call re-grades it (grade, score and quota exception as given; unit
    and source kept unless given) and the chain keeps the earlier values. Nothing is written when nothing differs.
    `quota_exception` is the reference of the approval under which an HTXSNV over the quota was kept; `reason`
    (e.g. why an HTXSNV over the quota was demoted) goes with the change into the chain. `cadre_locked`: the caller
    read `cadre` with `lock_cadre` in this transaction, so it is not read a second time; `source_locked`: the
    caller holds the lock of the source instance (it is completing it), so its existence is not checked."""
    form = _Form()
    kind = form.need("period_kind", period_kind, _choice(PeriodKind))
    grade = form.need("grade", grade, _choice(EvaluationGrade))
    score = form.take("score", score, _score)
    unit_id = form.take("unit_id", unit_id, _id)
    source_instance_id = form.take("source_instance_id", source_instance_id, _id)
    quota_exception = form.take("quota_exception", quota_exception, _text(2000))
    reason = form.take("reason", reason, _text(2000))
    # NĐ 335 Điều 20 k5: only an HTXSNV can be over the HTXSNV quota, so only it can carry the approved exception.
    if quota_exception is not None and grade is not None and grade != EvaluationGrade.HTXSNV:
        form.add(Problem("an approved quota exception belongs to an HTXSNV grade only", field="quota_exception"))
    if kind is not None:
        start = period_start(kind, period)
        if start is None:
            form.add(Problem("the period does not match its kind (2026-11, 2026-Q4 or 2026)", field="period"))
        elif start > local_today():
            form.add(Problem("the period has not started yet", field="period"))
    form.check(_change_failed)

    if not cadre_locked:
        cadre = _lock(session, cadre)
    if unit_id is not None and unit_id != cadre.unit_id:  # the cadre's own unit exists: a foreign key says so
        _unit(session, unit_id)
    if not source_locked:
        _check_instance(session, source_instance_id)
    row = session.scalar(_RESULT_OF_PERIOD, {"cadre_id": cadre.id, "period_kind": kind, "period": period})
    if row is None:
        row = EvaluationResult(
            cadre_id=cadre.id,
            period_kind=kind,
            period=period,
            score=score,
            grade=grade,
            unit_id=unit_id if unit_id is not None else cadre.unit_id,
            source_instance_id=source_instance_id,
            quota_exception=quota_exception,
        )
        session.add(row)
        session.flush()
        changes = _snapshot(row, ("score", "grade", "unit_id", "source_instance_id", "quota_exception"))
    else:
        wanted = {
            "score": score,
            "grade": grade,
            "unit_id": unit_id if unit_id is not None else row.unit_id,
            "source_instance_id": source_instance_id if source_instance_id is not None else row.source_instance_id,
            "quota_exception": quota_exception,
        }
        changes = {
            name: _change(getattr(row, name), value) for name, value in wanted.items() if getattr(row, name) != value
        }
        if not changes:
            return row
        for name, value in wanted.items():
            setattr(row, name, value)
        row.updated_dt = clock.utcnow_naive()
        session.flush()
    payload: dict[str, Any] = {"record_id": row.id, "period_kind": kind, "period": period, "changes": changes}
    if reason is not None:
        payload["reason"] = reason
    _audit(session, actor, cadre.id, CadreEvent.EVALUATION_RECORDED, payload)
    return row


# --- Rotations. ---

_ROTATION_FIELDS = ("from_unit_id", "to_unit_id", "position_id", "started_on", "planned_end_on", "source_instance_id")


def add_rotation(
    session: Session,
    actor: User | None,
    cadre: Cadre,
    *,
    to_unit_id: int,
    started_on: date | str,
    planned_end_on: date | str | None = None,
    position_id: int | None = None,
    from_unit_id: int | None = None,
    source_instance_id: int | None = None,
) -> RotationRecord:
    """`from_unit_id` defaults to the cadre's unit. The cadre's own unit is not changed here: the procedure does that
    with `update_cadre`, so each change has its own event."""
    form = _Form()
    to_unit_id = form.need("to_unit_id", to_unit_id, _id)
    start = form.need("started_on", started_on, _date)
    planned_end = form.take("planned_end_on", planned_end_on, _date)
    position_id = form.take("position_id", position_id, _id)
    from_unit_id = form.take("from_unit_id", from_unit_id, _id)
    source_instance_id = form.take("source_instance_id", source_instance_id, _id)
    if start is not None and planned_end is not None and planned_end < start:
        form.add(Problem("the planned end cannot be before the start", field="planned_end_on"))
    form.check(_change_failed)

    cadre = _lock(session, cadre)
    to_unit = _unit(session, to_unit_id)
    from_unit = _unit(session, from_unit_id) if from_unit_id is not None else cadre.unit
    if position_id is not None:
        _position(session, position_id)
    _check_instance(session, source_instance_id)
    _require_active(form, cadre)
    if not to_unit.is_active_on(local_today()):
        form.add(Problem("the unit is not active", field="to_unit_id"))
    if to_unit.id == from_unit.id:
        form.add(Problem("a rotation goes to another unit", field="to_unit_id"))
    open_rotation = select(RotationRecord.id).where(
        RotationRecord.cadre_id == cadre.id, RotationRecord.ended_on.is_(None)
    )
    if session.scalar(open_rotation) is not None:
        form.add(Problem("the cadre is already on a rotation that has not ended"))
    form.check(_change_failed)

    row = RotationRecord(
        cadre_id=cadre.id,
        from_unit_id=from_unit.id,
        to_unit_id=to_unit.id,
        position_id=position_id,
        started_on=start,
        planned_end_on=planned_end,
        source_instance_id=source_instance_id,
    )
    session.add(row)
    session.flush()
    changes = _snapshot(row, _ROTATION_FIELDS)
    _audit(session, actor, cadre.id, CadreEvent.ROTATION_ADDED, {"record_id": row.id, "changes": changes})
    return row


def end_rotation(
    session: Session, actor: User | None, cadre: Cadre, rotation_id: int, *, ended_on: date | str | None = None
) -> RotationRecord:
    """Without `ended_on`, the rotation ends today."""
    return _end_record(
        session,
        actor,
        cadre,
        RotationRecord,
        rotation_id,
        ended_on,
        missing=N_("the rotation does not exist"),
        already=N_("this rotation has already ended"),
        event=CadreEvent.ROTATION_ENDED,
    )
