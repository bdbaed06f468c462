"""Monthly evaluation (đánh giá, xếp loại hằng tháng, NĐ 335/2025): opening a month, the server-side checks and
score of its forms, writing the grade to the cadre's record, and the results and roll-up queries.

The scoring rules themselves are pure functions in `workflows.rules.evaluation`; the process is
`bpmn/monthly_evaluation.bpmn` with its forms `forms/evaluation_*.json`.
"""

PROCESS_ID = "monthly_evaluation"
