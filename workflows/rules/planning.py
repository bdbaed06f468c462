"""Planning (quy hoạch cán bộ, issue #7): nomination constraints, the annual review's screening, structure figures.

Pure functions of plain data: nothing reads the database or the clock (`workflows.planning.facts` gathers the facts
from the registry). Sources: QĐ 377-QĐ/TW (2025), planning chapter; QĐ 50-QĐ/TW where QĐ 377 is believed to keep
it; QĐ 96-QĐ/TW (confidence votes) — domain rules §2.2, §2.4, §3.9. Everything the domain reference tags [P] or [U]
is a field of `PlanningPolicy` with a documented default, so a province changes it by configuration. The two limits
it tags [V] (3 cadres per title, 3 titles per cadre and level) are the registry's own constants, used as they are.

Three groups of rules, each returning `RuleResult`s (the appointment module's) with a Vietnamese message carrying
the numbers it compared and the legal source:
- `check_nomination`: may this cadre be put on the plan for this title and term? One result per rule in
  `NOMINATION_RULES`, at nomination and again at approval.
- `screen_for_review`: the annual review's automatic screening of a cadre already planned. A failed result is a
  proposal to remove, its message the reason; the collective confirms each removal (the process, not here).
- `structure_figures`: % women, % young, % ethnic minority, % S&T of a list being built, against targets.

And what an appointment does to the plan (`entries_ended_by_appointment`): the entries for the post the cadre is
appointed to end, so they neither linger as "in the plan" nor take one of the 3 titles (decision 0113).

Ranks: "only higher titles" compares the cadre's current leadership posts with the planned title through the same
`title_ranks` as the appointment rules (larger = more senior; `workflows.rules.appointment.DEFAULT_TITLE_RANKS`).
An unranked title is compared by level (commune below province); on the same level it cannot be shown to be
higher, and the rule fails with a message saying so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import partial
from typing import Any, NamedTuple

from workflows.errors import N_, Problem
from workflows.registry.records import MAX_CADRES_PER_TITLE, MAX_TITLES_PER_CADRE_AND_LEVEL, TERM_PATTERN
from workflows.rules.appointment import (
    DEFAULT_TITLE_RANKS,
    DISCIPLINE_LABELS,
    PlannedTitle,
    RuleResult,
    RunningCase,
    case_words,
    format_date,
)
from workflows.rules.evaluation import GRADE_LABELS, GRADES, KHTNV
from workflows.rules.retirement import (
    DEFAULT_SCHEDULE,
    RetirementSchedule,
    age_in_months,
    months_until_retirement,
)
from workflows.rules.settings import check_settings, is_whole, merged_settings, plain, whole_setting
from workflows.rules.step_deadlines import PLANNING_STEP_WORKING_DAYS, merged_step_days, step_days_problems
from workflows.rules.targets import (
    UNIVERSITY_OR_HIGHER,
    Figure,
    FigureCounts,
    TargetDefinition,
    TargetKind,
    figure_from_counts,
    format_percent,
)

__all__ = [
    "AGE_COUNTED_FROM",
    "DEFAULT_POLICY",
    "DEFAULT_STRUCTURE_TARGETS",
    "LEVEL_ORDER",
    "NOMINATION_RULES",
    "RULE_AGE",
    "RULE_APPOINTMENT_IN_PROGRESS",
    "RULE_CADRES_PER_TITLE",
    "RULE_HIGHER_TITLE",
    "RULE_NOT_TWICE",
    "RULE_TITLES_PER_CADRE",
    "SCREENING_RULES",
    "SCREEN_CONFIDENCE",
    "SCREEN_DISCIPLINE",
    "SCREEN_GRADE",
    "SCREEN_OVER_AGE",
    "SCREEN_POLITICAL_STANDARD",
    "STRUCTURE_ETHNIC_MINORITY",
    "STRUCTURE_INDICATORS",
    "STRUCTURE_KEYS",
    "STRUCTURE_LABELS",
    "STRUCTURE_SCIENCE_TECHNOLOGY",
    "STRUCTURE_WOMEN",
    "STRUCTURE_YOUNG",
    "YOUNG_UNDER",
    "ConfidenceVote",
    "HeldPost",
    "NominationFacts",
    "PlanEntryRef",
    "PlanningDiscipline",
    "PlanningPolicy",
    "ReviewFacts",
    "ScreeningOutcome",
    "StructureFigure",
    "StructureIndicator",
    "StructureMember",
    "age_reference_date",
    "appointed_leaves_plan_reason",
    "check_nomination",
    "entries_ended_by_appointment",
    "screen_for_review",
    "structure_figures",
    "structure_flags",
    "structure_label",
    "term_problems",
    "term_start",
    "titles_counted_toward_limit",
]

# --- Nomination rules (one RuleResult each, in this order). ---
RULE_NOT_TWICE = "not_planned_twice"
RULE_CADRES_PER_TITLE = "cadres_per_title"
RULE_TITLES_PER_CADRE = "titles_per_cadre"
RULE_HIGHER_TITLE = "higher_title"
RULE_APPOINTMENT_IN_PROGRESS = "no_appointment_in_progress"
RULE_AGE = "age"
NOMINATION_RULES = (
    RULE_NOT_TWICE,
    RULE_CADRES_PER_TITLE,
    RULE_TITLES_PER_CADRE,
    RULE_HIGHER_TITLE,
    RULE_APPOINTMENT_IN_PROGRESS,
    RULE_AGE,
)

# --- Screening of the annual review (a failed result = proposed for removal). ---
SCREEN_OVER_AGE = "over_planning_age"
SCREEN_DISCIPLINE = "discipline"
SCREEN_GRADE = "annual_grade"
SCREEN_CONFIDENCE = "low_confidence"
SCREEN_POLITICAL_STANDARD = "political_standard"
SCREENING_RULES = (SCREEN_OVER_AGE, SCREEN_DISCIPLINE, SCREEN_GRADE, SCREEN_CONFIDENCE, SCREEN_POLITICAL_STANDARD)

# --- Structure indicators. ---
STRUCTURE_WOMEN = "women"
STRUCTURE_YOUNG = "young"
STRUCTURE_ETHNIC_MINORITY = "ethnic_minority"
STRUCTURE_SCIENCE_TECHNOLOGY = "science_technology"
STRUCTURE_KEYS = (STRUCTURE_WOMEN, STRUCTURE_YOUNG, STRUCTURE_ETHNIC_MINORITY, STRUCTURE_SCIENCE_TECHNOLOGY)

# Position.level values, lowest first: an unranked title on a higher level is a higher title.
LEVEL_ORDER = ("commune", "province")
# Where the months to retirement of the age rule are counted from (see `age_reference_date`).
AGE_COUNTED_FROM = ("term_start", "check_date")

MAX_MONTHS = 600

_SOURCE_NOT_TWICE = "QĐ 377-QĐ/TW, chương quy hoạch (mỗi chức danh tối đa 3 người, mỗi người tối đa 3 chức danh)"
_SOURCE_PER_TITLE = "QĐ 377-QĐ/TW, chương quy hoạch: mỗi chức danh quy hoạch không quá 3 cán bộ"
_SOURCE_PER_CADRE = "QĐ 377-QĐ/TW, chương quy hoạch: mỗi cán bộ quy hoạch không quá 3 chức danh cùng cấp"
_SOURCE_HIGHER = "QĐ 377-QĐ/TW, chương quy hoạch: chỉ quy hoạch chức danh cao hơn"
_SOURCE_APPOINTED = "QĐ 377-QĐ/TW, chương quy hoạch: chỉ quy hoạch chức danh cao hơn chức danh đang giữ"
_SOURCE_CONCURRENT = "QĐ 377-QĐ/TW: không thực hiện quy hoạch đồng thời với đề xuất bổ nhiệm, giới thiệu ứng cử"
_SOURCE_AGE = "QĐ 377-QĐ/TW (đủ tuổi công tác từ 2 nhiệm kỳ trở lên); QĐ 50-QĐ/TW (ít nhất trọn 1 nhiệm kỳ)"
_SOURCE_OVER_AGE = "QĐ 50-QĐ/TW (đưa ra khỏi quy hoạch cán bộ quá tuổi quy hoạch)"
_SOURCE_DISCIPLINE = "QĐ 50-QĐ/TW (kỷ luật từ khiển trách trở lên); QĐ 377-QĐ/TW (3 trường hợp vẫn được quy hoạch)"
_SOURCE_GRADE = "QĐ 377-QĐ/TW (rà soát hằng năm: đưa ra cán bộ không hoàn thành nhiệm vụ); NĐ 335/2025 Điều 23 k3"
_SOURCE_CONFIDENCE = "QĐ 96-QĐ/TW: trên 1/2 đến dưới 2/3 phiếu tín nhiệm thấp thì không quy hoạch lên chức vụ cao hơn"
_SOURCE_POLITICAL = "QĐ 50-QĐ/TW (kết luận không đạt tiêu chuẩn chính trị của chức danh)"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Structure indicators and their default targets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StructureIndicator:
    """What one structure figure counts; its target (if any) comes from `PlanningPolicy.structure_targets`."""

    key: str
    label_vi: str
    definition_vi: str
    source: str
    confidence: str  # V / P / U of the default target, as the domain reference tags


STRUCTURE_INDICATORS: Mapping[str, StructureIndicator] = {
    STRUCTURE_WOMEN: StructureIndicator(
        STRUCTURE_WOMEN,
        "Nữ",
        "Tỷ lệ = số cán bộ nữ trong danh sách ÷ số cán bộ trong danh sách có giới tính đã được ghi nhận.",
        "QĐ 50-QĐ/TW: tỷ lệ cán bộ nữ trong quy hoạch ≥ 25% (QĐ 377 có giữ hay không: chưa xác nhận)",
        "P",
    ),
    STRUCTURE_YOUNG: StructureIndicator(
        STRUCTURE_YOUNG,
        "Cán bộ trẻ",
        "Tỷ lệ = số cán bộ chưa đủ tuổi trẻ cấu hình tại ngày tính ÷ số cán bộ có ngày sinh đã được ghi nhận.",
        "QĐ 50-QĐ/TW: cán bộ trẻ (dưới 40 tuổi cấp tỉnh, huyện) ≥ 15% (QĐ 377 có giữ hay không: chưa xác nhận)",
        "P",
    ),
    STRUCTURE_ETHNIC_MINORITY: StructureIndicator(
        STRUCTURE_ETHNIC_MINORITY,
        "Dân tộc thiểu số",
        "Tỷ lệ = số cán bộ người dân tộc thiểu số ÷ số cán bộ có dân tộc đã được ghi nhận.",
        "QĐ 377-QĐ/TW: bảo đảm tỷ lệ hợp lý cán bộ người dân tộc thiểu số (văn bản không ghi con số)",
        "U",
    ),
    STRUCTURE_SCIENCE_TECHNOLOGY: StructureIndicator(
        STRUCTURE_SCIENCE_TECHNOLOGY,
        "Khoa học, công nghệ",
        "Tỷ lệ = số cán bộ có trình độ đại học trở lên thuộc chuyên ngành khoa học, công nghệ ÷ số cán bộ trong "
        "danh sách (chưa ghi nhận trình độ được tính là chưa đạt).",
        "QĐ 377-QĐ/TW: bảo đảm tỷ lệ hợp lý cán bộ có trình độ khoa học, công nghệ (văn bản không ghi con số)",
        "U",
    ),
}

# The figures' names as the pages show them (decision 0111): product words, English msgids the web layer translates
# (the Vietnamese is `label_vi`, which the engine's own messages keep). The young's age is the policy's.
STRUCTURE_LABELS: Mapping[str, str] = {
    STRUCTURE_WOMEN: N_("Women"),
    STRUCTURE_YOUNG: N_("Young cadres"),
    STRUCTURE_ETHNIC_MINORITY: N_("Ethnic minorities"),
    STRUCTURE_SCIENCE_TECHNOLOGY: N_("Science, technology"),
}
YOUNG_UNDER = N_("%(label)s (under %(age)s)")


def structure_label(key: str, policy: PlanningPolicy, translate: Callable[[str], str]) -> str:
    """A structure figure's name in the language of `translate` (a catalogue's gettext): "Cán bộ trẻ (dưới 40
    tuổi)", "Young cadres (under 40)"."""
    label = translate(STRUCTURE_LABELS[key])
    return translate(YOUNG_UNDER) % {"label": label, "age": policy.young_age_years} if key == STRUCTURE_YOUNG else label


