"""The numbers behind the targets dashboard (issue #4): structure figures against the targets the resolutions set,
evaluation grade distributions with the HTXSNV quota, overdue tasks and time per procedure step.

Everything here is a pure function of plain data, and nothing reads the database or the clock: the caller passes
`today` / `now`. A figure is computed either from the cadres themselves (`CadreFacts`, `compute_figure`: the
reference, which also names the people behind each count) or from head counts the database has already summed
(`FigureCounts`, `figure_from_counts`: what the dashboard does at 50,000 cadres, workflows/reports.py). Both give the
same figure; tests hold the two paths to each other.

Targets are data (`TargetDefinition`). The defaults come from the seed resolutions in `shared/seeds/`, which are
provincial texts of *different* provinces; each carries a confidence tag in the sense of the domain reference
([V] read in the text, [P] partly, [U] not confirmed), and any field can be replaced through a `config` mapping
`{figure key: {field: value}}`, so a province sets its own without a code change.

Unknown facts are never guessed. A cadre whose hometown (or birth date, or gender) is not recorded is left out of
the percentage and listed apart; `meets_target` is None when those unknowns could change the verdict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

from workflows.errors import N_
from workflows.rules.retirement import add_months, age_in_months

__all__ = [
    "COMMUNE_INSPECTION_CHAIR",
    "COMMUNE_PARTY_SECRETARY",
    "COMMUNE_PC_CHAIR",
    "DEFAULT_DEFINITIONS",
    "FIGURE_KEYS",
    "GRADES",
    "KEY_CADRE",
    "LEADER",
    "LEADER_PROVINCE_MANAGED",
    "PARTY_COMMITTEE_MEMBER",
    "CadreFacts",
    "DrilldownRow",
    "Figure",
    "FigureCounts",
    "OverdueCount",
    "QuotaCheck",
    "Shortfall",
    "StepDuration",
    "TargetDefinition",
    "TargetKind",
    "average_step_durations",
    "compute_all",
    "compute_figure",
    "counting_basis",
    "drilldown",
    "earliest_birth_date_under",
    "figure_from_counts",
    "format_number",
    "format_percent",
    "grade_distribution",
    "grade_distribution_from_counts",
    "htxsnv_quota_check",
    "overdue_by_unit",
    "people_short",
    "population_titles",
    "position_titles",
    "resolve_definitions",
]

# Title codes a cadre's `titles` may hold. The query that builds CadreFacts maps positions onto them.
COMMUNE_PC_CHAIR = "commune_pc_chair"
COMMUNE_PARTY_SECRETARY = "commune_party_secretary"
COMMUNE_INSPECTION_CHAIR = "commune_inspection_chair"
PARTY_COMMITTEE_MEMBER = "party_committee_member"
KEY_CADRE = "key"
LEADER = "leader"
LEADER_PROVINCE_MANAGED = "leader_province_managed"

MALE = "male"
FEMALE = "female"
EDUCATION_LEVELS = ("trung_cap", "cao_dang", "dai_hoc", "thac_si", "tien_si")
POLITICAL_THEORY_LEVELS = ("so_cap", "trung_cap", "cao_cap", "cu_nhan")
UNIVERSITY_OR_HIGHER = frozenset({"dai_hoc", "thac_si", "tien_si"})
MASTERS_OR_HIGHER = frozenset({"thac_si", "tien_si"})
THEORY_INTERMEDIATE_OR_HIGHER = frozenset({"trung_cap", "cao_cap", "cu_nhan"})
THEORY_ADVANCED_OR_HIGHER = frozenset({"cao_cap", "cu_nhan"})

YOUNG_AGE_YEARS = 42

# Same strings as the registry's EvaluationGrade, best first; the order is the order of chart segments too.
HTXSNV = "HTXSNV"
HTTNV = "HTTNV"
HTNV = "HTNV"
KHTNV = "KHTNV"
GRADES = (HTXSNV, HTTNV, HTNV, KHTNV)


# ---------------------------------------------------------------------------------------------
# Facts and targets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CadreFacts:
    """What the figures need to know about one cadre, as of the day the dashboard is computed.

    `commune_id` is the commune-level unit (xã, phường, đặc khu) the cadre works in, None at province level.
    `hometown_commune_id` is the commune the recorded hometown is today: a commune merged in 2025 counts as the
    commune it became (workflows/rules/communes.py), None when not recorded or not a commune of the province.
    `education_level` and `political_theory` None mean "none recorded" and count as not holding the level.
    """

    cadre_id: int
    code: str
    full_name: str
    unit_id: int
    unit_name: str
    commune_id: int | None
    hometown_commune_id: int | None
    birth_date: date | None
    gender: str | None
    ethnicity: str | None
    education_level: str | None
    is_science_technology: bool
    political_theory: str | None
    titles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.gender not in (MALE, FEMALE, None):
            raise ValueError(f"cadre {self.code}: gender must be {MALE!r}, {FEMALE!r} or None, not {self.gender!r}")
        if self.education_level is not None and self.education_level not in EDUCATION_LEVELS:
            raise ValueError(f"cadre {self.code}: unknown education level {self.education_level!r}")
        if self.political_theory is not None and self.political_theory not in POLITICAL_THEORY_LEVELS:
            raise ValueError(f"cadre {self.code}: unknown political theory level {self.political_theory!r}")
        if not isinstance(self.titles, frozenset):
            # A list or set from a query would make the dataclass unhashable or mutable.
            object.__setattr__(self, "titles", frozenset(self.titles))


def position_titles(
    title_code: str | None, is_key_title: bool | None, is_leadership: bool | None, is_province_managed: bool | None
) -> frozenset[str]:
    """The titles holding one position gives a cadre (`CadreFacts.titles` is the union over their open positions):
    its standard title code, and the groups the figures count (key cadres, leaders, province-managed leaders)."""
    titles = {title_code} if title_code else set()
    if is_key_title:
        titles.add(KEY_CADRE)
    if is_leadership:
        titles.add(LEADER)
    if is_province_managed:
        titles.add(LEADER_PROVINCE_MANAGED)
    return frozenset(titles)


class TargetKind(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    BETWEEN = "between"
    EQUALS = "equals"


@dataclass(frozen=True)
class TargetDefinition:
    """One dashboard figure: who is counted, what is measured and the target it is held against, in percent.

    `low` is the bound of at_least and the value of equals, `high` the bound of at_most; between uses both,
    inclusive. `population_title` limits the denominator to cadres holding that title (None: every cadre given).
    `confidence` tags the reading of `source` as the domain reference does: V the number is in the text, P the
    text states the policy or the number but the figure adds a reading of ours (explained in `note_vi`), U not
    found. Whether a seed text binds the deploying province at all is the province's call, made by configuration.
    """

    key: str
    label_vi: str
    definition_vi: str
    source: str
    kind: TargetKind
    low: float | None = None
    high: float | None = None
    by_year: int | None = None
    population_title: str | None = None
    confidence: str = "U"
    note_vi: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TargetKind(self.kind))
        if self.confidence not in ("V", "P", "U"):
            raise ValueError(f"{self.key}: confidence must be V, P or U, not {self.confidence!r}")
        needs_low = self.kind in (TargetKind.AT_LEAST, TargetKind.BETWEEN, TargetKind.EQUALS)
        needs_high = self.kind in (TargetKind.AT_MOST, TargetKind.BETWEEN)
        if needs_low != (self.low is not None) or needs_high != (self.high is not None):
            raise ValueError(f"{self.key}: a {self.kind} target takes {_bounds_wanted(self.kind)}")
        for bound in (self.low, self.high):
            if bound is not None and not 0 <= bound <= 100:
                raise ValueError(f"{self.key}: targets are percentages between 0 and 100, not {bound!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"{self.key}: low {self.low} is above high {self.high}")

    @property
    def target_text(self) -> str:
        """The target as text the engine writes (a stored finding), e.g. "≥ 10%", "20–25% (đến năm 2030)"."""
        return self.target_words()

    def target_words(self, number: Callable[[float | None], str] | None = None, by_year: str | None = None) -> str:
        """The target in a reader's words: `number` writes a figure, `by_year` (the msgid `BY_YEAR` translated) the
        deadline; the pages pass the reader's (webapp.i18n.target_text, decision 0111). Without them: Vietnamese."""
        number = number or format_number
        by_year = by_year or _BY_YEAR_VI
        if self.kind is TargetKind.AT_LEAST:
            text = f"≥ {number(self.low)}%"
        elif self.kind is TargetKind.AT_MOST:
            text = f"≤ {number(self.high)}%"
        elif self.kind is TargetKind.BETWEEN:
            text = f"{number(self.low)}–{number(self.high)}%"
        else:
            text = f"{number(self.low)}%"
        return by_year % {"target": text, "year": self.by_year} if self.by_year else text

    @property
    def reference_value(self) -> float:
        """The single value a chart draws its target line at: the floor the figure has to reach."""
        value = self.high if self.kind is TargetKind.AT_MOST else self.low
        assert value is not None  # guaranteed by __post_init__
        return value

    def is_met_by(self, numerator: int, denominator: int) -> bool:
        # Exact fractions: 1 of 10 is exactly 10%, and must meet "≥ 10%" despite binary floating point.
        share = Fraction(100 * numerator, denominator)
        low = _exact(self.low)
        high = _exact(self.high)
        if self.kind is TargetKind.AT_LEAST:
            return share >= low
        if self.kind is TargetKind.AT_MOST:
            return share <= high
        if self.kind is TargetKind.BETWEEN:
            return low <= share <= high
        return share == low


