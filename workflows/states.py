"""Every business status in one place, with stable string values (they are stored and exported)."""

from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # closed by the engine: boundary timer, instance cancelled, branch ended


class EventType(StrEnum):
    PROCESS_DEPLOYED = "process_deployed"
    PROCESS_RETIRED = "process_retired"
    PROCESS_REINSTATED = "process_reinstated"
    PROCESS_ROLLED_BACK = "process_rolled_back"  # an earlier version's content deployed anew (decision 0055)
    INSTANCE_STARTED = "instance_started"
    INSTANCE_COMPLETED = "instance_completed"
    INSTANCE_CANCELLED = "instance_cancelled"
    TASK_OPENED = "task_opened"
    TASK_CLAIMED = "task_claimed"
    TASK_RELEASED = "task_released"
    TASK_REASSIGNED = "task_reassigned"  # handed to another person by personnel or an administrator (decision 0078)
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    DATA_CHANGED = "data_changed"
    TIMER_FIRED = "timer_fired"
    ERROR = "error"


class Outcome(StrEnum):
    """How a completed instance ended (workflows.outcomes reads it from the end event reached)."""

    ACHIEVED = "achieved"  # reached its result: approved, appointed, done
    STOPPED = "stopped"  # stopped without it: ineligible, rejected, not voted, refused
    ESCALATED = "escalated"  # an overdue step was reported upwards and the procedure ended there
    ENDED = "ended"  # the model does not say (the result is in the data)


class BodyKind(StrEnum):
    """A unit's voting bodies (domain rules §1, §3.4, §2.3): who a conference of that kind summons. Their make-up is
    [U] in the rules, so each unit's personnel officer keeps the members (workflows/registry/voting_bodies.py)."""

    LEADERSHIP = "leadership"  # tập thể lãnh đạo (Ban Thường vụ, ban cán sự, lãnh đạo sở, thường trực UBND…)
    EXPANDED_LEADERSHIP = "expanded_leadership"  # hội nghị tập thể lãnh đạo mở rộng (appointment step 2)
    KEY_CADRES = "key_cadres"  # hội nghị cán bộ chủ chốt
    PARTY_COMMITTEE = "party_committee"  # cấp ủy (Ban Chấp hành)


class Role(StrEnum):
    """Roles a user holds in an org unit. `head` is the unit head (thủ trưởng), the competent person of a unit."""

    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    HEAD = "head"
    PERSONNEL = "personnel"
    AUDITOR = "auditor"
    ADMIN = "admin"
