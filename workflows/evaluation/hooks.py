"""The server side of the monthly evaluation's forms, and what a finished evaluation writes.

Each hook gets the submitted values and the task's data (which holds the policy in force when the month was opened),
refuses what the rules refuse (one Problem per field, field names as the form names them: `products.2.completed`),
and adds what only the server computes: the score and its breakdown. The browser shows a live score too; this one
is the number the process carries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.errors import Invalid, Problem
from workflows.evaluation import PROCESS_ID
from workflows.hooks import CompletionEffect, InstanceLike, TaskHook
from workflows.models import Notification
from workflows.registry.models import Cadre, DisciplineRecord, EvaluationResult, User
from workflows.registry.records import record_evaluation
from workflows.rules.evaluation import (
    EvaluationPolicy,
    ScoreBreakdown,
    grade_for,
    leader_unit_factor,
    monthly_score,
    validate_self_assessment,
)

CRITERIA_FIELDS = ("criteria_politics", "criteria_competence", "criteria_innovation")
PRODUCT_FIELDS = ("assigned", "completed", "completed_quality", "completed_on_time", "major_errors", "delays")
GRADES = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")


def _policy(task_data: Mapping[str, Any]) -> EvaluationPolicy:
    return EvaluationPolicy.from_mapping(task_data.get("policy") or {})


def _products(rows: Any) -> list[Mapping[str, Any]]:
    return [dict(row) for row in rows] if isinstance(rows, list) else rows


def _criteria(values: Mapping[str, Any]) -> list[float]:
    return [float(values.get(name) or 0) for name in CRITERIA_FIELDS]


def _check(products: Any, criteria: list[float], policy: EvaluationPolicy) -> None:
    problems = [_on_form(p) for p in validate_self_assessment(products, criteria, policy)]
    if problems:
        raise Invalid("the evaluation is not valid", problems)


def _on_form(problem: Problem) -> Problem:
    """The rules number the criteria (criteria.0); the form names them."""
    field = problem.field or ""
    if field.startswith("criteria."):
        index = int(field.split(".")[1])
        return dataclasses.replace(problem, field=CRITERIA_FIELDS[index])
    return problem


def _score_fields(prefix: str, breakdown: ScoreBreakdown) -> dict[str, Any]:
    return {f"{prefix}score": breakdown.total, f"{prefix}score_breakdown": breakdown.to_data()}


def self_assessment(session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any]) -> dict[str, Any]:
    policy = _policy(task_data)
    products, criteria = _products(submitted.get("products")), _criteria(submitted)
    _check(products, criteria, policy)
    return {**submitted, **_score_fields("self_", monthly_score(products, criteria, policy))}


def _disciplined_in(session: Session, cadre_code: str, month: str) -> bool:
    """Disciplined at reprimand (khiển trách, the lowest level) or above within the month (NĐ 335 Điều 20 (c))."""
    try:
        start = date.fromisoformat(f"{month}-01")
    except ValueError:
        return False
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return (
        session.scalar(
            select(DisciplineRecord.id)
            .join(Cadre, Cadre.id == DisciplineRecord.cadre_id)
            .where(Cadre.code == cadre_code, DisciplineRecord.decided_on >= start, DisciplineRecord.decided_on < end)
            .limit(1)
        )
        is not None
    )


def _subordinate_grades(session: Session, task_data: Mapping[str, Any]) -> list[str]:
    """Grades of the month already decided for the other cadres of the leader's unit (§6.2 unit results)."""
    rows = session.scalars(
        select(EvaluationResult.grade)
        .join(Cadre, Cadre.id == EvaluationResult.cadre_id)
        .where(
            EvaluationResult.period_kind == "month",
            EvaluationResult.period == task_data.get("period"),
            EvaluationResult.unit_id == task_data.get("cadre_unit_id"),
            Cadre.code != task_data.get("cadre_code"),
        )
    )
    return list(rows)


