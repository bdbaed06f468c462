"""Demo data with known logins (password `demo`, demo data only). Everything here is idempotent.

`load_demo(session)` builds the small organisation the test suite stands on; its units, logins and cadre codes stay
exactly as they are. `load_demo_province` grows it into a fictional province, "Tỉnh Sơn Hà (demo)": communes with
their party, people's and front bodies, provincial bodies, thousands of generated cadres holding the posts, some
discipline and rotations, a planning list for the next term, monthly evaluations and last year's annual grades, plus
logins in a second commune and a provincial department, the leaders of Xã An Phú's people's committee (a collective
to summon to a ballot) and the provincial people's committee's chair (the competent authority over the departments).

Every generated value is a function of the seed and a stable key (the cadre's number, a title, a month), never of
what the database already holds, so one seed always gives the same people and a larger count later only adds
the missing ones. The records are bulk-inserted rather than written through `records.py`, which locks, checks and
appends one event at a time (minutes for 50,000 cadres). Each generated cadre still gets its own history: the chain
`cadre:<id>` holds the events `records.py` would have written for the same records (created, positions, discipline,
rotations, evaluations, planning), hashed here and inserted in bulk (`_CadreChains`; decision 0010). Each load that
adds anything also writes one `demo_loaded` event on the system chain saying what it added.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

from workflows.access import in_subtree
from workflows.audit import (
    GENESIS_HASH,
    SYSTEM_ACTOR,
    SYSTEM_CHAIN,
    PendingEvent,
    append_events,
    canonical_json,
    compute_hash,
)
from workflows.clock import utcnow_naive
from workflows.evaluation import PROCESS_ID as EVALUATION_PROCESS_ID
from workflows.models import AuditChain, AuditEvent, ProcessInstance
from workflows.registry import demo_names as names
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineLevel,
    DisciplineRecord,
    EducationLevel,
    EvaluationGrade,
    EvaluationResult,
    Gender,
    OrgUnit,
    PeriodKind,
    PlanningEntry,
    PlanningStatus,
    Position,
    RoleAssignment,
    RotationRecord,
    UnitType,
    User,
)
from workflows.registry.passwords import hash_password
from workflows.registry.records import (
    _CADRE_FIELDS,
    _CADRE_POSITION_FIELDS,
    _DISCIPLINE_FIELDS,
    _PLANNING_FIELDS,
    _ROTATION_FIELDS,
    MAX_CADRES_PER_TITLE,
    MAX_TITLES_PER_CADRE_AND_LEVEL,
    CadreEvent,
    cadre_chain,
    local_today,
)
from workflows.registry.voting_bodies import seed_voting_body
from workflows.rules.retirement import add_months, age_in_months, required_age_months, retirement_date
from workflows.states import BodyKind, Role

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

PROVINCE_CODE = "T01"
DEMO_COMMUNE = "X001"  # Xã An Phú, the small organisation's commune
SERVED_MONTHS = 26  # the least time in post of its generated leaders: two years, and the months a load ages by
DEMO_SEED = 20261122
DEFAULT_PROVINCE_CADRES = 2000
CADRE_CODE_PREFIX = "SH"  # Sơn Hà
MAX_PROVINCE_CADRES = 999_999  # six digits after the prefix
PLANNING_TERM = "2026-2031"
# QĐ 50 asked that a planned cadre can serve the whole term; QĐ 377's "two terms" is known only from a headline
# (domain rules §2.2), so the demo keeps the weaker, verified reading.
PLANNING_TERM_LAST_DAY = date(2031, 12, 31)
EVALUATED_MONTHS = 3
TERM_YEARS = 5
# Rows per bulk insert: large enough that 50,000 cadres take a few dozen statements, small enough to keep memory flat.
CHUNK = 2000

WOMEN_SHARE = 0.30
NEAR_RETIREMENT_SHARE = 0.04
DISCIPLINE_SHARE_LEADERS = 0.015
DISCIPLINE_SHARE_STAFF = 0.034
# Demo durations, not a rule: long enough that some discipline is still running and some has expired.
DISCIPLINE_MONTHS = 12


def load_demo(
    session: Session, *, province_cadres: int = 0, seed: int = DEMO_SEED, today: date | None = None
) -> list[DemoLogin]:
    """The small organisation; with `province_cadres`, the demo province around it too (see load_demo_province)."""
    logins = _load_small_org(session)
    if province_cadres:
        summary = load_demo_province(session, cadres=province_cadres, seed=seed, today=today or local_today())
        logins = [*logins, *summary.logins]
    return logins


def _load_small_org(session: Session) -> list[DemoLogin]:
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
                birth = date(1975 + index * 2, 1 + index, 10 + index)
                gender = "female" if login.full_name.split()[1] == "Thị" else "male"
                cadre = Cadre(
                    code=login.cadre_code,
                    full_name=login.full_name,
                    unit=unit,
                    birth_date=birth,
                    gender=gender,
                    # As records.py sets it on create: the appointment's term stops at it (NĐ 138 Điều 49).
                    retirement_date=retirement_date(birth, gender),
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


# =====================================================================================================
# The demo province
# =====================================================================================================

_MALE = Gender.MALE.value
_FEMALE = Gender.FEMALE.value
_UNIVERSITY = frozenset({EducationLevel.DAI_HOC.value, EducationLevel.THAC_SI.value, EducationLevel.TIEN_SI.value})


@dataclass(frozen=True)
class DemoSummary:
    """What the demo province holds after a load (counts over the whole province, not only what was added)."""

    province: str
    seed: int
    units: int
    positions: int
    cadres: int
    cadres_added: int
    women_percent: float
    minority_percent: float
    disciplined: int
    rotations: int
    planning_term: str
    planning_entries: int
    evaluated_months: tuple[str, ...]
    evaluations: int
    logins: tuple[DemoLogin, ...]
    added: dict[str, int]


# --- The organisation: units and titles. -------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    unit_type: str
    parent: str


@dataclass(frozen=True)
class _Title:
    """A title as a template: `unit` is the suffix of the unit code ("UB" is X001-UB in commune X001, T01-UB at the
    province). `rank` orders titles within one body, 1 at the top; planning draws from the one or two ranks below."""

    unit: str
    title: str
    title_code: str
    rank: int
    seats: int = 1  # how many people hold it; 0 for staff posts, filled by drawing
    is_leadership: bool = True
    is_key_title: bool = False
    requires_non_local: bool = False
    is_province_managed: bool = False
    on_committee: bool = False  # its holder also sits on the party executive committee
    staff_weight: float = 0.0


def _staff(unit: str, title: str, title_code: str, rank: int, weight: float) -> _Title:
    return _Title(unit, title, title_code, rank, seats=0, is_leadership=False, staff_weight=weight)


COMMUNE_STAFF_RANK = 5
PROVINCE_STAFF_RANK = 6
_COMMUNE_COMMITTEE = _Title(
    "DU", "Ủy viên Ban Chấp hành Đảng bộ", "party_committee_member", 0, seats=0, is_leadership=False
)
_PROVINCE_COMMITTEE = _Title(
    "TU", "Ủy viên Ban Chấp hành Đảng bộ tỉnh", "party_committee_member", 0, seats=0, is_leadership=False
)

COMMUNE_TITLES: tuple[_Title, ...] = (
    _Title("DU", "Bí thư Đảng ủy", "commune_party_secretary", 1, is_key_title=True, requires_non_local=True,
           is_province_managed=True, on_committee=True),
    _Title("DU", "Phó Bí thư Đảng ủy", "commune_deputy_party_secretary", 2, is_key_title=True,
           is_province_managed=True, on_committee=True),
    _Title("UB", "Chủ tịch UBND", "commune_pc_chair", 2, is_key_title=True, requires_non_local=True,
           is_province_managed=True, on_committee=True),
    _Title("UBKT", "Chủ nhiệm Ủy ban Kiểm tra", "commune_inspection_chair", 3, is_key_title=True,
           requires_non_local=True, is_province_managed=True, on_committee=True),
    _Title("UB", "Phó Chủ tịch UBND", "commune_pc_vice_chair", 3, seats=2, on_committee=True),
    _Title("MT", "Chủ tịch Ủy ban MTTQ", "commune_front_chair", 3, is_key_title=True, on_committee=True),
    _Title("VP", "Chánh Văn phòng", "commune_office_chief", 4, on_committee=True),
    _Title("KT", "Trưởng phòng", "commune_department_head", 4, on_committee=True),
    _Title("VHXH", "Trưởng phòng", "commune_department_head", 4, on_committee=True),
    _staff("DU", "Chuyên viên Văn phòng Đảng ủy", "commune_party_staff", COMMUNE_STAFF_RANK, 1.0),
    _staff("UBKT", "Cán bộ Ủy ban Kiểm tra", "commune_inspection_staff", COMMUNE_STAFF_RANK, 0.5),
    _staff("VP", "Công chức Văn phòng - Thống kê", "commune_civil_servant", COMMUNE_STAFF_RANK, 1.0),
    _staff("VP", "Công chức Tư pháp - Hộ tịch", "commune_civil_servant", COMMUNE_STAFF_RANK, 1.0),
    _staff("KT", "Công chức Tài chính - Kế toán", "commune_civil_servant", COMMUNE_STAFF_RANK, 1.0),
    _staff("KT", "Công chức Địa chính - Xây dựng", "commune_civil_servant", COMMUNE_STAFF_RANK, 1.0),
    _staff("VHXH", "Công chức Văn hóa - Xã hội", "commune_civil_servant", COMMUNE_STAFF_RANK, 1.0),
    _staff("VHXH", "Công chức Lao động - Xã hội", "commune_civil_servant", COMMUNE_STAFF_RANK, 0.8),
    _staff("MT", "Cán bộ Mặt trận", "commune_front_staff", COMMUNE_STAFF_RANK, 0.7),
    _COMMUNE_COMMITTEE,
)  # fmt: skip

DEPARTMENTS = (
    ("SNV", "Sở Nội vụ"),
    ("STC", "Sở Tài chính"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SXD", "Sở Xây dựng"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
)

_DEPARTMENT_TITLES = (
    _Title("", "Giám đốc Sở", "department_director", 4, is_province_managed=True, on_committee=True),
    _Title("", "Phó Giám đốc Sở", "department_deputy_director", 5, seats=2, is_province_managed=True),
    _staff("", "Chuyên viên", "province_specialist", PROVINCE_STAFF_RANK, 3.0),
)

PROVINCE_TITLES: tuple[_Title, ...] = (
    _Title("TU", "Bí thư Tỉnh ủy", "province_party_secretary", 1, is_key_title=True, on_committee=True),
    _Title("TU", "Phó Bí thư Tỉnh ủy", "province_deputy_party_secretary", 2, seats=2, is_key_title=True,
           on_committee=True),
    _Title("UB", "Chủ tịch UBND tỉnh", "province_pc_chair", 2, is_key_title=True, on_committee=True),
    _Title("UB", "Phó Chủ tịch UBND tỉnh", "province_pc_vice_chair", 3, seats=3, on_committee=True),
    _Title("BTC", "Trưởng Ban Tổ chức Tỉnh ủy", "province_organisation_head", 3, on_committee=True),
    _Title("UBKT", "Chủ nhiệm Ủy ban Kiểm tra Tỉnh ủy", "province_inspection_chair", 3, on_committee=True),
    _Title("MT", "Chủ tịch Ủy ban MTTQ tỉnh", "province_front_chair", 3, is_key_title=True, on_committee=True),
    _Title("VPTU", "Chánh Văn phòng Tỉnh ủy", "province_office_chief", 4, is_province_managed=True,
           on_committee=True),
    _Title("VPUB", "Chánh Văn phòng UBND tỉnh", "province_office_chief", 4, is_province_managed=True),
    _Title("BTC", "Phó Trưởng Ban Tổ chức Tỉnh ủy", "province_organisation_deputy", 5, seats=2,
           is_province_managed=True),
    _Title("UBKT", "Phó Chủ nhiệm Ủy ban Kiểm tra Tỉnh ủy", "province_inspection_deputy", 5, seats=2,
           is_province_managed=True),
    _Title("VPTU", "Phó Chánh Văn phòng Tỉnh ủy", "province_office_deputy", 5, is_province_managed=True),
    _Title("VPUB", "Phó Chánh Văn phòng UBND tỉnh", "province_office_deputy", 5, is_province_managed=True),
    *(replace(title, unit=code) for code, _ in DEPARTMENTS for title in _DEPARTMENT_TITLES),
    _staff("BTC", "Chuyên viên", "province_specialist", PROVINCE_STAFF_RANK, 2.0),
    _staff("UBKT", "Kiểm tra viên", "province_inspector", PROVINCE_STAFF_RANK, 1.5),
    # Held by the small organisation's auditor only.
    _staff("UBKT", "Ủy viên Ủy ban Kiểm tra Tỉnh ủy", "province_inspection_member", PROVINCE_STAFF_RANK, 0.0),
    _staff("VPTU", "Chuyên viên", "province_specialist", PROVINCE_STAFF_RANK, 2.0),
    _staff("VPUB", "Chuyên viên", "province_specialist", PROVINCE_STAFF_RANK, 2.0),
    _staff("MT", "Chuyên viên", "province_specialist", PROVINCE_STAFF_RANK, 1.0),
    _PROVINCE_COMMITTEE,
)  # fmt: skip

# Posts of the small organisation's cadres, so that the logins' people fit into the province.
EXISTING_POSTS = {
    "CB0001": ("X001-VP", "Công chức Văn phòng - Thống kê"),
    "CB0002": ("X001-VP", "Công chức Tư pháp - Hộ tịch"),
    "CB0003": ("X001-UB", "Phó Chủ tịch UBND"),
    "CB0004": ("X001-UB", "Chủ tịch UBND"),
    "CB0005": ("X002-VP", "Công chức Văn phòng - Thống kê"),
    "CB0006": ("T01-BTC", "Chuyên viên"),
    "CB0007": ("T01-UBKT", "Ủy viên Ủy ban Kiểm tra Tỉnh ủy"),
}
# The seats those cadres take, so that nobody is generated for them.
_TAKEN_SEATS = {("X001-UB", "Chủ tịch UBND", 0), ("X001-UB", "Phó Chủ tịch UBND", 0)}


@dataclass(frozen=True)
class _ProvinceLogin:
    username: str
    unit_code: str  # where the user's roles apply
    roles: tuple[str, ...]
    seat: tuple[str, str]  # the post of the cadre behind the login: (unit code, title)
    description: str


# With the small organisation's logins: every role in two communes (X001, X002) and at the province.
PROVINCE_LOGINS = (
    _ProvinceLogin("head2", "X002", (Role.HEAD, Role.SUPERVISOR), ("X002-UB", "Chủ tịch UBND"),
                   "chủ tịch UBND phường Bình Minh (thủ trưởng)"),
    _ProvinceLogin("supervisor2", "X002", (Role.SUPERVISOR,), ("X002-UB", "Phó Chủ tịch UBND"),
                   "phó chủ tịch UBND phường Bình Minh (lãnh đạo trực tiếp)"),
    _ProvinceLogin("head3", "T01-SNV", (Role.HEAD, Role.SUPERVISOR), ("T01-SNV", "Giám đốc Sở"),
                   "giám đốc Sở Nội vụ (thủ trưởng)"),
    _ProvinceLogin("supervisor3", "T01-SNV", (Role.SUPERVISOR,), ("T01-SNV", "Phó Giám đốc Sở"),
                   "phó giám đốc Sở Nội vụ (lãnh đạo trực tiếp)"),
    _ProvinceLogin("officer4", "T01-SNV", (Role.OFFICER,), ("T01-SNV", "Chuyên viên"), "chuyên viên Sở Nội vụ"),
)  # fmt: skip

# Logins that make an appointment in the demo possible from start to ballot. A ballot's electors are the users of the
# post's unit and the units under it, and the small organisation's logins all work in Xã An Phú itself: these are the
# leaders of the commune's people's committee (Ủy ban nhân dân xã An Phú and its offices), so a post there has a
# collective to summon. The competent authority over a provincial department's posts is the head of the provincial
# people's committee (assignment: the head of the unit above the post's): `head7` holds that role. A commune's
# planning review is approved a level up, at the province (domain rules §9.8: BTV Tỉnh ủy for commune leaders), and
# the unit above a commune is the province itself: `head8`, the provincial party secretary, heads it (decision 0106).
# Not in the roster's first seats (that would renumber every generated cadre of a seed): each takes the
# lowest-numbered holder of a leadership seat, which every load of a few hundred cadres fills.
COLLECTIVE_LOGINS = (
    _ProvinceLogin("supervisor4", "X001-UB", (Role.SUPERVISOR,), ("X001-UB", "Phó Chủ tịch UBND"),
                   "phó chủ tịch UBND xã An Phú (tập thể lãnh đạo UBND xã: cử tri khi bỏ phiếu)"),
    _ProvinceLogin("head4", "X001-VP", (Role.HEAD, Role.SUPERVISOR), ("X001-VP", "Chánh Văn phòng"),
                   "chánh Văn phòng HĐND và UBND xã An Phú (tập thể lãnh đạo UBND xã)"),
    _ProvinceLogin("head5", "X001-KT", (Role.HEAD, Role.SUPERVISOR), ("X001-KT", "Trưởng phòng"),
                   "trưởng Phòng Kinh tế xã An Phú (tập thể lãnh đạo UBND xã)"),
    _ProvinceLogin("head6", "X001-VHXH", (Role.HEAD, Role.SUPERVISOR), ("X001-VHXH", "Trưởng phòng"),
                   "trưởng Phòng Văn hóa - Xã hội xã An Phú (tập thể lãnh đạo UBND xã)"),
    _ProvinceLogin("head7", "T01-UB", (Role.HEAD, Role.SUPERVISOR), ("T01-UB", "Chủ tịch UBND tỉnh"),
                   "chủ tịch UBND tỉnh (cấp có thẩm quyền bổ nhiệm ở các sở)"),
    _ProvinceLogin("head8", PROVINCE_CODE, (Role.HEAD,), ("T01-TU", "Bí thư Tỉnh ủy"),
                   "bí thư Tỉnh ủy (cấp có thẩm quyền phê duyệt quy hoạch của xã, phường)"),
)  # fmt: skip


def _place(name: str) -> str:
    """Lower-case the first letter, as a place reads inside a unit's name: "Đảng ủy xã Tân Phong"."""
    return name[0].lower() + name[1:]


