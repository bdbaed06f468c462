"""Who works where: org units, users with their roles, cadre records (issue #4 grows these).

Cadre records and the records hanging off them (positions held, discipline, planning, evaluations, rotations) are
written only through `workflows.registry.records`, which audits every change; the vocabularies below are the
values it accepts. They are stored as plain strings, not database enums, because several come from rules the
domain reference marks as still to be confirmed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.clock import utcnow_naive
from workflows.db import Base


class UnitType(StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"
    WARD = "ward"
    SPECIAL_ZONE = "special_zone"
    PARTY_COMMITTEE = "party_committee"
    PEOPLES_COMMITTEE = "peoples_committee"
    DEPARTMENT = "department"
    MASS_ORGANISATION = "mass_organisation"
    PARTY_BODY = "party_body"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class EducationLevel(StrEnum):
    TRUNG_CAP = "trung_cap"
    CAO_DANG = "cao_dang"
    DAI_HOC = "dai_hoc"
    THAC_SI = "thac_si"
    TIEN_SI = "tien_si"


class PoliticalTheory(StrEnum):
    SO_CAP = "so_cap"
    TRUNG_CAP = "trung_cap"
    CAO_CAP = "cao_cap"
    CU_NHAN = "cu_nhan"


class DisciplineLevel(StrEnum):
    """Party discipline (khiển trách … khai trừ) and the state forms for cán bộ and công chức."""

    KHIEN_TRACH = "khien_trach"
    CANH_CAO = "canh_cao"
    HA_BAC_LUONG = "ha_bac_luong"
    GIANG_CHUC = "giang_chuc"
    CACH_CHUC = "cach_chuc"
    BAI_NHIEM = "bai_nhiem"
    BUOC_THOI_VIEC = "buoc_thoi_viec"
    KHAI_TRU = "khai_tru"


class PlanningStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class EvaluationGrade(StrEnum):
    HTXSNV = "HTXSNV"
    HTTNV = "HTTNV"
    HTNV = "HTNV"
    KHTNV = "KHTNV"


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
    # Units are merged and dissolved (the 2025 two-level reform); the dates keep history readable afterwards.
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    # A unit merged into another (a 2025 commune merger): the unit it became, from `merged_on` (normally the day
    # after `active_to`). Hometowns recorded as the old unit count as the new one (workflows/rules/communes.py).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    merged_on: Mapped[date | None] = mapped_column(Date)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    merged_into: Mapped[OrgUnit | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    def is_active_on(self, day: date) -> bool:
        return (
            self.is_active
            and (self.active_from is None or self.active_from <= day)
            and (self.active_to is None or day <= self.active_to)
        )

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"


class Position(Base):
    """A title (chức danh) or job position (vị trí việc làm) of one unit; the people holding it are CadrePositions."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("unit_id", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))  # "province", "commune": planning limits count titles per level
    is_leadership: Mapped[bool] = mapped_column(Boolean, default=False)
    is_key_title: Mapped[bool] = mapped_column(Boolean, default=False)  # chủ chốt
    # Bí thư, chủ tịch UBND xã, chủ nhiệm UBKT of a commune are filled by people from elsewhere (hometown_unit_id).
    requires_non_local: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which standard title this is ("commune_pc_chair", "commune_party_secretary", "commune_inspection_chair",
    # "party_committee_member", …): the targets dashboard counts holders by title, not by free-text name.
    title_code: Mapped[str | None] = mapped_column(String(60), index=True)
    # Leaders managed by the provincial standing committee have their own education target (seed 003).
    is_province_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    term_years: Mapped[int] = mapped_column(Integer, default=5)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    unit: Mapped[OrgUnit] = relationship()

    def __repr__(self) -> str:
        return f"<Position {self.title!r} of unit {self.unit_id}>"


class Cadre(Base):
    __tablename__ = "cadres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10))
    ethnicity: Mapped[str | None] = mapped_column(String(60))
    hometown: Mapped[str | None] = mapped_column(String(255))
    hometown_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    is_party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    party_joined_date: Mapped[date | None] = mapped_column(Date)
    education_level: Mapped[str | None] = mapped_column(String(20))
    education_field: Mapped[str | None] = mapped_column(String(255))
    is_science_technology: Mapped[bool] = mapped_column(Boolean, default=False)
    political_theory: Mapped[str | None] = mapped_column(String(20))
    state_management_training: Mapped[str | None] = mapped_column(String(255))
    # Stored so that lists can filter and sort by it; records.py recomputes it whenever birth date or gender change.
    retirement_date: Mapped[date | None] = mapped_column(Date, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])
    hometown_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[hometown_unit_id])

    def __repr__(self) -> str:
        return f"<Cadre {self.code}>"


