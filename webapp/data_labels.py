"""Names, and words for coded values, of a procedure's own data that no form titles: what the start pages and the
models' scripts write (the cadre, the post, the source, the deadlines, the eligibility check). The instance page, the
task page's context and the history show a form's title where the version has one; where it has none they showed
the raw key (`cadre_name`, `requested_on`) and code (`external`). The keys are the shipped procedures'; a key or
value not listed here is still shown as it is.
"""

from __future__ import annotations

from workflows.errors import N_

DATA_LABELS = {
    # every procedure
    "cadre_code": N_("Cadre code"),
    "cadre_name": N_("Cadre"),
    "cadre_unit_name": N_("Cadre's unit"),
    "candidate_names": N_("Candidates"),
    "nominees": N_("Nominees"),
    "requested_on": N_("Requested on"),
    "return_count": N_("Times returned"),
    "max_returns": N_("Returns allowed"),
    "key": N_("Code"),
    "name": N_("Name"),
    # monthly evaluation
    "period": N_("Period"),
    "deadline_self_assessment": N_("Self-assessment deadline"),
    "deadline_review": N_("Review deadline"),
    "deadline_decision": N_("Grading deadline"),
    "is_leader": N_("Holds a leadership post"),
    "evaluated_above": N_("Evaluated at the level above"),
    # … and what its steps work out (workflows/evaluation/hooks.py): the score, its parts, the grade
    "self_score": N_("Self-assessed score"),
    "self_score_breakdown": N_("Self-assessed score in detail"),
    "score": N_("Score"),
    "score_breakdown": N_("Score in detail"),
    "leader_unit_factor": N_("Share of the led units' results"),
    "disciplined": N_("Disciplined in the month"),
    "computed_grade": N_("Grade following from the score"),
    "final_grade": N_("Grade decided"),
    # … and what the direct leader's review changed, or proposed when it returned (decision 0105);
    # workflows.instances.reviewed_values words its values
    "review_changes": N_("Values changed or proposed in the review"),
    # annual grading (workflows/evaluation/annual.py)
    "year": N_("Year"),
    "include_subunits": N_("Subordinate units included"),
    "task_groups": N_("Task groups"),
    "default_task_group": N_("Default task group"),
    "policy": N_("Evaluation rules"),
    "cadres": N_("Cadres"),
    "quota": N_("HTXSNV quota"),
    "over_quota": N_("HTXSNV over the quota"),
    "final_grades": N_("Grades decided"),
    "demoted": N_("Lowered to HTTNV"),
    "exceptions": N_("Kept HTXSNV by approved exception"),
    "quota_exceptions": N_("Approvals of the exceptions"),
    "demotion_reasons": N_("Reasons for lowering"),
    # appointment and rotation
    "source": N_("Source of the candidate"),
    "target_position_title": N_("Position"),
    "retirement_date": N_("Retirement date"),
    "deadline_policy": N_("Policy decision deadline"),
    "deadline_process": N_("Procedure deadline"),
    "eligible": N_("Meets the conditions"),
    "eligibility": N_("Conditions and standards"),
    "eligibility_checked_on": N_("Conditions checked on"),
    "eligibility_failed": N_("Conditions not met"),
    "sending_unit_name": N_("Sending unit"),
    "to_unit_name": N_("Receiving unit"),
    "purpose_label": N_("Purpose"),
    "starts_on": N_("Starts on"),
    "planned_end_on": N_("Planned end"),
    # rotation's start (workflows/rotation/service.py)
    "is_appointment": N_("Rotation onto a leadership post (also an appointment)"),
    "purpose": N_("Purpose (code)"),
    "purpose_note": N_("Grounds for the purpose"),
    # … and what the rotation's deciding step works out for its summary (webapp/rotation/summary.py, decision 0119)
    "current_post": N_("Post held when proposed"),
    "rotation_duration": N_("Duration of the rotation"),
    "rotation_signals": N_("Rotation signals"),
    # … and what their steps work out (workflows/appointment/hooks.py, workflows/rotation/hooks.py)
    "eligibility_exceptable": N_("Unmet conditions may be set aside"),
    "eligibility_exceptions": N_("Conditions set aside"),
    "policy_decided_on": N_("Policy decided on"),
    "dossier_checked_on": N_("Dossier checked on"),
    "clearance_decisions": N_("Decisions on the clearances"),
    "ballot_next": N_("Next after the ballot"),
    "head_candidates": N_("Candidates for head"),
    "confidence_path": N_("Confidence level"),
    "confidence_decided_on": N_("Confidence vote decided on"),
    "term_ends_on": N_("Term ends on"),
    "plan_approved_on": N_("Plan approved on"),
    "sending_consulted_on": N_("Sending unit consulted on"),
    "receiving_consulted_on": N_("Receiving unit consulted on"),
    "review_opens_at": N_("Review opens"),
    # planning review
    "term": N_("Term"),
    "unit_code": N_("Unit code"),
    "unit_name": N_("Unit"),
    "screened_count": N_("Cadres screened"),
    "screened_on": N_("Screened on"),
    "variant": N_("Kind of review"),
    "committee_title_codes": N_("Titles the party committee votes on"),
    # … and what its steps work out (workflows/planning/hooks.py)
    "removals_confirmed": N_("Removals confirmed"),
    "removals_kept": N_("Kept in the plan"),
    "frame": N_("Frame of the plan"),
    "structure": N_("Structure of the plan"),
    "structure_current": N_("Current structure"),
    "not_nominated": N_("Not nominated"),
    "has_nominees": N_("Has nominees"),
    "has_committee_nominees": N_("Has nominees for the committee"),
    "approved_on": N_("Approved on"),
    "ballot_boxes_used": N_("Ballot boxes used"),
}

