"""API bearer tokens: random, shown once, stored as SHA-256, revocable."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from workflows.clock import utcnow_naive
from workflows.errors import Invalid, NotAllowed, NotFound, Problem
from workflows.prepared import fetch_rows, server_prepared
from workflows.query_args import parse_id
from workflows.registry.models import ApiToken, User
from workflows.registry.passwords import hash_token, new_token
from workflows.registry.signed_in import join_roles, select_with_user, user_from_rows

# "Last used" is shown to a person to the minute; writing it on every request would turn each API read into a
# write transaction (an UPDATE and a commit), the largest cost of a small API request (issue #9 load test).
LAST_USE_PRECISION = timedelta(minutes=1)

# The token, its user and the user's roles in one statement, built once: every API request starts with it, and
# loading them one relationship at a time was three round trips. Its rows are read as tuples (decision 0037).
_TOKEN_WITH_USER = server_prepared(
    join_roles(
        select_with_user(ApiToken.id, ApiToken.last_used_dt)
        .select_from(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_dt.is_(None), User.is_active)
    )
)
_RECORD_USE = server_prepared(
    update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(last_used_dt=bindparam("used_dt"))
)


class TokenUse(NamedTuple):
    user: User
    # The token's last use was written in the session's transaction (at most once a minute): the caller commits it
    # at once, so that a request which ends in a rollback — every read — does not lose it.
    recorded: bool


def create_token(session: Session, user: User, name: str = "") -> str:
    """Returns the token itself; only its hash is kept, so it cannot be shown again. Refused for a deactivated user,
    whose token would never sign in: better said when it is made than at the API."""
    if not user.is_active:
        raise NotAllowed(f"user {user.username} is deactivated: no token was created")
    name = (name or "").strip()
    if len(name) > 120:
        raise Invalid("the token name is too long", [Problem("at most 120 characters", field="name")])
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, created_dt=utcnow_naive()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> TokenUse | None:
    """The active user a valid, unrevoked token belongs to, or None. Its last use is written when the one recorded
    is a minute old or more (`TokenUse.recorded`: the caller then commits)."""
    if not token or len(token) > 200:
        return None
    connection = session.connection()
    rows = fetch_rows(connection, _TOKEN_WITH_USER, {"token_hash": hash_token(token)}).rows
    if not rows:
        return None
    token_id, last_used = rows[0][0], rows[0][1]
    user = user_from_rows(session, rows, start=2)
    now = utcnow_naive()
    if last_used is not None and now - last_used < LAST_USE_PRECISION:
        return TokenUse(user, recorded=False)
    # A plain UPDATE rather than an object flushed: the ORM's flush of one column cost more than the read itself.
    fetch_rows(connection, _RECORD_USE, {"token_id": token_id, "used_dt": now})
    held = session.identity_map.get(identity_key(ApiToken, token_id))
    if held is not None:
        session.expire(held, ["last_used_dt"])
    return TokenUse(user, recorded=True)


def revoke_token(session: Session, user: User, token_id: int) -> None:
    found = session.get(ApiToken, token_id) if parse_id(token_id) is not None else None
    if found is None or found.user_id != user.id:
        raise NotFound("token not found")
    found.revoked_dt = found.revoked_dt or utcnow_naive()
    session.flush()


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_dt)))
