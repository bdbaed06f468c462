"""The server side of the appointment's forms, and what a finished appointment writes (decision 0014).

Each hook gets the submitted values and the task's data, refuses what the rules refuse (`Invalid`, one Problem per
field) and adds what only the server may compute: the eligibility results, the deadlines in working days, the
tally of a closed ballot box (never a ballot), the term's end. Every value a hook adds lands in the instance's
audit chain through the task's data diff — an exception to a failed rule is recorded there with its reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.appointment import PROCESS_ID, Source
from workflows.appointment.ballots import APPOINTMENT_BALLOTS, USED_BOXES
from workflows.appointment.facts import candidate_facts, reappointment_facts
from workflows.appointment.steps import (
    Confidence,
    Next,
    after_ballot,
    after_head_choice,
    confidence_level,
    tally_key,
)
from workflows.ballot_steps import closed_box
from workflows.errors import N_, Invalid, Problem
from workflows.hooks import ChecklistChoices, CompletionEffect, InstanceLike, TaskHook, is_refused, refused_within
from workflows.models import Notification, ProcessInstance
from workflows.registry.models import Cadre, CadrePosition, PlanningEntry, PlanningStatus, RoleAssignment, User
from workflows.registry.records import VIETNAM_TZ, add_position, end_position, local_today, remove_planning_entry
from workflows.rules.appointment import (
    AppointmentPolicy,
    check_eligibility,
    check_reappointment_eligibility,
    failed_rules,
    is_eligible,
    reappointment_term_end,
)
from workflows.rules.planning import PlanEntryRef, appointed_leaves_plan_reason, entries_ended_by_appointment
from workflows.rules.procedure_days import DayBound, effective_day_bound, meeting_day_problem, start_day
from workflows.rules.retirement import add_months
from workflows.rules.step_deadlines import CALENDAR_KEY
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import Role

# NĐ 170/2025 Điều 33 k1: the policy within 15 working days, the whole process within 30 after it.
POLICY_WORKING_DAYS = 15
PROCESS_WORKING_DAYS = 30
# NĐ 170 Điều 35 (domain rules §3.6, §8): the CV photo is at most 6 months old.
VALIDITY_MONTHS = 6
DOSSIER_ITEMS = (
    "submission",
    "minutes",
    "cv",
    "self_assessment",
    "unit_evaluation",
    "residence_comment",
    "political_conclusion",
    "asset_declaration",
    "health_certificate",
    "diplomas",
)
CLEARANCES = ("political", "residence", "inspection")


def end_of_day(day: date) -> str:
    """A deadline is the end of its day in Vietnam's time (a timer's timeDate)."""
    return datetime.combine(day, time(23, 59, 59), VIETNAM_TZ).isoformat()


def working_deadline(start: date, days: int, calendar: WorkCalendar = DEFAULT_CALENDAR) -> str:
    return end_of_day(calendar.add_working_days(start, days))


def _instance(session: Session, data: Mapping[str, Any]) -> ProcessInstance:
    key = data.get("appointment_key")
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.process_id == PROCESS_ID, ProcessInstance.business_key == key)
    )
    if instance is None:  # a model bug, not the person's: the start always sets the key
        raise LookupError(f"no appointment with the key {key!r}")
    return instance


def _policy(data: Mapping[str, Any]) -> AppointmentPolicy:
    return AppointmentPolicy.from_mapping(data.get("policy") or {})


def _calendar(data: Mapping[str, Any]) -> WorkCalendar:
    """The calendar the procedure started with; the shipped one for procedures started before it was kept."""
    kept = data.get(CALENDAR_KEY)
    return WorkCalendar.from_mapping(kept) if kept else DEFAULT_CALENDAR


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _day(values: Mapping[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(str(values.get(name)))
    except ValueError:
        return None


# -- eligibility ------------------------------------------------------------------------------------------------


DOSSIER_MONTHS_BEFORE_START = 12


def _eligibility(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], received_key: str
) -> dict[str, Any]:
    """Every rule checked against the registry as it stands; the results go into the data, readable, one a rule."""
    received = _day(submitted, received_key)
    if received is None or received > local_today():
        raise Invalid(
            "the eligibility check is not valid",
            [Problem("Enter the date the dossier was received; it cannot be in the future.", field=received_key)],
        )
    instance = _instance(session, data)
    started_on = start_day(instance.started_dt, VIETNAM_TZ)
    if received < add_months(started_on, -DOSSIER_MONTHS_BEFORE_START):
        # A dossier may reach the personnel body before its procedure is entered here, but not years before:
        # "1900-01-01" passed every age and time-in-post rule as of that day.
        raise Invalid(
            "the eligibility check is not valid",
            [
                Problem(
                    N_("The dossier cannot have been received over a year before the procedure started (%(day)s)."),
                    field=received_key,
                    message_args={"day": started_on.strftime("%d/%m/%Y")},
                )
            ],
        )
    assert instance.subject_cadre_id is not None
    policy = _policy(data)
    if data.get("source") == Source.REAPPOINTMENT:
        # §3.8: re-appointment has its own conditions; planning and time in post do not apply to the same post.
        proposal = data.get("proposal")
        renewal = reappointment_facts(
            session,
            int(data["current_cadre_position_id"]),
            health_certificate_on=_day(data, "health_certificate_on"),
            head_proposes=None if proposal is None else proposal == "reappoint",
            exclude_instance_id=instance.id,
            policy=policy,
        )
        results = check_reappointment_eligibility(renewal, dossier_received_on=received, policy=policy)
    else:
        facts = candidate_facts(
            session,
            instance.subject_cadre_id,
            int(data["target_position_id"]),
            exclude_instance_id=instance.id,
            policy=policy,
        )
        results = check_eligibility(facts, dossier_received_on=received, policy=policy)
    return {
        **submitted,
        "eligibility": [result.to_mapping() for result in results],
        "eligible": is_eligible(results),
        "eligibility_failed": failed_rules(results),
        "eligibility_checked_on": local_today().isoformat(),
    }


def eligibility(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The check before the policy (`eligibility_policy`)."""
    return _eligibility(session, submitted, data, "dossier_received_on")