def _bounds_wanted(kind: TargetKind) -> str:
    return {
        TargetKind.AT_LEAST: "low only",
        TargetKind.AT_MOST: "high only",
        TargetKind.BETWEEN: "both low and high",
        TargetKind.EQUALS: "low only (the value)",
    }[kind]


def _exact(value: float | None) -> Fraction:
    # str() first so that a configured 12.1 means twelve point one, not its nearest binary double.
    return Fraction(str(value)) if value is not None else Fraction(0)


# A target's deadline: the engine's text is Vietnamese (as its findings are), the pages translate `BY_YEAR`.
BY_YEAR = N_("%(target)s (by %(year)s)")
_BY_YEAR_VI = "%(target)s (đến năm %(year)s)"


def format_number(value: float | None, decimals: int = 1) -> str:
    """Vietnamese notation: decimal comma, no trailing zeros ("12,5", "100"). Halves round up, as the number is written
    (72,35 → "72,4"), not as the float holding it happens to lie (72.35 is 72.3499…, which "%.1f" writes "72,3")."""
    if value is None or not math.isfinite(value):
        return "—"
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "-0.0") or rounded.is_zero() else text.replace(".", ",")


def format_percent(value: float | None, decimals: int = 1) -> str:
    return "—" if value is None else f"{format_number(value, decimals)}%"


