"""The inspection note: the one thing an inspector writes. It is not a comment (comments take part in the
procedure); it is appended to the instance's own hash chain, so it is as tamper-evident as every other event."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflows.access import holds_role_over_instance
from workflows.audit import PendingEvent, instance_audit_rows
from workflows.engine.store import lock_instance, save_instance
from workflows.errors import Amount, Invalid, Problem
from workflows.models import ProcessInstance
from workflows.registry.models import User
from workflows.states import Role

NOTE_EVENT = "inspection_note"
MAX_NOTE_LENGTH = 4000


def can_add_note(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Only an inspector over the instance's unit (a participant who is also an inspector elsewhere is not one)."""
    return holds_role_over_instance(session, user, Role.AUDITOR, instance)


def add_note(session: Session, actor: User, instance_id: int, body: str) -> None:
    text = body.strip()
    if not text:
        raise Invalid("the note is empty", [Problem("Write the note.", field="body")])
    if len(text) > MAX_NOTE_LENGTH:
        raise Invalid(
            "the note is too long",
            [Problem("At most %(max)s characters.", field="body", message_args={"max": Amount(MAX_NOTE_LENGTH)})],
        )
    instance = lock_instance(session, instance_id)
    rows, seq, head = instance_audit_rows(instance, [PendingEvent(NOTE_EVENT, {"note": text})], actor=actor)
    save_instance(session, instance, audit_rows=rows, audit_seq=seq, audit_head=head)
