"""Queries behind the targets dashboard, in the viewer's scope.

The figures are pure rules (workflows/rules/targets.py). Here the database sums what they need: one aggregate
query counts, per commune and per figure, the cadres in the numerator, in the denominator and unknown
(`figure_counts`), with the same measures the rules apply one cadre at a time written as SQL (`_measures`); the
people behind a figure are loaded only on its drill-down page, a page at a time (`figure_rows`). Evaluation grades
and task timings are likewise filtered by scope in SQL. `cadre_facts` still loads whole cadres: it is the reference
the aggregation is tested against.

Two facts are not columns: the commune a unit is in, and the commune a recorded hometown is today (through the
2025 mergers). Both come from the pure rules in workflows/rules/communes.py over the units (a province has a few
thousand), and reach the queries as small VALUES tables (see `_Query`, and docs/decisions/0011).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    column,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session, aliased

from workflows.access import in_subtree, role_units
from workflows.assignment import path_ancestors
from workflows.models import HumanTask
from workflows.registry.models import Cadre, CadrePosition, EvaluationResult, OrgUnit, Position, User
from workflows.rules.communes import UnitNode, commune_of, current_commune
from workflows.rules.targets import (
    EDUCATION_LEVELS,
    FEMALE,
    FIGURE_KEYS,
    MALE,
    MASTERS_OR_HIGHER,
    POLITICAL_THEORY_LEVELS,
    THEORY_ADVANCED_OR_HIGHER,
    THEORY_INTERMEDIATE_OR_HIGHER,
    UNIVERSITY_OR_HIGHER,
    YOUNG_AGE_YEARS,
    CadreFacts,
    FigureCounts,
    TargetDefinition,
    counting_basis,
    earliest_birth_date_under,
    population_titles,
    position_titles,
)
from workflows.states import Role, TaskStatus

__all__ = [
    "COUNTED_FILTERS",
    "DASHBOARD_ROLES",
    "DashboardCounts",
    "FigureRow",
    "UnitIndex",
    "cadre_facts",
    "can_view_dashboard",
    "dashboard_roots",
    "figure_counts",
    "figure_rows",
    "latest_month",
    "month_grade_counts",
    "task_rows",
]

DASHBOARD_ROLES = (Role.SUPERVISOR, Role.HEAD, Role.PERSONNEL, Role.AUDITOR, Role.ADMIN)


def dashboard_roots(user: User) -> list[int]:
    """The units whose subtrees this user may see figures for (leaders: their unit; province roles: all)."""
    return sorted({unit_id for role, unit_id in role_units(user) if role in DASHBOARD_ROLES})


def can_view_dashboard(user: User) -> bool:
    return bool(dashboard_roots(user))


def _scope(roots: Iterable[int]) -> ColumnElement[bool]:
    clauses = [in_subtree(OrgUnit, root) for root in roots]
    return or_(*clauses) if clauses else false()


class UnitIndex:
    """All org units once (a province has a few thousand): names, the commune a unit is in and the commune a place
    is today, without more queries."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            select(OrgUnit.id, OrgUnit.name, OrgUnit.unit_type, OrgUnit.path, OrgUnit.merged_into_id, OrgUnit.merged_on)
        ).all()
        self.names = {row.id: row.name for row in rows}
        self.nodes = {
            row.id: UnitNode(
                id=row.id,
                unit_type=row.unit_type,
                ancestors=tuple(path_ancestors(row.path)),
                merged_into_id=row.merged_into_id,
                merged_on=row.merged_on,
            )
            for row in rows
        }

    def commune_of(self, unit_id: int | None) -> int | None:
        return commune_of(unit_id, self.nodes)

    def current_commune(self, unit_id: int | None, today: date) -> int | None:
        return current_commune(unit_id, self.nodes, today)

    def name(self, unit_id: int | None) -> str:
        return self.names.get(unit_id, "") if unit_id is not None else ""

    def in_roots(self, unit_id: int, roots: Iterable[int]) -> bool:
        """The subtree rule of workflows/access.py (`in_subtree`): the unit is a root or lies below one."""
        node = self.nodes.get(unit_id)
        return node is not None and not {unit_id, *node.ancestors}.isdisjoint(roots)