# ---------------------------------------------------------------------------------------------
# Default targets
# ---------------------------------------------------------------------------------------------
_SEED_06_TU = (
    "Nghị quyết số 06-NQ/TU ngày 25/5/2026 của Ban Chấp hành Đảng bộ tỉnh về tập trung lãnh đạo nâng cao chất "
    "lượng cán bộ cơ sở giai đoạn 2025–2030 (theo Kế hoạch tuyên truyền của Ban Thường vụ Đảng ủy xã)"
)
_SEED_05_TU = (
    "Nghị quyết số 05-NQ/TU ngày 12/02/2026 của Ban Thường vụ Tỉnh ủy (Lai Châu) về nâng cao trình độ, năng lực "
    "cán bộ cấp xã, mục II.2.1 của Kế hoạch thực hiện"
)
_SEED_HUNG_YEN = 'Kế hoạch "Năm cán bộ cơ sở" của Ban Thường vụ Tỉnh ủy Hưng Yên (2026), mục III.5'
_SEED_TUYEN_QUANG = (
    "Nghị quyết của Ban Chấp hành Đảng bộ tỉnh Tuyên Quang về nâng cao chất lượng cán bộ các cấp giai đoạn "
    "2026–2030, mục II.2.2 (3) — mục tiêu đến hết năm 2029"
)
_UNKNOWN_RULE = (
    " Người chưa có dữ liệu không được tính vào mẫu số mà được liệt kê riêng là “chưa rõ”; nếu số “chưa rõ” đủ "
    "làm thay đổi kết luận thì ô đạt/không đạt để trống."
)
_NON_LOCAL_RULE = (
    "Không là người địa phương: xã, phường, đặc khu quê quán đã được ghi nhận và khác đơn vị cấp xã nơi công tác."
    + _UNKNOWN_RULE
)
_NON_LOCAL_NOTE = (
    "Cách hiểu “người địa phương” theo quê quán là giả định; tỉnh có thể định nghĩa khác (nơi sinh, nơi cư trú). "
    "Quê quán ghi theo xã cũ đã sáp nhập được quy về xã hiện nay theo liên kết sáp nhập ghi ở đơn vị; xã cũ chưa "
    "được ghi liên kết thì vẫn được so sánh như một xã riêng."
)


def _non_local(key: str, title: str, label: str, who: str, source: str, confidence: str, note: str) -> TargetDefinition:
    return TargetDefinition(
        key=key,
        label_vi=label,
        definition_vi=(
            f"Tỷ lệ = số {who} đang giữ chức vụ không là người địa phương ÷ số {who} đang giữ chức vụ có quê "
            f"quán đã được ghi nhận. {_NON_LOCAL_RULE}"
        ),
        source=source,
        kind=TargetKind.EQUALS,
        low=100,
        population_title=title,
        confidence=confidence,
        note_vi=f"{note} {_NON_LOCAL_NOTE}".strip(),
    )


