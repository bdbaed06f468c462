"""The server side of the monthly evaluation's forms, and what a finished evaluation writes.

Each hook gets the submitted values and the task's data (which holds the policy in force when the month was opened),
refuses what the rules refuse (one Problem per field, field names as the form names them: `products.2.completed`),
and adds what only the server computes: the score and its breakdown. The browser shows a live score too; this one
is the number the process carries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows.errors import N_, Invalid, Problem
from workflows.evaluation import PROCESS_ID, RESULT_NOTICE, annual
from workflows.hooks import CompletionEffect, InstanceLike, TaskHook, is_refused
from workflows.notifications import notify_cadre
from workflows.prepared import server_prepared
from workflows.registry.models import Cadre, DisciplineRecord, EvaluationResult, User
from workflows.registry.records import lock_cadre, record_evaluation
from workflows.rules.evaluation import (
    GRADE_LABELS,
    GRADES,
    REVIEW_CHANGES,
    EvaluationPolicy,
    ScoreBreakdown,
    changed_fields,
    changed_values,
    decision_problems,
    grade_for,
    leader_unit_factor,
    may_return,
    missing_reasons,
    month_text,
    monthly_score,
    validate_self_assessment,
    vi_number,
)

CRITERIA_FIELDS = ("criteria_politics", "criteria_competence", "criteria_innovation")


def _policy(task_data: Mapping[str, Any]) -> EvaluationPolicy:
    return EvaluationPolicy.from_mapping(task_data.get("policy") or {})


def _criteria(values: Mapping[str, Any]) -> list[float]:
    """The criteria in the task's data (a criterion not scored yet counts 0)."""
    return [float(values.get(name) or 0) for name in CRITERIA_FIELDS]


def _submitted_criteria(values: Mapping[str, Any]) -> list[Any]:
    """The criteria as submitted; one the form refused is absent, None here: the rules say so and skip it."""
    criteria = [values.get(name) for name in CRITERIA_FIELDS]
    return [
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value for value in criteria
    ]


def _check(products: Any, criteria: list[Any], policy: EvaluationPolicy) -> None:
    problems = [_on_form(p) for p in validate_self_assessment(products, criteria, policy)]
    if problems:
        raise Invalid("the evaluation is not valid", problems)


def _rule_fields(refused: frozenset[str]) -> set[str]:
    """The refused fields as the rules name them: a criterion is `criteria.<index>`; cells keep their names."""
    return {*refused, *(f"criteria.{index}" for index, name in enumerate(CRITERIA_FIELDS) if name in refused)}


def _on_form(problem: Problem) -> Problem:
    """The rules number the criteria (criteria.0); the form names them."""
    field = problem.field or ""
    if field.startswith("criteria."):
        index = int(field.split(".")[1])
        return dataclasses.replace(problem, field=CRITERIA_FIELDS[index])
    return problem


def _score_fields(prefix: str, breakdown: ScoreBreakdown) -> dict[str, Any]:
    return {f"{prefix}score": breakdown.total, f"{prefix}score_breakdown": breakdown.to_data()}


