"""The annual grading run of a unit (xếp loại chất lượng cuối năm, before 15/12 — NĐ 335 Điều 21, §6.3), a short
process of its own: `bpmn/annual_grading.bpmn`, forms `forms/annual_*.json`.

1. `start_annual_run` computes the year's roll-up (workflows.evaluation.rollup) and starts one instance per unit and
   year (business key `<year>/<unit code>`: starting twice returns the first run) with the roll-up in its data.
2. The personnel officer prepares: the `annual_prepare` hook recomputes the roll-up from the monthly results as
   they are now, so the head confirms current figures.
3. The head confirms: the `annual_confirm` hook refuses the confirmation while any (unit, task group) has HTXSNV over
   the quota (NĐ 335 Điều 20, §6.4): each over-quota cadre is demoted to HTTNV with a reason, or recorded as an
   exception approved by the competent superior (Điều 20 k5 [P]), with its reference. Demoting raises the
   denominator, so the check is made on the grades as resolved. Or the head returns the preparation to personnel
   with a comment (at most `max_returns` times, as the monthly returns; each return is a completed task with its
   comment in the instance's audit chain), and personnel prepare again.
   Deadline: the policy's annual due day (before 15/12 by default, NĐ 335 Điều 21): past it, a late preparation is
   escalated to the unit's head and a late confirmation to the level above; nothing is graded automatically.
4. On completion (`record_run`), the quarter and year results are written through `records.record_evaluation`
   (audited, one event per result in each cadre's chain) with the confirmed grades; an excepted HTXSNV's result
   carries the approval reference (`quota_exception`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from workflows.engine import operations
from workflows.engine.runtime import ProcessEngine
from workflows.errors import N_, Invalid, Problem
from workflows.evaluation.opening import end_of_day
from workflows.evaluation.rollup import Rollup, TaskGrouping, build_rollup, record_rollup
from workflows.hooks import CompletionEffect, InstanceLike, TaskHook, is_refused, refused_within
from workflows.registry.models import User
from workflows.rules.evaluation import (
    DEFAULT_POLICY,
    GRADES,
    HTXSNV,
    EvaluationPolicy,
    QuotaEntry,
    QuotaReport,
    annual_due,
    approve_quota_exception,
    demote_for_quota,
    may_return,
    quota_check,
)
from workflows.states import Role

PROCESS_ID = "annual_grading"
START_ROLES = (Role.PERSONNEL, Role.ADMIN)
DEMOTE = "demote"
EXCEPTION = "exception"
CONFIRM = "confirm"
RETURN = "return"


def business_key(year: int, unit_code: str) -> str:
    return f"{year}/{unit_code}"


def _quota_data(report: QuotaReport, codes: Mapping[int, str], units: Mapping[int, str]) -> list[dict[str, Any]]:
    return [
        {
            "unit_code": units.get(group.unit_id, str(group.unit_id)),
            "task_group": group.task_group,
            "httnv": group.httnv,
            "htxsnv": group.htxsnv,
            "allowed": group.allowed,
            "over": [codes[c] for c in group.over],
            "tied_at_cut": [codes[c] for c in group.tied_at_cut],
        }
        for group in report.groups
    ]


def rollup_data(rollup: Rollup, grouping: TaskGrouping) -> dict[str, Any]:
    """The roll-up as process data (JSON): what the task pages show and what the head's confirmation checks."""
    codes = {row.cadre_id: row.code for row in rollup.cadres}
    units = {row.unit_id: row.unit_code for row in rollup.cadres}
    report = rollup.quota()
    return {
        "year": rollup.year,
        "unit_code": rollup.unit.code,
        "unit_name": rollup.unit.name,
        "include_subunits": rollup.include_subunits,
        "task_groups": dict(grouping.groups),
        "default_task_group": grouping.default,
        "policy": rollup.policy.to_mapping(),
        "cadres": [
            {
                "cadre_id": row.cadre_id,
                "code": row.code,
                "full_name": row.full_name,
                "unit_id": row.unit_id,
                "unit_code": row.unit_code,
                "unit_name": row.unit_name,
                "task_group": row.task_group,
                "months_worked": row.months_worked,
                "annual_score": row.annual,
                "months_htxsnv": row.monthly_htxsnv,
                "proposed_grade": row.proposed_grade,
            }
            for row in rollup.cadres
        ],
        "quota": _quota_data(report, codes, units),
        "over_quota": [codes[c] for c in report.over],
    }


