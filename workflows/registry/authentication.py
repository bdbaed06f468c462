"""Signing in: password check with throttling of repeated failures, and password changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.clock import utcnow_naive
from workflows.errors import Invalid, NotAllowed, Problem
from workflows.registry.accounts import normal_username
from workflows.registry.models import LoginAttempt, User
from workflows.registry.passwords import hash_password, verify_password
from workflows.rules.passwords import password_problems

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 30


class TooManyAttempts(NotAllowed):
    pass


def _recent_failures(session: Session, **match: str | None) -> int:
    since = utcnow_naive() - THROTTLE_WINDOW
    query = select(func.count()).where(LoginAttempt.attempted_dt >= since, LoginAttempt.succeeded.is_(False))
    for column, value in match.items():
        query = query.where(getattr(LoginAttempt, column) == value)
    return session.scalar(query) or 0


def authenticate(session: Session, username: str, password: str, remote_addr: str | None) -> User | None:
    """The user if the password is right, else None (one answer for a wrong name and a wrong password, so that
    the form does not reveal which usernames exist). Every attempt is recorded: commit even when it fails.

    The name is read as account creation stores it (lower-case, `accounts.normal_username`): "Officer1" signs in as
    officer1, and its failures count towards officer1's throttling.

    Raises TooManyAttempts when throttled (the password is then not even checked).
    """
    username = normal_username(username)
    if (
        _recent_failures(session, username=username) >= MAX_FAILURES_PER_USERNAME
        or _recent_failures(session, remote_addr=remote_addr) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise TooManyAttempts("too many failed sign-in attempts; try again in 15 minutes")
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.is_active and verify_password(user.password_hash, password)
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, attempted_dt=utcnow_naive(), succeeded=ok))
    session.flush()
    return user if ok else None


def change_password(session: Session, user: User, current: str, new: str, confirm: str) -> None:
    problems = []
    if not verify_password(user.password_hash, current):
        problems.append(Problem("the current password is wrong", field="current_password"))
    problems.extend(password_problems(new, user.username, field="new_password"))
    if new != confirm:
        problems.append(Problem("the two new passwords differ", field="confirm_password"))
    elif user.must_change_password and new == current:
        # The administrator has seen the temporary password: keeping it would leave the account theirs to open.
        problems.append(Problem("choose a password other than the temporary one", field="new_password"))
    if problems:
        raise Invalid("the password was not changed", problems)
    user.password_hash = hash_password(new)
    # Signing in again is required everywhere: the session identifier includes this moment.
    user.password_changed_dt = utcnow_naive()
    user.must_change_password = False
    session.flush()