class CadrePosition(Base):
    """A cadre holding a position over a period; `ended_on` is None while it is held."""

    __tablename__ = "cadre_positions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadres.id"), index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    term_ends_on: Mapped[date | None] = mapped_column(Date)  # the last day of the term: re-appointment falls due
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    cadre: Mapped[Cadre] = relationship()
    position: Mapped[Position] = relationship()


class DisciplineRecord(Base):
    __tablename__ = "discipline_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadres.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[date] = mapped_column(Date)
    # A reprimand or warning whose effect has expired no longer bars planning (domain rules §2.2).
    expires_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    cadre: Mapped[Cadre] = relationship()


class PlanningEntry(Base):
    """A cadre in the succession plan for a title and a term. Removal keeps the row, with its date and reason."""

    __tablename__ = "planning_entries"
    __table_args__ = (Index("ix_planning_entries_position_term", "position_id", "term", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadres.id"), index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id"))
    term: Mapped[str] = mapped_column(String(9))  # "2026-2031"
    status: Mapped[str] = mapped_column(String(10), default=PlanningStatus.ACTIVE)
    added_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)  # why the entry was removed
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    # The procedure that took the entry off the plan (the annual review), when one did.
    removal_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    cadre: Mapped[Cadre] = relationship()
    position: Mapped[Position] = relationship()


class EvaluationResult(Base):
    """The latest grade of a cadre for one period; earlier grades of the same period live in the cadre's audit chain."""

    __tablename__ = "evaluation_results"
    __table_args__ = (
        UniqueConstraint("cadre_id", "period_kind", "period"),
        # The dashboard's latest month and its grade counts per unit, read from the index alone.
        Index("ix_evaluation_results_period", "period_kind", "period", "unit_id", "grade"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadres.id"), index=True)
    period_kind: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(7))  # "2026-11", "2026-Q4", "2026"
    # A 100-point score with two decimals, read back as float: SQLite has no decimal type.
    score: Mapped[float | None] = mapped_column(Numeric(5, 2, asdecimal=False))
    grade: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)  # where the cadre was evaluated
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    # The approval under which an HTXSNV over the quota was kept (NĐ 335 Điều 20 k5), as the head recorded it.
    quota_exception: Mapped[str | None] = mapped_column(Text)
    updated_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    cadre: Mapped[Cadre] = relationship()
    unit: Mapped[OrgUnit] = relationship()


class RotationRecord(Base):
    """A rotation (luân chuyển) from one unit to another; the cadre's own unit_id is changed separately."""

    __tablename__ = "rotation_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadres.id"), index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    started_on: Mapped[date] = mapped_column(Date)
    planned_end_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    created_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)

    cadre: Mapped[Cadre] = relationship()
    from_unit: Mapped[OrgUnit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[OrgUnit] = relationship(foreign_keys=[to_unit_id])
    position: Mapped[Position | None] = relationship()


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
    # Set when an administrator chose the password (a new account, a reset): pages ask for a new one first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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
    # Loaded when read, not joined to every load of a user's roles: scope checks need only unit_id, and the unit's
    # row cost each sign-in read 40–70 µs for nothing (API token, session user); /api/v1/me reads it.
    unit: Mapped[OrgUnit] = relationship()


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


class VotingBodyMember(Base):
    """A member of one of a unit's voting bodies (`BodyKind`): whom a ballot of that body summons, and how many the
    rules count as its members (decision 0122). Kept by the unit's personnel officer or administrator; each change
    is an event on the unit's audit chain."""

    __tablename__ = "voting_body_members"

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    body_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_dt: Mapped[datetime] = mapped_column(DateTime, default=utcnow_naive)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
