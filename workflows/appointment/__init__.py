"""The appointment procedure (bổ nhiệm, bổ nhiệm lại; issue #6, domain rules §3): `bpmn/appointment.bpmn`.

- `steps.py`   which ballot each BPMN step holds (rules, announce, who votes) and where the process goes after it
- `ballots.py` opening the ballot box of the step a procedure is at; the tally of a closed box for the hook
- `hooks.py`   the server side of the forms (eligibility, exceptions, deadlines, dossier, ballots, the decision) and
               what a finished procedure writes (the new position on the cadre's record, notifications)
- `service.py` starting an appointment (checks first) and the worker's re-appointments before a term ends
- `facts.py`   the facts eligibility is checked against (owned by the eligibility rules)
"""

from __future__ import annotations

from enum import StrEnum

PROCESS_ID = "appointment"


class Source(StrEnum):
    """Where the nominee comes from: the unit itself (5 steps, NĐ 170 Đ33 k2), elsewhere (3 steps, Đ33 k3), or the
    holder of the post whose term ends (re-appointment, Đ39)."""

    INTERNAL = "internal"
    EXTERNAL = "external"
    REAPPOINTMENT = "reappointment"
