"""The planning procedure (quy hoạch cán bộ; issue #7, domain rules §2): `bpmn/planning_review.bpmn`.

- `facts.py`   the facts the planning rules (`workflows.rules.planning`) check, read from the registry
"""

from __future__ import annotations

PROCESS_ID = "planning_review"
