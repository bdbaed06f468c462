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
    # planning review
    "term": N_("Term"),
    "unit_code": N_("Unit code"),
    "unit_name": N_("Unit"),
    "screened_count": N_("Cadres screened"),
    "screened_on": N_("Screened on"),
}

# Values of that data that are codes rather than words, by key: shown in the reader's language.
DATA_VALUES = {
    "source": {"internal": N_("Local source"), "external": N_("Source from elsewhere")},
}
