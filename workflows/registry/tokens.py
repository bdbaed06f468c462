"""API bearer tokens: random, shown once, stored as SHA-256, revocable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, contains_eager

from workflows.clock import utcnow_naive
from workflows.errors import Invalid, NotFound, Problem
from workflows.prepared import server_prepared
from workflows.registry.models import ApiToken, User
from workflows.registry.passwords import hash_token, new_token

# "Last used" is shown to a person to the minute; writing it on every request would turn each API read into a
# write transaction (an UPDATE and a flushed commit), the largest cost of a small API request (issue #9 load test).
LAST_USE_PRECISION = timedelta(minutes=1)

# The token, its user and the user's roles in one statement, built once: every API request starts with it, and
# loading them one relationship at a time was three round trips.
_TOKEN_WITH_USER = server_prepared(
    select(ApiToken)
    .join(ApiToken.user)
    .options(contains_eager(ApiToken.user).joinedload(User.role_assignments))
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_dt.is_(None), User.is_active)
)


def create_token(session: Session, user: User, name: str = "") -> str:
    """Returns the token itself; only its hash is kept, so it cannot be shown again."""
    name = (name or "").strip()
    if len(name) > 120:
        raise Invalid("the token name is too long", [Problem("at most 120 characters", field="name")])
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, created_dt=utcnow_naive()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    found = session.execute(_TOKEN_WITH_USER, {"token_hash": hash_token(token)}).unique().scalar_one_or_none()
    if found is None:
        return None
    now = utcnow_naive()
    if found.last_used_dt is None or now - found.last_used_dt >= LAST_USE_PRECISION:
        found.last_used_dt = now  # the caller commits when the session has something to write
    return found.user


def revoke_token(session: Session, user: User, token_id: int) -> None:
    found = session.get(ApiToken, token_id)
    if found is None or found.user_id != user.id:
        raise NotFound("token not found")
    found.revoked_dt = found.revoked_dt or utcnow_naive()
    session.flush()


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_dt)))