# The columns of a list of rows, by the list's key, where a column's key means something else than the same key on
# its own (`source` of an eligibility result is its legal basis, not the candidate's source).
DATA_COLUMNS = {
    # a month's score as workflows.rules.evaluation.ScoreBreakdown stores it
    "score_breakdown": (
        _SCORE_PARTS := {
            "criteria": N_("General criteria"),
            "criteria_points": N_("General criteria points"),
            "quantity_pct": N_("Quantity (%)"),
            "quality_pct": N_("Quality (%)"),
            "progress_pct": N_("Timeliness (%)"),
            "products_pct": N_("Work products (%)"),
            "leader_unit_factor": N_("Share of the led units' results"),
            "task_points": N_("Task result points"),
            "total": N_("Score"),
        }
    ),
    "self_score_breakdown": _SCORE_PARTS,
    # a planning review's proposed removals (and the ones the collective added) as the collective decided them, and
    # its frame of titles
    # (workflows/planning/hooks.py)
    "removals_confirmed": (
        _REMOVAL_COLUMNS := {
            "entry_id": N_("Entry"),
            "title": N_("Planned title"),
            "reason": N_("Reason proposed"),
            "decision": N_("Decision of the collective"),
            "keep_reason": N_("Reason for keeping"),
        }
    ),
    "removals_kept": _REMOVAL_COLUMNS,
    # the screening's proposals: since decision 0081 the form shows the cadre and title in the entry's select, so the
    # rows' own columns are named here (and so for every version alike)
    "removals": _REMOVAL_COLUMNS,
    # the planning review's nominations as its steps carry them (workflows/planning/hooks.py `nominate`)
    "nominees": {
        "title": N_("Planned title"),
        "committee": N_("Party committee title"),
        "checks": N_("Conditions checked"),
    },
    "frame": {
        "position_id": N_("Title code (number)"),
        "title": N_("Planned title"),
        "planned_count": N_("People planned"),
    },
    "eligibility": {
        "rule": N_("Condition"),
        "passed": N_("Met"),
        "message": N_("Finding"),
        "source": N_("Legal basis"),
    },
}

# The eligibility rules of the appointment (workflows/rules/appointment.py) and the rotation
# (workflows/rules/rotation.py), by their codes: the only names of the rules (the pages are the only readers).
RULE_NAMES = {
    "planning": N_("In the plan for the post"),
    "time_in_post": N_("Time in the current post"),
    "age": N_("Age at appointment"),
    "discipline": N_("Time since a disciplinary measure"),
    "no_concurrent_procedure": N_("No other planning or appointment under way"),
    "annual_grade": N_("Last year's quality grade"),
    "term_duties": N_("Duties fulfilled in the term"),
    "standards": N_("Meets the post's standards"),
    "health": N_("Health"),
    "not_barred": N_("Not barred nor under a disciplinary procedure"),
    "service_left": N_("Service left before retirement"),
    "purpose": N_("Purpose of the rotation"),
    "units": N_("Sending and receiving units"),
    "equivalent_post": N_("Equivalent post"),
    "no_new_post": N_("No post created for the rotation"),
    "duration": N_("Duration of the rotation"),
    "commune_key_post_capability": N_("Capable of a commune's key post"),
    "non_local": N_("Not a local of the receiving unit"),
}