_DEFINITIONS: tuple[TargetDefinition, ...] = (
    # Seed 000 (NQ 06-NQ/TU, mục II.3) sets 100%; seed 001 (NQ 05-NQ/TU Lai Châu, mục II.2.1) the same policy.
    _non_local(
        "non_local_commune_pc_chair",
        COMMUNE_PC_CHAIR,
        "Chủ tịch UBND cấp xã không là người địa phương",
        "Chủ tịch UBND xã, phường, đặc khu",
        f"{_SEED_06_TU}: “bố trí 100% Chủ tịch Ủy ban nhân dân cấp xã không là người địa phương”; "
        f"cùng chủ trương trong {_SEED_05_TU}.",
        "V",
        "",
    ),
    # Seed 001 (NQ 05-NQ/TU Lai Châu, mục II.2.1): a policy, no rate.
    _non_local(
        "non_local_commune_party_secretary",
        COMMUNE_PARTY_SECRETARY,
        "Bí thư Đảng ủy cấp xã không là người địa phương",
        "Bí thư Đảng ủy xã, phường, đặc khu",
        f"{_SEED_05_TU}: “bố trí chức danh bí thư cấp ủy, chủ tịch ủy ban nhân dân, chủ nhiệm ủy ban kiểm tra "
        "không phải là người địa phương”.",
        "P",
        "Văn bản nêu chủ trương, không ghi tỷ lệ; mục tiêu 100% là cách hiểu.",
    ),
    # Seed 002 (Hưng Yên, mục III.5) and seed 001 (mục II.2.1): a policy, no rate.
    _non_local(
        "non_local_commune_inspection_chair",
        COMMUNE_INSPECTION_CHAIR,
        "Chủ nhiệm UBKT Đảng ủy cấp xã không là người địa phương",
        "Chủ nhiệm Ủy ban Kiểm tra Đảng ủy xã, phường, đặc khu",
        f"{_SEED_HUNG_YEN}: “bố trí Chủ nhiệm UBKT Đảng ủy cấp xã không phải người địa phương”; cùng chủ trương "
        f"trong {_SEED_05_TU}.",
        "P",
        "Văn bản nêu chủ trương, không ghi tỷ lệ; mục tiêu 100% là cách hiểu.",
    ),
    # Seed 000 (NQ 06-NQ/TU, mục II.3): "10% cán bộ chủ chốt dưới 42 tuổi".
    TargetDefinition(
        key="key_cadres_under_42",
        label_vi="Cán bộ chủ chốt dưới 42 tuổi",
        definition_vi=(
            "Tỷ lệ = số cán bộ chủ chốt chưa đủ 42 tuổi tại ngày tính ÷ số cán bộ chủ chốt có ngày sinh đã được ghi "
            "nhận. Người tròn 42 tuổi đúng ngày tính không còn được tính là dưới 42 tuổi. Tuổi tính theo số tháng "
            "tròn như khi tính tuổi nghỉ hưu." + _UNKNOWN_RULE
        ),
        source=f"{_SEED_06_TU}: “10% cán bộ chủ chốt dưới 42 tuổi”.",
        kind=TargetKind.AT_LEAST,
        low=10,
        population_title=KEY_CADRE,
        confidence="P",
        note_vi="Văn bản ghi “10%”, hiểu là mức tối thiểu. Danh sách chức danh chủ chốt cấp xã do tỉnh quy định.",
    ),
    # Seed 000 (NQ 06-NQ/TU, mục II.3): "cấp ủy viên nữ đạt từ 20 - 25%" — a share to reach, so its lower end is a
    # floor: more women is never a failure (QĐ 50, domain rules §3 [V] S11, sets women ≥ 25% in planning, also a
    # floor). A province that reads it as a band configures {"kind": "between", "high": 25}.
    TargetDefinition(
        key="women_party_committee",
        label_vi="Nữ cấp ủy viên",
        definition_vi=(
            "Tỷ lệ = số cấp ủy viên là nữ ÷ số cấp ủy viên (ủy viên Ban Chấp hành đảng bộ) có giới tính đã được "
            "ghi nhận. Đạt khi tỷ lệ từ 20% trở lên." + _UNKNOWN_RULE
        ),
        source=f"{_SEED_06_TU}: “tỷ lệ cấp ủy viên nữ đạt từ 20 - 25%”.",
        kind=TargetKind.AT_LEAST,
        low=20,
        population_title=PARTY_COMMITTEE_MEMBER,
        confidence="P",
        note_vi="Văn bản ghi “đạt từ 20 - 25%”: 20% là mức phải đạt; tỷ lệ cao hơn 25% vẫn là đạt.",
    ),
    # Seed 000 (NQ 06-NQ/TU, mục II.3): "đại học về khoa học công nghệ đạt 5 - 10% vào năm 2030" — a share to
    # reach, so its lower end is a floor, as for the women's share above (configurable as a band the same way).
    TargetDefinition(
        key="university_science_technology",
        label_vi="Cán bộ có trình độ đại học về khoa học, công nghệ",
        definition_vi=(
            "Tỷ lệ = số cán bộ có trình độ đại học trở lên (đại học, thạc sĩ, tiến sĩ) thuộc chuyên ngành khoa "
            "học, công nghệ ÷ tổng số cán bộ trong phạm vi báo cáo. Cán bộ chưa ghi nhận trình độ được tính là "
            "chưa đạt trình độ đại học."
        ),
        source=f"{_SEED_06_TU}: “tỷ lệ cán bộ trình độ đại học về khoa học công nghệ đạt 5 - 10% vào năm 2030”.",
        kind=TargetKind.AT_LEAST,
        low=5,
        by_year=2030,
        confidence="P",
        note_vi=(
            "Tính cả thạc sĩ, tiến sĩ thuộc chuyên ngành khoa học, công nghệ là cách hiểu. Văn bản ghi “đạt 5 - "
            "10%”: 5% là mức phải đạt; tỷ lệ cao hơn 10% vẫn là đạt."
        ),
    ),
    # Seed 003 (NQ Tuyên Quang 2026–2030, mục II.2.2 (3)): 20% of other leaders with a master's by end 2029.
    TargetDefinition(
        key="leaders_masters",
        label_vi="Cán bộ lãnh đạo, quản lý có trình độ thạc sĩ trở lên",
        definition_vi=(
            "Tỷ lệ = số cán bộ giữ chức danh lãnh đạo, quản lý thuộc diện sở, ngành, cấp ủy, cơ quan, đơn vị quản "
            "lý có trình độ thạc sĩ hoặc tiến sĩ ÷ tổng số cán bộ lãnh đạo, quản lý thuộc diện đó."
        ),
        source=f"{_SEED_TUYEN_QUANG}: “20% trở lên có trình độ chuyên môn thạc sĩ”.",
        kind=TargetKind.AT_LEAST,
        low=20,
        by_year=2029,
        population_title=LEADER,
        confidence="P",
        note_vi="Văn bản ghi “thạc sĩ”; tính cả tiến sĩ là cách hiểu.",
    ),
    # Seed 003 (NQ Tuyên Quang 2026–2030, mục II.2.2 (3)): 68% of BTV-managed leaders by end 2029.
    TargetDefinition(
        key="province_managed_leaders_masters",
        label_vi="Cán bộ lãnh đạo diện Ban Thường vụ Tỉnh ủy quản lý có trình độ thạc sĩ trở lên",
        definition_vi=(
            "Tỷ lệ = số cán bộ lãnh đạo thuộc diện Ban Thường vụ Tỉnh ủy quản lý có trình độ thạc sĩ hoặc tiến "
            "sĩ ÷ tổng số cán bộ lãnh đạo thuộc diện Ban Thường vụ Tỉnh ủy quản lý."
        ),
        source=f"{_SEED_TUYEN_QUANG}: “68% trở lên có trình độ chuyên môn thạc sĩ trở lên”.",
        kind=TargetKind.AT_LEAST,
        low=68,
        by_year=2029,
        population_title=LEADER_PROVINCE_MANAGED,
        confidence="V",
    ),
    # Seed 003 (NQ Tuyên Quang 2026–2030, mục II.2.2 (3)): 100% intermediate theory or higher by end 2029.
    TargetDefinition(
        key="leaders_political_theory_intermediate",
        label_vi="Cán bộ lãnh đạo, quản lý có lý luận chính trị từ trung cấp trở lên",
        definition_vi=(
            "Tỷ lệ = số cán bộ giữ chức danh lãnh đạo, quản lý thuộc diện sở, ngành, cấp ủy, cơ quan, đơn vị quản "
            "lý có trình độ lý luận chính trị trung cấp, cao cấp hoặc cử nhân ÷ tổng số cán bộ lãnh đạo, quản lý "
            "thuộc diện đó. Người chưa ghi nhận trình độ lý luận chính trị được tính là chưa đạt."
        ),
        source=f"{_SEED_TUYEN_QUANG}: “lý luận chính trị từ trung cấp trở lên đạt 100%”.",
        kind=TargetKind.EQUALS,
        low=100,
        by_year=2029,
        population_title=LEADER,
        confidence="V",
    ),
    # Seed 003 (NQ Tuyên Quang 2026–2030, mục II.2.2 (3)): 25% advanced theory or higher by end 2029.
    TargetDefinition(
        key="leaders_political_theory_advanced",
        label_vi="Cán bộ lãnh đạo, quản lý có lý luận chính trị cao cấp trở lên",
        definition_vi=(
            "Tỷ lệ = số cán bộ giữ chức danh lãnh đạo, quản lý thuộc diện sở, ngành, cấp ủy, cơ quan, đơn vị quản "
            "lý có trình độ lý luận chính trị cao cấp hoặc cử nhân ÷ tổng số cán bộ lãnh đạo, quản lý thuộc diện "
            "đó. Người chưa ghi nhận trình độ lý luận chính trị được tính là chưa đạt."
        ),
        source=f"{_SEED_TUYEN_QUANG}: “25% trở lên có trình độ lý luận chính trị cao cấp trở lên”.",
        kind=TargetKind.AT_LEAST,
        low=25,
        by_year=2029,
        population_title=LEADER,
        confidence="V",
    ),
)

