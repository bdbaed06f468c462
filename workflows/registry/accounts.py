"""User accounts for administrators: creating them, correcting their username, name and e-mail, granting and
revoking roles in units, deactivating and reactivating them, resetting a password. Each change is chained in the
account's audit log (`user:<id>`) with who made it and why.

An administrator manages the accounts whose unit lies in a subtree where they hold the admin role, and grants
roles only in units of those subtrees: a commune's administrator cannot make anyone a provincial auditor.

Accounts are never deleted: their tasks, votes and audit events name them. Someone who leaves is deactivated —
signing in and their API tokens stop at once (`authentication.authenticate`, `tokens.user_for_token` and the
session's user loader all read `User.is_active`) — and their open tasks stay where they are, listed on their page,
until personnel or an administrator hands them on (`operations.reassign_task`, decision 0078).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from workflows.access import in_subtree, oversees_unit
from workflows.audit import PendingEvent, append_events
from workflows.clock import utcnow_naive
from workflows.errors import N_, Invalid, NotAllowed, NotFound, Problem, too_long
from workflows.models import HumanTask
from workflows.query_args import page_within
from workflows.registry.models import ApiToken, Cadre, OrgUnit, RoleAssignment, User
from workflows.registry.passwords import hash_password
from workflows.rules.accounts import removes_last_top_administrator
from workflows.rules.passwords import password_problems
from workflows.states import Role, TaskStatus
from workflows.text import storable

USERNAME_LIMIT = 80
NAME_LIMIT = 255
EMAIL_LIMIT = 255
REASON_LIMIT = 500
# Lower-case ASCII, as every existing sign-in name: "Lan" and "lan" would be two accounts a person cannot tell apart.
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# No 0/O, 1/l/I: the temporary password is read off a screen and typed, or dictated over the phone.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (an alphabet)
TEMPORARY_PASSWORD_LENGTH = 12

USERNAME_TAKEN = N_('the username "%(username)s" is already taken; choose another')


class UserEvent(StrEnum):
    CREATED = "user_created"
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"
    DEACTIVATED = "user_deactivated"
    ACTIVATED = "user_activated"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (an event name)
    DETAILS_CHANGED = "user_details_changed"
    USERNAME_CHANGED = "username_changed"


def user_chain(user_id: int) -> str:
    return f"user:{user_id}"


def can_manage_user(session: Session, actor: User | None, user: User) -> bool:
    """Administrators manage the accounts of their subtree: the account's own unit and every unit it holds a role
    in — else a commune's administrator could reset the password of someone who also holds a provincial role, and
    sign in as them. No actor is the server's operator at the command line (`canbo users`), who may do anything:
    the first administrator is made that way."""
    if actor is None:
        return True
    units = {user.unit_id, *(a.unit_id for a in user.role_assignments)}
    return all(oversees_unit(session, actor, unit_id, (Role.ADMIN,)) for unit_id in units)


def can_grant_in(session: Session, actor: User | None, unit_id: int | None) -> bool:
    return unit_id is not None and (actor is None or oversees_unit(session, actor, unit_id, (Role.ADMIN,)))


@dataclass(frozen=True)
class AccountFilters:
    """The account list's search (a part of the username or full name), unit (the accounts whose own unit is in
    its subtree or who hold a role there), role (held anywhere, or in that unit's subtree) and status."""

    search: str = ""
    unit_id: int | None = None
    role: str = ""
    active: str = ""  # "yes", "no" or "" (both)


@dataclass
class AccountPage:
    """One page of the account list (what templates/_pagination.html reads: page, pages, total)."""

    users: list[User] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _accounts_query(unit_ids: Collection[int], filters: AccountFilters) -> Select[Any]:
    query = select(User).where(User.unit_id.in_(list(unit_ids)))
    if filters.search:
        needle = f"%{filters.search.lower()}%"
        query = query.where(or_(User.username.ilike(needle), User.full_name.ilike(needle)))
    roles = {r.value for r in Role}
    held = select(RoleAssignment.id).join(OrgUnit, OrgUnit.id == RoleAssignment.unit_id)
    held = held.where(RoleAssignment.user_id == User.id)
    if filters.unit_id is not None and filters.unit_id in unit_ids:
        home = select(OrgUnit.id).where(OrgUnit.id == User.unit_id, in_subtree(OrgUnit, filters.unit_id))
        role_in_unit = held.where(in_subtree(OrgUnit, filters.unit_id))
        if filters.role in roles:
            query = query.where(role_in_unit.where(RoleAssignment.role == filters.role).exists())
        else:
            query = query.where(or_(home.exists(), role_in_unit.exists()))
    elif filters.role in roles:
        query = query.where(held.where(RoleAssignment.role == filters.role).exists())
    if filters.active in ("yes", "no"):
        query = query.where(User.is_active.is_(filters.active == "yes"))
    return query


def account_page(
    session: Session, unit_ids: Collection[int], filters: AccountFilters, *, page: int, per_page: int
) -> AccountPage:
    """The accounts of these units (the administrator's subtrees) that match, a page at a time in username order,
    with how many match in all. A page past the last shows the last, as every list does (`exports._page`); a unit
    outside `unit_ids` filters nothing."""
    query = _accounts_query(unit_ids, filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    result = AccountPage([], total, 1, per_page)
    result.page = page_within(page, total, per_page)
    ordered = query.order_by(User.username).options(selectinload(User.role_assignments))
    result.users = list(session.scalars(ordered.limit(per_page).offset((result.page - 1) * per_page)))
    return result


def temporary_password(username: str = "") -> str:
    """A random password the account's own rules accept (`rules.passwords`): drawn again in the rare case it holds
    the username."""
    while True:
        password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(TEMPORARY_PASSWORD_LENGTH))
        if not password_problems(password, username):
            return password


def open_tasks_held(session: Session, user_id: int) -> int:
    """Open tasks assigned to the person: they stay assigned when the account is deactivated."""
    query = select(func.count()).where(HumanTask.assignee_id == user_id, HumanTask.status == TaskStatus.OPEN)
    return session.scalar(query) or 0


def _user(session: Session, actor: User | None, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("the user does not exist")
    if not can_manage_user(session, actor, user):
        raise NotAllowed("you may not manage this account")
    return user


def _reason(raw: Any, problems: list[Problem], *, required: bool) -> str:
    reason = " ".join(storable(str(raw or "")).split())
    if required and not reason:
        problems.append(Problem("say why; it is recorded in the audit log", field="reason"))
    elif len(reason) > REASON_LIMIT:
        problems.append(too_long("reason", REASON_LIMIT))
    return reason


def normal_username(raw: Any) -> str:
    """A username as it is stored: lower-case, without surrounding spaces. Signing in reads the typed name the same
    way, so "Officer1" is officer1 there too."""
    return storable(str(raw or "")).strip().lower()


def _username(session: Session, raw: Any, problems: list[Problem], *, owner: User | None = None) -> str:
    """The username as it is stored (lower-case), checked alike on creation and on a change: required, the allowed
    characters and length, and not another account's — compared case-insensitively. `owner` is the account being
    renamed: its own name, in any case, is not "taken"."""
    name_text = normal_username(raw)
    if not name_text:
        problems.append(Problem("a username is required", field="username"))
    elif len(name_text) > USERNAME_LIMIT or not _USERNAME.fullmatch(name_text):
        problems.append(
            Problem(
                "the username may hold only Latin letters a-z, digits 0-9, '.', '-' and '_', starting with a letter "
                "or digit (at most 80)",
                field="username",
            )
        )
    else:
        taken = select(User.id).where(func.lower(User.username) == name_text)
        if owner is not None:
            taken = taken.where(User.id != owner.id)
        if session.scalar(taken.limit(1)) is not None:
            problems.append(Problem(USERNAME_TAKEN, field="username", message_args={"username": name_text}))
    return name_text


def _full_name(raw: Any, problems: list[Problem]) -> str:
    full = " ".join(storable(str(raw or "")).split())
    if not full:
        problems.append(Problem("the full name is required", field="full_name"))
    elif len(full) > NAME_LIMIT:
        problems.append(too_long("full_name", NAME_LIMIT))
    return full


def _email(raw: Any, problems: list[Problem]) -> str:
    """The address, or "" for none (an account may have no e-mail)."""
    mail = storable(str(raw or "")).strip()
    if mail and (len(mail) > EMAIL_LIMIT or not _EMAIL.fullmatch(mail)):
        problems.append(Problem("not a valid e-mail address", field="email"))
    return mail


def _checked_role(
    session: Session, actor: User | None, role: Any, unit_id: Any, problems: list[Problem]
) -> OrgUnit | None:
    """The unit of a role to grant, once the role is one the app knows and the unit one the actor administers."""
    if str(role or "") not in {r.value for r in Role}:
        problems.append(Problem("choose a role from the list", field="role"))
    unit = session.get(OrgUnit, unit_id) if isinstance(unit_id, int) else None
    if unit is None:
        problems.append(Problem("choose a unit from the list", field="unit_id"))
        return None
    if not unit.is_active:
        problems.append(Problem("that unit was merged or dissolved", field="unit_id"))
    elif not can_grant_in(session, actor, unit.id):
        problems.append(Problem("that unit is outside your scope", field="unit_id"))
    return unit


LAST_TOP_ADMINISTRATOR = N_(
    "this is the last active administrator of the top unit %(code)s: grant the administrator role there to another "
    "account first, or nobody could manage the units and accounts"
)


def _last_top_administrator(
    session: Session, user: User, *, removed_role: int | None = None, active_after: bool = True
) -> Problem | None:
    """The problem when the change would leave the install without an active administrator of its top unit
    (`rules.accounts.removes_last_top_administrator`): the command line may do anything else, but not that."""
    tops = {unit.id: unit for unit in session.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))}
    held = [a.id for a in user.role_assignments if a.role == Role.ADMIN and a.unit_id in tops] if user.is_active else []
    if not held:
        return None
    others = select(func.count(func.distinct(RoleAssignment.user_id))).join(User, User.id == RoleAssignment.user_id)
    others = others.where(
        RoleAssignment.role == Role.ADMIN, RoleAssignment.unit_id.in_(list(tops)), User.is_active, User.id != user.id
    )
    if not removes_last_top_administrator(
        held, removed_role, active_after=active_after, other_top_admins=session.scalar(others) or 0
    ):
        return None
    unit = tops[next(a.unit_id for a in user.role_assignments if a.id in held)]
    return Problem(LAST_TOP_ADMINISTRATOR, message_args={"code": unit.code})


