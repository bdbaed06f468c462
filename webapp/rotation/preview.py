"""What the rotation start page's preview advises on each rule not met (the rows and their page are the
appointment's: webapp/eligibility.py, templates/_eligibility_preview.html). Only the rules of the policy's
`exceptable_rules` may be set aside by the competent authority; the advice says which, and a failed rule nobody at
the eligibility check may set aside (`stopping_rules`) blocks the start (decision 0136)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.eligibility import FAILED, PreviewRow, preview_rows
from workflows.rules.appointment import RuleResult
from workflows.rules.rotation import (
    RULE_CAPABILITY,
    RULE_DURATION,
    RULE_EQUIVALENT_POST,
    RULE_NO_NEW_POST,
    RULE_NON_LOCAL,
    RULE_PLANNING,
    RULE_PURPOSE,
    RULE_SERVICE_LEFT,
    RULE_UNITS,
    RotationPolicy,
    stopping_rules,
)

# Where the remedy lies, by rule; the finding already says the numbers, dates and names.
_TO_FIX = {
    (RULE_PLANNING, FAILED): _l("Have the cadre added to a plan first, or choose a cadre who is in one."),
    (RULE_SERVICE_LEFT, FAILED): _l("The cadre has too few years of service left: choose another cadre."),
    (RULE_PURPOSE, FAILED): _l("Choose one of the purposes listed and, where asked, note the authority's decision."),
    (RULE_UNITS, FAILED): _l("Choose an active receiving unit other than the one the cadre works in."),
    (RULE_EQUIVALENT_POST, FAILED): _l("Choose a post equivalent to the cadre's current one."),
    # Not the competent authority's to set aside, but a decision of the Politburo recorded at the check meets it.
    (RULE_NO_NEW_POST, FAILED): _l(
        "Choose a post that is vacant in the receiving unit. The competent authority cannot set this condition "
        "aside: only a decision of the Politburo, recorded at the eligibility check, lets the procedure go on."
    ),
    (RULE_DURATION, FAILED): _l("Set a planned end date far enough from the first day."),
    (RULE_CAPABILITY, FAILED): _l("Choose a post that is not a commune key post, or another cadre."),
    (RULE_NON_LOCAL, FAILED): _l(
        "Choose a commune other than the cadre's home commune, or record the communes of the hometown and the "
        "receiving unit if they are missing."
    ),
}


def rotation_rows(results: list[RuleResult], policy: RotationPolicy) -> list[PreviewRow]:
    return preview_rows(results, _TO_FIX, exceptable=policy.exceptable_rules, stopping=stopping_rules(policy))
