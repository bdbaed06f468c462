"""The rotation procedure (luân chuyển; issue #7, domain rules §4): `bpmn/rotation.bpmn`.

- `facts.py`   the facts the rotation rules (`workflows.rules.rotation`) check, read from the registry
"""

from __future__ import annotations

PROCESS_ID = "rotation"