def eligibility_final(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The re-check before the final vote (`eligibility_final`): its own date (decision 0052) — the dossier it is
    made on is received later than the policy's, and ages and terms are counted at that day, not the first one."""
    return _eligibility(session, submitted, data, "final_dossier_received_on")


def _exception(
    submitted: dict[str, Any], data: Mapping[str, Any], decision_key: str, reason_key: str, stage: str
) -> dict[str, Any]:
    """The competent authority stops the procedure or lets it go on as a special case — with a reason either way;
    the failed rules it overrode are recorded with the reason and the stage (QĐ 377: the competent authority decides
    and answers for special cases)."""
    reason = _text(submitted, reason_key)
    if not reason:
        raise Invalid("the decision needs a reason", [Problem("Write the reason.", field=reason_key)])
    exceptions = list(data.get("eligibility_exceptions") or [])
    if submitted.get(decision_key) == "exception":
        exceptions.append(
            {
                "rules": list(data.get("eligibility_failed") or []),
                "reason": reason,
                "decided_on": local_today().isoformat(),
                "stage": stage,
            }
        )
    return {**submitted, "eligibility_exceptions": exceptions}


def exception(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """After the check before the policy (`exception_policy`)."""
    return _exception(submitted, data, "exception_decision", "exception_reason", "policy")


def exception_final(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """After the re-check before the final vote (`exception_final`): its own keys (decision 0052), so the form does
    not open with the policy stage's "go on" and reason, and that earlier decision stays in the data."""
    return _exception(submitted, data, "final_exception_decision", "final_exception_reason", "final")


# -- the policy and its deadlines -------------------------------------------------------------------------------


def policy(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    if is_refused(refused, "policy_decision"):
        return submitted  # approved or refused is not known: the reason's rule cannot be checked
    if submitted.get("policy_decision") != "approve":
        if not _text(submitted, "policy_reason"):
            raise Invalid("a refusal needs a reason", [Problem("Write the reason.", field="policy_reason")])
        return submitted
    today = local_today()
    return {
        **submitted,
        "policy_decided_on": today.isoformat(),
        # NĐ 170 Đ33 k1c: the whole personnel process within 30 working days of the policy.
        "deadline_process": working_deadline(today, PROCESS_WORKING_DAYS, _calendar(data)),
    }


# -- the conferences --------------------------------------------------------------------------------------------


def conference(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The minutes of a conference (`step1_conference`, `ext_consult_receiving`): held on a day of the procedure,
    from the day it started to today (decision 0136)."""
    if is_refused(refused, "held_on"):
        return submitted  # not a date: the form says so
    started_on = start_day(_instance(session, data).started_dt, VIETNAM_TZ)
    problem = meeting_day_problem(_day(submitted, "held_on"), "held_on", started_on=started_on, today=local_today())
    if problem is None:
        return submitted
    raise Invalid("the minutes are not valid", [problem])


# -- the dossier and the clearances ------------------------------------------------------------------------------


def dossier(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """NĐ 170 Điều 35: every item received on paper or uploaded (`file_<item>`); the photo and the health
    certificate at most 6 months old."""
    problems = []
    received = set(submitted.get("documents_received") or [])
    missing = [item for item in DOSSIER_ITEMS if item not in received and not submitted.get(f"file_{item}")]
    # A refused tick list or upload may be the missing item: completeness cannot be told until it is read.
    unreadable = refused_within(refused, "documents_received") or any(
        is_refused(refused, f"file_{item}") for item in missing
    )
    if missing and not unreadable:
        problems.append(
            Problem("The dossier is incomplete: mark every document received or upload it.", field="documents_received")
        )
    today = local_today()
    # The photo's 6 months are NĐ 170 Điều 35 [V]; the health certificate's are configuration [U].
    valid_months = {
        "photo_taken_on": VALIDITY_MONTHS,
        "health_certificate_on": _policy(data).health_certificate_valid_months,
    }
    for name, months in valid_months.items():
        day = _day(submitted, name)
        if day is None or day > today:
            problems.append(Problem("Enter a date that is not in the future.", field=name))
        elif add_months(day, months) < today:
            too_old = (
                N_("Older than 6 months: ask for a new one.")
                if months == VALIDITY_MONTHS
                else N_("Too old: ask for a new one.")
            )
            problems.append(Problem(too_old, field=name))
    if problems:
        raise Invalid("the dossier is not complete", problems)
    return {**submitted, "dossier_checked_on": today.isoformat()}


def clearance(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    problems = [
        Problem("Describe the issue.", field=f"{name}_note")
        for name in CLEARANCES
        if submitted.get(f"{name}_result") == "issues" and not _text(submitted, f"{name}_note")
    ]
    if problems:
        raise Invalid("the opinion is not complete", problems)
    return submitted


def clearance_issues(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The clearances that reported issues, with their notes (domain rules §3.7)."""
    return [
        {"clearance": name, "note": _text(data, f"{name}_note")}
        for name in CLEARANCES
        if data.get(f"{name}_result") == "issues"
    ]


def clearance_resolution(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """A clearance reported issues: new issues are verified and concluded before the decision (§3.7), so the
    procedure waits for the competent authority — resolved with the verification's conclusion, an exception, or a
    stop — always with its reason; the issues and the decision are kept together in the data (and so in the audit
    log, through the task's data diff)."""
    if not _text(submitted, "clearance_reason"):
        raise Invalid("the decision needs a reason", [Problem("Write the reason.", field="clearance_reason")])
    decisions = list(data.get("clearance_decisions") or [])
    decisions.append(
        {
            "issues": clearance_issues(data),
            "decision": str(submitted.get("clearance_decision")),
            "reason": _text(submitted, "clearance_reason"),
            "decided_on": local_today().isoformat(),
        }
    )
    return {**submitted, "clearance_decisions": decisions}


# -- ballots ----------------------------------------------------------------------------------------------------


def ballot(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The step is done once its box is closed: its tally (only the tally) goes into the data, and where to go
    next (`ballot_next`) is decided by the step's rules (steps.after_ballot). Each step's form has its own note
    (`ballot_steps.step_note_key`, decision 0053); a refusal points there."""
    instance = _instance(session, data)
    step, box = closed_box(session, APPOINTMENT_BALLOTS, instance.id, data)
    assert box.tally is not None
    names = {str(n["key"]): str(n["name"]) for n in data.get("candidate_names") or []}
    names.update({str(c["key"]): str(c["name"]) for c in box.candidates})
    nominees = [str(n["key"]) for n in data.get("nominees") or []]
    after = after_ballot(step, box.tally, str(data.get("cadre_code")), nominees)
    extra: dict[str, Any] = {}
    if step == "ballot_confidence":  # not announced (§7): kept with the tally, under a hidden key
        level = confidence_level(box.tally, str(data.get("cadre_code")), _policy(data))
        extra["_confidence_level"] = str(level)
        # Gateways cannot read "_" names (restricted expressions); the path taken shows on the diagram anyway.
        extra["confidence_path"] = str(level)
    return {
        **submitted,
        **extra,
        tally_key(step): dict(box.tally),
        "ballot_next": str(after.next),
        "nominees": [{"key": key, "name": names.get(key, key)} for key in after.nominees],
        "head_candidates": [{"key": key, "name": names.get(key, key)} for key in after.head_candidates],
        "candidate_names": [{"key": key, "name": name} for key, name in sorted(names.items())],
        USED_BOXES: [*(data.get(USED_BOXES) or []), box.id],
    }


def _head_choice(
    submitted: dict[str, Any], data: Mapping[str, Any], choice_key: str, reason_key: str
) -> dict[str, Any]:
    """Exactly at the threshold or tied: the head chooses among those tied, or nobody (NĐ 170 Đ33 k3)."""
    allowed = [str(c["key"]) for c in data.get("head_candidates") or []] or [str(data.get("cadre_code"))]
    choice = _text(submitted, choice_key) or None
    problems = []
    if choice is not None and choice not in allowed:
        message = N_("Choose one of: %(choices)s.")
        problems.append(Problem(message, field=choice_key, message_args={"choices": ", ".join(allowed)}))
    if not _text(submitted, reason_key):
        problems.append(Problem("Write the reason.", field=reason_key))
    if problems:
        raise Invalid("the head's decision is not valid", problems)
    outcome = after_head_choice(choice, str(data.get("cadre_code")))
    values = {**submitted, choice_key: choice or "", "ballot_next": str(outcome)}
    if outcome == Next.PROCEED:
        values["nominees"] = [n for n in data.get("nominees") or [] if n["key"] == choice] or [
            {"key": choice, "name": data.get("cadre_name")}
        ]
    return values


def _tied(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(code, name) of each person the head may choose at a tie: those tied on the ballot, else the candidate."""
    listed = data.get("head_candidates") or (
        [{"key": data["cadre_code"], "name": data.get("cadre_name")}] if data.get("cadre_code") else []
    )
    return [(str(c["key"]), str(c.get("name") or c["key"])) for c in listed]


def _head_choices(choice_key: str) -> ChecklistChoices:
    def choices(
        session: Session, data: Mapping[str, Any], held: Mapping[str, Collection[str]]
    ) -> dict[str, list[tuple[str, str]]]:
        """The head's choice as one of those tied, by name (the hook above accepts no other). Without the task's data
        (a completed task) the one chosen, by name from the registry."""
        tied = _tied(data)
        if not tied:
            codes = list(held.get(choice_key) or ())
            found = session.execute(select(Cadre.code, Cadre.full_name).where(Cadre.code.in_(codes))).all()
            tied = [(code, name) for code, name in found]
        return {choice_key: [(code, f"{name} ({code})" if name != code else code) for code, name in tied]}

    return choices


def head_choice(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The head on the nomination ballot's tie (`head_step3`)."""
    return _head_choice(submitted, data, "head_choice", "head_reason")


def head_final(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The head on the final vote's tie (`head_final`): a decision of its own on another ballot, under its own keys
    (decision 0052) — the form does not open with the choice and reason given on the nomination ballot."""
    return _head_choice(submitted, data, "final_head_choice", "final_head_reason")


# -- a low-confidence result (QĐ 96) ----------------------------------------------------------------------------


def confidence_review(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The competent authority's decision on a re-appointment whose confidence ballot read low confidence (QĐ 96,
    domain rules §3.9): always with a reason; at the dismissal level (≥ 2/3) the re-appointment cannot go on."""
    problems = []
    if not _text(submitted, "confidence_reason"):
        problems.append(Problem("Write the reason.", field="confidence_reason"))
    if submitted.get("confidence_decision") == "continue" and data.get("_confidence_level") == Confidence.DISMISSAL:
        problems.append(
            Problem(
                "At least the dismissal share voted low confidence: the re-appointment cannot go on.",
                field="confidence_decision",
            )
        )
    if problems:
        raise Invalid("the decision is not valid", problems)
    return {**submitted, "confidence_decided_on": local_today().isoformat()}


# -- the decision -----------------------------------------------------------------------------------------------


def decision(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    if is_refused(refused, "final_decision"):
        return submitted  # approved or refused is not known: the rules of either cannot be checked
    if submitted.get("final_decision") != "approve":
        if not _text(submitted, "decision_reason"):
            raise Invalid("a refusal needs a reason", [Problem("Write the reason.", field="decision_reason")])
        return submitted
    problems = []
    if not _text(submitted, "decision_number"):
        problems.append(Problem("Enter the number of the decision.", field="decision_number"))
    effective = _day(submitted, "effective_on")
    policy = _policy(data)
    if effective is None:
        problems.append(Problem("Enter the date the decision takes effect.", field="effective_on"))
    else:
        problems.extend(
            _effective_problems(effective, start_day(_instance(session, data).started_dt, VIETNAM_TZ), policy)
        )
    if problems:
        raise Invalid("the decision is not complete", problems)
    assert effective is not None
    retirement = _day(data, "retirement_date")
    term_years = policy.term_years
    # NĐ 170 Điều 28: 5 years from the effective date; near retirement the term runs to retirement (§3.8).
    term_end = reappointment_term_end(effective, retirement, term_years)
    return {**submitted, "term_ends_on": term_end.isoformat()}


def _effective_problems(effective: date, started_on: date, policy: AppointmentPolicy) -> list[Problem]:
    """An effective date before the procedure started would write a term already running, or over, on the record;
    one further ahead than the setting allows is a mistyped year (decision 0136)."""
    today = local_today()
    months = policy.decision_effective_within_months
    bound = effective_day_bound(effective, started_on=started_on, today=today, within_months=months)
    if bound == DayBound.BEFORE:
        message = N_("The decision cannot take effect before the procedure started (%(day)s).")
        return [Problem(message, field="effective_on", message_args={"day": started_on.strftime("%d/%m/%Y")})]
    if bound == DayBound.TOO_FAR_AHEAD:
        message = N_("The decision cannot take effect more than %(months)s months from today (after %(day)s).")
        last = add_months(today, months).strftime("%d/%m/%Y")
        return [Problem(message, field="effective_on", message_args={"months": months, "day": last})]
    return []


# -- what a finished appointment writes -------------------------------------------------------------------------


def _notify(session: Session, user_ids: set[int], instance: InstanceLike, title: str, body: str) -> None:
    for user_id in sorted(user_ids):
        session.add(
            Notification(user_id=user_id, kind="appointment_result", instance_id=instance.id, title=title, body=body)
        )


def _outcome(data: Mapping[str, Any]) -> tuple[bool, str]:
    if data.get("final_decision") == "approve":
        return True, f"Quyết định số {data.get('decision_number')}, hiệu lực từ {data.get('effective_on')}."
    if data.get("final_decision") == "reject":
        return False, f"Cấp có thẩm quyền không bổ nhiệm: {data.get('decision_reason')}"
    if data.get("confidence_decision") in ("not_reappoint", "dismiss"):
        return False, f"Kết quả lấy phiếu tín nhiệm thấp: {data.get('confidence_reason')}"
    if data.get("ballot_next") == Next.STOP:
        return False, "Không đạt số phiếu cần thiết."
    if data.get("policy_decision") == "reject":
        return False, f"Không đồng ý chủ trương: {data.get('policy_reason')}"
    if data.get("clearance_decision") == "stop":
        return False, f"Vấn đề phát sinh chưa được giải quyết: {data.get('clearance_reason')}"
    if data.get("final_exception_decision") == "stop":
        return False, f"Không đủ điều kiện, tiêu chuẩn (thẩm định lại): {data.get('final_exception_reason')}"
    if data.get("exception_decision") == "stop":
        return False, f"Không đủ điều kiện, tiêu chuẩn: {data.get('exception_reason')}"
    return False, "Thủ tục kết thúc."


def record_result(session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None) -> None:
    """Approved: the new position on the cadre's record (start date, term end), on the cadre's audit chain; a
    re-appointment ends the term it renews; the cadre's planning for the post ends. Either way the cadre and the
    heads of the unit are told."""
    cadre = session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id else None
    if cadre is None:
        return
    appointed, detail = _outcome(data)
    position_id = int(data["target_position_id"])
    if appointed:
        effective = date.fromisoformat(str(data["effective_on"]))
        if data.get("source") == Source.REAPPOINTMENT and data.get("current_cadre_position_id"):
            held = session.get(CadrePosition, int(data["current_cadre_position_id"]))
            if held is not None and held.ended_on is None:
                ended = min(effective - timedelta(days=1), local_today())
                end_position(session, actor, cadre, held.id, ended_on=max(ended, held.started_on))
        elif data.get("posts_held") == POSTS_HELD_END:
            _leave_posts_held(session, actor, cadre, effective)
        add_position(
            session,
            actor,
            cadre,
            position_id=position_id,
            started_on=effective,
            term_ends_on=str(data["term_ends_on"]),
            source_instance_id=instance.id,
        )
        _out_of_planning_for_the_post(session, instance, cadre, data, actor)
    _out_of_planning_after_low_confidence(session, instance, cadre, data, actor)
    verb = "bổ nhiệm lại" if data.get("source") == Source.REAPPOINTMENT else "bổ nhiệm"
    title = f"{'Đã' if appointed else 'Không'} {verb} {data.get('target_position_title')}: {cadre.full_name}"
    users = set(session.scalars(select(User.id).where(User.cadre_id == cadre.id, User.is_active)))
    users |= set(
        session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.role == Role.HEAD, RoleAssignment.unit_id.in_({instance.unit_id, cadre.unit_id})
            )
        )
    )
    _notify(session, users, instance, title[:255], detail)


# What the decision says of the posts the appointed cadre holds (form appointment_decision, decision 0138): left the
# day before the new post takes effect, or kept (kiêm nhiệm). A decision of an earlier form, without it, keeps them.
POSTS_HELD_END = "end"


def _leave_posts_held(session: Session, actor: User | None, cadre: Cadre, effective: date) -> None:
    """Every post the cadre holds ends the day before the appointment takes effect (today at the latest: the record
    holds no future dates; never before the post began), each on the cadre's audit chain."""
    held = session.execute(
        select(CadrePosition.id, CadrePosition.started_on).where(
            CadrePosition.cadre_id == cadre.id, CadrePosition.ended_on.is_(None)
        )
    ).all()
    ended = min(effective - timedelta(days=1), local_today())
    for held_id, started_on in held:
        end_position(session, actor, cadre, held_id, ended_on=max(ended, started_on))


# QĐ 377-QĐ/TW [V] S7, S8, S9: only higher titles are planned; the post now held is not one (decision 0113).
def _out_of_planning_for_the_post(
    session: Session, instance: InstanceLike, cadre: Cadre, data: Mapping[str, Any], actor: User | None
) -> None:
    """The cadre's active entries for the post they were appointed to end, marked removed with the decision as the
    reason and this procedure as the one that removed them, each on the cadre's audit chain. The day is the
    decision's effective date, or today when it takes effect later (the plan holds no future dates)."""
    position_id = int(data["target_position_id"])
    active = session.execute(
        select(PlanningEntry.id, PlanningEntry.position_id, PlanningEntry.added_on).where(
            PlanningEntry.cadre_id == cadre.id, PlanningEntry.status == PlanningStatus.ACTIVE
        )
    ).all()
    added = {entry_id: added_on for entry_id, _, added_on in active}
    effective = date.fromisoformat(str(data["effective_on"]))
    reason = appointed_leaves_plan_reason(str(data.get("decision_number") or ""), effective)
    ended = min(effective, local_today())
    for entry_id in entries_ended_by_appointment((PlanEntryRef(i, p) for i, p, _ in active), position_id):
        remove_planning_entry(
            session,
            actor,
            cadre,
            entry_id,
            reason=reason,
            removed_on=max(ended, added[entry_id]),
            removal_instance_id=instance.id,
        )


# QĐ 96-QĐ/TW [V] S47: more than half low confidence takes the cadre out of planning for higher posts.
def _out_of_planning_after_low_confidence(
    session: Session, instance: InstanceLike, cadre: Cadre, data: Mapping[str, Any], actor: User | None
) -> None:
    """Every active planning entry ends, whatever the competent authority decided on the post itself; the entries
    stay on the record as removed, naming this procedure. Planning only ever holds higher titles (QĐ 377), so
    "planning for higher posts" is all of it."""
    if data.get("_confidence_level") not in (Confidence.LOW, Confidence.DISMISSAL):
        return
    decided = str(data.get("confidence_decided_on") or local_today().isoformat())
    entries = session.scalars(
        select(PlanningEntry.id).where(
            PlanningEntry.cadre_id == cadre.id, PlanningEntry.status == PlanningStatus.ACTIVE
        )
    ).all()
    for entry_id in entries:
        remove_planning_entry(
            session,
            actor,
            cadre,
            entry_id,
            reason="Kết quả lấy phiếu tín nhiệm: trên 1/2 tín nhiệm thấp (QĐ 96-QĐ/TW), đưa ra khỏi quy hoạch",
            removed_on=min(date.fromisoformat(decided), local_today()),
            removal_instance_id=instance.id,
        )


TASK_HOOKS: dict[str, TaskHook] = {
    "appointment_eligibility": eligibility,
    "appointment_eligibility_final": eligibility_final,
    "appointment_exception": exception,
    "appointment_exception_final": exception_final,
    "appointment_policy": policy,
    "appointment_dossier": dossier,
    "appointment_conference": conference,
    "appointment_clearance": clearance,
    "appointment_clearance_resolution": clearance_resolution,
    "appointment_ballot": ballot,
    "appointment_head_choice": head_choice,
    "appointment_head_final": head_final,
    "appointment_confidence_review": confidence_review,
    "appointment_decision": decision,
}
COMPLETION_EFFECTS: dict[str, CompletionEffect] = {PROCESS_ID: record_result}
# What the head may choose at a tie, drawn as one choice among those tied (decision 0140).
CHECKLIST_CHOICES: dict[str, ChecklistChoices] = {
    "appointment_head_choice": _head_choices("head_choice"),
    "appointment_head_final": _head_choices("final_head_choice"),
}