def _changed_rows_without_reason(before: list[Any], after: list[Any]) -> list[Problem]:
    problems = []
    for index, row in enumerate(after):
        old = before[index] if index < len(before) else None
        changed = (
            old is None
            or any(float(row.get(name) or 0) != float(old.get(name) or 0) for name in PRODUCT_FIELDS)
            or str(row.get("name") or "") != str(old.get("name") or "")
        )
        if changed and not str(row.get("reason") or "").strip():
            problems.append(Problem("give the reason for changing this row", field=f"products.{index}.reason"))
    if len(after) < len(before) and not any(str(r.get("reason") or "").strip() for r in after):
        problems.append(Problem("give the reason for removing rows", field="products"))
    return problems


def review(session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any]) -> dict[str, Any]:
    policy = _policy(task_data)
    if submitted.get("decision") == "return":
        problems = []
        if not str(submitted.get("comment") or "").strip():
            problems.append(Problem("write what the cadre should correct", field="comment"))
        if int(task_data.get("return_count") or 0) >= policy.max_returns:
            problems.append(
                Problem(
                    f"this evaluation has already been returned {policy.max_returns} times; decide on it now",
                    field="decision",
                )
            )
        if problems:
            raise Invalid("the evaluation cannot be returned", problems)
        return submitted

    products, criteria = _products(submitted.get("products")), _criteria(submitted)
    _check(products, criteria, policy)
    problems = _changed_rows_without_reason(list(task_data.get("products") or []), list(submitted["products"]))
    if criteria != _criteria(task_data) and not str(submitted.get("criteria_reason") or "").strip():
        problems.append(Problem("give the reason for changing the general criteria", field="criteria_reason"))
    if problems:
        raise Invalid("the evaluation is not valid", problems)

    factor = leader_unit_factor(_subordinate_grades(session, task_data)) if task_data.get("is_leader") else None
    breakdown = monthly_score(products, criteria, policy, leader_unit_factor=factor)
    return {
        **submitted,
        **_score_fields("", breakdown),
        "leader_unit_factor": factor,
        "disciplined": _disciplined_in(session, str(task_data.get("cadre_code")), str(task_data.get("period"))),
        "degradation": bool(submitted.get("degradation")),
        "unit_corruption": bool(submitted.get("unit_corruption")) and bool(task_data.get("is_leader")),
    }


def decision(session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any]) -> dict[str, Any]:
    computed = grade_for(
        float(task_data.get("score") or 0),
        disciplined_reprimand_or_above=bool(task_data.get("disciplined")),
        degradation_finding=bool(task_data.get("degradation")),
        leader_unit_corruption=bool(task_data.get("unit_corruption")),
    )
    chosen = submitted.get("grade")
    reason = str(submitted.get("grade_reason") or "").strip()
    problems = []
    overridden = computed.grade == "KHTNV" and float(task_data.get("score") or 0) >= 50
    if overridden and chosen != "KHTNV":
        problems.append(
            Problem("a case of not completing the tasks applies, so the grade must be KHTNV", field="grade")
        )
    elif chosen != computed.grade and not reason:
        problems.append(
            Problem("give the reason for choosing a grade other than the proposed one", field="grade_reason")
        )
    if problems:
        raise Invalid("the decision is not valid", problems)
    return {**submitted, "computed_grade": computed.grade, "final_grade": chosen}


def record_result(session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None) -> None:
    """The decided grade goes on the cadre's record (its own audit chain) and the cadre is told."""
    cadre = session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id else None
    grade = data.get("final_grade")
    if cadre is None or grade not in GRADES:
        return
    record_evaluation(
        session,
        actor,
        cadre,
        period_kind="month",
        period=str(data.get("period")),
        grade=str(grade),
        score=data.get("score"),
        unit_id=data.get("cadre_unit_id"),
        source_instance_id=instance.id,
    )
    user_id = session.scalar(select(User.id).where(User.cadre_id == cadre.id, User.is_active))
    if user_id is not None:
        session.add(
            Notification(
                user_id=user_id,
                kind="evaluation_result",
                instance_id=instance.id,
                title=f"Kết quả đánh giá tháng {data.get('period')}: {grade}",
                body=f"Điểm: {data.get('score')}. Xếp loại: {grade}.",
            )
        )


TASK_HOOKS: dict[str, TaskHook] = {
    "evaluation_self_assessment": self_assessment,
    "evaluation_review": review,
    "evaluation_decision": decision,
}
COMPLETION_EFFECTS: dict[str, CompletionEffect] = {PROCESS_ID: record_result}