def _unit_specs() -> list[_Unit]:
    """Every unit of the province, each after its parent."""
    p = PROVINCE_CODE
    specs = [_Unit(code, name, unit_type, parent or "") for code, name, unit_type, parent in UNITS]
    specs += [
        _Unit(f"{p}-TU", "Tỉnh ủy Sơn Hà", UnitType.PARTY_COMMITTEE, p),
        _Unit(f"{p}-VPTU", "Văn phòng Tỉnh ủy", UnitType.DEPARTMENT, f"{p}-TU"),
        _Unit(f"{p}-UB", "Ủy ban nhân dân tỉnh Sơn Hà", UnitType.PEOPLES_COMMITTEE, p),
        _Unit(f"{p}-VPUB", "Văn phòng Ủy ban nhân dân tỉnh", UnitType.DEPARTMENT, f"{p}-UB"),
        *(_Unit(f"{p}-{code}", name, UnitType.DEPARTMENT, f"{p}-UB") for code, name in DEPARTMENTS),
        _Unit(f"{p}-MT", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Sơn Hà", UnitType.MASS_ORGANISATION, p),
    ]
    for commune in names.COMMUNES:
        c, place = commune.code, _place(commune.name)
        # Wards run the urban infrastructure office too (the 2025 model of commune-level departments).
        economy = "Phòng Kinh tế, Hạ tầng và Đô thị" if commune.unit_type != UnitType.COMMUNE else "Phòng Kinh tế"
        if c not in {code for code, *_ in UNITS}:
            specs.append(_Unit(c, commune.name, commune.unit_type, p))
        specs += [
            _Unit(f"{c}-DU", f"Đảng ủy {place}", UnitType.PARTY_COMMITTEE, c),
            _Unit(f"{c}-UBKT", f"Ủy ban Kiểm tra Đảng ủy {place}", UnitType.PARTY_BODY, f"{c}-DU"),
            _Unit(f"{c}-UB", f"Ủy ban nhân dân {place}", UnitType.PEOPLES_COMMITTEE, c),
            _Unit(f"{c}-VP", f"Văn phòng HĐND và UBND {place}", UnitType.DEPARTMENT, f"{c}-UB"),
            _Unit(f"{c}-KT", f"{economy} {place}", UnitType.DEPARTMENT, f"{c}-UB"),
            _Unit(f"{c}-VHXH", f"Phòng Văn hóa - Xã hội {place}", UnitType.DEPARTMENT, f"{c}-UB"),
            _Unit(f"{c}-MT", f"Ủy ban MTTQ Việt Nam {place}", UnitType.MASS_ORGANISATION, c),
        ]
    return specs


@dataclass(frozen=True)
class _Post:
    """A title in one unit, and for seated titles which seat: what a generated cadre is drawn to."""

    unit_code: str
    title: _Title
    commune: names.Commune | None  # None at province level
    seat: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.unit_code, self.title.title)

    @property
    def level(self) -> str:
        return "province" if self.commune is None else "commune"