DEFAULT_DEFINITIONS: Mapping[str, TargetDefinition] = {d.key: d for d in _DEFINITIONS}
FIGURE_KEYS: tuple[str, ...] = tuple(DEFAULT_DEFINITIONS)


def resolve_definitions(config: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, TargetDefinition]:
    """The default definitions with `config` applied: `{key: {field: value}}`, e.g. `{"key_cadres_under_42":
    {"low": 15}}`. Unknown keys or fields raise ValueError, so a typo in a province's settings is not ignored."""
    resolved = dict(DEFAULT_DEFINITIONS)
    for key, override in (config or {}).items():
        if key not in resolved:
            raise ValueError(f"unknown figure {key!r}; known figures: {', '.join(FIGURE_KEYS)}")
        if override.get("key", key) != key:
            raise ValueError(f"{key}: the key of a figure cannot be changed")
        fields = {f.name for f in dataclasses.fields(TargetDefinition)}
        unknown = sorted(set(override) - fields)
        if unknown:
            raise ValueError(f"{key}: unknown target fields {unknown}")
        resolved[key] = dataclasses.replace(resolved[key], **override)
    return resolved


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FigureCounts:
    """Head counts behind one figure: in the numerator, known (the denominator: numerator included), unknown."""

    numerator: int = 0
    denominator: int = 0
    unknown: int = 0

    def __post_init__(self) -> None:
        if min(self.numerator, self.denominator, self.unknown) < 0 or self.numerator > self.denominator:
            raise ValueError(f"inconsistent counts {self}")

    def __add__(self, other: FigureCounts) -> FigureCounts:
        return FigureCounts(
            self.numerator + other.numerator, self.denominator + other.denominator, self.unknown + other.unknown
        )


@dataclass(frozen=True)
class Figure:
    """One computed figure. Computed from cadres, the id tuples name them in the order given, for the drill-down
    list; computed from counts (`figure_from_counts`) they are empty and the list is loaded when asked for."""

    key: str
    numerator: int
    denominator: int
    percent: float | None
    target: TargetDefinition
    meets_target: bool | None
    cadre_ids_in_numerator: tuple[int, ...] = ()
    cadre_ids_in_denominator: tuple[int, ...] = ()
    cadre_ids_unknown: tuple[int, ...] = ()
    unknown: int = 0


# A measure answers "does this cadre count in the numerator?": True, False, or None when the facts are missing.
Measure = Callable[[CadreFacts, date], bool | None]


def _is_non_local(cadre: CadreFacts, today: date) -> bool | None:
    if cadre.hometown_commune_id is None or cadre.commune_id is None:
        return None
    return cadre.hometown_commune_id != cadre.commune_id


def _is_under_42(cadre: CadreFacts, today: date) -> bool | None:
    if cadre.birth_date is None:
        return None
    # The same completed-months age as the retirement rules, so the two never disagree about a birthday.
    return age_in_months(cadre.birth_date, today) < YOUNG_AGE_YEARS * 12


def earliest_birth_date_under(years: int, today: date) -> date:
    """The earliest birth date of someone still under `years` on `today`, by the completed-months age of
    `_is_under_42`: under ⟺ born on or after this day, so a query can compare birth dates with it."""
    # Age only grows with an earlier birth date, so the answer is the first day after the last one of full age;
    # it lies within a few days of the same date `years` earlier (month ends move it by at most three).
    day = add_months(today, -12 * years) - timedelta(days=4)
    while age_in_months(day, today) >= 12 * years:
        day += timedelta(days=1)
    return day


