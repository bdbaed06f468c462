"""Rotation (luân chuyển, issue #7) eligibility under QĐ 65-QĐ/TW and NĐ 170/2025 Điều 47–50: one result per rule.

Pure functions of plain data: nothing reads the database or the clock (`workflows.rotation.facts` gathers the facts
from the registry). Sources: QĐ 65-QĐ/TW (2022) Điều 4–8, NĐ 170/2025/NĐ-CP Điều 48, the provincial resolutions of
the seeds (non-local commune key posts; no commune key post for weak cadres) — domain rules §4. Everything the domain
reference tags [P] or [U] is a field of `RotationPolicy` with a documented default.

`check_rotation` returns one `RuleResult` (the appointment module's) per rule in `ROTATION_RULES` order, passed or
not, with a Vietnamese message carrying the numbers and dates it compared. Rules that do not concern the post (the
non-local rule for a post that does not require it) pass with a message saying why.

Equivalent posts. A rotation normally keeps an equivalent post; commune and provincial titles must then be compared,
which the appointment ranks (commune 11–19, province 31–39) cannot do. `DEFAULT_ROTATION_RANKS` is that table with the
commune key titles placed on the provincial scale [U — the equivalence after the 2025 reform is the province's
decision]: bí thư xã ≡ giám đốc sở (32); phó bí thư, chủ tịch UBND xã ≡ phó giám đốc sở (31); phó chủ tịch UBND,
chủ nhiệm UBKT, chủ tịch MTTQ xã ≡ 30 (trưởng phòng thuộc sở, no title code of its own yet).

`planned_end_on` is the last day of the rotation: 01/07/2026 to 30/06/2029 is 36 months.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from workflows.errors import N_, Problem
from workflows.rules.appointment import (
    DEFAULT_TITLE_RANKS,
    PlannedTitle,
    RuleResult,
    format_date,
    months_between,
)
from workflows.rules.evaluation import GRADE_LABELS, GRADES, KHTNV
from workflows.rules.retirement import DEFAULT_SCHEDULE, RetirementSchedule, add_months, months_until_retirement
from workflows.rules.settings import check_settings, is_whole, merged_settings, whole_setting
from workflows.rules.step_deadlines import ROTATION_STEP_WORKING_DAYS, merged_step_days, step_days_problems

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_PURPOSES",
    "DEFAULT_ROTATION_RANKS",
    "MET_BY_A_DECISION_AT_THE_CHECK",
    "ROTATION_RULES",
    "RULE_CAPABILITY",
    "RULE_DURATION",
    "RULE_EQUIVALENT_POST",
    "RULE_NON_LOCAL",
    "RULE_NO_NEW_POST",
    "RULE_PLANNING",
    "RULE_PURPOSE",
    "RULE_SERVICE_LEFT",
    "RULE_UNITS",
    "RotationFacts",
    "RotationPolicy",
    "check_rotation",
    "exceptable",
    "near_today",
    "period_problems",
    "rotation_months",
    "start_blockers",
    "stopping_rules",
]

RULE_PLANNING = "planning"
RULE_SERVICE_LEFT = "service_left"
RULE_PURPOSE = "purpose"
RULE_UNITS = "units"
RULE_EQUIVALENT_POST = "equivalent_post"
RULE_NO_NEW_POST = "no_new_post"
RULE_DURATION = "duration"
RULE_CAPABILITY = "commune_key_post_capability"
RULE_NON_LOCAL = "non_local"
ROTATION_RULES = (
    RULE_PLANNING,
    RULE_SERVICE_LEFT,
    RULE_PURPOSE,
    RULE_UNITS,
    RULE_EQUIVALENT_POST,
    RULE_NO_NEW_POST,
    RULE_DURATION,
    RULE_CAPABILITY,
    RULE_NON_LOCAL,
)

# QĐ 65 Điều 4 [V] S50: who is rotated and why; "other" is decided by the competent authority (a note is required).
DEFAULT_PURPOSES: Mapping[str, str] = {
    "training": "đào tạo, rèn luyện cán bộ trong quy hoạch",
    "non_local": "bố trí cán bộ chủ chốt không là người địa phương",
    "term_limit": "người đứng đầu không giữ chức vụ quá 2 nhiệm kỳ liên tiếp ở một địa phương, cơ quan",
    "other": "trường hợp khác do cấp có thẩm quyền quyết định",
}

DEFAULT_ROTATION_RANKS: dict[str, int] = {
    **DEFAULT_TITLE_RANKS,
    "commune_party_secretary": 32,
    "commune_deputy_party_secretary": 31,
    "commune_pc_chair": 31,
    "commune_pc_vice_chair": 30,
    "commune_inspection_chair": 30,
    "commune_front_chair": 30,
}

MAX_MONTHS = 600

_SOURCE_PLANNING = "QĐ 65-QĐ/TW: cán bộ luân chuyển phải trong quy hoạch, có phẩm chất, năng lực, triển vọng phát triển"
_SOURCE_SERVICE = "QĐ 65-QĐ/TW Điều 5: còn ít nhất 10 năm công tác tính từ thời điểm luân chuyển"
_SOURCE_PURPOSE = "QĐ 65-QĐ/TW Điều 4 (đối tượng, mục đích luân chuyển)"
_SOURCE_UNITS = "QĐ 65-QĐ/TW Điều 4 (phạm vi luân chuyển: giữa các cấp, địa phương, cơ quan)"
_SOURCE_POST = "QĐ 65-QĐ/TW Điều 5: bố trí chức vụ tương đương; cao hơn khi cấp có thẩm quyền quyết định"
_SOURCE_NEW_POST = "QĐ 65-QĐ/TW: không bố trí thêm chức danh để luân chuyển (trừ khi Bộ Chính trị quyết định)"
_SOURCE_DURATION = "NĐ 170/2025/NĐ-CP Điều 48; QĐ 65-QĐ/TW Điều 8: thời gian luân chuyển ít nhất 3 năm"
_SOURCE_CAPABILITY = (
    "NQ 05-NQ/TU (Lai Châu) mục II.2.1: không điều động cán bộ năng lực hạn chế, uy tín thấp về giữ chức danh "
    "chủ chốt cấp xã"
)
_SOURCE_NON_LOCAL = (
    "NQ 06-NQ/TU mục II.3; NQ 05-NQ/TU mục II.2.1: bí thư, chủ tịch UBND, chủ nhiệm UBKT cấp xã không là người "
    "địa phương"
)


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RotationPolicy:
    """The configurable values of the rotation rules; every default carries its source or tag.

    `RotationPolicy(...)` and `from_mapping` both refuse an inconsistent policy with `Invalid`, one `Problem` per
    bad setting."""

    # QĐ 65 [V] S49, S50: ≥ 10 years of service left at the time of rotation.
    min_months_of_service_left: int = 120
    # NĐ 170 Điều 48 [V] S38, QĐ 65 Điều 8 [P]: each rotation lasts ≥ 3 years.
    min_duration_months: int = 36
    # QĐ 65 [V] S52: a rotated cadre must be in planning. Purposes listed here are exempt [U] (none by default).
    planning_exempt_purposes: tuple[str, ...] = ()
    # QĐ 65 Điều 4 [V] S50: the purposes a rotation may state; key → Vietnamese description.
    purposes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PURPOSES))
    # Purposes that need a written note of the competent authority's decision.
    purposes_needing_note: tuple[str, ...] = ("other",)
    # QĐ 65 [V] S50: a higher post only by the competent authority (its recorded exception). A lower post [U].
    allow_lower_post: bool = False
    # title_code → rank on one scale for every level [U]; see DEFAULT_ROTATION_RANKS.
    title_ranks: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_ROTATION_RANKS))
    # Titles held by one person at a time: rotating onto an occupied one would add a post [U].
    single_holder_titles: tuple[str, ...] = (
        "commune_party_secretary",
        "commune_pc_chair",
        "commune_inspection_chair",
        "commune_front_chair",
        "province_party_secretary",
        "province_pc_chair",
        "province_inspection_chair",
        "province_organisation_head",
        "province_office_chief",
        "province_front_chair",
        "department_director",
    )
    # Commune key posts (chủ chốt) barred to weak cadres, besides posts flagged is_key_title (seed 001 [V]).
    commune_key_titles: tuple[str, ...] = (
        "commune_party_secretary",
        "commune_deputy_party_secretary",
        "commune_pc_chair",
        "commune_pc_vice_chair",
        "commune_inspection_chair",
        "commune_front_chair",
    )
    # "Năng lực hạn chế": the latest annual grades that bar a commune key post (seed 001 [V], KHTNV per issue #7).
    barred_grades: tuple[str, ...] = (KHTNV,)
    # Non-local posts, besides those flagged requires_non_local (seeds 000, 001, 002 [V]/[P]).
    non_local_titles: tuple[str, ...] = ("commune_party_secretary", "commune_pc_chair", "commune_inspection_chair")
    # Failed rules the competent authority may set aside with a recorded reason: QĐ 65 [V] S49, S50 leave "special
    # cases" of the remaining service and a higher post to it; the provincial non-local and capability rules, the
    # planning requirement and "no new post" (only the Politburo) are not its to waive [U: the list is the province's].
    exceptable_rules: tuple[str, ...] = (RULE_SERVICE_LEFT, RULE_EQUIVALENT_POST)
    # The end-of-rotation review opens this many days before the last day (QĐ 65 Điều 6: the deciding authority
    # reviews the rotated cadre and places them afterwards; NĐ 170 Điều 50) [U: the lead time is not set by law].
    review_lead_days: int = 60
    # How far from today the first day of a rotation may lie: recorded late, or planned ahead [U: no rule bounds it;
    # the window only catches a mistyped year such as 0001 or 9000].
    max_months_started_before_today: int = 24
    max_months_starting_after_today: int = 60
    # The longest rotation: NĐ 170 Điều 48 [V] S38 sets only the minimum, so no rule bounds it [U]; the default is
    # the longest period these rules count in (MAX_MONTHS).
    max_duration_months: int = MAX_MONTHS
    # Working days each step has from the day it opens [U] (rules/step_deadlines.py; decision 0139).
    step_working_days: Mapping[str, int] = field(default_factory=lambda: dict(ROTATION_STEP_WORKING_DAYS))

    def __post_init__(self) -> None:
        check_settings(self, _policy_problems, N_("the rotation settings are not valid"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RotationPolicy:
        """Settings as JSON (admin configuration); every bad value is reported, not only the first."""
        merged = merged_settings(
            DEFAULT_POLICY, values, _policy_problems, N_("the rotation settings are not valid"), convert=_as_given
        )
        merged["purposes"] = dict(merged["purposes"])
        merged["title_ranks"] = dict(merged["title_ranks"])
        merged["step_working_days"] = dict(merged["step_working_days"])
        for f in dataclasses.fields(cls):  # a list as JSON keeps it is the tuple the policy holds
            if isinstance(getattr(DEFAULT_POLICY, f.name), tuple):
                merged[f.name] = tuple(merged[f.name])
        return cls(**merged)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready settings; `from_mapping(p.to_mapping()) == p`."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = (
                list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) else value
            )
        return data

    def rank_of(self, title_code: str | None) -> int | None:
        return self.title_ranks.get(title_code) if title_code else None


def _as_given(name: str, value: Any, default: Any) -> tuple[Any, list[Problem]]:
    if name == "step_working_days":
        return merged_step_days(default, value), []
    return value, []


def _policy_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    whole_in = partial(whole_setting, values, problems)

    def texts(name: str) -> list[str]:
        value = values[name]
        if not isinstance(value, tuple | list) or not all(isinstance(v, str) and v for v in value):
            problems.append(Problem("expected a list", field=name))
            return []
        return list(value)

    problems.extend(step_days_problems(values["step_working_days"], ROTATION_STEP_WORKING_DAYS))
    whole_in("min_months_of_service_left", 0, MAX_MONTHS)
    whole_in("min_duration_months", 1, MAX_MONTHS)
    whole_in("review_lead_days", 0, 3650)
    whole_in("max_months_started_before_today", 0, MAX_MONTHS)
    whole_in("max_months_starting_after_today", 0, MAX_MONTHS)
    shortest, longest = values["min_duration_months"], values["max_duration_months"]
    if whole_in("max_duration_months", 1, MAX_MONTHS) and is_whole(shortest) and longest < shortest:
        problems.append(Problem("must not be less than min_duration_months", field="max_duration_months"))
    for rule in texts("exceptable_rules"):
        if rule not in ROTATION_RULES:
            problems.append(Problem("unknown value", field=f"exceptable_rules.{rule}"))
    purposes = values["purposes"]
    if not isinstance(purposes, Mapping) or not purposes:
        problems.append(Problem("expected an object of settings", field="purposes"))
        known: set[str] = set()
    else:
        known = set(purposes)
        for key, text in purposes.items():
            if not isinstance(key, str) or not key or not isinstance(text, str) or not text.strip():
                problems.append(Problem("expected a text", field=f"purposes.{key}"))
    for name in ("planning_exempt_purposes", "purposes_needing_note"):
        for item in texts(name):
            if known and item not in known:
                problems.append(Problem("unknown value", field=f"{name}.{item}"))
    if not isinstance(values["allow_lower_post"], bool):
        problems.append(Problem("expected true or false", field="allow_lower_post"))
    ranks = values["title_ranks"]
    if not isinstance(ranks, Mapping):
        problems.append(Problem("expected an object of settings", field="title_ranks"))
    else:
        for code, rank in ranks.items():
            if not isinstance(code, str) or not code or not is_whole(rank) or not 0 <= rank <= 1000:
                problems.append(Problem("the value is outside the allowed range", field=f"title_ranks.{code}"))
    texts("single_holder_titles")
    texts("commune_key_titles")
    texts("non_local_titles")
    for grade in texts("barred_grades"):
        if grade not in GRADES:
            problems.append(Problem("unknown value", field=f"barred_grades.{grade}"))
    return problems


DEFAULT_POLICY = RotationPolicy()


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RotationFacts:
    """What the rules need about a candidate and the proposed rotation (see
    `workflows.rotation.facts.rotation_facts`)."""

    cadre_name: str
    birth_date: date | None
    gender: str | None
    planned: tuple[PlannedTitle, ...]  # active planning entries
    from_unit_id: int
    from_unit_name: str
    to_unit_id: int
    to_unit_name: str
    starts_on: date
    planned_end_on: date | None  # the last day
    purpose: str | None
    purpose_note: str | None = None
    to_unit_active: bool = True
    # The cadre's most senior leadership post on the start day (None: no leadership post).
    current_title: str | None = None
    current_title_code: str | None = None
    # The post at the receiving unit (None: not named yet).
    target_position_id: int | None = None
    target_in_receiving_unit: bool = True  # the post belongs to the receiving unit or a unit below it
    target_title: str | None = None
    target_title_code: str | None = None
    target_level: str | None = None
    target_is_key_title: bool = False
    target_requires_non_local: bool = False
    target_created_on: date | None = None
    target_holders: tuple[str, ...] = ()  # other people holding the post on the start day
    plan_approved_on: date | None = None  # the rotation plan's approval (a post created after it was added for it)
    higher_post_exception: str | None = None  # the competent authority's recorded reason for a higher post
    new_post_exception: str | None = None  # the Politburo's decision allowing an added post
    latest_annual_grade: str | None = None
    latest_annual_period: str | None = None
    low_capability_reason: str | None = None  # "năng lực hạn chế, uy tín thấp" as the record shows it
    hometown: str | None = None  # the recorded hometown, for the message
    hometown_commune_id: int | None = None  # the commune the hometown is today (2025 mergers followed)
    receiving_commune_id: int | None = None  # the commune of the receiving unit (None at province level)
    receiving_commune_name: str | None = None


def rotation_months(starts_on: date, planned_end_on: date) -> int:
    """Completed months from the first to the last day inclusive: 01/07/2026–30/06/2029 is 36."""
    return months_between(starts_on, planned_end_on + timedelta(days=1))


# A setting [U]: no rule bounds how late a rotation is recorded or how far ahead it is planned.
def near_today(day: date, *, today: date, policy: RotationPolicy = DEFAULT_POLICY) -> bool:
    """Whether a rotation may start (or its decision take effect) on `day`: from `max_months_started_before_today`
    before `today` to `max_months_starting_after_today` after it."""
    earliest = add_months(today, -policy.max_months_started_before_today)
    return earliest <= day <= add_months(today, policy.max_months_starting_after_today)


# NĐ 170 Điều 48 [V] S38: ≥ 36 months; the window around today and the longest rotation are settings [U].
def period_problems(
    starts_on: date | None, planned_end_on: date | None, *, today: date, policy: RotationPolicy = DEFAULT_POLICY
) -> list[Problem]:
    """The first and last day of a proposed rotation, checked before anything is counted: both given; the first
    within `max_months_started_before_today` before and `max_months_starting_after_today` after `today`; the last
    not before the first, the rotation at least `min_duration_months` and at most `max_duration_months` long. One
    problem per field (`starts_on`, `planned_end_on`); an empty list when the period may be proposed."""
    problems: list[Problem] = []
    if starts_on is None:
        problems.append(Problem("Enter the first day of the rotation.", field="starts_on"))
    if planned_end_on is None:
        problems.append(Problem("Enter the last day of the rotation.", field="planned_end_on"))
    if starts_on is None or planned_end_on is None:
        return problems
    outside = not near_today(starts_on, today=today, policy=policy)
    if outside:
        problems.append(
            Problem("The first day of the rotation is too far from today: check the year.", field="starts_on")
        )
    if planned_end_on < starts_on:
        problems.append(Problem("The last day cannot be before the first.", field="planned_end_on"))
    elif outside:
        pass  # the months from a first day outside the window mean nothing (and may not be countable)
    elif planned_end_on >= add_months(starts_on, policy.max_duration_months):
        problems.append(
            Problem(
                "The rotation is longer than the longest the settings allow: check the year of the last day.",
                field="planned_end_on",
            )
        )
    elif rotation_months(starts_on, planned_end_on) < policy.min_duration_months:
        problems.append(
            Problem(
                "The rotation is shorter than the minimum set (NĐ 170 Điều 48: at least 36 months).",
                field="planned_end_on",
            )
        )
    return problems


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------
# QĐ 65 [V] S52: "Cán bộ luân chuyển phải trong quy hoạch".
def _check_planning(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    if facts.planned:
        listed = "; ".join(p.title for p in facts.planned)
        return RuleResult(RULE_PLANNING, True, f"Đang trong quy hoạch: {listed}", _SOURCE_PLANNING)
    if facts.purpose in policy.planning_exempt_purposes:
        label = policy.purposes.get(facts.purpose or "", facts.purpose)
        return RuleResult(
            RULE_PLANNING, True, f"Chưa trong quy hoạch; luân chuyển để {label} không yêu cầu", _SOURCE_PLANNING
        )
    return RuleResult(
        RULE_PLANNING, False, f"{facts.cadre_name} chưa có trong quy hoạch chức danh nào", _SOURCE_PLANNING
    )


# QĐ 65 [V] S49, S50: ≥ 10 years (120 months) of service left at the start of the rotation.
def _check_service_left(facts: RotationFacts, policy: RotationPolicy, schedule: RetirementSchedule) -> RuleResult:
    need = policy.min_months_of_service_left
    if facts.birth_date is None or facts.gender not in ("male", "female"):
        return RuleResult(
            RULE_SERVICE_LEFT,
            False,
            "Hồ sơ thiếu ngày sinh hoặc giới tính, không tính được thời gian công tác còn lại",
            _SOURCE_SERVICE,
        )
    left = months_until_retirement(facts.birth_date, facts.gender, facts.starts_on, schedule)
    when = f"tính từ ngày luân chuyển {format_date(facts.starts_on)}"
    if left >= need:
        message = f"Còn {left} tháng công tác {when}, đủ ít nhất {need} tháng"
    else:
        message = f"Còn {max(left, 0)} tháng công tác {when}, cần ít nhất {need} tháng"
    return RuleResult(RULE_SERVICE_LEFT, left >= need, message, _SOURCE_SERVICE)


# QĐ 65 Điều 4 [V] S50: the rotation states one of its purposes; "other" cases carry the authority's note.
def _check_purpose(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    if not facts.purpose:
        return RuleResult(RULE_PURPOSE, False, "Chưa ghi mục đích luân chuyển", _SOURCE_PURPOSE)
    label = policy.purposes.get(facts.purpose)
    if label is None:
        known = "; ".join(policy.purposes.values())
        return RuleResult(
            RULE_PURPOSE, False, f"Mục đích “{facts.purpose}” không thuộc các mục đích: {known}", _SOURCE_PURPOSE
        )
    note = (facts.purpose_note or "").strip()
    if facts.purpose in policy.purposes_needing_note and not note:
        return RuleResult(
            RULE_PURPOSE, False, f"Mục đích “{label}” cần ghi rõ căn cứ quyết định của cấp có thẩm quyền",
            _SOURCE_PURPOSE,
        )  # fmt: skip
    suffix = f" ({note})" if note else ""
    return RuleResult(RULE_PURPOSE, True, f"Luân chuyển để {label}{suffix}", _SOURCE_PURPOSE)


# QĐ 65 Điều 4 [V] S50: a rotation moves between levels, localities or bodies — to another, active unit.
def _check_units(facts: RotationFacts) -> RuleResult:
    if facts.to_unit_id == facts.from_unit_id:
        return RuleResult(
            RULE_UNITS, False, f"Đơn vị tiếp nhận trùng đơn vị cử đi ({facts.from_unit_name})", _SOURCE_UNITS
        )
    if not facts.to_unit_active:
        return RuleResult(
            RULE_UNITS, False, f"Đơn vị tiếp nhận {facts.to_unit_name} không còn hoạt động", _SOURCE_UNITS
        )
    if facts.target_position_id is not None and not facts.target_in_receiving_unit:
        return RuleResult(
            RULE_UNITS,
            False,
            f"Chức vụ {facts.target_title or facts.target_position_id} không thuộc {facts.to_unit_name}",
            _SOURCE_UNITS,
        )
    return RuleResult(RULE_UNITS, True, f"Từ {facts.from_unit_name} đến {facts.to_unit_name}", _SOURCE_UNITS)


# QĐ 65 [V] S50: normally an equivalent post; a higher one only with the competent authority's recorded exception.
def _check_post(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    if facts.target_position_id is None:
        return RuleResult(
            RULE_EQUIVALENT_POST, False, "Chưa xác định chức vụ bố trí tại đơn vị tiếp nhận", _SOURCE_POST
        )
    target = facts.target_title or "chức vụ bố trí"
    target_rank = policy.rank_of(facts.target_title_code)
    if facts.current_title is None:
        current_rank = None
        relation = "higher"
        current = "chưa giữ chức vụ lãnh đạo, quản lý"
    else:
        current_rank = policy.rank_of(facts.current_title_code)
        current = f"đang giữ {facts.current_title}"
        if target_rank is None or current_rank is None:
            return RuleResult(
                RULE_EQUIVALENT_POST,
                False,
                f"Không so sánh được {target} với chức vụ {facts.current_title} "
                "(chức danh chưa được xếp bậc trong cấu hình)",
                _SOURCE_POST,
            )
        relation = "equal" if target_rank == current_rank else "higher" if target_rank > current_rank else "lower"
    if relation == "equal":
        return RuleResult(
            RULE_EQUIVALENT_POST, True, f"{target} tương đương chức vụ {facts.current_title}", _SOURCE_POST
        )
    if relation == "lower":
        message = f"{target} thấp hơn chức vụ {facts.current_title}"
        if policy.allow_lower_post:
            return RuleResult(RULE_EQUIVALENT_POST, True, message + " (cho phép theo cấu hình)", _SOURCE_POST)
        return RuleResult(RULE_EQUIVALENT_POST, False, message + ": luân chuyển giữ chức vụ tương đương", _SOURCE_POST)
    reason = (facts.higher_post_exception or "").strip()
    if reason:
        message = f"{target} cao hơn ({current}); cấp có thẩm quyền quyết định: {reason}"
        return RuleResult(RULE_EQUIVALENT_POST, True, message, _SOURCE_POST)
    message = f"{target} cao hơn ({current}): cần quyết định của cấp có thẩm quyền, ghi rõ lý do"
    return RuleResult(RULE_EQUIVALENT_POST, False, message, _SOURCE_POST)


# QĐ 65 [V] S52: no extra title is created to rotate cadres (exceptions only by the Politburo).
def _check_no_new_post(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    if facts.target_position_id is None:
        return RuleResult(
            RULE_NO_NEW_POST, False, "Chưa xác định chức vụ bố trí tại đơn vị tiếp nhận", _SOURCE_NEW_POST
        )
    target = facts.target_title or "chức vụ bố trí"
    problems: list[str] = []
    if (
        facts.plan_approved_on is not None
        and facts.target_created_on is not None
        and facts.target_created_on > facts.plan_approved_on
    ):
        problems.append(
            f"{target} được lập ngày {format_date(facts.target_created_on)}, sau khi phê duyệt kế hoạch luân "
            f"chuyển ({format_date(facts.plan_approved_on)})"
        )
    if facts.target_title_code in policy.single_holder_titles and facts.target_holders:
        problems.append(
            f"{target} đang có người giữ ({', '.join(facts.target_holders)}) tại ngày {format_date(facts.starts_on)}"
        )
    if not problems:
        return RuleResult(
            RULE_NO_NEW_POST, True, f"{target} là chức vụ sẵn có của {facts.to_unit_name}", _SOURCE_NEW_POST
        )
    exception = (facts.new_post_exception or "").strip()
    if exception:
        message = "; ".join(problems) + f"; Bộ Chính trị cho phép: {exception}"
        return RuleResult(RULE_NO_NEW_POST, True, message, _SOURCE_NEW_POST)
    message = "; ".join(problems) + ": không bố trí thêm chức danh để luân chuyển"
    return RuleResult(RULE_NO_NEW_POST, False, message, _SOURCE_NEW_POST)


# NĐ 170 Điều 48 [V] S38: ≥ 36 months per rotation.
def _check_duration(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    need = policy.min_duration_months
    if facts.planned_end_on is None:
        return RuleResult(RULE_DURATION, False, "Chưa ghi ngày kết thúc luân chuyển", _SOURCE_DURATION)
    if facts.planned_end_on < facts.starts_on:
        return RuleResult(RULE_DURATION, False, "Ngày kết thúc trước ngày bắt đầu luân chuyển", _SOURCE_DURATION)
    months = rotation_months(facts.starts_on, facts.planned_end_on)
    span = f"từ {format_date(facts.starts_on)} đến {format_date(facts.planned_end_on)}"
    if months >= need:
        message = f"Thời gian luân chuyển {months} tháng ({span}), đủ ít nhất {need} tháng"
    else:
        message = f"Thời gian luân chuyển {months} tháng ({span}), cần ít nhất {need} tháng"
    return RuleResult(RULE_DURATION, months >= need, message, _SOURCE_DURATION)


def _is_commune_key(facts: RotationFacts, policy: RotationPolicy) -> bool:
    if facts.target_title_code in policy.commune_key_titles:
        return True
    return facts.target_is_key_title and facts.target_level == "commune"


# Seed 001 (NQ 05-NQ/TU Lai Châu) [V]: no commune key post for cadres of limited capability or low prestige.
def _check_capability(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    target = facts.target_title or "chức vụ bố trí"
    if not _is_commune_key(facts, policy):
        return RuleResult(
            RULE_CAPABILITY, True, f"{target} không phải chức danh chủ chốt cấp xã: không áp dụng", _SOURCE_CAPABILITY
        )
    problems: list[str] = []
    grade = facts.latest_annual_grade
    year = f" năm {facts.latest_annual_period}" if facts.latest_annual_period else " năm gần nhất"
    if grade in policy.barred_grades:
        problems.append(f"xếp loại chất lượng{year}: {GRADE_LABELS.get(grade, grade)}")
    reason = (facts.low_capability_reason or "").strip()
    if reason:
        problems.append(f"hồ sơ ghi năng lực hạn chế, uy tín thấp: {reason}")
    if problems:
        message = "; ".join(problems) + f": không bố trí giữ chức danh chủ chốt cấp xã {target}"
        return RuleResult(RULE_CAPABILITY, False, message[0].upper() + message[1:], _SOURCE_CAPABILITY)
    graded = f"xếp loại{year}: {GRADE_LABELS[grade]}" if grade in GRADE_LABELS else "chưa có xếp loại năm"
    return RuleResult(
        RULE_CAPABILITY, True, f"Chức danh chủ chốt cấp xã {target}: {graded}, không ghi năng lực hạn chế",
        _SOURCE_CAPABILITY,
    )  # fmt: skip


# Seeds 000–002 [V]/[P]: commune party secretary, PC chair, inspection chair are not local people (hometown).
def _check_non_local(facts: RotationFacts, policy: RotationPolicy) -> RuleResult:
    target = facts.target_title or "chức vụ bố trí"
    applies = facts.target_requires_non_local or facts.target_title_code in policy.non_local_titles
    if not applies:
        return RuleResult(RULE_NON_LOCAL, True, f"{target} không yêu cầu không là người địa phương", _SOURCE_NON_LOCAL)
    if facts.receiving_commune_id is None:
        return RuleResult(
            RULE_NON_LOCAL, False, f"Không xác định được xã, phường của {facts.to_unit_name}", _SOURCE_NON_LOCAL
        )
    commune = facts.receiving_commune_name or facts.to_unit_name
    if facts.hometown_commune_id is None:
        recorded = f" (quê quán ghi: {facts.hometown})" if facts.hometown else ""
        return RuleResult(
            RULE_NON_LOCAL,
            False,
            f"Không xác định được xã, phường quê quán của {facts.cadre_name}{recorded}: không kiểm tra được "
            f"quy định không là người địa phương của {commune}",
            _SOURCE_NON_LOCAL,
        )
    home = f" ({facts.hometown})" if facts.hometown else ""
    if facts.hometown_commune_id == facts.receiving_commune_id:
        return RuleResult(
            RULE_NON_LOCAL,
            False,
            f"{facts.cadre_name} là người địa phương{home}: {target} của {commune} không bố trí người địa phương",
            _SOURCE_NON_LOCAL,
        )
    return RuleResult(
        RULE_NON_LOCAL, True, f"{facts.cadre_name} không là người địa phương của {commune}{home}", _SOURCE_NON_LOCAL
    )


def exceptable(failed: list[str] | tuple[str, ...], policy: RotationPolicy = DEFAULT_POLICY) -> bool:
    """Whether the competent authority may set aside every one of these failed rules (`exceptable_rules`)."""
    return bool(failed) and all(rule in policy.exceptable_rules for rule in failed)


# QĐ 65 [V] S52: an added title only by the Politburo's decision, which the eligibility check itself records
# (`new_post_exception`): not met at the start, the rule may still be met there.
MET_BY_A_DECISION_AT_THE_CHECK = (RULE_NO_NEW_POST,)


def stopping_rules(policy: RotationPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """The rules whose failure stops the rotation at the eligibility check whatever anyone decides there: not the
    competent authority's to set aside (`exceptable_rules`), nor met by a decision the check records."""
    return tuple(
        rule
        for rule in ROTATION_RULES
        if rule not in policy.exceptable_rules and rule not in MET_BY_A_DECISION_AT_THE_CHECK
    )


# Decision 0136: a start certain to stop at the eligibility check is refused (the registry put right first).
def start_blockers(results: Iterable[RuleResult], policy: RotationPolicy = DEFAULT_POLICY) -> list[RuleResult]:
    """The results, checked before a rotation starts, that would stop it at the eligibility check: a stopping rule
    not met. A rule that could not be checked for want of data is not one: the data may be recorded before then."""
    stopping = stopping_rules(policy)
    return [result for result in results if not result.passed and not result.unknown and result.rule in stopping]


def check_rotation(
    facts: RotationFacts, *, policy: RotationPolicy = DEFAULT_POLICY, schedule: RetirementSchedule = DEFAULT_SCHEDULE
) -> list[RuleResult]:
    """One result per rule, in `ROTATION_RULES` order; the months are counted to the rotation's start."""
    return [
        _check_planning(facts, policy),
        _check_service_left(facts, policy, schedule),
        _check_purpose(facts, policy),
        _check_units(facts),
        _check_post(facts, policy),
        _check_no_new_post(facts, policy),
        _check_duration(facts, policy),
        _check_capability(facts, policy),
        _check_non_local(facts, policy),
    ]