def _all_posts() -> list[_Post]:
    posts = [_Post(f"{PROVINCE_CODE}-{t.unit}", t, None) for t in PROVINCE_TITLES]
    posts += [_Post(f"{c.code}-{t.unit}", t, c) for c in names.COMMUNES for t in COMMUNE_TITLES]
    return posts


def _roster(posts: list[_Post]) -> list[_Post]:
    """Seat by seat, the posts the first generated cadres take: cadre number n holds roster[n - 1].

    The logins' seats come first, then the higher ranks, so that even a small load has every login and the key
    titles filled. Cadres beyond the roster are staff, drawn to the staff posts by weight."""
    seats = [
        replace(post, seat=seat)
        for post in posts
        for seat in range(post.title.seats)
        if (post.unit_code, post.title.title, seat) not in _TAKEN_SEATS
    ]
    by_key = {post.key: post for post in posts}
    first = []
    for login in PROVINCE_LOGINS:
        post = by_key[login.seat]
        if post.title.seats:
            seat = next(s for s in seats if s.key == post.key and s not in first)
            first.append(seat)
        else:
            first.append(post)
    rest = sorted((s for s in seats if s not in first), key=lambda s: s.title.rank)  # stable: keeps unit order
    return first + rest


# --- Small helpers for drawing values. --------------------------------------------------------------------


class _Choice:
    """A weighted choice, drawn with the caller's generator so that the same draws give the same values."""

    def __init__(self, weighted: Iterable[tuple[Any, float]]) -> None:
        pairs = list(weighted)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> Any:
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


def _fractions(count: int, *key: object) -> tuple[float, ...]:
    """Stable numbers in [0, 1) for a key: records that are not a cadre's own draws (a month's grade, a title's
    planning list) depend only on their key, not on how many other records a load creates."""
    digest = hashlib.blake2b("|".join(map(str, key)).encode(), digest_size=8 * count).digest()
    return tuple(int.from_bytes(digest[i : i + 8], "big") / 2**64 for i in range(0, 8 * count, 8))


def _fraction(*key: object) -> float:
    return _fractions(1, *key)[0]


def cadre_code(number: int) -> str:
    return f"{CADRE_CODE_PREFIX}{number:06d}"


_FIRST_CODE, _LAST_CODE = cadre_code(1), cadre_code(MAX_PROVINCE_CADRES)


def _bulk_insert(
    session: Session, model: type[Any], rows: list[dict[str, Any]], added: Counter[str], what: str
) -> None:
    """Insert rows that all have the same keys, in one statement per call (not one per row or per run of Nones, as
    the ORM's bulk path would). PostgreSQL gets COPY: executemany there still sends one INSERT per row, which for
    50,000 cadres and their evaluations is most of the load time."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        _copy_rows(session, table, rows)
    else:
        session.execute(insert(table), rows)
    added[what] += len(rows)


def _copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    from psycopg import sql

    # COPY bypasses SQLAlchemy, so the Python-side defaults (created_dt, …) are filled here, once per batch.
    defaults = {
        column.name: column.default.arg(None) if column.default.is_callable else column.default.arg  # type: ignore[attr-defined]
        for column in table.columns
        if column.default is not None and column.name not in rows[0]
    }
    names = [*rows[0], *defaults]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    extra = list(defaults.values())
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row([*row.values(), *extra])


# What records.py snapshots for each kind of record (its field lists, so the two cannot drift apart).
_EVALUATION_FIELDS = ("score", "grade", "unit_id", "source_instance_id")


def _snapshot(values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, dict[str, Any]]:
    """records.py's payload for a new record: every field that has a value, from nothing to it (dates as ISO)."""
    return {
        name: {"from": None, "to": value.isoformat() if isinstance(value, date) else value}
        for name in fields
        if (value := values.get(name)) is not None
    }