def _is_woman(cadre: CadreFacts, today: date) -> bool | None:
    return None if cadre.gender is None else cadre.gender == FEMALE


def _has_university_science_technology(cadre: CadreFacts, today: date) -> bool | None:
    return cadre.is_science_technology and cadre.education_level in UNIVERSITY_OR_HIGHER


def _has_masters(cadre: CadreFacts, today: date) -> bool | None:
    return cadre.education_level in MASTERS_OR_HIGHER


def _has_theory_intermediate(cadre: CadreFacts, today: date) -> bool | None:
    return cadre.political_theory in THEORY_INTERMEDIATE_OR_HIGHER


def _has_theory_advanced(cadre: CadreFacts, today: date) -> bool | None:
    return cadre.political_theory in THEORY_ADVANCED_OR_HIGHER


_MEASURES: Mapping[str, Measure] = {
    "non_local_commune_pc_chair": _is_non_local,
    "non_local_commune_party_secretary": _is_non_local,
    "non_local_commune_inspection_chair": _is_non_local,
    "key_cadres_under_42": _is_under_42,
    "women_party_committee": _is_woman,
    "university_science_technology": _has_university_science_technology,
    "leaders_masters": _has_masters,
    "province_managed_leaders_masters": _has_masters,
    "leaders_political_theory_intermediate": _has_theory_intermediate,
    "leaders_political_theory_advanced": _has_theory_advanced,
}
assert set(_MEASURES) == set(DEFAULT_DEFINITIONS)