def _audit(session: Session, actor: User | None, user_id: int, event: UserEvent, payload: dict[str, Any]) -> None:
    append_events(session, user_chain(user_id), [PendingEvent(event, payload)], actor=actor)


def _role_payload(role: str, unit: OrgUnit) -> dict[str, Any]:
    return {"role": role, "unit": {"id": unit.id, "code": unit.code, "name": unit.name}}


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: Any,
    full_name: Any,
    email: Any = None,
    cadre_code: Any = None,
    role: Any,
    unit_id: Any,
    reason: Any = None,
) -> tuple[User, str]:
    """The new account and its temporary password (shown once; only its hash is kept). The account belongs to the
    unit of its first role. Every problem of the request is reported at once."""
    if actor is not None and not actor.has_role(Role.ADMIN):
        raise NotAllowed("only administrators manage accounts")
    problems: list[Problem] = []
    name_text = _username(session, username, problems)
    full = _full_name(full_name, problems)
    mail = _email(email, problems)
    cadre = None
    code = storable(str(cadre_code or "")).strip().upper()
    if code:
        cadre = session.scalar(select(Cadre).where(Cadre.code == code))
        if cadre is None:
            problems.append(Problem("no cadre record has this code", field="cadre_code"))
        elif session.scalar(select(User.id).where(User.cadre_id == cadre.id)) is not None:
            problems.append(Problem("this cadre record already has an account", field="cadre_code"))
    unit = _checked_role(session, actor, role, unit_id, problems)
    why = _reason(reason, problems, required=False)
    if problems:
        raise Invalid("the account was not created", problems)
    assert unit is not None
    password = temporary_password(name_text)
    now = utcnow_naive()
    user = User(
        username=name_text,
        full_name=full,
        email=mail or None,
        cadre_id=cadre.id if cadre is not None else None,
        unit_id=unit.id,
        password_hash=hash_password(password),
        password_changed_dt=now,
        must_change_password=True,
        is_active=True,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # Another administrator took the name between the check and this write (PostgreSQL's unique index says so).
        problem = Problem(USERNAME_TAKEN, field="username", message_args={"username": name_text})
        raise Invalid("the account was not created", [problem]) from None
    session.add(RoleAssignment(user_id=user.id, role=str(role), unit_id=unit.id))
    session.flush()
    session.refresh(user, ["role_assignments"])
    payload: dict[str, Any] = {
        "username": name_text,
        "full_name": full,
        "email": mail or None,
        "cadre": cadre.code if cadre is not None else None,
        **_role_payload(str(role), unit),
    }
    if why:
        payload["reason"] = why
    _audit(session, actor, user.id, UserEvent.CREATED, payload)
    return user, password


def grant_role(
    session: Session, actor: User | None, user_id: int, *, role: Any, unit_id: Any, reason: Any
) -> RoleAssignment:
    user = _user(session, actor, user_id)
    problems: list[Problem] = []
    unit = _checked_role(session, actor, role, unit_id, problems)
    why = _reason(reason, problems, required=True)
    if unit is not None and user.has_role(str(role), unit.id):
        problems.append(Problem("the account already holds this role in this unit", field="role"))
    if problems:
        raise Invalid("the role was not granted", problems)
    assert unit is not None
    assignment = RoleAssignment(user_id=user.id, role=str(role), unit_id=unit.id)
    session.add(assignment)
    session.flush()
    session.refresh(user, ["role_assignments"])
    _audit(session, actor, user.id, UserEvent.ROLE_GRANTED, {**_role_payload(str(role), unit), "reason": why})
    return assignment


def revoke_role(session: Session, actor: User | None, user_id: int, *, assignment_id: int | None, reason: Any) -> None:
    user = _user(session, actor, user_id)
    assignment = next((a for a in user.role_assignments if a.id == assignment_id), None)
    if assignment is None:
        raise NotFound("the role assignment does not exist")
    problems: list[Problem] = []
    why = _reason(reason, problems, required=True)
    if not can_grant_in(session, actor, assignment.unit_id):
        problems.append(Problem("that unit is outside your scope", field="unit_id"))
    # An administrator who took away their own last admin role could not undo it, nor could anyone below them.
    admin_roles = sum(a.role == Role.ADMIN for a in user.role_assignments)
    if actor is not None and user.id == actor.id and assignment.role == Role.ADMIN and admin_roles == 1:
        problems.append(Problem("you cannot remove your own last administrator role"))
    elif (last := _last_top_administrator(session, user, removed_role=assignment.id)) is not None:
        problems.append(last)
    if problems:
        raise Invalid("the role was not removed", problems)
    unit = session.get(OrgUnit, assignment.unit_id)
    assert unit is not None
    role = assignment.role
    user.role_assignments.remove(assignment)
    session.flush()
    _audit(session, actor, user.id, UserEvent.ROLE_REVOKED, {**_role_payload(role, unit), "reason": why})


def set_active(session: Session, actor: User | None, user_id: int, *, active: bool, reason: Any) -> User:
    """Deactivating ends the person's sign-ins and API tokens at once (every check reads `is_active`); their open
    tasks stay assigned (see `open_tasks_held`)."""
    user = _user(session, actor, user_id)
    problems: list[Problem] = []
    why = _reason(reason, problems, required=True)
    if not active and actor is not None and user.id == actor.id:
        problems.append(Problem("you cannot deactivate your own account"))
    elif not active and (last := _last_top_administrator(session, user, active_after=False)) is not None:
        problems.append(last)
    if user.is_active == active:
        problems.append(
            Problem("the account is already active") if active else Problem("the account is already deactivated")
        )
    if problems:
        raise Invalid("the account was not changed", problems)
    user.is_active = active
    session.flush()
    payload: dict[str, Any] = {"reason": why}
    if not active:
        payload["open_tasks"] = open_tasks_held(session, user.id)
        payload["api_tokens"] = (
            session.scalar(select(func.count()).where(ApiToken.user_id == user.id, ApiToken.revoked_dt.is_(None))) or 0
        )
    _audit(session, actor, user.id, UserEvent.ACTIVATED if active else UserEvent.DEACTIVATED, payload)
    return user


def reset_password(session: Session, actor: User | None, user_id: int, *, reason: Any) -> str:
    """A new temporary password, returned to be shown once; the person's other sessions end (the session
    identifier includes the moment the password changed) and their next sign-in asks for a password of their own."""
    user = _user(session, actor, user_id)
    problems: list[Problem] = []
    why = _reason(reason, problems, required=True)
    if problems:
        raise Invalid("the password was not reset", problems)
    password = temporary_password(user.username)
    user.password_hash = hash_password(password)
    user.password_changed_dt = utcnow_naive()
    user.must_change_password = True
    session.flush()
    _audit(session, actor, user.id, UserEvent.PASSWORD_RESET, {"reason": why})
    return password


def _write_username(session: Session, actor: User | None, user: User, username: str, why: str) -> None:
    """Renames the account and chains `username_changed` with the name before and after. Events already chained keep
    the name they recorded (their hash covers it); they stay the person's through `actor_id`."""
    before = user.username
    user.username = username
    try:
        session.flush()
    except IntegrityError:
        # Another administrator took the name between the check and this write (the unique constraint says so).
        problem = Problem(USERNAME_TAKEN, field="username", message_args={"username": username})
        raise Invalid("the account was not changed", [problem]) from None
    payload = {"before": {"username": before}, "after": {"username": username}, "reason": why}
    _audit(session, actor, user.id, UserEvent.USERNAME_CHANGED, payload)


def change_username(session: Session, actor: User | None, user_id: int, *, username: Any, reason: Any) -> bool:
    """Renames the account, checked as on creation (`_username`), with a reason. The same name again is no change:
    nothing is written and False is returned. The person stays signed in and their API tokens keep working: both
    name the account by its id (the session by id and password stamp, `User.get_id`), never by its username."""
    user = _user(session, actor, user_id)
    problems: list[Problem] = []
    name_text = _username(session, username, problems, owner=user)
    if not problems and name_text == user.username:
        return False
    why = _reason(reason, problems, required=True)
    if problems:
        raise Invalid("the username was not changed", problems)
    _write_username(session, actor, user, name_text, why)
    return True


def edit_details(
    session: Session,
    actor: User | None,
    user_id: int,
    *,
    full_name: Any,
    email: Any,
    reason: Any,
    username: Any = None,
) -> User:
    """Corrects the full name and e-mail address, and the username when one is given (None keeps it), each checked
    as on creation. A changed username is its own event (`username_changed`, found by type in the audit log); the
    name and e-mail keep theirs (`user_details_changed`); each keeps the values before and after of what changed
    (none is secret: all show on the account's page). An unchanged username is no change."""
    user = _user(session, actor, user_id)
    problems: list[Problem] = []
    name_text = user.username if username is None else _username(session, username, problems, owner=user)
    full = _full_name(full_name, problems)
    mail = _email(email, problems) or None
    why = _reason(reason, problems, required=True)
    before = {"full_name": user.full_name, "email": user.email}
    after = {"full_name": full, "email": mail}
    changed = [key for key in before if before[key] != after[key]]
    renamed = name_text != user.username
    if not problems and not changed and not renamed:
        problems.append(
            Problem("the full name and e-mail address are unchanged; nothing was saved")
            if username is None
            else Problem("the username, full name and e-mail address are unchanged; nothing was saved")
        )
    if problems:
        raise Invalid("the account was not changed", problems)
    if renamed:
        _write_username(session, actor, user, name_text, why)
    if changed:
        user.full_name = full
        user.email = mail
        session.flush()
        payload: dict[str, Any] = {
            "before": {key: before[key] for key in changed},
            "after": {key: after[key] for key in changed},
            "reason": why,
        }
        _audit(session, actor, user.id, UserEvent.DETAILS_CHANGED, payload)
    return user