class _CadreChains:
    """The audit chains `cadre:<id>` of the cadres one load touches, written in bulk.

    Each event is the one `records.py` appends for the same change: same type, same payload, hashed by
    `audit.compute_hash` over the same header (actor: the system). Only the mechanics differ: the hashes are chained
    here in Python, the events inserted `CHUNK` at a time, and each chain's head (audit_chains) written once at the
    end instead of being locked and rewritten per event. Heads of chains that already exist are read locked, as an
    append would, so a concurrent change to the same cadre waits rather than forks the chain."""

    def __init__(self, session: Session, added: Counter[str]) -> None:
        self.session = session
        self.added = added
        self.occurred = utcnow_naive()
        self.heads: dict[int, tuple[int, str]] = {}  # cadre id -> (last seq, last hash), for every chain touched
        self.stored: set[int] = set()  # those whose head row existed before this load
        self.rows: list[dict[str, Any]] = []

    def start(self, cadre_id: int, values: Mapping[str, Any]) -> None:
        """A new cadre's chain: its creation, with every value it was created with."""
        self.heads[cadre_id] = (0, GENESIS_HASH)
        self.append(cadre_id, CadreEvent.CREATED, {"changes": _snapshot(values, _CADRE_FIELDS)})

    def open(self, cadre_ids: Iterable[int]) -> None:
        """Make the chains of cadres stored before this load ready to continue: their heads, or for a cadre that has
        no chain yet (the small organisation's, or one loaded before the demo wrote chains) a chain started from its
        record as it stands."""
        wanted = sorted(set(cadre_ids) - self.heads.keys())
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            keys = {cadre_chain(cadre_id): cadre_id for cadre_id in part}
            heads = self.session.execute(
                select(AuditChain.chain_key, AuditChain.last_seq, AuditChain.last_hash)
                .where(AuditChain.chain_key.in_(list(keys)))
                .with_for_update()
            )
            for key, seq, last_hash in heads:
                self.heads[keys[key]] = (seq, last_hash)
                self.stored.add(keys[key])
            missing = [cadre_id for cadre_id in part if cadre_id not in self.heads]
            if missing:
                columns = [getattr(Cadre, name) for name in _CADRE_FIELDS]
                for cadre_id, *values in self.session.execute(
                    select(Cadre.id, *columns).where(Cadre.id.in_(missing)).order_by(Cadre.id)
                ):
                    self.start(cadre_id, dict(zip(_CADRE_FIELDS, values, strict=True)))

    def append(self, cadre_id: int, event: CadreEvent, payload: dict[str, Any]) -> None:
        seq, prev_hash = self.heads[cadre_id]
        seq += 1
        chain_key, text = cadre_chain(cadre_id), canonical_json(payload)
        digest = compute_hash(
            prev_hash=prev_hash,
            chain_key=chain_key,
            seq=seq,
            event_type=event.value,
            instance_id=None,
            human_task_id=None,
            actor_id=None,
            actor_name=SYSTEM_ACTOR,
            occurred_dt=self.occurred,
            payload=text,
        )
        self.rows.append(
            {
                "chain_key": chain_key,
                "seq": seq,
                "instance_id": None,
                "human_task_id": None,
                "event_type": event.value,
                "actor_id": None,
                "actor_name": SYSTEM_ACTOR,
                "occurred_dt": self.occurred,
                "payload": text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        self.heads[cadre_id] = (seq, digest)
        if len(self.rows) >= 2 * CHUNK:
            self.flush()

    def record(
        self,
        event: CadreEvent,
        model: type[Any],
        rows: list[dict[str, Any]],
        fields: Iterable[str],
        key: tuple[str, ...],
        extra: tuple[str, ...] = (),
    ) -> None:
        """The events of rows just bulk-inserted into `model`: `{"record_id", *extra, "changes"}` each. COPY returns
        no ids, so they are read back, matched on the `key` columns (the newest row when an older one matches)."""
        if not rows:
            return
        fields = tuple(fields)
        self.open(row["cadre_id"] for row in rows)
        wanted = {tuple(row[name] for name in key) for row in rows}
        ids: dict[tuple[Any, ...], int] = {}
        cadre_ids = sorted({row["cadre_id"] for row in rows})
        for start in range(0, len(cadre_ids), CHUNK):
            found = self.session.execute(
                select(model.id, *(getattr(model, name) for name in key)).where(
                    model.cadre_id.in_(cadre_ids[start : start + CHUNK])
                )
            )
            for record_id, *values in found:
                if (matched := tuple(values)) in wanted:
                    ids[matched] = max(ids.get(matched, 0), record_id)
        for row in rows:
            payload = {"record_id": ids[tuple(row[name] for name in key)], **{name: row[name] for name in extra}}
            payload["changes"] = _snapshot(row, fields)
            self.append(row["cadre_id"], event, payload)

    def flush(self) -> None:
        _bulk_insert(self.session, AuditEvent, self.rows, self.added, "audit_events")
        self.rows = []

    def close(self) -> None:
        """The last events, then every touched chain's head."""
        self.flush()
        stored = [cadre_chain(cadre_id) for cadre_id in sorted(self.stored)]
        for start in range(0, len(stored), CHUNK):
            self.session.execute(delete(AuditChain).where(AuditChain.chain_key.in_(stored[start : start + CHUNK])))
        heads = [
            {"chain_key": cadre_chain(cadre_id), "last_seq": seq, "last_hash": last_hash}
            for cadre_id, (seq, last_hash) in sorted(self.heads.items())
        ]
        for start in range(0, len(heads), CHUNK):
            _bulk_insert(self.session, AuditChain, heads[start : start + CHUNK], Counter(), "audit_chains")
        self.heads, self.stored = {}, set()


@functools.cache
def _retirement(birth_month: date, gender: str) -> tuple[int, date]:
    """Required age (months) and retirement date. retirement.py counts reaching an age by month and retires on the
    first of the next month, so both depend on the month of birth only: 50,000 cadres need a few hundred calls."""
    return required_age_months(birth_month, gender), retirement_date(birth_month, gender)


def _retirement_date(birth: date, gender: str) -> date:
    return _retirement(birth.replace(day=1), gender)[1]


def _required_age(birth: date, gender: str) -> int:
    return _retirement(birth.replace(day=1), gender)[0]


def _demo_cadre_filter() -> ColumnElement[bool]:
    return or_(Cadre.code.between(_FIRST_CODE, _LAST_CODE), Cadre.code.in_(EXISTING_POSTS))


_STAFF_AGES = _Choice((((23, 29), 18), ((30, 39), 34), ((40, 49), 30), ((50, 60), 18)))
_EDUCATION = {
    "province_top": _Choice((("dai_hoc", 20), ("thac_si", 65), ("tien_si", 15))),
    "province_leader": _Choice((("dai_hoc", 35), ("thac_si", 58), ("tien_si", 7))),
    "commune_leader": _Choice((("dai_hoc", 72), ("thac_si", 28))),
    "province_staff": _Choice((("cao_dang", 3), ("dai_hoc", 70), ("thac_si", 24), ("tien_si", 3))),
    "commune_staff": _Choice((("trung_cap", 7), ("cao_dang", 9), ("dai_hoc", 74), ("thac_si", 10))),
}
_THEORY = {
    "province_top": _Choice((("cao_cap", 85), ("cu_nhan", 15))),
    "province_leader": _Choice((("trung_cap", 10), ("cao_cap", 80), ("cu_nhan", 10))),
    "commune_head": _Choice((("trung_cap", 45), ("cao_cap", 50), ("cu_nhan", 5))),
    "commune_leader": _Choice((("so_cap", 5), ("trung_cap", 65), ("cao_cap", 27), ("cu_nhan", 3))),
    "staff": _Choice(((None, 35), ("so_cap", 33), ("trung_cap", 26), ("cao_cap", 5), ("cu_nhan", 1))),
}
_STATE_MANAGEMENT = {
    "province_leader": _Choice((("Chuyên viên chính", 50), ("Chuyên viên cao cấp", 50))),
    "commune_leader": _Choice((("Chuyên viên", 40), ("Chuyên viên chính", 60))),
    "staff": _Choice(((None, 30), ("Chuyên viên", 55), ("Chuyên viên chính", 15))),
}
_DISCIPLINE = {
    "leader": _Choice(((DisciplineLevel.KHIEN_TRACH.value, 75), (DisciplineLevel.CANH_CAO.value, 25))),
    "staff": _Choice(
        (
            (DisciplineLevel.KHIEN_TRACH.value, 60),
            (DisciplineLevel.CANH_CAO.value, 32),
            (DisciplineLevel.HA_BAC_LUONG.value, 8),
        )
    ),
}
_MINORITIES = {profile: _Choice(mix) for profile, mix in names.MINORITIES_BY_PROFILE.items()}
_PROFILES = {commune.code: commune.profile for commune in names.COMMUNES}


@dataclass(frozen=True)
class _Naming:
    family: _Choice
    male_middle: _Choice
    female_middle: _Choice
    male_given: tuple[str, ...]
    female_given: tuple[str, ...]


_NAMING = {
    ethnicity: _Naming(
        _Choice(style.family),
        _Choice(style.male_middle),
        _Choice(style.female_middle),
        style.male_given,
        style.female_given,
    )
    for ethnicity, style in names.NAMING.items()
}
# Units from which provincial cadres are sent to a commune on rotation (luân chuyển).
_ROTATION_SOURCES = tuple(f"{PROVINCE_CODE}-{code}" for code in ("SNV", "STC", "SNNMT", "SXD", "BTC", "UBKT", "VPTU"))


# --- Generating one cadre. ---------------------------------------------------------------------------------


@dataclass
class _Generated:
    row: dict[str, Any]
    posts: list[tuple[tuple[str, str], date, date | None]]  # (unit code, title), started, term ends
    discipline: list[dict[str, Any]]
    rotation: dict[str, Any] | None


class _Generator:
    def __init__(self, seed: int, today: date, unit_ids: dict[str, int], posts: list[_Post]) -> None:
        self.seed = seed
        self.today = today
        self.unit_ids = unit_ids
        self.roster = _roster(posts)
        # Provincial bodies get about three in ten of the staff, the communes share the rest equally.
        province_staff = [p for p in posts if p.commune is None and p.title.staff_weight]
        commune_staff = [p for p in posts if p.commune is not None and p.title.staff_weight]
        province_total = sum(p.title.staff_weight for p in province_staff)
        commune_total = sum(p.title.staff_weight for p in commune_staff)
        self.staff = _Choice(
            [(p, 0.3 * p.title.staff_weight / province_total) for p in province_staff]
            + [(p, 0.7 * p.title.staff_weight / commune_total) for p in commune_staff]
        )

    def cadre(self, number: int) -> _Generated:
        rng = random.Random(f"{self.seed}:{number}")  # noqa: S311  (demo data: reproducible, not secret)
        post: _Post = self.roster[number - 1] if number <= len(self.roster) else self.staff.pick(rng)
        title, today = post.title, self.today
        province = post.commune is None
        leader = title.is_leadership
        group = ("province_top" if title.rank <= 3 else "province_leader") if province else "commune_leader"

        gender = _FEMALE if rng.random() < WOMEN_SHARE else _MALE
        birth = self._birth_date(rng, gender, post)
        age = age_in_months(birth, today) // 12

        home = self._hometown(rng, post)
        profile = home.profile if home is not None else "province"
        ethnicity = _MINORITIES[profile].pick(rng) if rng.random() < names.MINORITY_SHARE[profile] else names.KINH
        full_name = self._full_name(rng, ethnicity, gender)

        is_party_member = leader or rng.random() < min(0.8, 0.3 + 0.015 * (age - 23))
        joined = None
        if is_party_member:
            joined = add_months(birth, 12 * rng.randint(20, min(age - 1, 35)) + rng.randrange(12))
            joined = min(joined, today - timedelta(days=60 + rng.randrange(300)))

        if leader:
            education = _EDUCATION[group].pick(rng)
        else:
            education = _EDUCATION["province_staff" if province else "commune_staff"].pick(rng)
        field, science = self._field(rng, post)
        if leader and province:
            theory = _THEORY[group].pick(rng)
        elif leader:
            theory = _THEORY["commune_head" if title.rank <= 2 else "commune_leader"].pick(rng)
        else:
            theory = _THEORY["staff"].pick(rng) or ("so_cap" if is_party_member else None)
        management = _STATE_MANAGEMENT[
            ("province_leader" if province else "commune_leader") if leader else "staff"
        ].pick(rng)

        unit_id = self.unit_ids[post.unit_code]
        code = cadre_code(number)
        former = _former_hometown(code, home)
        row = {
            "code": code,
            "full_name": full_name,
            "unit_id": unit_id,
            "birth_date": birth,
            "gender": gender,
            "ethnicity": ethnicity,
            "hometown": f"{_place(former[1])}, tỉnh Sơn Hà" if former else self._hometown_text(rng, home),
            "hometown_unit_id": self.unit_ids[former[0] if former else home.code] if home is not None else None,
            "is_party_member": is_party_member,
            "party_joined_date": joined,
            "education_level": education,
            "education_field": field,
            "is_science_technology": science and education in _UNIVERSITY,
            "political_theory": theory,
            "state_management_training": management,
            "retirement_date": _retirement_date(birth, gender),
            "is_active": True,
        }

        career_start = add_months(birth, 12 * 22)
        if leader:
            months = rng.randint(2, 52)
            if post.commune is not None and post.commune.code == DEMO_COMMUNE and months < SERVED_MONTHS:
                # Where the demo's appointments are tried, the leaders have served the two years an appointment
                # asks of the post held (rules/appointment.py), so the cadres planned for its posts can pass.
                months += 24
            started = max(add_months(today, -months), add_months(birth, 12 * 25))
            term_ends: date | None = add_months(started, 12 * TERM_YEARS) - timedelta(days=1)
        else:
            started = max(add_months(today, -rng.randint(1, 12 * min(age - 22, 25))), career_start)
            term_ends = None
        posts = [(post.key, started, term_ends)]
        if title.on_committee:
            committee = _PROVINCE_COMMITTEE if province else _COMMUNE_COMMITTEE
            unit = post.commune.code if post.commune is not None else PROVINCE_CODE
            posts.append(((f"{unit}-{committee.unit}", committee.title), started, term_ends))

        discipline = []
        if rng.random() < (DISCIPLINE_SHARE_LEADERS if leader else DISCIPLINE_SHARE_STAFF):
            decided = max(today - timedelta(days=rng.randint(20, 4 * 365)), career_start)
            discipline.append(
                {
                    "level": _DISCIPLINE["leader" if leader else "staff"].pick(rng),
                    "decided_on": decided,
                    "expires_on": add_months(decided, DISCIPLINE_MONTHS),
                    "note": rng.choice(names.DISCIPLINE_NOTES),
                }
            )

        rotation = None
        if title.requires_non_local and home is not post.commune and rng.random() < 0.35:
            # Some non-local key posts are held by provincial cadres rotated to the commune for a few years.
            rotation = {
                "from_unit_id": self.unit_ids[rng.choice(_ROTATION_SOURCES)],
                "to_unit_id": unit_id,
                "position_key": post.key,
                "started_on": started,
                "planned_end_on": add_months(started, 36),
                "ended_on": None,
            }
        elif not leader and not province and rng.random() < 0.006:
            # A past rotation to another commune, ended: the cadre is back in their own unit.
            other = rng.choice([c for c in names.COMMUNES if c is not post.commune])
            begun = add_months(today, -rng.randint(26, 60))
            if begun >= career_start:
                rotation = {
                    "from_unit_id": unit_id,
                    "to_unit_id": self.unit_ids[f"{other.code}-{title.unit}"],
                    "position_key": None,
                    "started_on": begun,
                    "planned_end_on": add_months(begun, 24),
                    "ended_on": add_months(begun, rng.randint(12, 24)),
                }
        return _Generated(row, posts, discipline, rotation)

    def _birth_date(self, rng: random.Random, gender: str, post: _Post) -> date:
        """Ages 23 to 60 on `today` and never at or past retirement; a few within two years of it."""
        today, title = self.today, post.title
        if not title.is_leadership:
            youngest, oldest = _STAFF_AGES.pick(rng)
        elif post.commune is None:
            youngest, oldest = (45, 59) if title.rank <= 3 else (36, 58)
        else:
            youngest, oldest = (33, 56) if title.rank <= 2 else (29, 56)
        if rng.random() < NEAR_RETIREMENT_SHARE:
            months_left = rng.randint(2, 24)
            birth = add_months(today, months_left - _required_age(add_months(today, -60 * 12), gender))
            birth = add_months(today, months_left - _required_age(birth, gender))
            birth -= timedelta(days=rng.randrange(28))
        else:
            earliest = add_months(today, -12 * (oldest + 1)) + timedelta(days=1)
            latest = add_months(today, -12 * youngest)
            birth = date.fromordinal(rng.randint(earliest.toordinal(), latest.toordinal()))
        birth = max(birth, add_months(today, -12 * 61) + timedelta(days=1))
        while _retirement_date(birth, gender) <= today:
            birth = add_months(birth, 12)
        return birth

    def _hometown(self, rng: random.Random, post: _Post) -> names.Commune | None:
        """Most commune staff are local; most key commune posts are not (domain rules: Bí thư, chủ tịch, chủ nhiệm
        UBKT from elsewhere), but not all, so the non-local figures have something to show. None: another
        province."""
        own, draw = post.commune, rng.random()
        if own is None:
            return None if draw < 0.15 else rng.choice(names.COMMUNES)
        if post.title.requires_non_local:
            local, elsewhere = 0.28, 0.72
        elif post.title.is_leadership:
            local, elsewhere = 0.75, 0.20
        else:
            local, elsewhere = 0.85, 0.10
        if draw < local:
            return own
        if draw < local + elsewhere:
            return rng.choice([c for c in names.COMMUNES if c is not own])
        return None

    @staticmethod
    def _hometown_text(rng: random.Random, home: names.Commune | None) -> str:
        if home is not None:
            return f"{_place(home.name)}, tỉnh Sơn Hà"
        return f"{rng.choice(names.OTHER_PLACES)}, {rng.choice(names.OTHER_PROVINCES)}"

    @staticmethod
    def _full_name(rng: random.Random, ethnicity: str, gender: str) -> str:
        naming = _NAMING[ethnicity]
        family = naming.family.pick(rng)
        if gender == _FEMALE:
            middle, given_names = naming.female_middle.pick(rng), naming.female_given
        else:
            middle, given_names = naming.male_middle.pick(rng), naming.male_given
        given = rng.choice(given_names)
        while given == middle:  # "Nguyễn Thu Thu" is not a name
            given = rng.choice(given_names)
        return " ".join(part for part in (family, middle, given) if part)

    @staticmethod
    def _field(rng: random.Random, post: _Post) -> tuple[str, bool]:
        special = names.FIELDS_BY_UNIT.get(post.title.unit)
        fields = special if special and rng.random() < 0.3 else names.GENERAL_FIELDS
        return rng.choice(fields)


# --- Loading. -------------------------------------------------------------------------------------------------


def load_demo_province(
    session: Session, *, cadres: int = DEFAULT_PROVINCE_CADRES, seed: int = DEMO_SEED, today: date
) -> DemoSummary:
    """Create what is missing of the demo province with `cadres` generated cadres (codes SH000001…).

    Idempotent: what exists is left alone, so a second load adds nothing and a larger `cadres` adds only the
    missing cadres (and the evaluations of months that have passed since). `seed` decides who the people are;
    cadres that already exist keep the seed they were made with. Flushes, never commits."""
    if not 0 <= cadres <= MAX_PROVINCE_CADRES:
        raise ValueError(f"cadres must be between 0 and {MAX_PROVINCE_CADRES}")
    _load_small_org(session)
    added: Counter[str] = Counter()
    unit_ids = _ensure_units(session, added)
    posts = _all_posts()
    position_ids = _ensure_positions(session, posts, unit_ids, added)
    generator = _Generator(seed, today, unit_ids, posts)
    chains = _CadreChains(session, added)
    new_codes = _add_cadres(session, generator, cadres, position_ids, added, chains)
    if added["cadres"] >= CHUNK:
        _refresh_statistics(session)
    _add_existing_posts(session, today, posts, position_ids, added, chains)
    months = _months_before(today, EVALUATED_MONTHS)
    _add_evaluations(session, seed, months, added, chains)
    _add_annual_grades(session, seed, today, added, chains)
    _add_planning(session, seed, today, posts, position_ids, added, chains)
    chains.close()
    if added["audit_events"] >= CHUNK:
        _refresh_statistics(session, (AuditEvent, AuditChain))
    logins = _add_province_logins(session, unit_ids, position_ids, added)
    _add_voting_bodies(session, unit_ids, added)
    if added:
        payload = {
            "province": PROVINCE_CODE,
            "seed": seed,
            "today": today.isoformat(),
            "cadres_requested": cadres,
            "cadre_codes": [new_codes[0], new_codes[-1]] if new_codes else None,
            "added": dict(sorted(added.items())),
        }
        append_events(session, SYSTEM_CHAIN, [PendingEvent("demo_loaded", payload)], actor=None)
    session.flush()
    return _summary(session, seed, months, logins, len(position_ids), added)


def _refresh_statistics(
    session: Session,
    tables: Sequence[type[Any]] = (
        Cadre,
        CadrePosition,
        DisciplineRecord,
        RotationRecord,
        EvaluationResult,
        PlanningEntry,
    ),
) -> None:
    """PostgreSQL plans by statistics that autovacuum refreshes only later: right after a bulk load it believes the
    tables nearly empty and picks nested loops over 50,000 rows, for the queries below and the app's first pages."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(model.__tablename__ for model in tables)}"))


# Communes merged on 1/7/2025 (two-level local government, domain rules §0): inactive, each linked to the commune it
# became, so that some cadres' hometowns are recorded as they were and the non-local figure has mergers to resolve.
FORMER_COMMUNES = (
    # code, name, type, the commune it became
    ("XC01", "Xã Kim Bình", UnitType.COMMUNE, "X006"),
    ("XC02", "Xã Đồng Tâm", UnitType.COMMUNE, "X006"),
    ("XC03", "Phường Thanh Bình", UnitType.WARD, "X003"),
    ("XC04", "Xã Nậm Xe", UnitType.COMMUNE, "X019"),
)
MERGED_ON = date(2025, 7, 1)
FORMER_HOMETOWN_SHARE = 0.4  # of the cadres from a commune that absorbed others


def _former_hometown(code: str, home: names.Commune | None) -> tuple[str, str] | None:
    """For some cadres from a commune that absorbed others, the former commune their record names: (code, name).
    Drawn from the cadre's code, not the generator, so every other value stays as it was."""
    formers = [(c, name) for c, name, _type, into in FORMER_COMMUNES if home is not None and into == home.code]
    draw, pick = _fractions(2, "former-hometown", code)
    return formers[int(pick * len(formers))] if formers and draw < FORMER_HOMETOWN_SHARE else None


def _ensure_units(session: Session, added: Counter[str]) -> dict[str, int]:
    specs = _unit_specs()
    existing = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_([s.code for s in specs])))}
    depth = {PROVINCE_CODE: 0}
    for spec in specs:
        if spec.code not in depth:
            depth[spec.code] = depth[spec.parent] + 1
    # One flush per depth: a unit's path needs its parent's id.
    for level in range(1, max(depth.values()) + 1):
        created = []
        for spec in specs:
            if depth[spec.code] != level or spec.code in existing:
                continue
            parent = existing[spec.parent]
            unit = OrgUnit(
                code=spec.code,
                name=spec.name,
                unit_type=str(spec.unit_type),
                parent_id=parent.id,
                path=f"{parent.path}{parent.id}/",
            )
            created.append(unit)
            existing[spec.code] = unit
        if created:
            session.add_all(created)
            session.flush()
            added["units"] += len(created)
    province = existing[PROVINCE_CODE]
    codes = [code for code, *_ in FORMER_COMMUNES]
    formers = dict(session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(codes))).tuples().all())
    for code, name, unit_type, into in FORMER_COMMUNES:
        if code not in formers:
            unit = OrgUnit(
                code=code,
                name=name,
                unit_type=str(unit_type),
                parent_id=province.id,
                path=f"{province.path}{province.id}/",
                is_active=False,
                active_to=MERGED_ON - timedelta(days=1),
                merged_into_id=existing[into].id,
                merged_on=MERGED_ON,
            )
            session.add(unit)
            session.flush()
            formers[code] = unit.id
            added["units"] += 1
    return {code: unit.id for code, unit in existing.items()} | formers