def _rebuild(session: Session, data: Mapping[str, Any]) -> tuple[Rollup, TaskGrouping]:
    grouping = TaskGrouping(dict(data.get("task_groups") or {}), str(data.get("default_task_group") or "chung"))
    rollup = build_rollup(
        session,
        actor=None,  # the lane decided who acts; the unit was checked when the run started
        unit_code=str(data.get("unit_code")),
        year=int(data.get("year") or 0),
        include_subunits=bool(data.get("include_subunits", True)),
        grouping=grouping,
        policy=EvaluationPolicy.from_mapping(data.get("policy") or {}),
    )
    return rollup, grouping


def start_annual_run(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    unit_code: str,
    year: int | str,
    include_subunits: bool = True,
    grouping: TaskGrouping | None = None,
    policy: EvaluationPolicy | None = None,
) -> int:
    """Start (or find) the annual grading run of a unit; its id. Refusals as `build_rollup` (bad year, unknown
    unit, not a personnel officer over the unit)."""
    grouping = grouping or TaskGrouping()
    rollup = build_rollup(
        session,
        actor=actor,
        unit_code=unit_code,
        year=year,
        include_subunits=include_subunits,
        grouping=grouping,
        roles=START_ROLES,
        policy=policy or DEFAULT_POLICY,
    )
    due = annual_due(rollup.year, rollup.policy)
    instance = operations.start_instance(
        session,
        engine,
        actor=actor,
        process_id=PROCESS_ID,
        # Past the due day the step at hand is escalated (boundary timers), never closed for the people on it.
        data={**rollup_data(rollup, grouping), "return_count": 0, "deadline_annual": end_of_day(due)},
        unit_id=rollup.unit.id,
        business_key=business_key(rollup.year, rollup.unit.code),
    )
    return instance.id


