"""The eligibility preview the start pages share (the appointment's, decision 0070, and the rotation's, 0096): each
rule's result as a row — met, not met or unknown (the registry lacks a fact the rule needs) — with what the personnel
officer can do about it; and the flash naming the rules not met when the procedure is started anyway, worded as the
preview words them."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.i18n import data_value
from workflows.rules.appointment import RuleResult

PASSED, FAILED, UNKNOWN = "passed", "failed", "unknown"

# Advice on the rules the competent authority may set aside at the eligibility check, and on those it may not.
_EXCEPTION = _l("Otherwise only the competent authority can set it aside, at the eligibility check.")
_NO_EXCEPTION = _l(
    "The competent authority cannot set this condition aside: the procedure stops at the eligibility check."
)


@dataclass(frozen=True)
class PreviewRow:
    result: RuleResult
    status: str  # PASSED, FAILED or UNKNOWN
    to_fix: str  # empty when met


def status_of(result: RuleResult) -> str:
    if result.passed:
        return PASSED
    return UNKNOWN if result.unknown else FAILED


def preview_rows(
    results: Iterable[RuleResult], advice: Mapping[tuple[str, str], object], exceptable: Container[str]
) -> list[PreviewRow]:
    """`advice` by (rule, status): where the remedy lies (the finding already says the numbers and dates);
    `exceptable`: the rules the competent authority may set aside, which the advice then says."""
    rows = []
    for result in results:
        status = status_of(result)
        to_fix = ""
        if status != PASSED:
            exception = _EXCEPTION if result.rule in exceptable else _NO_EXCEPTION
            remedy = advice.get((result.rule, status))
            to_fix = f"{remedy} {exception}" if remedy else str(exception)
        rows.append(PreviewRow(result, status, to_fix))
    return rows


def warn_of_unmet_rules(results: Iterable[RuleResult] | None) -> None:
    """Started anyway (setting a rule aside is the competent authority's, at the step "Thẩm định"): say which rules
    are not met and which could not be checked, as the preview would have said (a rule that cannot be checked counts
    as not met at that step)."""
    rows = [(status_of(result), str(data_value(result.rule, "rule"))) for result in results or []]
    failed = [name for status, name in rows if status == FAILED]
    unknown = [name for status, name in rows if status == UNKNOWN]
    if failed:
        flash(
            _(
                "Conditions not met: %(rules)s. The competent authority decides on them at the eligibility check.",
                rules="; ".join(failed),
            ),
            "warning",
        )
    if unknown:
        flash(
            _(
                "Conditions that cannot be checked, the cadre's record lacks the data: %(rules)s. Record it before "
                "the eligibility check, or they count as not met.",
                rules="; ".join(unknown),
            ),
            "warning",
        )