def _ensure_positions(
    session: Session, posts: list[_Post], unit_ids: dict[str, int], added: Counter[str]
) -> dict[tuple[str, str], int]:
    codes = {unit_id: code for code, unit_id in unit_ids.items()}

    def stored() -> dict[tuple[str, str], int]:
        rows = session.execute(
            select(Position.id, Position.unit_id, Position.title).where(Position.unit_id.in_(list(codes)))
        )
        return {(codes[row.unit_id], row.title): row.id for row in rows}

    known = stored()
    missing = [
        {
            "title": post.title.title,
            "unit_id": unit_ids[post.unit_code],
            "level": post.level,
            "is_leadership": post.title.is_leadership,
            "is_key_title": post.title.is_key_title,
            "requires_non_local": post.title.requires_non_local,
            "title_code": post.title.title_code,
            "is_province_managed": post.title.is_province_managed,
            "term_years": TERM_YEARS,
        }
        for post in posts
        if post.key not in known
    ]
    if missing:
        _bulk_insert(session, Position, missing, added, "positions")
        known = stored()
    return known


def _add_cadres(
    session: Session,
    generator: _Generator,
    cadres: int,
    position_ids: dict[tuple[str, str], int],
    added: Counter[str],
    chains: _CadreChains,
) -> list[str]:
    """Generated cadres not yet stored, with their posts, discipline and rotations, CHUNK at a time; each with the
    history records.py would have written for them."""
    existing = set(session.scalars(select(Cadre.code).where(Cadre.code.between(_FIRST_CODE, cadre_code(cadres)))))
    new_codes = []
    for start in range(1, cadres + 1, CHUNK):
        numbers = [n for n in range(start, min(start + CHUNK, cadres + 1)) if cadre_code(n) not in existing]
        if not numbers:
            continue
        batch = [generator.cadre(n) for n in numbers]
        _bulk_insert(session, Cadre, [g.row for g in batch], added, "cadres")
        codes = [g.row["code"] for g in batch]
        ids = dict(session.execute(select(Cadre.code, Cadre.id).where(Cadre.code.in_(codes))).tuples().all())
        held, discipline, rotations = [], [], []
        for g in batch:
            cadre_id = ids[g.row["code"]]
            for key, started, term_ends in g.posts:
                held.append(
                    {
                        "cadre_id": cadre_id,
                        "position_id": position_ids[key],
                        "started_on": started,
                        "ended_on": None,
                        "term_ends_on": term_ends,
                    }
                )
            discipline += [{"cadre_id": cadre_id, **record} for record in g.discipline]
            if g.rotation is not None:
                rotation = dict(g.rotation)
                key = rotation.pop("position_key")
                rotations.append({"cadre_id": cadre_id, "position_id": position_ids[key] if key else None, **rotation})
        for model, rows, name in (
            (CadrePosition, held, "positions_held"),
            (DisciplineRecord, discipline, "discipline_records"),
            (RotationRecord, rotations, "rotations"),
        ):
            _bulk_insert(session, model, rows, added, name)
        for g in batch:
            chains.start(ids[g.row["code"]], g.row)
        chains.record(
            CadreEvent.POSITION_ADDED, CadrePosition, held, _CADRE_POSITION_FIELDS, ("cadre_id", "position_id")
        )
        chains.record(
            CadreEvent.DISCIPLINE_ADDED, DisciplineRecord, discipline, _DISCIPLINE_FIELDS, ("cadre_id", "decided_on")
        )
        chains.record(
            CadreEvent.ROTATION_ADDED, RotationRecord, rotations, _ROTATION_FIELDS, ("cadre_id", "started_on")
        )
        # A past rotation was added, then ended: two changes, two events.
        ended = [row for row in rotations if row["ended_on"] is not None]
        chains.record(CadreEvent.ROTATION_ENDED, RotationRecord, ended, ("ended_on",), ("cadre_id", "started_on"))
        new_codes += codes
    return new_codes


