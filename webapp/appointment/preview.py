"""The start page's preview of the appointment conditions: each rule's result as a row the page shows — met, not met
or unknown (the registry lacks a fact the rule needs) — with what the personnel officer can do about it."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from workflows.rules.appointment import (
    RULE_AGE,
    RULE_ANNUAL_GRADE,
    RULE_CONCURRENT,
    RULE_DISCIPLINE,
    RULE_PLANNING,
    RULE_TIME_IN_POST,
    RuleResult,
)

PASSED, FAILED, UNKNOWN = "passed", "failed", "unknown"

# What to put right, by rule and by how it came out. The finding (the rule's message) already says the numbers and
# dates; this says where the remedy lies, and that setting a rule aside is the competent authority's alone.
_EXCEPTION = _l("Otherwise only the competent authority can set it aside, at the eligibility check.")
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


@dataclass(frozen=True)
class PreviewRow:
    result: RuleResult
    status: str  # PASSED, FAILED or UNKNOWN
    to_fix: str  # empty when met


def status_of(result: RuleResult) -> str:
    if result.passed:
        return PASSED
    return UNKNOWN if result.unknown else FAILED


def preview_rows(results: list[RuleResult]) -> list[PreviewRow]:
    rows = []
    for result in results:
        status = status_of(result)
        to_fix = ""
        if status != PASSED:
            advice = _TO_FIX.get((result.rule, status))
            to_fix = f"{advice} {_EXCEPTION}" if advice else str(_EXCEPTION)
        rows.append(PreviewRow(result, status, to_fix))
    return rows
