"""Monthly evaluation (đánh giá, xếp loại hằng tháng, NĐ 335/2025): opening a month, the server-side checks and
score of its forms, writing the grade to the cadre's record, and the results and roll-up queries.

The scoring rules themselves are pure functions in `workflows.rules.evaluation`; the process is
`bpmn/monthly_evaluation.bpmn` with its forms `forms/evaluation_*.json`.
"""

import re

PROCESS_ID = "monthly_evaluation"
RESULT_NOTICE = "evaluation_result"  # the kind of the cadre's notification of a decided month

_KEY = re.compile(r"([0-9]{4}-(?:0[1-9]|1[0-2]))/")


def month_of_key(business_key: str | None) -> str | None:
    """The month ("2026-11") an evaluation is about, from its business key "<month>/<cadre code>"
    (`opening.business_key`); None for a key of another shape."""
    found = _KEY.match(business_key or "")
    return found.group(1) if found else None