# ---------------------------------------------------------------------------------------------
# The reference: every cadre's facts (small scopes, and the tests of the aggregation below)
# ---------------------------------------------------------------------------------------------
def cadre_facts(session: Session, roots: list[int], today: date, index: UnitIndex | None = None) -> list[CadreFacts]:
    """Every active cadre in scope with what the figures need to know, in id order. Loads whole rows: fine for a
    commune, slow for a province of 50,000 (the dashboard uses `figure_counts`)."""
    index = index or UnitIndex(session)
    if not roots:
        return []
    in_scope = (
        select(Cadre).join(OrgUnit, Cadre.unit_id == OrgUnit.id).where(Cadre.is_active.is_not(False), _scope(roots))
    )
    cadres = session.execute(in_scope.order_by(Cadre.id)).scalars().all()
    titles: dict[int, set[str]] = defaultdict(set)
    for row in session.execute(
        select(
            CadrePosition.cadre_id,
            Position.title_code,
            Position.is_key_title,
            Position.is_leadership,
            Position.is_province_managed,
        )
        .join(Position, CadrePosition.position_id == Position.id)
        .where(CadrePosition.ended_on.is_(None), CadrePosition.cadre_id.in_(in_scope.with_only_columns(Cadre.id)))
    ):
        titles[row.cadre_id] |= position_titles(*row[1:])
    return [
        CadreFacts(
            cadre_id=c.id,
            code=c.code,
            full_name=c.full_name,
            unit_id=c.unit_id,
            unit_name=index.name(c.unit_id),
            commune_id=index.commune_of(c.unit_id),
            hometown_commune_id=index.current_commune(c.hometown_unit_id, today),
            birth_date=c.birth_date,
            gender=c.gender if c.gender in (MALE, FEMALE) else None,
            ethnicity=c.ethnicity,
            education_level=c.education_level,
            is_science_technology=bool(c.is_science_technology),
            political_theory=c.political_theory,
            titles=frozenset(titles.get(c.id, ())),
        )
        for c in cadres
    ]


# ---------------------------------------------------------------------------------------------
# The figures summed by the database
# ---------------------------------------------------------------------------------------------
class _Query:
    """The cadres in scope as one FROM clause, with each figure's population and measure as SQL expressions.

    A measure is 1 (counted in the numerator), 0 (known, not counted) or NULL (unknown), exactly as the rule
    functions `_MEASURES` in workflows/rules/targets.py answer True, False and None for one cadre. A population is a
    flag per cadre: holds an open position giving the title (`position_titles`), however many such positions they
    hold. The positions giving each title are looked up first (a province has a few thousand), so the flags come
    from an index lookup of their holders (`held`, one row per holder).

    The units in scope (the subtree rule of workflows/access.py, applied to the unit index) come as a VALUES table
    with the commune of each, and the cadres are joined to it: PostgreSQL hashes it, SQLite reads the cadres of
    each unit by index. Today's commune of each hometown comes from a second VALUES table, joined where it is
    needed: to the holders when the non-local figures count title holders (as they do), to every cadre only if a
    province counts everyone. Ids are our own integers, written into the SQL text (`_one_of`, `_values_table`): the
    text is the same from one request to the next, so the compiled statement is cached, and no plan depends on
    parameter values."""

    def __init__(
        self,
        session: Session,
        roots: list[int],
        today: date,
        definitions: Mapping[str, TargetDefinition],
        index: UnitIndex,
    ) -> None:
        self.definitions = definitions
        scope = _values_table(
            "scope_units", [(unit, index.commune_of(unit)) for unit in index.nodes if index.in_roots(unit, roots)]
        )
        self.commune = scope.c.commune_id
        self.from_clause = scope.join(Cadre, Cadre.unit_id == scope.c.unit_id)
        self.where = Cadre.is_active.is_not(False)
        communes_today = [(unit, index.current_commune(unit, today)) for unit in index.nodes]
        everyone_non_local = any(
            definitions[key].population_title is None for key in NON_LOCAL_FIGURES if key in definitions
        )
        home: Any = null()
        if everyone_non_local:
            homes = _values_table("home_communes", communes_today)
            self.from_clause = self.from_clause.outerjoin(homes, homes.c.unit_id == Cadre.hometown_unit_id)
            home = homes.c.commune_id

        self.flags: dict[str, Any] = {}
        giving = _positions_giving(session, population_titles(definitions.values()))
        if any(giving.values()):
            holder = aliased(Cadre, name="holder")
            holder_homes = _values_table("holder_homes", communes_today)
            held = (
                select(
                    CadrePosition.cadre_id.label("cadre_id"),
                    func.max(holder_homes.c.commune_id).label("home"),
                    *(
                        func.max(case((_one_of(CadrePosition.position_id, ids), 1), else_=0)).label(f"t{i}")
                        for i, ids in enumerate(giving.values())
                    ),
                )
                .join(holder, holder.id == CadrePosition.cadre_id)
                .outerjoin(holder_homes, holder_homes.c.unit_id == holder.hometown_unit_id)
                .where(
                    CadrePosition.ended_on.is_(None),
                    _one_of(CadrePosition.position_id, {i for ids in giving.values() for i in ids}),
                )
                .group_by(CadrePosition.cadre_id)
                .subquery("held")
            )
            # COALESCE: a cadre without such a post is false, not NULL, so `flag AND measure` stops at the flag.
            self.flags = {title: func.coalesce(held.c[f"t{i}"], 0) == 1 for i, title in enumerate(giving)}
            self.from_clause = self.from_clause.outerjoin(held, held.c.cadre_id == Cadre.id)
            if not everyone_non_local:
                home = held.c.home
        self.home_commune = home
        self.measures = _measures(self.commune, home, today)

    def population(self, key: str) -> ColumnElement[bool]:
        title = self.definitions[key].population_title
        return true() if title is None else self.flags.get(title, false())

    def select(self, *columns: Any) -> Select[Any]:
        return select(*columns).select_from(self.from_clause).where(self.where)