# key → {"kind", "low", "high"} (the fields of targets.TargetDefinition) or None for "no numeric target".
DEFAULT_STRUCTURE_TARGETS: Mapping[str, Mapping[str, Any] | None] = {
    STRUCTURE_WOMEN: {"kind": "at_least", "low": 25},  # QĐ 50 [V] S11; [U] kept by QĐ 377
    STRUCTURE_YOUNG: {"kind": "at_least", "low": 15},  # QĐ 50 [V] S11; [U] kept by QĐ 377
    STRUCTURE_ETHNIC_MINORITY: None,  # "suitable share" [V] S7, S8: no number
    STRUCTURE_SCIENCE_TECHNOLOGY: None,  # "suitable share" [V] S7, S8: no number
}


def _target_definition(key: str, spec: Mapping[str, Any]) -> TargetDefinition:
    indicator = STRUCTURE_INDICATORS[key]
    return TargetDefinition(
        key=f"planning_{key}",
        label_vi=indicator.label_vi,
        definition_vi=indicator.definition_vi,
        source=indicator.source,
        kind=TargetKind(spec.get("kind", "at_least")),
        low=spec.get("low"),
        high=spec.get("high"),
        confidence=indicator.confidence,
    )


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanningPolicy:
    """The configurable values of the planning rules; every default carries its source or tag.

    `PlanningPolicy(...)` and `from_mapping` both refuse an inconsistent policy with `Invalid`, one `Problem` per
    bad setting (field = the setting's name, `structure_targets.<key>` for nested ones)."""

    # Age for the next term: "đủ tuổi công tác từ 2 nhiệm kỳ trở lên" — QĐ 377 press headline [P] S9 (2 × 60
    # months); QĐ 50 required one full term (60) [V] S11. The exact formula is [U].
    min_months_to_retirement: int = 120
    # Counted from the later of the term's first day and the day of the check ("term_start"), or from the day of
    # the check ("check_date") [U].
    age_counted_from: str = "term_start"
    # Annual review: "over the planning age" = fewer months than this to retirement on the review date, i.e. can no
    # longer serve a full term in the planned title [U] (QĐ 50 removed cadres over the planning age [V] S11).
    review_min_months_to_retirement: int = 60
    # Discipline from khiển trách up removes from the plan: QĐ 50 [V] S11, [U] for QĐ 377.
    removal_discipline_levels: tuple[str, ...] = tuple(DISCIPLINE_LABELS)
    # QĐ 377 [V] S9: a khiển trách / cảnh cáo that was waived or time-barred after review, or whose effect has
    # expired, does not remove the cadre from the plan.
    discipline_exception_levels: tuple[str, ...] = ("khien_trach", "canh_cao")
    # Annual grades that remove from the plan ("không hoàn thành nhiệm vụ" [V] S7, S8).
    removal_grades: tuple[str, ...] = (KHTNV,)
    # QĐ 96 [V] S47: more than 1/2 of low-confidence votes (of those summoned) → out of the plan for higher posts.
    low_confidence_removal_percent: float = 50
    # The "young" of the structure figure: under this age in completed years, QĐ 50 (province/district) [V] S11.
    young_age_years: int = 40
    # The majority ethnicity; any other recorded ethnicity counts as an ethnic minority.
    majority_ethnicity: str = "Kinh"
    # The targets of the structure figures; see DEFAULT_STRUCTURE_TARGETS.
    structure_targets: Mapping[str, Mapping[str, Any] | None] = field(
        default_factory=lambda: {k: (dict(v) if v is not None else None) for k, v in DEFAULT_STRUCTURE_TARGETS.items()}
    )
    # title_code → rank (larger = more senior) [U]: the appointment rules' table by default.
    title_ranks: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TITLE_RANKS))
    # A term (nhiệm kỳ) lasts this many years, "2026-2031": "normally 5 years" (domain rules glossary, untagged; the
    # 5-year term of office of an appointment is [V] S39, NĐ 170 Điều 28).
    term_years: int = 5
    # How far a term's first year may lie from this year: back to the term that is running or has just ended, ahead
    # to the terms being planned for [U: no rule bounds it; the window catches a mistyped year such as 1000-1005].
    term_start_years_back: int = 10
    term_start_years_ahead: int = 20
    # Working days each step has from the day it opens [U] (rules/step_deadlines.py; decision 0120).
    step_working_days: Mapping[str, int] = field(default_factory=lambda: dict(PLANNING_STEP_WORKING_DAYS))

    def __post_init__(self) -> None:
        check_settings(self, _policy_problems, N_("the planning settings are not valid"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PlanningPolicy:
        """Settings as JSON (admin configuration); every bad value is reported, not only the first. Lists become
        tuples; `structure_targets` entries replace the default entry of the same key."""
        merged = merged_settings(
            DEFAULT_POLICY, values, _policy_problems, N_("the planning settings are not valid"), convert=_setting
        )
        merged["structure_targets"] = {
            k: (dict(v) if v is not None else None) for k, v in merged["structure_targets"].items()
        }
        merged["title_ranks"] = dict(merged["title_ranks"])
        merged["step_working_days"] = dict(merged["step_working_days"])
        return cls(**merged)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready settings; `from_mapping(p.to_mapping()) == p`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("removal_discipline_levels", "discipline_exception_levels", "removal_grades"):
            data[name] = list(data[name])
        data["structure_targets"] = {k: (dict(v) if v is not None else None) for k, v in self.structure_targets.items()}
        data["title_ranks"] = dict(self.title_ranks)
        data["step_working_days"] = dict(self.step_working_days)
        return data

    def rank_of(self, title_code: str | None) -> int | None:
        return self.title_ranks.get(title_code) if title_code else None

    def target_for(self, key: str) -> TargetDefinition | None:
        spec = self.structure_targets.get(key)
        return _target_definition(key, spec) if spec is not None else None


def _setting(name: str, value: Any, default: Any) -> tuple[Any, list[Problem]]:
    if name == "structure_targets" and isinstance(value, Mapping):
        return {**default, **value}, []
    if name == "step_working_days":
        return merged_step_days(default, value), []
    return plain(name, value, default)


def _policy_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    whole_in = partial(whole_setting, values, problems)

    def codes(name: str, allowed: Iterable[str]) -> None:
        value = values[name]
        if not isinstance(value, tuple | list) or isinstance(value, str):
            problems.append(Problem("expected a list", field=name))
            return
        known = set(allowed)
        for item in value:
            if item not in known:
                problems.append(Problem("unknown value", field=f"{name}.{item}"))

    whole_in("min_months_to_retirement", 0, MAX_MONTHS)
    if values["age_counted_from"] not in AGE_COUNTED_FROM:
        problems.append(Problem("must be term_start or check_date", field="age_counted_from"))
    whole_in("review_min_months_to_retirement", 0, MAX_MONTHS)
    codes("removal_discipline_levels", DISCIPLINE_LABELS)
    codes("discipline_exception_levels", DISCIPLINE_LABELS)
    codes("removal_grades", GRADES)
    percent = values["low_confidence_removal_percent"]
    if not _number(percent):
        problems.append(Problem("expected a number", field="low_confidence_removal_percent"))
    elif not 0 <= percent < 100:
        problems.append(Problem("the value is outside the allowed range", field="low_confidence_removal_percent"))
    whole_in("young_age_years", 18, 70)
    whole_in("term_years", 1, 10)
    whole_in("term_start_years_back", 0, 100)
    whole_in("term_start_years_ahead", 0, 100)
    majority = values["majority_ethnicity"]
    if not isinstance(majority, str) or not majority.strip():
        problems.append(Problem("expected a text", field="majority_ethnicity"))
    targets = values["structure_targets"]
    if not isinstance(targets, Mapping):
        problems.append(Problem("expected an object of settings", field="structure_targets"))
    else:
        for key, spec in targets.items():
            where = f"structure_targets.{key}"
            if key not in STRUCTURE_INDICATORS:
                problems.append(Problem("unknown structure figure", field=where))
            elif spec is None:
                continue
            elif not isinstance(spec, Mapping) or set(spec) - {"kind", "low", "high"}:
                problems.append(Problem("expected kind, low and high", field=where))
            else:
                try:
                    _target_definition(key, spec)
                except (ValueError, TypeError):
                    problems.append(Problem("the target is not valid", field=where))
    ranks = values["title_ranks"]
    if not isinstance(ranks, Mapping):
        problems.append(Problem("expected an object of settings", field="title_ranks"))
    else:
        for code, rank in ranks.items():
            where = f"title_ranks.{code}"
            if not isinstance(code, str) or not code:
                problems.append(Problem("expected a title code", field=where))
            elif not is_whole(rank) or not 0 <= rank <= 1000:
                problems.append(Problem("the value is outside the allowed range", field=where))
    problems.extend(step_days_problems(values["step_working_days"], PLANNING_STEP_WORKING_DAYS))
    return problems


DEFAULT_POLICY = PlanningPolicy()


# ---------------------------------------------------------------------------------------------
# Nomination
# ---------------------------------------------------------------------------------------------
class HeldPost(NamedTuple):
    """A leadership post the cadre holds on the day of the check."""

    position_id: int
    title: str  # "Phó Chủ tịch UBND (Xã An Phú)"
    level: str  # Position.level
    rank: int | None = None


@dataclass(frozen=True)
class NominationFacts:
    """What the nomination rules need (see `workflows.planning.facts.nomination_facts`). The counts include the
    nominations of the list being built that come before this one, not only the approved plan."""

    cadre_name: str
    birth_date: date | None
    gender: str | None
    term: str  # "2026-2031"
    target_position_id: int
    target_title: str
    target_level: str
    target_rank: int | None
    # Other cadres planned (or nominated earlier in the list) for the target title in the term.
    others_for_title: tuple[str, ...] = ()
    # This cadre's other titles in the term at the target's level (planned or nominated earlier), target excluded.
    titles_at_level: tuple[PlannedTitle, ...] = ()
    already_planned: bool = False  # the cadre is already on the plan (or the list) for the title and term
    held_posts: tuple[HeldPost, ...] = ()
    appointment_in_progress: bool = False
    in_progress_cases: tuple[RunningCase, ...] = ()  # the running appointments behind the flag above


def term_start(term: str) -> date:
    """1 January of a term's first year ("2026-2031" → 01/01/2026)."""
    match = TERM_PATTERN.fullmatch(term)
    if match is None:
        raise ValueError(f"a term is written like 2026-2031, not {term!r}")
    return date(int(match.group(1)), 1, 1)


# Nhiệm kỳ (domain rules glossary, untagged: "normally 5 years"): the length and the window are settings.
def term_problems(term: str, *, today: date, policy: PlanningPolicy = DEFAULT_POLICY) -> list[Problem]:
    """A term as a planning review names it: written first year-last year ("2026-2031"), lasting `term_years`, its
    first year within `term_start_years_back` before and `term_start_years_ahead` after the year of `today`. One
    problem on the field `term`, or none."""
    match = TERM_PATTERN.fullmatch(term)
    first, last = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if last <= first:
        return [Problem("a term is written like 2026-2031", field="term")]
    if last - first != policy.term_years:
        wrong_length = N_(
            "The term does not last as many years as a term in the settings (normally 5, like 2026-2031)."
        )
        return [Problem(wrong_length, field="term")]
    if not today.year - policy.term_start_years_back <= first <= today.year + policy.term_start_years_ahead:
        return [Problem("The term is too far from the present: check the years.", field="term")]
    return []


# QĐ 377 [P] S9: the age is checked at the term's start for the next term; during the term, on the day of the check.
def age_reference_date(term: str, on: date, policy: PlanningPolicy = DEFAULT_POLICY) -> date:
    if policy.age_counted_from == "check_date":
        return on
    return max(term_start(term), on)


# QĐ 377: at most 3 titles per cadre, 3 cadres per title — a cadre appears once per title and term.
def _check_not_twice(facts: NominationFacts) -> RuleResult:
    where = f"chức danh {facts.target_title}, nhiệm kỳ {facts.term}"
    if facts.already_planned:
        return RuleResult(RULE_NOT_TWICE, False, f"{facts.cadre_name} đã có trong quy hoạch {where}", _SOURCE_NOT_TWICE)
    return RuleResult(RULE_NOT_TWICE, True, f"{facts.cadre_name} chưa có trong quy hoạch {where}", _SOURCE_NOT_TWICE)


# QĐ 377 [V] S7, S8, S9: no more than 3 cadres per planned title.
def _check_cadres_per_title(facts: NominationFacts) -> RuleResult:
    limit = MAX_CADRES_PER_TITLE
    count = len(facts.others_for_title)
    where = f"Chức danh {facts.target_title} nhiệm kỳ {facts.term}"
    names = f" ({', '.join(facts.others_for_title)})" if facts.others_for_title else ""
    if count >= limit:
        message = f"{where} đã có {count} người trong quy hoạch{names}, tối đa {limit} người"
        return RuleResult(RULE_CADRES_PER_TITLE, False, message, _SOURCE_PER_TITLE)
    message = f"{where} có {count} người trong quy hoạch{names}; thêm người này là {count + 1}/{limit}"
    return RuleResult(RULE_CADRES_PER_TITLE, True, message, _SOURCE_PER_TITLE)


# QĐ 377 [V] S7, S8, S9: only higher titles are planned, so a title the cadre holds is no plan and takes no place.
def titles_counted_toward_limit(
    titles: Iterable[PlannedTitle], held_posts: Iterable[HeldPost]
) -> tuple[tuple[PlannedTitle, ...], tuple[PlannedTitle, ...]]:
    """The planned titles that count toward the 3 titles per cadre, and those left out because the cadre holds them
    (an entry an appointment should have ended: one recorded before appointments ended it, decision 0113)."""
    held = {post.position_id for post in held_posts}
    titles = tuple(titles)
    return (
        tuple(t for t in titles if t.position_id not in held),
        tuple(t for t in titles if t.position_id in held),
    )


# QĐ 377 [V] S7, S8, S9: no more than 3 titles per cadre at the same level.
def _check_titles_per_cadre(facts: NominationFacts) -> RuleResult:
    limit = MAX_TITLES_PER_CADRE_AND_LEVEL
    counted, held = titles_counted_toward_limit(facts.titles_at_level, facts.held_posts)
    count = len(counted)
    level = _level_label(facts.target_level)
    listed = f" ({'; '.join(t.title for t in counted)})" if counted else ""
    not_counted = f"; không tính chức danh đang giữ ({'; '.join(t.title for t in held)})" if held else ""
    if count >= limit:
        message = (
            f"{facts.cadre_name} đã được quy hoạch {count} chức danh {level} nhiệm kỳ {facts.term}{listed}, "
            f"tối đa {limit} chức danh cùng cấp{not_counted}"
        )
        return RuleResult(RULE_TITLES_PER_CADRE, False, message, _SOURCE_PER_CADRE)
    message = (
        f"{facts.cadre_name} có {count} chức danh {level} trong quy hoạch nhiệm kỳ {facts.term}{listed}"
        f"{not_counted}; thêm chức danh này là {count + 1}/{limit}"
    )
    return RuleResult(RULE_TITLES_PER_CADRE, True, message, _SOURCE_PER_CADRE)


def _level_label(level: str) -> str:
    return {"commune": "cấp xã", "province": "cấp tỉnh"}.get(level, f"cấp {level}")


def _higher(target_rank: int | None, target_level: str, post: HeldPost) -> bool | None:
    """Is the target more senior than `post`? None when the ranks and levels cannot tell."""
    if target_rank is not None and post.rank is not None:
        return target_rank > post.rank
    if target_level in LEVEL_ORDER and post.level in LEVEL_ORDER and target_level != post.level:
        return LEVEL_ORDER.index(target_level) > LEVEL_ORDER.index(post.level)
    return None


# QĐ 377 [V] S7, S8, S9: only titles higher than the one the cadre holds are planned.
def _check_higher(facts: NominationFacts) -> RuleResult:
    target = facts.target_title
    if not facts.held_posts:
        return RuleResult(
            RULE_HIGHER_TITLE,
            True,
            f"Chưa giữ chức vụ lãnh đạo, quản lý: chức danh {target} là chức danh cao hơn",
            _SOURCE_HIGHER,
        )
    problems: list[str] = []
    for post in facts.held_posts:
        if post.position_id == facts.target_position_id:
            problems.append(f"đang giữ chính chức danh {post.title}")
            continue
        higher = _higher(facts.target_rank, facts.target_level, post)
        if higher is None:
            problems.append(
                f"không so sánh được chức danh {target} với chức danh đang giữ {post.title} "
                "(chức danh chưa được xếp bậc trong cấu hình)"
            )
        elif not higher:
            same = facts.target_rank is not None and facts.target_rank == post.rank
            relation = "tương đương" if same else "thấp hơn"
            problems.append(f"chức danh {target} {relation} chức danh đang giữ {post.title}")
    if problems:
        message = "; ".join(problems) + ": chỉ quy hoạch chức danh cao hơn"
        return RuleResult(RULE_HIGHER_TITLE, False, message[0].upper() + message[1:], _SOURCE_HIGHER)
    held = "; ".join(p.title for p in facts.held_posts)
    return RuleResult(
        RULE_HIGHER_TITLE, True, f"Chức danh {target} cao hơn chức danh đang giữ ({held})", _SOURCE_HIGHER
    )


# QĐ 377 [V] S7, S8: planning is never done together with proposing an appointment or nomination for election.
def _check_no_appointment(facts: NominationFacts) -> RuleResult:
    if not facts.appointment_in_progress:
        return RuleResult(
            RULE_APPOINTMENT_IN_PROGRESS,
            True,
            f"{facts.cadre_name} không có quy trình bổ nhiệm đang thực hiện",
            _SOURCE_CONCURRENT,
        )
    cases = f" — {case_words(facts.in_progress_cases)}" if facts.in_progress_cases else ""
    return RuleResult(
        RULE_APPOINTMENT_IN_PROGRESS,
        False,
        f"{facts.cadre_name} đang có quy trình bổ nhiệm{cases}: không quy hoạch đồng thời với đề xuất bổ nhiệm",
        _SOURCE_CONCURRENT,
    )


# QĐ 377 [P] S9 / QĐ 50 [V] S11: enough working time left (2 terms, configurable) from the term's start.
def _check_age(facts: NominationFacts, on: date, policy: PlanningPolicy, schedule: RetirementSchedule) -> RuleResult:
    need = policy.min_months_to_retirement
    if facts.birth_date is None or facts.gender not in ("male", "female"):
        return RuleResult(
            RULE_AGE,
            False,
            "Hồ sơ thiếu ngày sinh hoặc giới tính, không tính được thời gian công tác còn lại",
            _SOURCE_AGE,
        )
    reference = age_reference_date(facts.term, on, policy)
    left = months_until_retirement(facts.birth_date, facts.gender, reference, schedule)
    when = f"tính từ ngày {format_date(reference)}"
    if left >= need:
        message = f"Còn {left} tháng công tác đến tuổi nghỉ hưu {when}, đủ ít nhất {need} tháng"
    else:
        message = f"Còn {max(left, 0)} tháng công tác đến tuổi nghỉ hưu {when}, cần ít nhất {need} tháng"
    return RuleResult(RULE_AGE, left >= need, message, _SOURCE_AGE)


def check_nomination(
    facts: NominationFacts,
    *,
    on: date,
    policy: PlanningPolicy = DEFAULT_POLICY,
    schedule: RetirementSchedule = DEFAULT_SCHEDULE,
) -> list[RuleResult]:
    """One result per rule, in `NOMINATION_RULES` order; `on` is the day of the nomination (or of the approval)."""
    return [
        _check_not_twice(facts),
        _check_cadres_per_title(facts),
        _check_titles_per_cadre(facts),
        _check_higher(facts),
        _check_no_appointment(facts),
        _check_age(facts, on, policy, schedule),
    ]


# ---------------------------------------------------------------------------------------------
# Appointment: the plan for the post a cadre is appointed to ends
# ---------------------------------------------------------------------------------------------
class PlanEntryRef(NamedTuple):
    """An active planning entry of the appointed cadre: its id and the position it plans them for."""

    entry_id: int
    position_id: int


# QĐ 377 [V] S7, S8, S9: only titles higher than the one held are planned — once appointed, the post is not one.
def entries_ended_by_appointment(entries: Iterable[PlanEntryRef], appointed_position_id: int) -> list[int]:
    """The ids of the entries an appointment to `appointed_position_id` ends: those for that very post, in every
    term. Entries for other titles stay: whether they are still higher is the annual review's to judge (§2.4)."""
    return [entry.entry_id for entry in entries if entry.position_id == appointed_position_id]


def appointed_leaves_plan_reason(decision_number: str, effective_on: date) -> str:
    """The reason written on an entry the appointment ended, with the decision that appointed the cadre."""
    return (
        f"Đã được bổ nhiệm vào chức danh quy hoạch (Quyết định số {decision_number}, hiệu lực từ "
        f"{format_date(effective_on)}) — {_SOURCE_APPOINTED}"
    )


# ---------------------------------------------------------------------------------------------
# Annual review: automatic screening
# ---------------------------------------------------------------------------------------------
class PlanningDiscipline(NamedTuple):
    level: str  # a DisciplineLevel string
    decided_on: date
    expires_on: date | None = None  # the discipline's effect ends (QĐ 377's third case once passed)
    # QĐ 377's second case: waived or time-barred after review and remedy, as the collective recorded it.
    waived: bool = False


class ConfidenceVote(NamedTuple):
    """The latest confidence vote (QĐ 96): low-confidence ballots out of the people summoned."""

    low: int
    summoned: int
    held_on: date | None = None


@dataclass(frozen=True)
class ReviewFacts:
    """A planned cadre as the annual review sees them (see `workflows.planning.facts.review_facts`)."""

    cadre_id: int
    cadre_name: str
    birth_date: date | None
    gender: str | None
    disciplines: tuple[PlanningDiscipline, ...] = ()
    latest_annual_grade: str | None = None
    latest_annual_period: str | None = None
    confidence: ConfidenceVote | None = None
    # Concluded not to meet the title's political standard (the process records the conclusion).
    political_standard_failed: bool = False
    entry_ids: tuple[int, ...] = ()  # the cadre's active planning entries under review


@dataclass(frozen=True)
class ScreeningOutcome:
    """The screening of one cadre: one result per rule; a failed one proposes removal, its message the reason."""

    cadre_id: int
    cadre_name: str
    results: tuple[RuleResult, ...]
    entry_ids: tuple[int, ...] = ()

    @property
    def proposed_for_removal(self) -> bool:
        return any(not r.passed for r in self.results)

    @property
    def reasons(self) -> list[str]:
        return [r.message for r in self.results if not r.passed]

    @property
    def reason(self) -> str:
        """The reasons in one line."""
        return "; ".join(self.reasons)

    @property
    def grounded_reason(self) -> str:
        """The reasons in one line, each with the legal source of its rule, as the collective reads the proposal and
        the removal is recorded (PlanningEntry.reason): "Quá tuổi quy hoạch: … (căn cứ: QĐ 50-QĐ/TW …)"."""
        return "; ".join(f"{r.message} (căn cứ: {r.source})" for r in self.results if not r.passed)


# QĐ 50 [V] S11: cadres over the planning age leave the plan (threshold [U], `review_min_months_to_retirement`).
def _screen_age(facts: ReviewFacts, on: date, policy: PlanningPolicy, schedule: RetirementSchedule) -> RuleResult:
    need = policy.review_min_months_to_retirement
    if facts.birth_date is None or facts.gender not in ("male", "female"):
        return RuleResult(
            SCREEN_OVER_AGE,
            False,
            "Hồ sơ thiếu ngày sinh hoặc giới tính, không xác định được tuổi quy hoạch",
            _SOURCE_OVER_AGE,
        )
    left = months_until_retirement(facts.birth_date, facts.gender, on, schedule)
    when = f"tại ngày rà soát {format_date(on)}"
    if left < need:
        message = f"Quá tuổi quy hoạch: còn {max(left, 0)} tháng đến tuổi nghỉ hưu {when}, dưới {need} tháng"
        return RuleResult(SCREEN_OVER_AGE, False, message, _SOURCE_OVER_AGE)
    return RuleResult(
        SCREEN_OVER_AGE, True, f"Còn {left} tháng đến tuổi nghỉ hưu {when}, đủ {need} tháng", _SOURCE_OVER_AGE
    )


# QĐ 50 [V] S11 khiển trách or above removes; QĐ 377 [V] S9: except the waived and the expired (khiển trách, cảnh cáo).
def _screen_discipline(facts: ReviewFacts, on: date, policy: PlanningPolicy) -> RuleResult:
    removing: list[str] = []
    kept: list[str] = []
    for record in sorted(facts.disciplines, key=lambda d: d.decided_on):
        if record.decided_on > on or record.level not in policy.removal_discipline_levels:
            continue
        label = DISCIPLINE_LABELS.get(record.level, record.level)
        what = f"kỷ luật {label} ngày {format_date(record.decided_on)}"
        excepted = record.level in policy.discipline_exception_levels
        if excepted and record.waived:
            kept.append(f"{what} đã được miễn hoặc hết thời hiệu sau kiểm điểm, khắc phục")
        elif excepted and record.expires_on is not None and record.expires_on <= on:
            kept.append(f"{what} đã hết thời hạn hiệu lực ngày {format_date(record.expires_on)}")
        elif record.expires_on is not None and record.expires_on > on:
            removing.append(f"{what} còn hiệu lực đến {format_date(record.expires_on)}")
        else:
            removing.append(what)
    if removing:
        return RuleResult(SCREEN_DISCIPLINE, False, "Bị " + "; ".join(removing), _SOURCE_DISCIPLINE)
    if kept:
        message = "Có " + "; ".join(kept) + ": vẫn được quy hoạch"
        return RuleResult(SCREEN_DISCIPLINE, True, message, _SOURCE_DISCIPLINE)
    return RuleResult(SCREEN_DISCIPLINE, True, "Không bị kỷ luật từ khiển trách trở lên", _SOURCE_DISCIPLINE)


# QĐ 377 [V] S7, S8: the annual review removes cadres who fail to complete their tasks (grade KHTNV).
def _screen_grade(facts: ReviewFacts, policy: PlanningPolicy) -> RuleResult:
    grade = facts.latest_annual_grade
    if grade is None:
        return RuleResult(SCREEN_GRADE, True, "Chưa có kết quả xếp loại chất lượng năm", _SOURCE_GRADE)
    year = f" năm {facts.latest_annual_period}" if facts.latest_annual_period else " năm gần nhất"
    label = GRADE_LABELS.get(grade, grade)
    if grade in policy.removal_grades:
        return RuleResult(SCREEN_GRADE, False, f"Xếp loại chất lượng{year}: {label}", _SOURCE_GRADE)
    return RuleResult(SCREEN_GRADE, True, f"Xếp loại chất lượng{year}: {label}", _SOURCE_GRADE)


# QĐ 96 [V] S47: more than half low-confidence votes → removed from the plan for higher posts.
def _screen_confidence(facts: ReviewFacts, policy: PlanningPolicy) -> RuleResult:
    vote = facts.confidence
    if vote is None or vote.summoned <= 0:
        return RuleResult(SCREEN_CONFIDENCE, True, "Chưa có kết quả lấy phiếu tín nhiệm", _SOURCE_CONFIDENCE)
    share = Fraction(100 * vote.low, vote.summoned)
    limit = Fraction(str(policy.low_confidence_removal_percent))
    held = f" ngày {format_date(vote.held_on)}" if vote.held_on else ""
    what = (
        f"Lấy phiếu tín nhiệm{held}: {vote.low}/{vote.summoned} phiếu tín nhiệm thấp ({format_percent(float(share))})"
    )
    if share > limit:
        message = f"{what}, quá {format_percent(float(limit))} số người được triệu tập"
        return RuleResult(SCREEN_CONFIDENCE, False, message, _SOURCE_CONFIDENCE)
    message = f"{what}, không quá {format_percent(float(limit))} số người được triệu tập"
    return RuleResult(SCREEN_CONFIDENCE, True, message, _SOURCE_CONFIDENCE)


# QĐ 50 [V] S11 ([U] for QĐ 377): concluded not to meet the title's political standard.
def _screen_political(facts: ReviewFacts) -> RuleResult:
    if facts.political_standard_failed:
        return RuleResult(
            SCREEN_POLITICAL_STANDARD,
            False,
            "Có kết luận không đạt tiêu chuẩn chính trị của chức danh quy hoạch",
            _SOURCE_POLITICAL,
        )
    return RuleResult(SCREEN_POLITICAL_STANDARD, True, "Không có kết luận về tiêu chuẩn chính trị", _SOURCE_POLITICAL)


def screen_for_review(
    facts: ReviewFacts,
    *,
    on: date,
    policy: PlanningPolicy = DEFAULT_POLICY,
    schedule: RetirementSchedule = DEFAULT_SCHEDULE,
) -> ScreeningOutcome:
    """The annual review's screening of one planned cadre on `on` (the review date), in `SCREENING_RULES` order."""
    results = (
        _screen_age(facts, on, policy, schedule),
        _screen_discipline(facts, on, policy),
        _screen_grade(facts, policy),
        _screen_confidence(facts, policy),
        _screen_political(facts),
    )
    return ScreeningOutcome(facts.cadre_id, facts.cadre_name, results, facts.entry_ids)


# ---------------------------------------------------------------------------------------------
# Structure of a list
# ---------------------------------------------------------------------------------------------
class StructureMember(NamedTuple):
    """One person on a list being built (counted once however many titles they are planned for)."""

    cadre_id: int
    birth_date: date | None
    gender: str | None
    ethnicity: str | None
    education_level: str | None
    is_science_technology: bool


@dataclass(frozen=True)
class StructureFigure:
    key: str
    label: str
    numerator: int
    denominator: int  # people whose fact is known
    unknown: int
    percent: float | None
    target: TargetDefinition | None
    meets_target: bool | None  # None: no target, nobody known, or the unknowns could change the verdict
    message: str


def _measure(key: str, member: StructureMember, on: date, policy: PlanningPolicy) -> bool | None:
    if key == STRUCTURE_WOMEN:
        return None if member.gender is None else member.gender == "female"
    if key == STRUCTURE_YOUNG:
        # Completed-months age, as the retirement rules and the dashboard's "under 42" count it.
        return None if member.birth_date is None else age_in_months(member.birth_date, on) < policy.young_age_years * 12
    if key == STRUCTURE_ETHNIC_MINORITY:
        ethnicity = (member.ethnicity or "").strip()
        return None if not ethnicity else ethnicity.casefold() != policy.majority_ethnicity.strip().casefold()
    # S&T as the dashboard's figure counts it: university or higher in a science and technology field.
    return member.is_science_technology and member.education_level in UNIVERSITY_OR_HIGHER


# QĐ 377 [V] S7, S8: what each of the four structure figures counts of one person (None: not recorded).
def structure_flags(
    member: StructureMember, *, on: date, policy: PlanningPolicy = DEFAULT_POLICY
) -> dict[str, bool | None]:
    """One person's part in each figure, in `STRUCTURE_KEYS` order: what the live figures of a list add up."""
    return {key: _measure(key, member, on, policy) for key in STRUCTURE_KEYS}


# QĐ 377 [V] S7, S8: suitable shares of young cadres, women, ethnic minorities and S&T; targets per the policy.
def structure_figures(
    members: Iterable[StructureMember], *, on: date, policy: PlanningPolicy = DEFAULT_POLICY
) -> list[StructureFigure]:
    """The four figures of a list, in `STRUCTURE_KEYS` order. A person listed twice counts once (as first listed)."""
    first: dict[int, StructureMember] = {}
    for member in members:
        first.setdefault(member.cadre_id, member)
    people = list(first.values())
    figures: list[StructureFigure] = []
    for key in STRUCTURE_KEYS:
        numerator = denominator = unknown = 0
        for member in people:
            counted = _measure(key, member, on, policy)
            if counted is None:
                unknown += 1
                continue
            denominator += 1
            numerator += bool(counted)
        target = policy.target_for(key)
        label = STRUCTURE_INDICATORS[key].label_vi
        if key == STRUCTURE_YOUNG:
            label = f"{label} (dưới {policy.young_age_years} tuổi)"
        counts = FigureCounts(numerator, denominator, unknown)
        figure: Figure | None = figure_from_counts(target, counts) if target is not None else None
        percent = 100 * numerator / denominator if denominator else None
        meets = figure.meets_target if figure is not None else None
        figures.append(
            StructureFigure(
                key, label, numerator, denominator, unknown, percent, target, meets,
                _structure_message(label, numerator, denominator, unknown, percent, target, meets),
            )
        )  # fmt: skip
    return figures


def _structure_message(
    label: str,
    numerator: int,
    denominator: int,
    unknown: int,
    percent: float | None,
    target: TargetDefinition | None,
    meets: bool | None,
) -> str:
    text = f"{label}: {numerator}/{denominator} người ({format_percent(percent)})"
    if unknown:
        text += f", {unknown} người chưa rõ"
    if target is None:
        return text + ", không có chỉ tiêu"
    verdict = {True: "đạt", False: "chưa đạt", None: "chưa kết luận được"}[meets]
    return text + f", chỉ tiêu {target.target_text}: {verdict}"
