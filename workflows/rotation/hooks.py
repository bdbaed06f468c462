"""The server side of the rotation's forms, and what a finished rotation writes (decision 0014, decision 0020).

Each hook gets the submitted values and the task's data, refuses what the rules refuse (`Invalid`, one Problem per
field) and adds what only the server may compute: the eligibility results (one readable line per rule), the
recorded exceptions, the tally of the collective's ballot, the day the end-of-rotation review opens. Every value a
hook adds lands in the instance's audit chain through the task's data diff.

The record is written through `workflows.registry.records` (each change on the cadre's own audit chain), at the
moments the procedure makes them true: the decision adds the rotation record; the receiving unit's confirmation of
arrival moves the cadre (the posts held in the sending unit end, the post rotated to starts, the cadre's unit
becomes the receiving unit — so the dashboards count them there); the placement afterwards ends the rotation
("stay": no longer counted as rotated, NĐ 170 Điều 50) and, on a return, moves the cadre back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.errors import N_, Invalid, Problem
from workflows.hooks import CompletionEffect, InstanceLike, TaskHook, is_refused
from workflows.models import Notification, ProcessInstance
from workflows.registry.models import Cadre, CadrePosition, Position, RoleAssignment, User
from workflows.registry.records import (
    VIETNAM_TZ,
    add_position,
    add_rotation,
    end_position,
    end_rotation,
    local_today,
    update_cadre,
)
from workflows.rotation import PROCESS_ID
from workflows.rotation.facts import rotation_facts
from workflows.rules.appointment import failed_rules, is_eligible
from workflows.rules.procedure_days import DayBound, meeting_day_problem, past_day_bound, start_day
from workflows.rules.rotation import (
    RULE_EQUIVALENT_POST,
    RotationPolicy,
    check_rotation,
    exceptable,
    near_today,
    rotation_months,
)
from workflows.states import Role

Placement = str
RETURN, STAY, OTHER_POST = "return", "stay", "other_post"


def _instance(session: Session, data: Mapping[str, Any]) -> ProcessInstance:
    key = data.get("rotation_key")
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.process_id == PROCESS_ID, ProcessInstance.business_key == key)
    )
    if instance is None:  # a model bug, not the person's: the start always sets the key
        raise LookupError(f"no rotation with the key {key!r}")
    return instance


def _policy(data: Mapping[str, Any]) -> RotationPolicy:
    return RotationPolicy.from_mapping(data.get("policy") or {})


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _day(values: Mapping[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(str(values.get(name)))
    except ValueError:
        return None


def _formatted(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _refuse(message: str, problems: list[Problem]) -> None:
    if problems:
        raise Invalid(message, problems)


def _cadre(session: Session, instance: ProcessInstance) -> Cadre:
    cadre = session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id else None
    if cadre is None:
        raise LookupError(f"rotation {instance.id} has no cadre")
    return cadre


# -- the plan ---------------------------------------------------------------------------------------------------


def plan_approval(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """QĐ 65 Điều 7 step 1: the competent authority approves the plan; a refusal says why. The day of approval
    tells a post created for the rotation afterwards (rules/rotation.py, "no new post")."""
    if is_refused(refused, "plan_decision"):
        return submitted  # approved or refused is not known: the reason's rule cannot be checked
    if submitted.get("plan_decision") != "approve":
        if not _text(submitted, "plan_decision_reason"):
            raise Invalid("a refusal needs a reason", [Problem("Write the reason.", field="plan_decision_reason")])
        return submitted
    return {**submitted, "plan_approved_on": local_today().isoformat()}


# -- eligibility ------------------------------------------------------------------------------------------------


def eligibility(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """Every rule of rules/rotation.py checked against the registry as it stands, one readable result each; whether
    the competent authority may set the failures aside (`exceptable_rules`)."""
    instance = _instance(session, data)
    policy = _policy(data)
    starts, ends = _day(data, "starts_on"), _day(data, "planned_end_on")
    assert starts is not None and instance.subject_cadre_id is not None
    facts = rotation_facts(
        session,
        instance.subject_cadre_id,
        to_unit_id=int(data["to_unit_id"]),
        starts_on=starts,
        planned_end_on=ends,
        purpose=str(data.get("purpose") or "") or None,
        position_id=int(data["target_position_id"]),
        purpose_note=_text(data, "purpose_note") or None,
        plan_approved_on=_day(data, "plan_approved_on"),
        new_post_exception=_text(submitted, "new_post_exception") or None,
        low_capability_reason=_text(submitted, "low_capability_reason") or None,
        from_unit_id=int(data["cadre_unit_id"]),
        policy=policy,
    )
    results = check_rotation(facts, policy=policy)
    failed = failed_rules(results)
    return {
        **submitted,
        "eligibility": [result.to_mapping() for result in results],
        "eligible": is_eligible(results),
        "eligibility_failed": failed,
        "eligibility_exceptable": exceptable(failed, policy),
        "eligibility_checked_on": local_today().isoformat(),
    }


def exception(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The competent authority stops the rotation or lets it go on as a special case, with a reason either way; the
    failed rules it set aside are recorded with the reason. A higher post so allowed is its recorded exception."""
    reason = _text(submitted, "exception_reason")
    if not reason:
        raise Invalid("the decision needs a reason", [Problem("Write the reason.", field="exception_reason")])
    if submitted.get("exception_decision") != "exception":
        return submitted
    failed = list(data.get("eligibility_failed") or [])
    if not exceptable(failed, _policy(data)):  # the gateway never routes here then; a forged submission
        raise Invalid(
            "these conditions cannot be set aside",
            [Problem("These conditions cannot be set aside by the competent authority.", field="exception_decision")],
        )
    values = {
        **submitted,
        "eligibility_exceptions": [
            *(data.get("eligibility_exceptions") or []),
            {"rules": failed, "reason": reason, "decided_on": local_today().isoformat()},
        ],
    }
    if RULE_EQUIVALENT_POST in failed:
        values["higher_post_exception"] = reason
    return values