def self_assessment(
    session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    policy = _policy(task_data)
    products, criteria = list(submitted.get("products") or []), _submitted_criteria(submitted)
    _check(products, criteria, policy)
    return {**submitted, **_score_fields("self_", monthly_score(products, criteria, policy))}


# The review's two reads, built once and prepared on the connection: every monthly review runs them (issue #9).
_DISCIPLINED = server_prepared(
    select(DisciplineRecord.id)
    .join(Cadre, Cadre.id == DisciplineRecord.cadre_id)
    .where(
        Cadre.code == bindparam("cadre_code"),
        DisciplineRecord.decided_on >= bindparam("start"),
        DisciplineRecord.decided_on < bindparam("end"),
    )
    .limit(1)
)
_SUBORDINATE_GRADES = server_prepared(
    select(EvaluationResult.grade)
    .join(Cadre, Cadre.id == EvaluationResult.cadre_id)
    .where(
        EvaluationResult.period_kind == "month",
        EvaluationResult.period == bindparam("period"),
        EvaluationResult.unit_id == bindparam("unit_id"),
        Cadre.code != bindparam("cadre_code"),
    )
)


def _disciplined_in(session: Session, cadre_code: str, month: str) -> bool:
    """Disciplined at reprimand (khiển trách, the lowest level) or above within the month (NĐ 335 Điều 20 (c))."""
    try:
        start = date.fromisoformat(f"{month}-01")
    except ValueError:
        return False
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return session.scalar(_DISCIPLINED, {"cadre_code": cadre_code, "start": start, "end": end}) is not None


def _subordinate_grades(session: Session, task_data: Mapping[str, Any]) -> list[str]:
    """Grades of the month already decided for the other cadres of the leader's unit (§6.2 unit results)."""
    parameters = {
        "period": task_data.get("period"),
        "unit_id": task_data.get("cadre_unit_id"),
        "cadre_code": task_data.get("cadre_code"),
    }
    return list(session.scalars(_SUBORDINATE_GRADES, parameters))


def _reason_field(problem: Problem) -> Problem:
    """A missing reason is shown where the reason is written: the row's reason cell, or the criteria reason."""
    parts = (problem.field or "").split(".")
    if parts[0] == "criteria":
        return dataclasses.replace(problem, field="criteria_reason")
    if parts[0] == "products" and len(parts) >= 2:
        return dataclasses.replace(problem, field=f"products.{parts[1]}.reason")
    return problem


def _deduplicated(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# What a review writes in its own words. Each review writes them afresh: a field left empty is not sent, and the
# process data would otherwise keep an earlier round's (the comment of a return, shown to the head as the comment of
# the review that agreed). Earlier rounds' words stay in the history (each round is a completed task).
REVIEW_NOTES = ("comment", "criteria_reason")


def _review_notes(submitted: Mapping[str, Any]) -> dict[str, Any]:
    """This review's notes, None for each left empty."""
    return {name: submitted.get(name) or None for name in REVIEW_NOTES}


def review_changes(
    before_products: list[Any],
    before_criteria: list[float],
    products: list[Any],
    criteria: list[Any],
    reasons: Mapping[str, str],
) -> dict[str, dict[str, Any]]:
    """What a review changed in the cadre's numbers, by the field the form names (`criteria_politics`,
    `products.1.completed`): the cadre's value, the reviewer's and the reason given. The returned form shows each
    beside its field; the next review writes them afresh (nothing changed: empty)."""
    changes: dict[str, dict[str, Any]] = {}
    for field, before, after in changed_values(before_products, before_criteria, products, criteria):
        name = _on_form(Problem("", field=field)).field or field
        changes[name] = {"before": before, "after": after, "reason": reasons.get(field) or None}
    return changes


# The review form's fields that hold the cadre's numbers: a return does not write them (decision 0105).
NUMBER_FIELDS = ("products", *CRITERIA_FIELDS)


def _without_numbers(submitted: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in submitted.items() if name not in NUMBER_FIELDS}


def _return_problems(
    submitted: Mapping[str, Any], task_data: Mapping[str, Any], policy: EvaluationPolicy
) -> list[Problem]:
    """What a return needs besides the numbers' rules: a comment saying what to correct, and a return left."""
    problems: list[Problem] = []
    if not str(submitted.get("comment") or "").strip():
        problems.append(Problem("write what the cadre should correct", field="comment"))
    if not may_return(int(task_data.get("return_count") or 0), policy):
        problems.append(
            Problem(
                N_("this evaluation has already been returned %(count)d times; decide on it now"),
                field="decision",
                message_args={"count": policy.max_returns},
            )
        )
    return problems


def review(
    session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    policy = _policy(task_data)
    if is_refused(refused, "decision"):
        return submitted  # returned or adjusted is not known: the rules of either cannot be checked
    products, criteria = list(submitted.get("products") or []), _submitted_criteria(submitted)
    before_products, before_criteria = list(task_data.get("products") or []), _criteria(task_data)
    # A changed cell's reason is written on its row; the general criteria share one reason.
    reasons: dict[str, str] = {}
    for field in changed_fields(before_products, before_criteria, products, criteria):
        parts = field.split(".")
        if parts[0] == "criteria":
            reasons[field] = str(submitted.get("criteria_reason") or "")
        elif int(parts[1]) < len(products) and isinstance(products[int(parts[1])], Mapping):
            reasons[field] = str(products[int(parts[1])].get("reason") or "")
    notes = {
        **_review_notes(submitted),
        REVIEW_CHANGES: review_changes(before_products, before_criteria, products, criteria, reasons),
    }
    # A return is held to the same rules as an agreement (decision 0105): each changed value with its reason, the
    # table consistent. Every problem at once, the return's own with the numbers'.
    problems = _return_problems(submitted, task_data, policy) if submitted.get("decision") == "return" else []
    invalid = validate_self_assessment(products, criteria, policy)
    unreadable = {problem.field for problem in invalid if problem.field} | _rule_fields(refused)
    missing = missing_reasons(before_products, before_criteria, products, criteria, reasons, unreadable)
    problems += [_on_form(p) for p in invalid] + [_reason_field(p) for p in missing]
    if problems:
        raise Invalid("the evaluation is not valid", _deduplicated(problems))
    if submitted.get("decision") == "return":
        # The self-assessment stays the cadre's: she corrects her own numbers. What the leader typed is what he
        # proposes, kept in `review_changes` (before, after, reason) and shown beside her values.
        return {**_without_numbers(submitted), **notes}

    factor = leader_unit_factor(_subordinate_grades(session, task_data)) if task_data.get("is_leader") else None
    breakdown = monthly_score(products, criteria, policy, leader_unit_factor=factor)
    return {
        **submitted,
        **notes,
        **_score_fields("", breakdown),
        "leader_unit_factor": factor,
        "disciplined": _disciplined_in(session, str(task_data.get("cadre_code")), str(task_data.get("period"))),
        "degradation": bool(submitted.get("degradation")),
        "unit_corruption": bool(submitted.get("unit_corruption")) and bool(task_data.get("is_leader")),
    }


def decision(
    session: Session, submitted: dict[str, Any], task_data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    computed = grade_for(
        float(task_data.get("score") or 0),
        disciplined_reprimand_or_above=bool(task_data.get("disciplined")),
        degradation_finding=bool(task_data.get("degradation")),
        leader_unit_corruption=bool(task_data.get("unit_corruption")),
    )
    chosen = str(submitted.get("grade") or "")
    problems = decision_problems(computed, chosen, submitted.get("grade_reason"))
    if problems:
        fields = {"reason": "grade_reason"}
        raise Invalid(
            "the decision is not valid",
            [dataclasses.replace(p, field=fields.get(p.field or "", p.field)) for p in problems],
        )
    return {**submitted, "computed_grade": computed.grade, "final_grade": chosen}


def record_result(session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None) -> None:
    """The decided grade goes on the cadre's record (its own audit chain) and the cadre is told."""
    grade = data.get("final_grade")
    if not instance.subject_cadre_id or grade not in GRADES:
        return
    # Read locked at once (record_evaluation would lock it anyway): one read of the row instead of two.
    cadre = lock_cadre(session, instance.subject_cadre_id)
    record_evaluation(
        session,
        actor,
        cadre,
        cadre_locked=True,
        period_kind="month",
        period=str(data.get("period")),
        grade=str(grade),
        score=data.get("score"),
        unit_id=data.get("cadre_unit_id"),
        source_instance_id=instance.id,
        source_locked=True,  # the instance being completed
    )
    notify_cadre(
        session,
        cadre.id,
        kind=RESULT_NOTICE,
        instance_id=instance.id,
        title=f"Kết quả đánh giá tháng {month_text(str(data.get('period')))}: {_grade_words(str(grade))}",
        body=result_notice(data, str(grade)),
    )


def _grade_words(grade: str) -> str:
    """A grade as the cadre reads it, its code after it: "Hoàn thành tốt nhiệm vụ (HTTNV)"."""
    return f"{GRADE_LABELS[grade]} ({grade})" if grade in GRADE_LABELS else grade


def result_notice(data: Mapping[str, Any], grade: str) -> str:
    """The cadre's notice of the decided month: the score and grade, then what the head wrote — the reason for a
    grade other than the proposed one and his comment, each when given — so that she reads why without opening the
    procedure (in the app and in the e-mail, which sends this text)."""
    lines = [f"Điểm: {_score_shown(data.get('score'))}. Xếp loại: {_grade_words(grade)}."]
    for label, key in (("Lý do xếp loại", "grade_reason"), ("Ý kiến của thủ trưởng", "decision_comment")):
        written = data.get(key)
        if isinstance(written, str) and written.strip():
            lines.append(f"{label}: {written.strip()}")
    return "\n".join(lines)


def _score_shown(score: Any) -> str:
    """The score as the Vietnamese notification reads it: 87,06 (a decimal comma), not 87.06."""
    if isinstance(score, int | float) and not isinstance(score, bool):
        return vi_number(round(float(score), 2))
    return "—" if score is None else str(score)


TASK_HOOKS: dict[str, TaskHook] = {
    "evaluation_self_assessment": self_assessment,
    "evaluation_review": review,
    "evaluation_decision": decision,
    **annual.TASK_HOOKS,
}
COMPLETION_EFFECTS: dict[str, CompletionEffect] = {PROCESS_ID: record_result, **annual.COMPLETION_EFFECTS}