def _add_existing_posts(
    session: Session,
    today: date,
    posts: list[_Post],
    position_ids: dict[tuple[str, str], int],
    added: Counter[str],
    chains: _CadreChains,
) -> None:
    titles = {post.key: post.title for post in posts}
    ids = dict(session.execute(select(Cadre.code, Cadre.id).where(Cadre.code.in_(EXISTING_POSTS))).tuples().all())
    held = set(
        session.execute(
            select(CadrePosition.cadre_id, CadrePosition.position_id).where(
                CadrePosition.cadre_id.in_(list(ids.values())), CadrePosition.ended_on.is_(None)
            )
        ).tuples()
    )
    rows = []
    for code, key in EXISTING_POSTS.items():
        if code in ids and (ids[code], position_ids[key]) not in held:
            started = add_months(today, -18)
            leader = titles[key].is_leadership
            term_ends = add_months(started, 12 * TERM_YEARS) - timedelta(days=1) if leader else None
            rows.append(
                {
                    "cadre_id": ids[code],
                    "position_id": position_ids[key],
                    "started_on": started,
                    "ended_on": None,
                    "term_ends_on": term_ends,
                }
            )
    _bulk_insert(session, CadrePosition, rows, added, "positions_held")
    # An earlier, ended holding of the same post is another record: match on the open one.
    match = ("cadre_id", "position_id", "ended_on")
    chains.record(CadreEvent.POSITION_ADDED, CadrePosition, rows, _CADRE_POSITION_FIELDS, match)


