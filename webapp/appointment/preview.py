"""What the appointment start page's preview advises on each rule not met or unknown (the rows and their page are
shared with the rotation: webapp/eligibility.py, templates/_eligibility_preview.html)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.eligibility import FAILED, UNKNOWN, PreviewRow, preview_rows
from workflows.rules.appointment import (
    RULE_AGE,
    RULE_ANNUAL_GRADE,
    RULE_CONCURRENT,
    RULE_DISCIPLINE,
    RULE_PLANNING,
    RULE_TIME_IN_POST,
    RULES,
    RuleResult,
)

# What to put right, by rule and by how it came out. The finding (the rule's message) already says the numbers and
# dates; this says where the remedy lies. Every appointment rule may be set aside by the competent authority.
_TO_FIX = {
    (RULE_PLANNING, FAILED): _l(
        "Choose a post the cadre is planned for, or have the cadre added to the plan for this title or an "
        "equivalent or higher one first."
    ),
    (RULE_TIME_IN_POST, FAILED): _l("Wait until the cadre has held the current post long enough."),
    (RULE_TIME_IN_POST, UNKNOWN): _l("Record in the registry the day the cadre took up the current post."),
    (RULE_AGE, FAILED): _l("The cadre cannot serve a full term before retiring."),
    (RULE_AGE, UNKNOWN): _l("Record the cadre's birth date and gender in the registry."),
    (RULE_DISCIPLINE, FAILED): _l("Wait until the waiting time after the disciplinary measure has passed."),
    (RULE_CONCURRENT, FAILED): _l("Finish or withdraw the other procedure named in the finding first."),
    (RULE_ANNUAL_GRADE, FAILED): _l("The latest annual grade is below the minimum the settings require."),
    (RULE_ANNUAL_GRADE, UNKNOWN): _l("Record the cadre's quality grade of last year in the registry."),
}


def appointment_rows(results: list[RuleResult]) -> list[PreviewRow]:
    # Every rule is the competent authority's to set aside (hooks.exception): none stops the procedure for certain,
    # so none refuses the start (decision 0136).
    return preview_rows(results, _TO_FIX, exceptable=RULES, stopping=())