def prepare(
    session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    rollup, grouping = _rebuild(session, task_data)
    return {**submitted, **rollup_data(rollup, grouping)}


def _entries(cadres: list[Mapping[str, Any]]) -> list[QuotaEntry]:
    return [
        QuotaEntry(
            cadre_id=int(row["cadre_id"]),
            unit_id=int(row["unit_id"]),
            task_group=row.get("task_group"),
            grade=str(row["proposed_grade"]),
            score=row.get("annual_score"),
            tie_key=float(row.get("months_htxsnv") or 0),
        )
        for row in cadres
        if row.get("proposed_grade") in GRADES
    ]


def _return_to_personnel(
    submitted: dict[str, Any], task_data: Mapping[str, Any], policy: EvaluationPolicy
) -> dict[str, Any]:
    problems = []
    if not str(submitted.get("comment") or "").strip():
        problems.append(Problem("write what the personnel officer should prepare again", field="comment"))
    if not may_return(int(task_data.get("return_count") or 0), policy):
        problems.append(
            Problem("this run has been returned as many times as the policy allows; confirm it now", field="decision")
        )
    if problems:
        raise Invalid("the run cannot be returned", problems)
    return {**submitted, "decision": RETURN}


# NĐ 335 Điều 20 (§6.4): the run closes only within the quota; each over-quota HTXSNV is demoted or excepted.
def confirm(
    session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    policy = EvaluationPolicy.from_mapping(task_data.get("policy") or {})
    if is_refused(refused, "decision"):
        return submitted  # returned or confirmed is not known: the rules of either cannot be checked
    if submitted.get("decision") == RETURN:
        return _return_to_personnel(submitted, task_data, policy)
    cadres = [row for row in task_data.get("cadres") or [] if isinstance(row, Mapping)]
    by_code = {str(row["code"]): row for row in cadres}
    problems: list[Problem] = []
    demoted: list[int] = []
    excepted: list[int] = []
    references: dict[str, str] = {}
    demotion_reasons: dict[str, str] = {}
    seen: set[str] = set()
    resolutions = submitted.get("resolutions") or []
    for index, item in enumerate(resolutions):
        code = str(item.get("cadre_code") or "").strip()
        row = by_code.get(code)
        if row is None or row.get("proposed_grade") != HTXSNV:
            problems.append(Problem("not a cadre proposed HTXSNV in this run", field=f"resolutions.{index}.cadre_code"))
            continue
        if code in seen:
            problems.append(Problem("this cadre is listed twice", field=f"resolutions.{index}.cadre_code"))
            continue
        seen.add(code)
        if not str(item.get("reason") or "").strip():
            problems.append(Problem("give the reason or the approval reference", field=f"resolutions.{index}.reason"))
            continue
        if is_refused(refused, f"resolutions.{index}.action"):
            continue  # demoted or excepted is not known
        if item.get("action") == DEMOTE:
            demoted.append(int(row["cadre_id"]))
            demotion_reasons[code] = str(item["reason"]).strip()
        else:
            excepted.append(int(row["cadre_id"]))
            references[code] = str(item["reason"]).strip()
    if problems:
        raise Invalid("the confirmation is not valid", problems)
    if refused_within(refused, "resolutions"):
        return submitted  # the quota cannot be checked on resolutions the form refused in part

    entries = approve_quota_exception(demote_for_quota(_entries(cadres), demoted), excepted)
    report = quota_check(entries, policy)
    codes = {int(row["cadre_id"]): str(row["code"]) for row in cadres}
    if not report.is_within:
        over = ", ".join(codes[c] for c in report.over)
        raise Invalid(
            "the confirmation is not valid",
            [
                Problem(
                    N_("HTXSNV over the quota still to resolve (demote or approved exception): %(cadres)s"),
                    field="resolutions",
                    message_args={"cadres": over},
                )
            ],
        )
    final = {codes[e.cadre_id]: e.grade for e in entries}
    return {
        **submitted,
        "decision": CONFIRM,
        "final_grades": final,
        "demoted": [codes[c] for c in demoted],
        "exceptions": [codes[c] for c in excepted],
        "quota_exceptions": references,  # code → the approval's reference, written on the year result
        "demotion_reasons": demotion_reasons,  # code → why, written with the year result into the cadre's chain
        "over_quota": [],
    }


def record_run(session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None) -> None:
    """The confirmed grades become the year results; the quarter results are written alongside (both audited)."""
    final = data.get("final_grades")
    if not isinstance(final, Mapping):
        return
    rollup, _grouping = _rebuild(session, data)
    # Only the cadres the head confirmed: one graded after the confirmation (a late month) needs a new run.
    confirmed = dataclasses.replace(rollup, cadres=tuple(row for row in rollup.cadres if row.code in final))
    grades = {row.cadre_id: str(final[row.code]) for row in confirmed.cadres}
    references = data.get("quota_exceptions") or {}
    exceptions = {
        row.cadre_id: str(references[row.code])
        for row in confirmed.cadres
        if row.code in references and grades[row.cadre_id] == HTXSNV
    }
    demotions = data.get("demotion_reasons") or {}
    reasons = {
        row.cadre_id: f"Hạ xuống {grades[row.cadre_id]} do vượt tỷ lệ HTXSNV: {demotions[row.code]}"
        for row in confirmed.cadres
        if row.code in demotions
    }
    record_rollup(
        session,
        actor,
        confirmed,
        year_grades=grades,
        source_instance_id=instance.id,
        quota_exceptions=exceptions,
        reasons=reasons,
    )


TASK_HOOKS: dict[str, TaskHook] = {"annual_prepare": prepare, "annual_confirm": confirm}
COMPLETION_EFFECTS: dict[str, CompletionEffect] = {PROCESS_ID: record_run}
