"""A small demo organisation with known logins (password `demo`, demo data only). Idempotent.

Issue #4 grows this into a full demo province; the logins below stay stable because tests and docs use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.registry.models import Cadre, OrgUnit, RoleAssignment, User
from workflows.registry.passwords import hash_password
from workflows.states import Role

DEMO_PASSWORD = "demo"  # noqa: S105  (demo data only; printed by `make run`)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    unit_code: str
    roles: tuple[str, ...]
    cadre_code: str | None
    description: str


UNITS = [
    # code, name, type, parent code
    ("T01", "Tỉnh Sơn Hà (demo)", "province", None),
    ("T01-BTC", "Ban Tổ chức Tỉnh ủy", "party_body", "T01"),
    ("T01-UBKT", "Ủy ban Kiểm tra Tỉnh ủy", "party_body", "T01"),
    ("X001", "Xã An Phú", "commune", "T01"),
    ("X002", "Phường Bình Minh", "ward", "T01"),
]

LOGINS = [
    DemoLogin("admin", "Quản trị hệ thống", "T01", (Role.ADMIN,), None, "quản trị viên (triển khai quy trình)"),
    DemoLogin("officer1", "Nguyễn Thị Lan", "X001", (Role.OFFICER,), "CB0001", "công chức xã An Phú"),
    DemoLogin("officer2", "Trần Văn Hùng", "X001", (Role.OFFICER,), "CB0002", "công chức xã An Phú"),
    DemoLogin(
        "supervisor1", "Lê Văn Minh", "X001", (Role.SUPERVISOR,), "CB0003", "phó chủ tịch UBND xã (lãnh đạo trực tiếp)"
    ),
    DemoLogin(
        "head1", "Phạm Quốc Dũng", "X001", (Role.HEAD, Role.SUPERVISOR), "CB0004", "chủ tịch UBND xã (thủ trưởng)"
    ),
    DemoLogin("officer3", "Hoàng Thị Mai", "X002", (Role.OFFICER,), "CB0005", "công chức phường Bình Minh"),
    DemoLogin("personnel1", "Đỗ Thị Hoa", "T01-BTC", (Role.PERSONNEL,), "CB0006", "chuyên viên Ban Tổ chức Tỉnh ủy"),
    DemoLogin("auditor1", "Vũ Đức Tuấn", "T01-UBKT", (Role.AUDITOR,), "CB0007", "ủy viên Ủy ban Kiểm tra Tỉnh ủy"),
]

# Roles held over the whole province rather than only the login's own unit.
PROVINCE_WIDE = {Role.PERSONNEL, Role.AUDITOR, Role.ADMIN}


def load_demo(session: Session) -> list[DemoLogin]:
    units: dict[str, OrgUnit] = {}
    for code, name, unit_type, parent_code in UNITS:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None:
            parent = units.get(parent_code) if parent_code else None
            unit = OrgUnit(code=code, name=name, unit_type=unit_type, parent=parent)
            session.add(unit)
            session.flush()
            unit.path = (parent.path + f"{parent.id}/") if parent is not None else "/"
        units[code] = unit

    password_hash = None
    for index, login in enumerate(LOGINS):
        if session.scalar(select(User.id).where(User.username == login.username)) is not None:
            continue
        unit = units[login.unit_code]
        cadre = None
        if login.cadre_code:
            cadre = session.scalar(select(Cadre).where(Cadre.code == login.cadre_code))
            if cadre is None:
                cadre = Cadre(
                    code=login.cadre_code,
                    full_name=login.full_name,
                    unit=unit,
                    birth_date=date(1975 + index * 2, 1 + index, 10 + index),
                    gender="female" if login.full_name.split()[1] == "Thị" else "male",
                )
                session.add(cadre)
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        user = User(
            username=login.username, full_name=login.full_name, password_hash=password_hash, unit=unit, cadre=cadre
        )
        session.add(user)
        session.flush()
        for role in login.roles:
            role_unit = units["T01"] if role in PROVINCE_WIDE else unit
            session.add(RoleAssignment(user_id=user.id, role=role, unit_id=role_unit.id))
    session.flush()
    return LOGINS
