"""The signed-in user built from one statement's rows: the same user a query would load, persistent, unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.statements import statements_sent
from workflows.clock import utcnow_naive
from workflows.errors import NotAllowed
from workflows.registry.models import ApiToken, OrgUnit, RoleAssignment, User
from workflows.registry.signed_in import user_with_roles
from workflows.registry.tokens import LAST_USE_PRECISION, create_token, user_for_token

COLUMNS = [prop.key for prop in User.__mapper__.column_attrs]


def _queries(statements: list[str]) -> int:
    return sum(not sql.startswith("BEGIN") for sql in statements)  # SQLite's BEGIN IMMEDIATE is sent as SQL


def _as_loaded(session_factory: sessionmaker[Session], user_id: int) -> tuple[dict[str, object], set[tuple]]:
    with session_factory() as session:
        user = session.get(User, user_id)
        assert user is not None
        return (
            {key: getattr(user, key) for key in COLUMNS},
            {(a.id, a.role, a.unit_id) for a in user.role_assignments},
        )


def test_the_user_and_roles_are_what_a_query_loads_and_need_no_further_statement(
    session: Session, session_factory: sessionmaker[Session], demo_users: dict[str, User]
) -> None:
    personnel = demo_users["personnel1"]
    columns, roles = _as_loaded(session_factory, personnel.id)
    assert roles, "the demo's personnel officer holds roles"

    with statements_sent(session.get_bind()) as sent:  # type: ignore[arg-type]
        user = user_with_roles(session, personnel.id)
        assert user is not None
        read = _queries(sent.statements)
        assert {key: getattr(user, key) for key in COLUMNS} == columns
        assert {(a.id, a.role, a.unit_id) for a in user.role_assignments} == roles
        assert all(a.user is user for a in user.role_assignments)
        assert session.get(User, personnel.id) is user  # in the identity map, as a query leaves it
        assert user.has_role("personnel")
    assert read == 1
    assert _queries(sent.statements) == 1, sent
    state = inspect(user)
    assert state.persistent and not state.modified and not session.dirty and not session.new


def test_a_change_to_the_built_user_is_written_like_any_other(
    session: Session, session_factory: sessionmaker[Session], demo_users: dict[str, User]
) -> None:
    user = user_with_roles(session, demo_users["officer1"].id)
    assert user is not None
    user.locale = "en"
    session.commit()
    with session_factory() as fresh:
        assert fresh.scalar(select(User.locale).where(User.id == user.id)) == "en"
        # Nothing else was written: the roles are still the same rows.
        assert fresh.scalar(select(RoleAssignment.id).where(RoleAssignment.user_id == user.id)) is not None


def test_a_user_without_roles_has_an_empty_list_and_a_missing_id_is_none(
    session: Session, demo_users: dict[str, User]
) -> None:
    unit = session.scalars(select(OrgUnit)).first()
    assert unit is not None
    session.add(User(username="noroles", full_name="Không vai trò", unit_id=unit.id))
    session.commit()
    user_id = session.scalar(select(User.id).where(User.username == "noroles"))
    session.expunge_all()

    user = user_with_roles(session, user_id)
    assert user is not None and user.username == "noroles"
    assert user.role_assignments == [] and user.roles == set()
    assert user_with_roles(session, 2_000_000_000) is None


def test_a_user_the_session_already_holds_is_returned_as_it_is(session: Session, demo_users: dict[str, User]) -> None:
    held = session.get(User, demo_users["supervisor1"].id)
    assert held is not None
    held.full_name = "Đổi trong phiên"  # a pending change the read must not overwrite
    assert user_with_roles(session, held.id) is held
    assert held.full_name == "Đổi trong phiên"


def test_a_token_names_its_user_and_records_its_use_once_a_minute(
    session: Session, session_factory: sessionmaker[Session], demo_users: dict[str, User]
) -> None:
    owner = session.get(User, demo_users["head1"].id)
    assert owner is not None
    token = create_token(session, owner, "tích hợp")
    session.commit()
    session.expunge_all()

    def last_use() -> object:
        with session_factory() as fresh:
            found = fresh.scalars(select(ApiToken)).one()
            assert found.name == "tích hợp" and found.user_id == owner.id  # only the last use is ever written
            return found.last_used_dt

    use = user_for_token(session, token)
    assert use is not None and use.recorded, "a token never used has its first use to write"
    assert use.user.username == "head1" and use.user.has_role("head")
    assert not session.dirty and not session.new  # written by a statement, not by an object to flush
    session.commit()
    first_use = last_use()
    assert first_use is not None
    session.expunge_all()

    again = user_for_token(session, token)
    assert again is not None and not again.recorded, "used again within the minute: nothing to write"
    session.rollback()
    assert last_use() == first_use

    a_minute_ago = utcnow_naive() - LAST_USE_PRECISION - timedelta(seconds=1)
    session.execute(update(ApiToken).values(last_used_dt=a_minute_ago))
    session.commit()
    held = session.scalars(select(ApiToken)).one()  # a copy the session holds is not left showing the old value
    later = user_for_token(session, token)
    assert later is not None and later.recorded
    session.commit()
    written = last_use()
    assert isinstance(written, datetime) and utcnow_naive() - written < LAST_USE_PRECISION
    assert held.last_used_dt == written


def test_a_revoked_token_or_an_inactive_user_names_nobody(session: Session, demo_users: dict[str, User]) -> None:
    owner = session.get(User, demo_users["officer1"].id)
    assert owner is not None
    token = create_token(session, owner)
    session.commit()
    assert user_for_token(session, token) is not None
    session.rollback()

    owner.is_active = False
    session.commit()
    session.expunge_all()
    assert user_for_token(session, token) is None
    assert user_for_token(session, "not-a-token") is None


def test_no_token_is_made_for_a_deactivated_user(session: Session, demo_users: dict[str, User]) -> None:
    owner = session.get(User, demo_users["officer1"].id)
    assert owner is not None
    owner.is_active = False
    session.flush()
    before = session.scalar(select(func.count()).select_from(ApiToken))
    with pytest.raises(NotAllowed, match="deactivated"):
        create_token(session, owner, "script")
    assert session.scalar(select(func.count()).select_from(ApiToken)) == before
