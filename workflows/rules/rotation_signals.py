"""Proactive rotation signals (issue #7): who is due to be considered for rotation. Pure: plain data in, findings out.

Three signals, each with a reason carrying the dates and numbers it compared. A reason is a `SignalReason`: an
English msgid (`N_`) with its arguments, worded by the web layer in the reader's language (decision 0118), and by
`SignalReason.vietnamese` where the engine writes it (the weekly notification, the CLI) — the same Vietnamese as
the catalogue's:
- a head (người đứng đầu) serving the last consecutive term allowed in one place — QĐ 65-QĐ/TW Điều 4 [V] S50:
  heads serve at most 2 consecutive terms in one locality or body, so the signal comes while the 2nd runs, early
  enough to plan the rotation;
- personnel staff (làm công tác tổ chức cán bộ) in the same post for 5 consecutive years — seed 004 §1.10 [P];
- a commune key post that must not be held by a local person held by one — seeds 000–002 [V]/[P] (the same
  non-local rule `rules/rotation.py` checks before a rotation).

"Consecutive": the spans a cadre held the same post (or, for heads, any head post of the same unit) joined when one
starts at most a day after the previous one ends — each re-appointment is a new span.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from workflows.errors import N_, Amount, Problem, fill_in
from workflows.rules.appointment import format_date, months_between
from workflows.rules.rotation import DEFAULT_POLICY as ROTATION_POLICY
from workflows.rules.settings import check_settings, whole_setting

__all__ = [
    "DEFAULT_SIGNAL_POLICY",
    "HEAD_TERMS_REASON",
    "LOCAL_KEY_POST_HOMETOWN_REASON",
    "LOCAL_KEY_POST_REASON",
    "PERSONNEL_YEARS_REASON",
    "REASONS_VI",
    "SIGNAL_HEAD_TERMS",
    "SIGNAL_LOCAL_KEY_POST",
    "SIGNAL_PERSONNEL_YEARS",
    "SIGNAL_REASON_MSGIDS",
    "SignalPolicy",
    "SignalReason",
    "Span",
    "continuous_since",
    "head_term_reason",
    "local_key_post_reason",
    "personnel_years_reason",
]

SIGNAL_HEAD_TERMS = "head_terms"
SIGNAL_PERSONNEL_YEARS = "personnel_years"
SIGNAL_LOCAL_KEY_POST = "local_key_post"


@dataclass(frozen=True)
class SignalPolicy:
    # QĐ 65 Điều 4 [V] S50: a head holds the post at most 2 consecutive terms in one place.
    head_terms: int = 2
    # The heads' titles [U: QĐ 65 names bí thư cấp ủy, chủ tịch UBND and the heads of some sectors; a province's
    # list is its own]: title codes of `Position.title_code`.
    head_titles: tuple[str, ...] = (
        "commune_party_secretary",
        "commune_pc_chair",
        "province_party_secretary",
        "province_pc_chair",
        "department_director",
        "province_organisation_head",
        "province_inspection_chair",
    )
    # Seed 004 §1.10 [P]: personnel staff are rotated after 5 consecutive years in the same post.
    personnel_years: int = 5
    # Which units do personnel work: unit codes ending so (Ban Tổ chức, Sở Nội vụ in the demo) [U].
    personnel_unit_suffixes: tuple[str, ...] = ("-BTC", "-SNV")
    # Commune key posts that must not be held by local people (as `RotationPolicy.non_local_titles`).
    non_local_titles: tuple[str, ...] = field(default_factory=lambda: ROTATION_POLICY.non_local_titles)

    def __post_init__(self) -> None:
        check_settings(self, _problems, N_("the rotation signal settings are not valid"))


def _problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    whole_setting(values, problems, "head_terms", 1, 10)
    whole_setting(values, problems, "personnel_years", 1, 40)
    for name in ("head_titles", "personnel_unit_suffixes", "non_local_titles"):
        value = values[name]
        if not isinstance(value, tuple | list) or not all(isinstance(v, str) and v for v in value):
            problems.append(Problem("expected a list", field=name))
    return problems


DEFAULT_SIGNAL_POLICY = SignalPolicy()


# The reasons' words: English msgids for the catalogue, and the Vietnamese the engine writes itself (the catalogue's
# Vietnamese is the same text, word for word: tests/webapp/test_rotation_signal_words.py keeps the two in step).
HEAD_TERMS_REASON = N_(
    "Has held a head post in %(place)s continuously since %(since)s, now in term %(term)s (at most %(most)s "
    "consecutive terms in one place)"
)
PERSONNEL_YEARS_REASON = N_(
    "Has done personnel work in the post %(post)s continuously since %(since)s (%(years)s years; rotated every "
    "%(most)s years)"
)
LOCAL_KEY_POST_REASON = N_("A local person holding %(post)s, a post reserved for people from elsewhere")
LOCAL_KEY_POST_HOMETOWN_REASON = N_(
    "A local person (hometown: %(hometown)s) holding %(post)s, a post reserved for people from elsewhere"
)
REASONS_VI: Mapping[str, str] = {
    HEAD_TERMS_REASON: (
        "Giữ chức vụ người đứng đầu tại %(place)s liên tục từ %(since)s, đang ở nhiệm kỳ thứ %(term)s "
        "(tối đa %(most)s nhiệm kỳ liên tiếp ở một nơi)"
    ),
    PERSONNEL_YEARS_REASON: (
        "Làm công tác tổ chức cán bộ ở vị trí %(post)s liên tục từ %(since)s (%(years)s năm; "
        "định kỳ luân chuyển sau %(most)s năm)"
    ),
    LOCAL_KEY_POST_REASON: "Là người địa phương nhưng giữ %(post)s, chức danh bố trí người không là người địa phương",
    LOCAL_KEY_POST_HOMETOWN_REASON: (
        "Là người địa phương (quê quán: %(hometown)s) nhưng giữ %(post)s, chức danh bố trí người không là người "
        "địa phương"
    ),
}
SIGNAL_REASON_MSGIDS = frozenset(REASONS_VI)


@dataclass(frozen=True)
class SignalReason:
    """Why a cadre is signalled, in no language yet: the msgid and its arguments. Numbers are `Amount`s (each
    reader writes them their way); a date is written dd/mm/yyyy, as every page writes dates; names are the
    registry's, as written."""

    message: str
    args: tuple[tuple[str, str | Amount], ...]

    def text(
        self, translate: Callable[[str], str], shown: Callable[[Mapping[str, object]], Mapping[str, object]]
    ) -> str:
        """In the language of `translate` (a catalogue's gettext), the numbers written by `shown` (the web layer's
        `shown_args`)."""
        return fill_in(translate(self.message), shown(dict(self.args)))

    def vietnamese(self) -> str:
        """As the engine writes it where no reader chose a language (the weekly notification, the CLI)."""
        return fill_in(REASONS_VI[self.message], dict(self.args))

    def __str__(self) -> str:  # the English, as a `WorkflowError` explains itself
        return fill_in(self.message, dict(self.args))