def _months_before(today: date, count: int) -> tuple[str, ...]:
    first = today.replace(day=1)
    return tuple(f"{add_months(first, -back):%Y-%m}" for back in range(count, 0, -1))


# Shares of the monthly grades (issue #4): about 12% HTXSNV, 62.5% HTTNV, 23% HTNV, 2.5% KHTNV.
_GRADE_BANDS = (
    (0.12, EvaluationGrade.HTXSNV.value, 90.0, 98.5),
    (0.745, EvaluationGrade.HTTNV.value, 70.0, 89.5),
    (0.975, EvaluationGrade.HTNV.value, 50.0, 69.5),
    (1.0, EvaluationGrade.KHTNV.value, 30.0, 49.5),
)
_KHTNV = _GRADE_BANDS[-1]


def _grade(seed: int, code: str, period: str, usual: float, disciplined: bool) -> tuple[str, float]:
    """A grade with a score inside its band (QĐ 366 / NĐ 335: ≥90, 70–<90, 50–<70, <50). Most cadres keep their
    `usual` grade from month to month; discipline decided in the month makes it KHTNV (NĐ 335 Điều 20 (c))."""
    habit, monthly, position = _fractions(3, seed, code, period)
    draw = usual if habit < 0.6 else monthly
    band = _KHTNV if disciplined else next(b for b in _GRADE_BANDS if draw < b[0])
    _, grade, low, high = band
    return grade, round(low + (high - low) * position, 2)


def _add_evaluations(
    session: Session, seed: int, months: tuple[str, ...], added: Counter[str], chains: _CadreChains
) -> None:
    """One result per demo cadre and month, for the months missing: a later load adds the months passed since."""
    done = set(
        session.execute(
            select(EvaluationResult.cadre_id, EvaluationResult.period).where(
                EvaluationResult.period_kind == PeriodKind.MONTH.value, EvaluationResult.period.in_(months)
            )
        ).tuples()
    )
    # A month opened as a real procedure (the demo opens the current one for Xã An Phú, and a later load covers it)
    # gets its result from that procedure: a generated one beside it would be a second grade for the month.
    opened = set(
        session.scalars(
            select(ProcessInstance.business_key).where(
                ProcessInstance.process_id == EVALUATION_PROCESS_ID,
                or_(*(ProcessInstance.business_key.startswith(f"{period}/") for period in months)),
            )
        )
    )
    window_start = date.fromisoformat(f"{months[0]}-01")
    disciplined = {
        (cadre_id, f"{decided:%Y-%m}")
        for cadre_id, decided in session.execute(
            select(DisciplineRecord.cadre_id, DisciplineRecord.decided_on).where(
                DisciplineRecord.decided_on >= window_start
            )
        ).tuples()
    }
    cadres = session.execute(
        select(Cadre.id, Cadre.code, Cadre.unit_id).where(_demo_cadre_filter()).order_by(Cadre.code)
    ).all()
    for start in range(0, len(cadres), CHUNK):
        rows = []
        for cadre_id, code, unit_id in cadres[start : start + CHUNK]:
            usual = _fraction(seed, code, "grade")
            for period in months:
                if (cadre_id, period) in done or f"{period}/{code}" in opened:
                    continue
                grade, score = _grade(seed, code, period, usual, (cadre_id, period) in disciplined)
                rows.append(
                    {
                        "cadre_id": cadre_id,
                        "period_kind": PeriodKind.MONTH.value,
                        "period": period,
                        "score": score,
                        "grade": grade,
                        "unit_id": unit_id,
                    }
                )
        _bulk_insert(session, EvaluationResult, rows, added, "evaluations")
        key = ("cadre_id", "period_kind", "period")
        extra = ("period_kind", "period")
        chains.record(CadreEvent.EVALUATION_RECORDED, EvaluationResult, rows, _EVALUATION_FIELDS, key, extra)


# Last year's grades (xếp loại chất lượng năm, NĐ 335), which an appointment checks (rules/appointment.py): most
# cadres complete their tasks well or excellently, a few only complete them or fall short.
_ANNUAL_BANDS = (
    (0.15, EvaluationGrade.HTXSNV.value, 90.0, 97.5),
    (0.93, EvaluationGrade.HTTNV.value, 72.0, 89.5),
    (0.985, EvaluationGrade.HTNV.value, 55.0, 69.5),
    (1.0, EvaluationGrade.KHTNV.value, 35.0, 49.5),
)
# The small organisation's cadres get a fixed grade, so that the demo can show both paths of an appointment: its
# candidates pass the annual-grade rule, except officer2's cadre (KHTNV), whose appointment needs the exception.
LOGIN_ANNUAL_GRADES = {
    "CB0001": EvaluationGrade.HTXSNV.value,
    "CB0002": EvaluationGrade.KHTNV.value,
    "CB0003": EvaluationGrade.HTTNV.value,
    "CB0004": EvaluationGrade.HTXSNV.value,
    "CB0005": EvaluationGrade.HTTNV.value,
    "CB0006": EvaluationGrade.HTTNV.value,
    "CB0007": EvaluationGrade.HTTNV.value,
}


def _annual_grade(seed: int, code: str, year: str, disciplined: bool) -> tuple[str, float]:
    """A cadre's grade of `year` and a score inside its band; KHTNV when disciplined in the year (NĐ 335 Điều 20)."""
    position = _fraction(seed, code, year, "annual")
    if disciplined:
        band = _ANNUAL_BANDS[-1]
    elif code in LOGIN_ANNUAL_GRADES:
        band = next(b for b in _ANNUAL_BANDS if b[1] == LOGIN_ANNUAL_GRADES[code])
    else:
        band = next(b for b in _ANNUAL_BANDS if _fraction(seed, code, "grade") < b[0])
    _, grade, low, high = band
    return grade, round(low + (high - low) * position, 2)


def _add_annual_grades(session: Session, seed: int, today: date, added: Counter[str], chains: _CadreChains) -> None:
    """Last year's grade for each demo cadre that has none yet, as an annual grading run would have recorded it."""
    year = str(today.year - 1)
    done = set(
        session.scalars(
            select(EvaluationResult.cadre_id).where(
                EvaluationResult.period_kind == PeriodKind.YEAR.value, EvaluationResult.period == year
            )
        )
    )
    disciplined = set(
        session.scalars(
            select(DisciplineRecord.cadre_id).where(
                DisciplineRecord.decided_on.between(date(int(year), 1, 1), date(int(year), 12, 31))
            )
        )
    )
    cadres = session.execute(
        select(Cadre.id, Cadre.code, Cadre.unit_id).where(_demo_cadre_filter()).order_by(Cadre.code)
    ).all()
    for start in range(0, len(cadres), CHUNK):
        rows = []
        for cadre_id, code, unit_id in cadres[start : start + CHUNK]:
            if cadre_id in done:
                continue
            grade, score = _annual_grade(seed, code, year, cadre_id in disciplined)
            rows.append(
                {
                    "cadre_id": cadre_id,
                    "period_kind": PeriodKind.YEAR.value,
                    "period": year,
                    "score": score,
                    "grade": grade,
                    "unit_id": unit_id,
                }
            )
        _bulk_insert(session, EvaluationResult, rows, added, "annual_grades")
        key = ("cadre_id", "period_kind", "period")
        extra = ("period_kind", "period")
        chains.record(CadreEvent.EVALUATION_RECORDED, EvaluationResult, rows, _EVALUATION_FIELDS, key, extra)


@dataclass
class _Candidate:
    cadre_id: int
    code: str
    eligible: bool
    holds: set[int]


