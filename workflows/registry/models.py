"""Who works where: org units, users with their roles, cadre records (issue #4 grows these)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.clock import utcnow_naive
from workflows.db import Base


class OrgUnit(Base):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    unit_type: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # "/1/7/" — ancestors' ids; a subtree is one indexed LIKE query.
    path: Mapped[str] = mapped_column(String(255), default="/", index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"


class Cadre(Base):
    __tablename__ = "cadres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10))
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    unit: Mapped[OrgUnit] = relationship()

    def __repr__(self) -> str:
        return f"<Cadre {self.code}>"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadres.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    email: Mapped[str | None] = mapped_column(String(255))
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_dt: Mapped[datetime | None] = mapped_column(DateTime)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    unit: Mapped[OrgUnit] = relationship()
    cadre: Mapped[Cadre | None] = relationship()
    role_assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # Flask-Login's user protocol, by duck typing (workflows never imports Flask).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """Changes when the password changes, so sessions signed in with the old password stop working."""
        stamp = int(self.password_changed_dt.timestamp()) if self.password_changed_dt else 0
        return f"{self.id}.{stamp}"

    @property
    def roles(self) -> set[str]:
        return {a.role for a in self.role_assignments}

    def has_role(self, role: str, unit_id: int | None = None) -> bool:
        return any(a.role == role and (unit_id is None or a.unit_id == unit_id) for a in self.role_assignments)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class RoleAssignment(Base):
    """A role held in a unit; it covers the units below it too (scope is a subtree)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)

    user: Mapped[User] = relationship(back_populates="role_assignments")
    unit: Mapped[OrgUnit] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for other software. Only its SHA-256 is stored; the token is shown once, when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    last_used_dt: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_dt: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Sign-in attempts, kept so that repeated failures are throttled across every app process."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_dt", "username", "attempted_dt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    attempted_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