# -- consultation and the meeting with the cadre -----------------------------------------------------------------


def consultation(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """A unit that disagrees says why (the sending and receiving units have their own fields, as they run in
    parallel)."""
    problems = [
        Problem("Write why the unit disagrees.", field=f"{side}_note")
        for side in ("sending", "receiving")
        if submitted.get(f"{side}_opinion") == "disagree" and not _text(submitted, f"{side}_note")
    ]
    _refuse("the opinion is not complete", problems)
    return {**submitted, **{f"{side}_consulted_on": local_today().isoformat() for side in ("sending", "receiving")
                            if f"{side}_opinion" in submitted}}  # fmt: skip


def meeting(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The meeting with the cadre: on a day of the procedure, from the day it started to today (decision 0136)."""
    if is_refused(refused, "met_on"):
        return submitted  # not a date: the form says so
    started_on = start_day(_instance(session, data).started_dt, VIETNAM_TZ)
    problem = meeting_day_problem(_day(submitted, "met_on"), "met_on", started_on=started_on, today=local_today())
    if problem is None:
        return submitted
    raise Invalid("the meeting is not valid", [problem])


# -- the collective's ballot -------------------------------------------------------------------------------------


def ballot(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    from workflows.rotation.ballots import take_tally

    return {**submitted, **take_tally(session, _instance(session, data).id, data)}


# -- the decision, the arrival ------------------------------------------------------------------------------------


def review_opens_at(planned_end_on: date, lead_days: int) -> str:
    """The start of the day, in Vietnam, `lead_days` before the rotation's last day: the timer's timeDate."""
    return datetime.combine(planned_end_on - timedelta(days=lead_days), time(0, 0), VIETNAM_TZ).isoformat()


def decision(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """Approved: the number, the effective day (the rotation still lasts the minimum to its last day), the rotation
    written on the cadre's record, and when the end-of-rotation review opens."""
    if is_refused(refused, "final_decision"):
        return submitted  # approved or refused is not known: the rules of either cannot be checked
    if submitted.get("final_decision") != "approve":
        if not _text(submitted, "decision_reason"):
            raise Invalid("a refusal needs a reason", [Problem("Write the reason.", field="decision_reason")])
        return submitted
    policy = _policy(data)
    ends = _day(data, "planned_end_on")
    assert ends is not None
    problems = []
    if not _text(submitted, "decision_number"):
        problems.append(Problem("Enter the number of the decision.", field="decision_number"))
    effective = _day(submitted, "effective_on")
    if effective is None:
        problems.append(Problem("Enter the date the decision takes effect.", field="effective_on"))
    elif not near_today(effective, today=local_today(), policy=policy):
        problems.append(
            Problem("The date the decision takes effect is too far from today: check the year.", field="effective_on")
        )
    elif effective > ends or rotation_months(effective, ends) < policy.min_duration_months:
        problems.append(
            Problem(
                "From this day the rotation would be shorter than the minimum set (NĐ 170 Điều 48: 36 months).",
                field="effective_on",
            )
        )
    _refuse("the decision is not complete", problems)
    assert effective is not None
    instance = _instance(session, data)
    record = add_rotation(
        session,
        None,
        _cadre(session, instance),
        to_unit_id=int(data["to_unit_id"]),
        started_on=effective,
        planned_end_on=ends,
        position_id=int(data["target_position_id"]),
        from_unit_id=int(data["cadre_unit_id"]),
        source_instance_id=instance.id,
    )
    return {
        **submitted,
        "rotation_record_id": record.id,
        "review_opens_at": review_opens_at(ends, policy.review_lead_days),
    }


def arrival(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The receiving unit confirms the arrival: the posts held in the sending unit end the day before, the post
    rotated to starts, and the cadre's unit becomes the receiving unit (the monthly evaluation runs there now)."""
    if is_refused(refused, "arrived_on"):
        return submitted  # not a date: the form says so (and nothing is moved)
    instance = _instance(session, data)
    arrived = _day(submitted, "arrived_on")
    started_on, effective = start_day(instance.started_dt, VIETNAM_TZ), _day(data, "effective_on")
    # Not before the procedure started, nor before the decision took effect (decision 0136).
    earliest = max(started_on, effective) if effective is not None else started_on
    bound = None if arrived is None else past_day_bound(arrived, earliest=earliest, today=local_today())
    if arrived is None or bound == DayBound.AFTER_TODAY:
        problem = Problem("Enter the day the cadre arrived; it cannot be in the future.", field="arrived_on")
    elif bound == DayBound.BEFORE and earliest == effective:
        message = N_("The cadre cannot have arrived before the decision took effect (%(day)s).")
        problem = Problem(message, field="arrived_on", message_args={"day": _formatted(earliest)})
    elif bound == DayBound.BEFORE:
        message = N_("The cadre cannot have arrived before the procedure started (%(day)s).")
        problem = Problem(message, field="arrived_on", message_args={"day": _formatted(earliest)})
    else:
        problem = None
    if problem is not None:
        raise Invalid("the arrival is not valid", [problem])
    assert arrived is not None
    cadre = _cadre(session, instance)
    sending = int(data["cadre_unit_id"])
    held = session.execute(
        select(CadrePosition.id, CadrePosition.started_on)
        .join(Position, Position.id == CadrePosition.position_id)
        .where(CadrePosition.cadre_id == cadre.id, CadrePosition.ended_on.is_(None), Position.unit_id == sending)
    ).all()
    for held_id, started_on in held:
        end_position(session, None, cadre, held_id, ended_on=max(arrived - timedelta(days=1), started_on))
    post = add_position(
        session,
        None,
        cadre,
        position_id=int(data["target_position_id"]),
        started_on=arrived,
        source_instance_id=instance.id,
    )
    update_cadre(session, None, cadre, {"unit_id": int(data["to_unit_id"])})
    return {**submitted, "rotation_position_id": post.id}


# -- after the rotation -------------------------------------------------------------------------------------------


def review(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    if submitted.get("placement_proposal") == OTHER_POST and not _text(submitted, "proposal_note"):
        raise Invalid("the proposal is not complete", [Problem("Name the post proposed.", field="proposal_note")])
    return submitted


def placement(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    problems = []
    if submitted.get("placement") == OTHER_POST and not _text(submitted, "placement_note"):
        problems.append(Problem("Name the post decided.", field="placement_note"))
    ends = _day(submitted, "placement_on")
    started = _day(data, "arrived_on")
    if ends is None or ends > local_today() or (started is not None and ends < started):
        problems.append(
            Problem("Enter a day after the cadre's arrival; it cannot be in the future.", field="placement_on")
        )
    _refuse("the placement is not complete", problems)
    return submitted


def _notify(session: Session, instance: InstanceLike, cadre: Cadre, title: str, body: str) -> None:
    users = set(session.scalars(select(User.id).where(User.cadre_id == cadre.id, User.is_active)))
    users |= set(
        session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.role == Role.HEAD, RoleAssignment.unit_id == instance.unit_id
            )
        )
    )
    for user_id in sorted(users):
        session.add(
            Notification(user_id=user_id, kind="rotation_result", instance_id=instance.id, title=title[:255], body=body)
        )


def record_result(session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None) -> None:
    """A finished rotation: after the placement the rotation record ends (the cadre is no longer counted as
    rotated); a return ends the post rotated to and moves the cadre back to the sending unit. The cadre and the
    receiving unit's heads are told how it ended."""
    cadre = session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id else None
    if cadre is None:
        return
    choice = data.get("placement")
    if choice is None:
        title = f"Không luân chuyển {cadre.full_name}: {data.get('target_position_title')}"
        _notify(session, instance, cadre, title, _stopped_reason(data))
        return
    ends = date.fromisoformat(str(data["placement_on"]))
    if data.get("rotation_record_id"):
        end_rotation(session, actor, cadre, int(data["rotation_record_id"]), ended_on=ends)
    if choice == RETURN:
        post_id = data.get("rotation_position_id")
        post = session.get(CadrePosition, int(post_id)) if post_id else None
        if post is not None and post.ended_on is None:
            end_position(session, actor, cadre, post.id, ended_on=max(ends, post.started_on))
        update_cadre(session, actor, cadre, {"unit_id": int(data["cadre_unit_id"])})
    labels = {RETURN: "trở về đơn vị cũ", STAY: "ở lại đơn vị tiếp nhận", OTHER_POST: "bố trí vị trí khác"}
    title = f"Kết thúc luân chuyển {cadre.full_name}: {labels.get(str(choice), choice)}"
    _notify(session, instance, cadre, title, _text(data, "placement_note"))


def _stopped_reason(data: Mapping[str, Any]) -> str:
    if data.get("plan_decision") == "reject":
        return f"Không phê duyệt kế hoạch: {data.get('plan_decision_reason')}"
    if data.get("final_decision") == "reject":
        return f"Cấp có thẩm quyền không luân chuyển: {data.get('decision_reason')}"
    if data.get("ballot_next") == "stop":
        return "Không đạt số phiếu cần thiết."
    if data.get("eligible") is False:
        failed = [r["message"] for r in data.get("eligibility") or [] if not r.get("passed")]
        return "Không đủ điều kiện: " + "; ".join(failed)
    return "Thủ tục kết thúc."


TASK_HOOKS: dict[str, TaskHook] = {
    "rotation_plan_approval": plan_approval,
    "rotation_eligibility": eligibility,
    "rotation_exception": exception,
    "rotation_consultation": consultation,
    "rotation_meeting": meeting,
    "rotation_ballot": ballot,
    "rotation_decision": decision,
    "rotation_arrival": arrival,
    "rotation_review": review,
    "rotation_placement": placement,
}
COMPLETION_EFFECTS: dict[str, CompletionEffect] = {PROCESS_ID: record_result}