def _positions_giving(session: Session, titles: list[str]) -> dict[str, list[int]]:
    """The ids of the positions that give each title (`position_titles`)."""
    giving: dict[str, list[int]] = {title: [] for title in titles}
    if titles:
        for position_id, *row in session.execute(
            select(
                Position.id,
                Position.title_code,
                Position.is_key_title,
                Position.is_leadership,
                Position.is_province_managed,
            )
        ):
            for title in position_titles(*row) & giving.keys():
                giving[title].append(position_id)
    return giving


def _one_of(expression: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """`expression IN (1, 2, 3)` with the ids written into the text (integers only), or false for no ids."""
    wanted = sorted({int(i) for i in ids})
    return expression.in_([literal_column(str(i)) for i in wanted]) if wanted else false()


def _values_table(name: str, rows: Iterable[tuple[int, int | None]]) -> Any:
    """(unit id, commune id or NULL) as a VALUES table with the integers written into the text (`int` makes sure).
    A row (-1, -1), matching no unit, keeps the table non-empty and its columns typed as integers."""
    values = ", ".join(f"({int(u)}, {'NULL' if c is None else int(c)})" for u, c in [*rows, (-1, -1)])
    # Both PostgreSQL and SQLite name the columns of a bare VALUES list column1, column2.
    table = text(f"SELECT column1 AS unit_id, column2 AS commune_id FROM (VALUES {values}) AS {name}_rows")  # noqa: S608
    return table.columns(column("unit_id", Integer), column("commune_id", Integer)).subquery(name)


def _in(expression: Any, choices: Iterable[str]) -> ColumnElement[int]:
    """1 when the value is one of `choices`, else 0 (a NULL value too: "none recorded" does not hold a level)."""
    return case((expression.in_(sorted(choices)), 1), else_=0)


NON_LOCAL_FIGURES = (
    "non_local_commune_pc_chair",
    "non_local_commune_party_secretary",
    "non_local_commune_inspection_chair",
)


def _measures(work_commune: Any, home_commune: Any, today: date) -> dict[str, ColumnElement[Any]]:
    """The measures of workflows/rules/targets.py `_MEASURES`, one SQL expression per figure."""
    non_local = case(
        (or_(work_commune.is_(None), home_commune.is_(None)), None), (work_commune != home_commune, 1), else_=0
    )
    under_42 = case(
        (Cadre.birth_date.is_(None), None),
        (Cadre.birth_date >= earliest_birth_date_under(YOUNG_AGE_YEARS, today), 1),
        else_=0,
    )
    woman = case((Cadre.gender == FEMALE, 1), (Cadre.gender == MALE, 0), else_=None)
    science = case(
        (and_(Cadre.is_science_technology.is_(True), Cadre.education_level.in_(sorted(UNIVERSITY_OR_HIGHER))), 1),
        else_=0,
    )
    measures: dict[str, ColumnElement[Any]] = {
        **dict.fromkeys(NON_LOCAL_FIGURES, non_local),
        "key_cadres_under_42": under_42,
        "women_party_committee": woman,
        "university_science_technology": science,
        "leaders_masters": _in(Cadre.education_level, MASTERS_OR_HIGHER),
        "province_managed_leaders_masters": _in(Cadre.education_level, MASTERS_OR_HIGHER),
        "leaders_political_theory_intermediate": _in(Cadre.political_theory, THEORY_INTERMEDIATE_OR_HIGHER),
        "leaders_political_theory_advanced": _in(Cadre.political_theory, THEORY_ADVANCED_OR_HIGHER),
    }
    assert set(measures) == set(FIGURE_KEYS)
    return measures


@dataclass(frozen=True)
class DashboardCounts:
    """Counts per figure and commune (None: cadres at province level), and the cadres in scope per commune."""

    by_commune: dict[int | None, dict[str, FigureCounts]] = field(default_factory=dict)
    cadres_by_commune: dict[int | None, int] = field(default_factory=dict)

    @property
    def cadres(self) -> int:
        return sum(self.cadres_by_commune.values())

    def total(self, key: str) -> FigureCounts:
        return sum((counts[key] for counts in self.by_commune.values()), FigureCounts())


def figure_counts(
    session: Session,
    roots: list[int],
    today: date,
    definitions: Mapping[str, TargetDefinition],
    index: UnitIndex,
    keys: Iterable[str] | None = None,
) -> DashboardCounts:
    """Every figure's (or those of `keys`) numerator, denominator and unknown per commune, and the cadres in scope
    per commune, in one aggregate query."""
    if not roots:
        return DashboardCounts()
    wanted = list(keys) if keys is not None else list(FIGURE_KEYS)
    query = _Query(session, roots, today, {key: definitions[key] for key in wanted}, index)
    # Per figure: SUM(measure) is the numerator (1s), COUNT(measure) the denominator (1s and 0s, not NULLs); the
    # unknown are the population less the denominator, and figures with the same population share its count. Each
    # measure is thus written twice, not three times: the aggregation is most of the query's time.
    titles = list(dict.fromkeys([None, *(definitions[key].population_title for key in wanted)]))
    columns: list[Any] = [query.commune]
    for title in titles:
        columns.append(func.count() if title is None else func.count().filter(query.flags.get(title, false())))
    for key in wanted:
        population, measure = query.population(key), query.measures[key]
        if definitions[key].population_title is None:
            columns += [func.coalesce(func.sum(measure), 0), func.count(measure)]
        else:
            columns += [func.coalesce(func.sum(measure).filter(population), 0), func.count(measure).filter(population)]
    result = DashboardCounts()
    for commune, *numbers in session.execute(query.select(*columns).group_by(query.commune)):
        sizes = dict(zip(titles, numbers[: len(titles)], strict=True))
        figures = numbers[len(titles) :]
        result.cadres_by_commune[commune] = sizes[None]
        result.by_commune[commune] = {
            key: FigureCounts(
                int(figures[2 * i]),
                figures[2 * i + 1],
                sizes[definitions[key].population_title] - figures[2 * i + 1],
            )
            for i, key in enumerate(wanted)
        }
    return result


@dataclass(frozen=True)
class FigureRow:
    """A cadre behind a figure. `counted`: True in the numerator, False only in the denominator, None unknown.
    `basis`: the facts the figure read for them, in words (`counting_basis`)."""

    cadre_id: int
    code: str
    full_name: str
    unit_name: str
    counted: bool | None
    basis: str = ""


COUNTED_FILTERS = ("yes", "no", "unknown")


def figure_rows(
    session: Session,
    roots: list[int],
    today: date,
    definitions: Mapping[str, TargetDefinition],
    index: UnitIndex,
    key: str,
    *,
    counted: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[FigureRow], int]:
    """The cadres behind figure `key` (its population), by unit name, name and code; with `counted` only those in
    the numerator ("yes"), the denominator only ("no") or unknown ("unknown"). Returns a page and the total."""
    if not roots:
        return [], 0
    query = _Query(session, roots, today, {key: definitions[key]}, index)
    measure = query.measures[key]
    condition = query.population(key)
    if counted == "yes":
        condition = and_(condition, measure == 1)
    elif counted == "no":
        condition = and_(condition, measure == 0)
    elif counted == "unknown":
        condition = and_(condition, measure.is_(None))
    total = session.scalar(query.select(func.count()).where(condition)) or 0
    page = (
        query.select(
            Cadre.id,
            Cadre.code,
            Cadre.full_name,
            Cadre.unit_id,
            OrgUnit.name,
            measure.label("counted"),
            query.commune.label("work_commune"),
            query.home_commune.label("home_commune"),
            Cadre.hometown_unit_id,
            Cadre.birth_date,
            Cadre.gender,
            Cadre.education_level,
            Cadre.is_science_technology,
            Cadre.political_theory,
        )
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(condition)
        .order_by(OrgUnit.name, Cadre.full_name, Cadre.code)
        .offset(offset)
    )
    if limit is not None:
        page = page.limit(limit)
    rows = [
        FigureRow(
            row.id,
            row.code,
            row.full_name,
            row.name,
            None if row.counted is None else row.counted == 1,
            counting_basis(key, _facts(row), today, index.names, row.hometown_unit_id),
        )
        for row in session.execute(page)
    ]
    return rows, total


def _facts(row: Any) -> CadreFacts:
    """The facts of one drill-down row, as the rules read them (a gender the rules do not know is unknown, as the
    SQL measure reads it)."""
    return CadreFacts(
        cadre_id=row.id,
        code=row.code,
        full_name=row.full_name,
        unit_id=row.unit_id,
        unit_name=row.name,
        commune_id=row.work_commune,
        hometown_commune_id=row.home_commune,
        birth_date=row.birth_date,
        gender=row.gender if row.gender in (MALE, FEMALE) else None,
        ethnicity=None,
        education_level=row.education_level if row.education_level in EDUCATION_LEVELS else None,
        is_science_technology=bool(row.is_science_technology),
        political_theory=row.political_theory if row.political_theory in POLITICAL_THEORY_LEVELS else None,
    )


# ---------------------------------------------------------------------------------------------
# Evaluation grades and tasks
# ---------------------------------------------------------------------------------------------
def latest_month(session: Session) -> str | None:
    return session.scalar(select(func.max(EvaluationResult.period)).where(EvaluationResult.period_kind == "month"))


def month_grade_counts(session: Session, month: str, roots: list[int], index: UnitIndex) -> list[tuple[int, str, int]]:
    """(commune id, grade, head count) of one month's evaluations in scope, by the unit where each was evaluated."""
    if not roots:
        return []
    rows = session.execute(
        select(EvaluationResult.unit_id, EvaluationResult.grade, func.count())
        .join(OrgUnit, EvaluationResult.unit_id == OrgUnit.id)
        .where(EvaluationResult.period_kind == "month", EvaluationResult.period == month, _scope(roots))
        .group_by(EvaluationResult.unit_id, EvaluationResult.grade)
    )
    result = []
    for unit, grade, count in rows:
        commune = index.commune_of(unit)
        if commune is not None and grade:
            result.append((commune, grade, count))
    return result


def task_rows(session: Session, roots: list[int], since: datetime) -> list[Any]:
    """(task id, unit, process, name, opened, closed, due, status) of tasks opened since `since`, in scope."""
    if not roots:
        return []
    return list(
        session.execute(
            select(
                HumanTask.id,
                HumanTask.unit_id,
                HumanTask.process_id,
                HumanTask.name,
                HumanTask.opened_dt,
                HumanTask.closed_dt,
                HumanTask.due_dt,
                HumanTask.status,
            )
            .join(OrgUnit, HumanTask.unit_id == OrgUnit.id)
            .where(HumanTask.opened_dt >= since, HumanTask.status != TaskStatus.CANCELLED, _scope(roots))
        ).all()
    )