# Values of that data that are codes rather than words, by key: shown in the reader's language. A list of such codes
# (the rules not met) is shown as their names.
GRADE_NAMES = {
    "HTXSNV": N_("Completed duties excellently"),
    "HTTNV": N_("Completed duties well"),
    "HTNV": N_("Completed duties"),
    "KHTNV": N_("Did not complete duties"),
}

# The rotation's purposes as the default policy words them (workflows.rules.rotation.DEFAULT_PURPOSES); a purpose a
# province adds is shown by its code here, and by its words in "purpose_label" beside it.
ROTATION_PURPOSE_NAMES = {
    "training": N_("Training cadres in the plan"),
    "non_local": N_("A key post held by someone not from the locality"),
    "term_limit": N_("A head not in the same post for more than two consecutive terms"),
    "other": N_("Another case decided by the competent authority"),
}

# The titles the party committee votes on (workflows.planning.steps.COMMITTEE_TITLE_CODES).
COMMITTEE_TITLE_NAMES = {
    "commune_party_secretary": N_("Commune party secretary"),
    "commune_deputy_party_secretary": N_("Commune deputy party secretary"),
    "party_committee_member": N_("Party committee member"),
    "province_party_secretary": N_("Provincial party secretary"),
    "province_deputy_party_secretary": N_("Provincial deputy party secretary"),
}

# Where a procedure goes after a ballot (workflows.appointment.steps.Next, workflows.planning.steps.Next), and the
# level a confidence ballot reads (workflows.rules.appointment.Confidence).
BALLOT_NEXT_NAMES = {
    "proceed": N_("Go on to the next step"),
    "repeat": N_("Hold the conference again (quorum not reached)"),
    "head": N_("The head decides"),
    "stop": N_("Stop: the nominee was not chosen"),
}
CONFIDENCE_NAMES = {
    "normal": N_("Normal confidence"),
    "low": N_("Low confidence"),
    "dismissal": N_("Considered for dismissal"),
}

DATA_VALUES = {
    "ballot_next": BALLOT_NEXT_NAMES,
    "confidence_path": CONFIDENCE_NAMES,
    "_confidence_level": CONFIDENCE_NAMES,
    "computed_grade": GRADE_NAMES,
    "final_grade": GRADE_NAMES,
    "proposed_grade": GRADE_NAMES,
    "grade": GRADE_NAMES,
    "source": {"internal": N_("Local source"), "external": N_("Source from elsewhere")},
    "rule": RULE_NAMES,
    "eligibility_failed": RULE_NAMES,
    "purpose": ROTATION_PURPOSE_NAMES,
    "variant": {"annual": N_("Annual review"), "term": N_("Plan for the next term")},
    "committee_title_codes": COMMITTEE_TITLE_NAMES,
    # a removal as the planning collective decided it (the form names it on the step; the rows copied after not)
    "decision": {"remove": N_("Remove from the plan"), "keep": N_("Keep in the plan")},
}