@dataclass(frozen=True)
class Span:
    started_on: date
    ended_on: date | None  # None: still held


def continuous_since(spans: Iterable[Span], today: date) -> date | None:
    """The first day of the unbroken run of spans that covers `today`, or None when none covers it."""
    ordered = sorted(spans, key=lambda s: s.started_on)
    since: date | None = None
    reach: date | None = None  # the last day covered so far (date.max while open)
    for span in ordered:
        if span.started_on > today:
            break
        end = span.ended_on or date.max
        if reach is None or span.started_on > reach + timedelta(days=1):
            since = span.started_on
            reach = end
        else:
            reach = max(reach, end)
    if since is None or reach is None or reach < today:
        return None
    return since


def head_term_reason(
    since: date, today: date, term_years: int, place: str, policy: SignalPolicy = DEFAULT_SIGNAL_POLICY
) -> SignalReason | None:
    """QĐ 65 Điều 4 [V] S50: the reason when the current term in `place` is the last consecutive one allowed."""
    years = max(term_years, 1)
    term_number = months_between(since, today) // (12 * years) + 1
    if term_number < policy.head_terms:
        return None
    return SignalReason(
        HEAD_TERMS_REASON,
        (
            ("place", place),
            ("since", format_date(since)),
            ("term", Amount(term_number)),
            ("most", Amount(policy.head_terms)),
        ),
    )


def personnel_years_reason(
    since: date, today: date, post: str, policy: SignalPolicy = DEFAULT_SIGNAL_POLICY
) -> SignalReason | None:
    """Seed 004 §1.10 [P]: the reason when a personnel officer has held `post` for the configured years or more."""
    months = months_between(since, today)
    if months < 12 * policy.personnel_years:
        return None
    return SignalReason(
        PERSONNEL_YEARS_REASON,
        (
            ("post", post),
            ("since", format_date(since)),
            ("years", Amount(months // 12)),
            ("most", Amount(policy.personnel_years)),
        ),
    )


def local_key_post_reason(
    title_code: str | None,
    requires_non_local: bool,
    hometown_commune_id: int | None,
    post_commune_id: int | None,
    post: str,
    hometown: str | None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> SignalReason | None:
    """Seeds 000–002 [V]/[P]: the reason when a post reserved for non-local people is held by a local person.
    Unknown hometowns are not guessed."""
    if not (requires_non_local or title_code in policy.non_local_titles):
        return None
    if hometown_commune_id is None or post_commune_id is None or hometown_commune_id != post_commune_id:
        return None
    if hometown:
        return SignalReason(LOCAL_KEY_POST_HOMETOWN_REASON, (("hometown", hometown), ("post", post)))
    return SignalReason(LOCAL_KEY_POST_REASON, (("post", post),))