def _add_planning(
    session: Session,
    seed: int,
    today: date,
    posts: list[_Post],
    position_ids: dict[tuple[str, str], int],
    added: Counter[str],
    chains: _CadreChains,
) -> None:
    """A planning list for the next term, read from what is stored (so it also fits cadres made by earlier loads).

    Each leadership title without planned cadres gets one to three from the one or two ranks below it in the same
    body (for titles that must go to someone non-local, also from the rank below in other communes), within the
    QĐ 377 limits of 3 cadres per title and 3 titles per cadre at one level. Planned cadres are party members with
    a degree who can serve the whole term and have no discipline in effect."""
    post_of = {position_ids[p.key]: p for p in posts}
    ranked = {pid: p for pid, p in post_of.items() if p.title.rank > 0}
    holds: dict[int, set[int]] = defaultdict(set)
    for cadre_id, position_id in session.execute(
        select(CadrePosition.cadre_id, CadrePosition.position_id).where(CadrePosition.ended_on.is_(None))
    ).tuples():
        holds[cadre_id].add(position_id)
    disciplined = set(
        session.scalars(
            select(DisciplineRecord.cadre_id).where(
                DisciplineRecord.decided_on <= today,
                or_(DisciplineRecord.expires_on.is_(None), DisciplineRecord.expires_on > today),
            )
        )
    )
    # Pools of candidates by (body, rank): a commune, a provincial unit, or the whole province.
    pools: dict[tuple[str, int], list[_Candidate]] = defaultdict(list)
    rows = session.execute(
        select(
            Cadre.id,
            Cadre.code,
            Cadre.is_active,
            Cadre.is_party_member,
            Cadre.education_level,
            Cadre.retirement_date,
        )
        .where(_demo_cadre_filter())
        .order_by(Cadre.code)
    )
    for cadre_id, code, active, member, education, retires in rows:
        held = [ranked[pid] for pid in holds.get(cadre_id, ()) if pid in ranked]
        if not held:
            continue
        post = min(held, key=lambda p: p.title.rank)
        eligible = (
            bool(active)
            and bool(member)
            and education in _UNIVERSITY
            and retires is not None
            and retires > PLANNING_TERM_LAST_DAY
            and cadre_id not in disciplined
        )
        candidate = _Candidate(cadre_id, code, eligible, holds[cadre_id])
        if post.commune is not None:
            pools[(post.commune.code, post.title.rank)].append(candidate)
        else:
            pools[(post.unit_code, post.title.rank)].append(candidate)
            pools[(PROVINCE_CODE, post.title.rank)].append(candidate)

    planned = Counter[int]()
    per_cadre_level = Counter[tuple[int, str]]()
    for cadre_id, position_id, level in session.execute(
        select(PlanningEntry.cadre_id, PlanningEntry.position_id, Position.level)
        .join(Position, Position.id == PlanningEntry.position_id)
        .where(PlanningEntry.term == PLANNING_TERM, PlanningEntry.status == PlanningStatus.ACTIVE.value)
    ).tuples():
        planned[position_id] += 1
        per_cadre_level[(cadre_id, level)] += 1

    entries = []
    targets = sorted((p for p in post_of.values() if p.title.is_leadership), key=lambda p: p.title.rank)
    for post in targets:
        position_id = position_ids[post.key]
        if planned[position_id]:
            continue
        wanted = 3 if (size := _fraction(seed, "planning", *post.key)) < 0.5 else 2 if size < 0.85 else 1
        rank = post.title.rank
        if post.commune is not None:
            near = pools[(post.commune.code, rank + 1)]
            if post.title.requires_non_local:
                near = near + [
                    c for other in names.COMMUNES if other is not post.commune for c in pools[(other.code, rank + 1)]
                ]
            tiers = [near, pools[(post.commune.code, rank + 2)]]
        else:
            body = post.unit_code if rank >= 4 else PROVINCE_CODE
            tiers = [pools[(body, rank + 1)], pools[(body, rank + 2)]]
        chosen: list[_Candidate] = []
        for tier in tiers:
            fitting = [
                c
                for c in tier
                if c.eligible
                and position_id not in c.holds
                and per_cadre_level[(c.cadre_id, post.level)] < MAX_TITLES_PER_CADRE_AND_LEVEL
            ]
            fitting.sort(key=lambda c: _fraction(seed, "planned", *post.key, c.code))
            chosen += fitting[: wanted - len(chosen)]
            if len(chosen) >= wanted:
                break
        for candidate in chosen[:MAX_CADRES_PER_TITLE]:
            per_cadre_level[(candidate.cadre_id, post.level)] += 1
            planned[position_id] += 1
            entries.append(
                {
                    "cadre_id": candidate.cadre_id,
                    "position_id": position_id,
                    "term": PLANNING_TERM,
                    "status": PlanningStatus.ACTIVE.value,
                    "added_on": today - timedelta(days=30 + int(300 * _fraction(seed, "added", *post.key))),
                }
            )
    _bulk_insert(session, PlanningEntry, entries, added, "planning_entries")
    key = ("cadre_id", "position_id", "term", "status")
    chains.record(CadreEvent.PLANNING_ADDED, PlanningEntry, entries, _PLANNING_FIELDS, key)


def _add_province_logins(
    session: Session, unit_ids: dict[str, int], position_ids: dict[tuple[str, str], int], added: Counter[str]
) -> tuple[DemoLogin, ...]:
    """The logins of PROVINCE_LOGINS and COLLECTIVE_LOGINS whose cadre exists (a very small load may not have them
    all)."""
    logins = []
    password_hash = None
    for login in (*PROVINCE_LOGINS, *COLLECTIVE_LOGINS):
        user = session.scalar(select(User).where(User.username == login.username))
        if user is None:
            # The seat's holder is the lowest-numbered cadre of the post without a login (PROVINCE_LOGINS' seats come
            # first in the roster).
            cadre = session.scalar(
                select(Cadre)
                .join(CadrePosition, CadrePosition.cadre_id == Cadre.id)
                .outerjoin(User, User.cadre_id == Cadre.id)
                .where(
                    CadrePosition.position_id == position_ids[login.seat],
                    CadrePosition.ended_on.is_(None),
                    Cadre.code.between(_FIRST_CODE, _LAST_CODE),
                    User.id.is_(None),
                )
                .order_by(Cadre.code)
                .limit(1)
            )
            if cadre is None:
                continue
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            unit_id = unit_ids[login.unit_code]
            user = User(
                username=login.username,
                full_name=cadre.full_name,
                password_hash=password_hash,
                unit_id=unit_id,
                cadre_id=cadre.id,
            )
            session.add(user)
            session.flush()
            for role in login.roles:
                role_unit = unit_ids[PROVINCE_CODE] if role in PROVINCE_WIDE else unit_id
                session.add(RoleAssignment(user_id=user.id, role=role, unit_id=role_unit))
            added["users"] += 1
        code = session.scalar(select(Cadre.code).where(Cadre.id == user.cadre_id)) if user.cadre_id else None
        logins.append(DemoLogin(login.username, user.full_name, login.unit_code, login.roles, code, login.description))
    return tuple(logins)


# The bodies a demo ballot summons (decision 0122): an appointment to a post of Ủy ban nhân dân xã An Phú holds its
# conferences there, and the demo has four logins among its leaders, so each body of that committee is these four.
DEMO_BODY_UNIT = "X001-UB"
DEMO_BODY_LOGINS = ("supervisor4", "head4", "head5", "head6")
DEMO_BODIES = (BodyKind.LEADERSHIP, BodyKind.EXPANDED_LEADERSHIP, BodyKind.KEY_CADRES)


def _add_voting_bodies(session: Session, unit_ids: dict[str, int], added: Counter[str]) -> None:
    """The demo committee's voting bodies, from the collective's logins; a body already kept is left alone."""
    users = list(session.scalars(select(User).where(User.username.in_(DEMO_BODY_LOGINS))))
    unit_id = unit_ids.get(DEMO_BODY_UNIT)
    if unit_id is None or not users:
        return
    for kind in DEMO_BODIES:
        if seed_voting_body(session, unit_id, kind, users):
            added["voting_body_members"] += len(users)


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _summary(
    session: Session,
    seed: int,
    months: Sequence[str],
    logins: tuple[DemoLogin, ...],
    positions: int,
    added: Counter[str],
) -> DemoSummary:
    province = session.scalars(select(OrgUnit).where(OrgUnit.code == PROVINCE_CODE)).one()
    in_province = in_subtree(OrgUnit, province.id)
    cadres = select(func.count(Cadre.id)).join(OrgUnit, Cadre.unit_id == OrgUnit.id).where(in_province)
    total = session.scalar(cadres) or 0
    women = session.scalar(cadres.where(Cadre.gender == _FEMALE)) or 0
    minorities = session.scalar(cadres.where(Cadre.ethnicity.is_not(None), Cadre.ethnicity != names.KINH)) or 0
    planned = select(func.count(PlanningEntry.id))
    return DemoSummary(
        province=province.name,
        seed=seed,
        units=session.scalar(select(func.count(OrgUnit.id)).where(in_province)) or 0,
        positions=positions,
        cadres=total,
        cadres_added=added["cadres"],
        women_percent=_percent(women, total),
        minority_percent=_percent(minorities, total),
        disciplined=session.scalar(select(func.count(func.distinct(DisciplineRecord.cadre_id)))) or 0,
        rotations=session.scalar(select(func.count(RotationRecord.id))) or 0,
        planning_term=PLANNING_TERM,
        planning_entries=session.scalar(
            planned.where(PlanningEntry.term == PLANNING_TERM, PlanningEntry.status == PlanningStatus.ACTIVE.value)
        )
        or 0,
        evaluated_months=tuple(months),
        evaluations=session.scalar(
            select(func.count(EvaluationResult.id)).where(
                EvaluationResult.period_kind == PeriodKind.MONTH.value, EvaluationResult.period.in_(months)
            )
        )
        or 0,
        logins=logins,
        added=dict(sorted(added.items())),
    )