def compute_figure(
    key: str,
    cadres: Iterable[CadreFacts],
    today: date,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Figure:
    if key not in _MEASURES:
        raise ValueError(f"unknown figure {key!r}; known figures: {', '.join(FIGURE_KEYS)}")
    return _compute(resolve_definitions(config)[key], cadres, today)


def compute_all(
    cadres: Iterable[CadreFacts],
    today: date,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Figure]:
    """Every figure, in the order of `FIGURE_KEYS`."""
    definitions = resolve_definitions(config)
    population = list(cadres)
    return [_compute(definitions[key], population, today) for key in FIGURE_KEYS]


def population_titles(definitions: Iterable[TargetDefinition]) -> list[str]:
    """The distinct titles that limit a figure's population, in first-seen order: what a query must flag per cadre."""
    return list(dict.fromkeys(d.population_title for d in definitions if d.population_title is not None))


def figure_from_counts(definition: TargetDefinition, counts: FigureCounts) -> Figure:
    """The figure from head counts summed elsewhere (by the database): the same percent and verdict as
    `compute_figure` gives on the cadres those counts came from."""
    known = counts.denominator
    return Figure(
        key=definition.key,
        numerator=counts.numerator,
        denominator=known,
        percent=100 * counts.numerator / known if known else None,
        target=definition,
        meets_target=_verdict(definition, counts.numerator, known, counts.unknown),
        unknown=counts.unknown,
    )


def _compute(definition: TargetDefinition, cadres: Iterable[CadreFacts], today: date) -> Figure:
    measure = _MEASURES[definition.key]
    numerator: list[int] = []
    denominator: list[int] = []
    unknown: list[int] = []
    for cadre in cadres:
        if definition.population_title is not None and definition.population_title not in cadre.titles:
            continue
        counted = measure(cadre, today)
        if counted is None:
            unknown.append(cadre.cadre_id)
            continue
        denominator.append(cadre.cadre_id)
        if counted:
            numerator.append(cadre.cadre_id)
    counts = FigureCounts(len(numerator), len(denominator), len(unknown))
    return dataclasses.replace(
        figure_from_counts(definition, counts),
        cadre_ids_in_numerator=tuple(numerator),
        cadre_ids_in_denominator=tuple(denominator),
        cadre_ids_unknown=tuple(unknown),
    )


def _verdict(definition: TargetDefinition, numerator: int, known: int, unknown: int) -> bool | None:
    if known == 0:
        return None
    # Each unknown cadre might fall either way once recorded: the verdict stands only if it is the same for every
    # possible split of the unknowns.
    outcomes = {definition.is_met_by(numerator + j, known + unknown) for j in range(unknown + 1)}
    return outcomes.pop() if len(outcomes) == 1 else None


@dataclass(frozen=True)
class DrilldownRow:
    """A cadre behind a figure. `counted`: True in the numerator, False only in the denominator, None unknown."""

    cadre_id: int
    code: str
    full_name: str
    unit_name: str
    counted: bool | None


def drilldown(figure: Figure, cadres: Iterable[CadreFacts]) -> list[DrilldownRow]:
    """The list behind `figure`, in the order of `cadres`, ready to show or export."""
    numerator = set(figure.cadre_ids_in_numerator)
    denominator = set(figure.cadre_ids_in_denominator)
    unknown = set(figure.cadre_ids_unknown)
    rows = []
    for cadre in cadres:
        if cadre.cadre_id in denominator:
            counted: bool | None = cadre.cadre_id in numerator
        elif cadre.cadre_id in unknown:
            counted = None
        else:
            continue
        rows.append(DrilldownRow(cadre.cadre_id, cadre.code, cadre.full_name, cadre.unit_name, counted))
    return rows


# ---------------------------------------------------------------------------------------------
# How far a figure is from its target, and why a person counts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shortfall:
    """How many more people would have to count for the figure to reach its target's lower bound.

    `fewest`..`most` is the range over every way the `unknown` people (facts not recorded) could turn out, as
    `_verdict` reads them: each may count or not once recorded. Without unknowns the two are equal. Both are None
    when the target has no lower bound (at_most) or nobody is in the population."""

    fewest: int | None
    most: int | None
    unknown: int

    @property
    def text(self) -> str:
        """ "6", "6–7" or "—": the figure the page prints after "Còn thiếu"."""
        if self.fewest is None or self.most is None:
            return "—"
        return str(self.fewest) if self.fewest == self.most else f"{self.fewest}–{self.most}"


# The lower bound is the one the target's resolution sets (`TargetDefinition.source`, e.g. NQ 06-NQ/TU mục II.3:
# 100% non-local commune chairs, women 20–25% read as "at least 20%"); a person "more" is one moved into the numerator.
def people_short(definition: TargetDefinition, counts: FigureCounts) -> Shortfall:
    """People more needed in the numerator, the population (known and unknown) unchanged: a post is filled by a
    non-local chair instead of a local one, a seat by a woman instead of a man. Unknown people are not guessed:
    the range runs from "every unknown counts" to "none does"."""
    population = counts.denominator + counts.unknown
    if definition.kind is TargetKind.AT_MOST or population == 0:
        return Shortfall(None, None, counts.unknown)
    floor = _exact(definition.low)
    needs = [_people_to_floor(counts.numerator + j, population, floor) for j in range(counts.unknown + 1)]
    return Shortfall(min(needs), max(needs), counts.unknown)


def _people_to_floor(numerator: int, population: int, floor: Fraction) -> int:
    # The smallest k with 100·(numerator + k) ≥ floor·population, exactly (no float rounding at 100%).
    wanted = math.ceil(floor * population / 100)
    return max(0, wanted - numerator)


EDUCATION_LEVEL_TEXT = {
    "trung_cap": "Trung cấp",
    "cao_dang": "Cao đẳng",
    "dai_hoc": "Đại học",
    "thac_si": "Thạc sĩ",
    "tien_si": "Tiến sĩ",
}
POLITICAL_THEORY_TEXT = {"so_cap": "Sơ cấp", "trung_cap": "Trung cấp", "cao_cap": "Cao cấp", "cu_nhan": "Cử nhân"}


def counting_basis(
    key: str, cadre: CadreFacts, today: date, unit_names: Mapping[int, str], hometown_unit_id: int | None = None
) -> str:
    """The facts figure `key` read for `cadre`, in Vietnamese, for the drill-down's "Căn cứ tính" column: why the
    person counts, does not, or is unknown. `unit_names` names communes (work, hometown); `hometown_unit_id`, the
    hometown as recorded, is named too when a merger made it another commune today."""
    if key not in _MEASURES:
        raise ValueError(f"unknown figure {key!r}; known figures: {', '.join(FIGURE_KEYS)}")
    measure = _MEASURES[key]
    if measure is _is_non_local:
        return _non_local_basis(cadre, unit_names, hometown_unit_id)
    if measure is _is_under_42:
        if cadre.birth_date is None:
            return "Ngày sinh: chưa ghi nhận"
        years = age_in_months(cadre.birth_date, today) // 12
        verdict = "dưới" if _is_under_42(cadre, today) else "không dưới"
        return (
            f"Ngày sinh {cadre.birth_date:%d/%m/%Y}: {years} tuổi tại ngày {today:%d/%m/%Y} "
            f"({verdict} {YOUNG_AGE_YEARS} tuổi)"
        )
    if measure is _is_woman:
        return "Giới tính: " + {FEMALE: "Nữ", MALE: "Nam", None: "chưa ghi nhận"}[cadre.gender]
    education = f"Trình độ chuyên môn: {EDUCATION_LEVEL_TEXT.get(cadre.education_level or '', 'chưa ghi nhận')}"
    if measure is _has_university_science_technology:
        field = "có" if cadre.is_science_technology else "không"
        return f"{education}; thuộc lĩnh vực khoa học, công nghệ: {field}"
    if measure is _has_masters:
        return education
    return f"Lý luận chính trị: {POLITICAL_THEORY_TEXT.get(cadre.political_theory or '', 'chưa ghi nhận')}"


def _non_local_basis(cadre: CadreFacts, unit_names: Mapping[int, str], hometown_unit_id: int | None) -> str:
    def name(unit_id: int | None) -> str:
        return unit_names.get(unit_id, f"đơn vị #{unit_id}") if unit_id is not None else ""

    work = (
        f"nơi công tác: {name(cadre.commune_id)}"
        if cadre.commune_id is not None
        else "nơi công tác: không thuộc đơn vị cấp xã"
    )
    if cadre.hometown_commune_id is None:
        home = "quê quán: chưa ghi nhận hoặc không thuộc xã, phường, đặc khu của tỉnh"
    elif hometown_unit_id is not None and hometown_unit_id != cadre.hometown_commune_id:
        home = f"quê quán: {name(hometown_unit_id)} (nay thuộc {name(cadre.hometown_commune_id)})"
    else:
        home = f"quê quán: {name(cadre.hometown_commune_id)}"
    text = f"{home[0].upper()}{home[1:]}; {work}"
    counted = _is_non_local(cadre, date.min)
    if counted is None:
        return text
    return f"{text} — {'khác' if counted else 'cùng'} đơn vị cấp xã"


# ---------------------------------------------------------------------------------------------
# Evaluation grades and the HTXSNV quota
# ---------------------------------------------------------------------------------------------
K = TypeVar("K", bound=Hashable)


def grade_distribution(results: Iterable[tuple[K, str]]) -> dict[K, dict[str, int]]:
    """Counts of each grade per key, every grade present (zeros included), keys in first-seen order.

    The key is whatever the caller groups by: a unit id, or (unit id, month), or (unit id, task group) for the
    quota. An unknown grade raises ValueError rather than vanishing from the totals.
    """
    return grade_distribution_from_counts((group, grade, 1) for group, grade in results)


def grade_distribution_from_counts(results: Iterable[tuple[K, str, int]]) -> dict[K, dict[str, int]]:
    """`grade_distribution` of rows already counted: (key, grade, how many). A key and grade may come more than
    once (several units of one commune); their counts add up."""
    distribution: dict[K, dict[str, int]] = {}
    for group, grade, count in results:
        if grade not in GRADES:
            raise ValueError(f"unknown grade {grade!r}; expected one of {', '.join(GRADES)}")
        counts = distribution.setdefault(group, dict.fromkeys(GRADES, 0))
        counts[str(grade)] += count
    return distribution


@dataclass(frozen=True)
class QuotaCheck:
    """`over_by` is how far the HTXSNV count is above today's allowance. Moving one person from HTXSNV to HTTNV
    also raises the allowance, so `demotions_needed` (the fewest moves that bring the group within the quota)
    can be smaller."""

    allowed: int
    actual: int
    over_by: int
    demotions_needed: int

    @property
    def is_within(self) -> bool:
        return self.over_by == 0


_ROUNDINGS = {"floor": ROUND_FLOOR, "ceil": ROUND_CEILING, "half_up": ROUND_HALF_UP}


# NĐ 335/2025/NĐ-CP Điều 20: HTXSNV ≤ 20% of those graded HTTNV, per unit and task group (domain rules §6.4).
def htxsnv_quota_check(counts: Mapping[str, int], ratio: float | Decimal = 0.2, rounding: str = "floor") -> QuotaCheck:
    """The HTXSNV quota of one group (one unit, one task group). `counts` maps grades to head counts, as one value
    of `grade_distribution`. The rounding of the allowance is not fixed by the text read: "floor", "ceil" or
    "half_up"."""
    if rounding not in _ROUNDINGS:
        raise ValueError(f"rounding must be one of {', '.join(_ROUNDINGS)}, not {rounding!r}")
    share = Decimal(str(ratio))
    if share < 0:
        raise ValueError(f"ratio must not be negative, not {ratio!r}")
    actual = counts.get(HTXSNV, 0)
    httnv = counts.get(HTTNV, 0)

    def allowance(good: int) -> int:
        return int((share * good).to_integral_value(rounding=_ROUNDINGS[rounding]))

    allowed = allowance(httnv)
    demotions = next(k for k in range(actual + 1) if actual - k <= allowance(httnv + k))
    return QuotaCheck(allowed=allowed, actual=actual, over_by=max(0, actual - allowed), demotions_needed=demotions)


# ---------------------------------------------------------------------------------------------
# Procedure timings
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepDuration:
    process_id: str
    step: str
    count: int
    average: timedelta
    p90: timedelta


def average_step_durations(
    rows: Iterable[tuple[str, str, datetime, datetime | None]],
) -> list[StepDuration]:
    """Time from opening to closing per (process, step), over the closed rows; open rows (closed None) are still
    running and are left out. Groups keep first-seen order. p90 is the nearest-rank 90th percentile: the
    smallest duration that at least 90% of the closed rows do not exceed."""
    durations: dict[tuple[str, str], list[timedelta]] = {}
    for process_id, step, opened, closed in rows:
        if closed is None:
            continue
        took = closed - opened
        if took < timedelta(0):
            raise ValueError(f"{process_id}/{step}: closed {closed} before it opened {opened}")
        durations.setdefault((process_id, step), []).append(took)
    result = []
    for (process_id, step), took_list in durations.items():
        ordered = sorted(took_list)
        count = len(ordered)
        rank = math.ceil(0.9 * count)
        result.append(
            StepDuration(
                process_id=process_id,
                step=step,
                count=count,
                average=sum(ordered, timedelta(0)) / count,
                p90=ordered[rank - 1],
            )
        )
    return result


@dataclass(frozen=True)
class OverdueCount:
    unit_id: int | None
    process_id: str
    open_count: int
    overdue_count: int
    closed_late_count: int
    overdue_task_ids: tuple[int, ...]


def overdue_by_unit(
    rows: Iterable[tuple[int, int | None, str, datetime | None, datetime | None]],
    now: datetime,
) -> list[OverdueCount]:
    """Per (unit, process): open tasks, open tasks past their due time at `now`, and closed tasks closed after it.

    Rows are (task_id, unit_id, process_id, due, closed). Pass completed and open tasks only: a cancelled task
    was not late, whatever its closing time. Groups keep first-seen order.
    """
    groups: dict[tuple[int | None, str], tuple[list[int], list[int], list[int]]] = {}
    for task_id, unit_id, process_id, due, closed in rows:
        open_ids, overdue_ids, late_ids = groups.setdefault((unit_id, process_id), ([], [], []))
        if closed is None:
            open_ids.append(task_id)
            if due is not None and due < now:
                overdue_ids.append(task_id)
        elif due is not None and closed > due:
            late_ids.append(task_id)
    return [
        OverdueCount(unit_id, process_id, len(open_ids), len(overdue_ids), len(late_ids), tuple(overdue_ids))
        for (unit_id, process_id), (open_ids, overdue_ids, late_ids) in groups.items()
    ]