# The audit log's event types (workflows.exports.AUDIT_EVENT_TYPES) and the kinds of reading logged
# (workflows.inspection.reads.ViewedObject), for the inspector's pages; the code stays in the exports and the API.
EVENT_TYPE_NAMES = {
    "process_deployed": N_("Procedure version deployed"),
    "process_retired": N_("Procedure withdrawn from use"),
    "process_reinstated": N_("Procedure back in use"),
    "process_rolled_back": N_("Earlier procedure version used again"),
    "instance_started": N_("Procedure started"),
    "instance_completed": N_("Procedure ended"),
    "instance_cancelled": N_("Procedure cancelled"),
    "task_opened": N_("Step opened"),
    "task_claimed": N_("Step taken"),
    "task_released": N_("Step returned to the group"),
    "task_reassigned": N_("Step handed to another person"),
    "task_completed": N_("Step completed"),
    "task_cancelled": N_("Step closed without completion"),
    "data_changed": N_("Data changed"),
    "timer_fired": N_("Deadline reached"),
    "error": N_("Error"),
    "ballot_opened": N_("Ballot opened"),
    "ballot_attendance": N_("Ballot attendance recorded"),
    "ballot_cast": N_("Ballot cast"),
    "ballot_closed": N_("Ballot closed"),
    "inspection_note": N_("Inspection note"),
    "cadre_created": N_("Cadre record created"),
    "cadre_updated": N_("Cadre record changed"),
    "cadre_position_added": N_("Post taken up"),
    "cadre_position_ended": N_("Post left"),
    "discipline_added": N_("Disciplinary measure recorded"),
    "evaluation_recorded": N_("Evaluation grade recorded"),
    "planning_entry_added": N_("Added to the plan"),
    "planning_entry_removed": N_("Removed from the plan"),
    "rotation_added": N_("Rotation recorded"),
    "rotation_ended": N_("Rotation ended"),
    "unit_created": N_("Unit created"),
    "unit_updated": N_("Unit changed"),
    "unit_merged": N_("Unit merged"),
    "demo_loaded": N_("Demo data loaded"),
    # An account's chain (user:<id>, workflows/registry/accounts.py), worded as the account's page words it.
    "user_created": N_("Account created"),
    "user_details_changed": N_("Name or e-mail changed"),
    "username_changed": N_("Username changed"),
    "role_granted": N_("Role granted"),
    "role_revoked": N_("Role removed"),
    "user_deactivated": N_("Account deactivated"),
    "user_activated": N_("Account reactivated"),
    "password_reset": N_("Password reset"),
}

READ_KIND_NAMES = {
    "instance": N_("Procedure page"),
    "instance_history": N_("Procedure history"),
    "instance_export": N_("Procedure history exported"),
    "cadre": N_("Cadre record"),
    "cadre_history": N_("Cadre's procedures"),
    "instance_file": N_("Dossier file downloaded"),
    "instance_minutes": N_("Ballot minutes"),
    "instance_diagram": N_("Procedure diagram"),
    "cadre_list": N_("Cadre list exported"),
    "event_list": N_("Audit log exported"),
    "plan_list": N_("Planning list exported"),
    "evaluation_list": N_("Evaluation results exported"),
    "month_results_list": N_("Month's results exported"),
    "rollup_list": N_("Evaluation summary exported"),
    "figure_list": N_("Target's people exported"),
}

# The fields of a cadre's record that its history (/registry/cadres/<id>) names and no import column does: the posts
# held, discipline, planning, evaluation results and rotations (workflows/registry/records.py). The history falls
# back on DATA_LABELS, then on the key.
RECORD_LABELS = {
    "started_on": N_("Started on"),
    "ended_on": N_("Ended on"),
    "source_instance_id": N_("Recorded by procedure no."),
    "removal_instance_id": N_("Removed by procedure no."),
    "level": N_("Discipline"),
    "decided_on": N_("Decided on"),
    "expires_on": N_("Expires on"),
    "note": N_("Note"),
    "status": N_("Status"),
    "added_on": N_("Added on"),
    "removed_on": N_("Removed on"),
    "reason": N_("Reason"),
    "score": N_("Score"),
    "grade": N_("Grade"),
    "quota_exception": N_("Approval to keep HTXSNV over the quota"),
    "from_unit_id": N_("From unit"),
    "to_unit_id": N_("To unit"),
    "planned_end_on": N_("Planned end"),
}
# Coded values of those fields (workflows/registry/models.py: PlanningStatus, DisciplineLevel).
RECORD_VALUES = {
    "status": {"active": N_("In the planning"), "removed": N_("Taken out of the planning")},
    "level": {
        "khien_trach": N_("Reprimand"),
        "canh_cao": N_("Warning"),
        "ha_bac_luong": N_("Salary grade lowered"),
        "giang_chuc": N_("Demotion"),
        "cach_chuc": N_("Removal from office"),
        "bai_nhiem": N_("Dismissal by the electing body"),
        "buoc_thoi_viec": N_("Forced resignation"),
        "khai_tru": N_("Expulsion from the Party"),
    },
}
