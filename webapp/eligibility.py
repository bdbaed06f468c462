"""The eligibility preview the start pages share (the appointment's, decision 0070, and the rotation's, 0096): each
rule's result as a row — met, not met or unknown (the registry lacks a fact the rule needs) — with what the personnel
officer can do about it; the flash naming the rules not met when the procedure is started anyway, worded as the
preview words them; and the lines naming the rules that refuse a start certain to stop at the eligibility check
(decision 0136: a rule not met that nobody there may set aside — none of the appointment's, some of the rotation's)."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.i18n import data_value
from workflows.errors import N_
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
    is_blocking: bool = False  # not met, and the procedure would stop at the eligibility check: it cannot start


def status_of(result: RuleResult) -> str:
    if result.passed:
        return PASSED
    return UNKNOWN if result.unknown else FAILED


def preview_rows(
    results: Iterable[RuleResult],
    advice: Mapping[tuple[str, str], object],
    *,
    exceptable: Container[str],
    stopping: Container[str],
) -> list[PreviewRow]:
    """`advice` by (rule, status): where the remedy lies (the finding already says the numbers and dates);
    `exceptable`: the rules the competent authority may set aside, which the advice then says; `stopping`: the
    rules whose failure stops the procedure at the eligibility check whatever is decided there, which the advice
    says too — a failed one blocks the start. A rule in neither (met by a decision the check records) has its
    advice alone."""
    rows = []
    for result in results:
        status = status_of(result)
        to_fix = ""
        if status != PASSED:
            exception = _EXCEPTION if result.rule in exceptable else _NO_EXCEPTION if result.rule in stopping else ""
            remedy = advice.get((result.rule, status))
            to_fix = " ".join(str(part) for part in (remedy, exception) if part)
        is_blocking = status == FAILED and result.rule in stopping and result.rule not in exceptable
        rows.append(PreviewRow(result, status, to_fix, is_blocking))
    return rows


# The same words as the service's refusal (workflows/rotation/service.py NOT_MET), the rule named for the reader.
_NOT_MET = N_("%(rule)s not met: %(finding)s (%(source)s).")


def blocking_lines(blocked: Iterable[RuleResult]) -> list[str]:
    """A start refused as certain to stop (decision 0136): each rule that refuses it by its name, with the finding
    (why) and its legal basis — the words the service's refusal uses, the rule named as the preview names it."""
    return [_(_NOT_MET, rule=str(data_value(r.rule, "rule")), finding=r.message, source=r.source) for r in blocked]


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
