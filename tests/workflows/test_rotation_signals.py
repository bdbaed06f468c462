"""Proactive rotation signals (QĐ 65-QĐ/TW Điều 4 [V] S50; seed 004 §1.10; seeds 000–002) at the boundaries."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.errors import Amount, Invalid
from workflows.rules.rotation_signals import (
    DEFAULT_SIGNAL_POLICY,
    HEAD_TERMS_REASON,
    REASONS_VI,
    SIGNAL_REASON_MSGIDS,
    SignalPolicy,
    Span,
    continuous_since,
    head_term_reason,
    local_key_post_reason,
    personnel_years_reason,
)

TODAY = date(2026, 12, 3)


def test_spans_a_day_apart_are_one_run_a_gap_breaks_it() -> None:
    spans = [Span(date(2016, 1, 1), date(2020, 12, 31)), Span(date(2021, 1, 1), None)]
    assert continuous_since(spans, TODAY) == date(2016, 1, 1)
    broken = [Span(date(2016, 1, 1), date(2020, 12, 30)), Span(date(2021, 1, 1), None)]
    assert continuous_since(broken, TODAY) == date(2021, 1, 1)
    assert continuous_since([Span(date(2016, 1, 1), date(2020, 12, 31))], TODAY) is None  # not held today
    assert continuous_since([], TODAY) is None


# QĐ 65 Điều 4 [V] S50: at most 2 consecutive terms; the signal comes while the 2nd term runs.
def test_a_head_is_signalled_from_the_first_day_of_the_second_consecutive_term() -> None:
    assert head_term_reason(date(2021, 12, 4), TODAY, 5, "Xã An Phú") is None  # 4 years 11 months: 1st term
    reason = head_term_reason(date(2021, 12, 3), TODAY, 5, "Xã An Phú")
    assert reason is not None and "nhiệm kỳ thứ 2" in reason.vietnamese() and "03/12/2021" in reason.vietnamese()
    assert head_term_reason(date(2021, 12, 3), TODAY, 5, "X", SignalPolicy(head_terms=3)) is None


# Seed 004 §1.10 [P]: personnel staff after 5 consecutive years in the same post.
def test_personnel_staff_are_signalled_after_five_years_in_one_post() -> None:
    assert personnel_years_reason(date(2021, 12, 4), TODAY, "Chuyên viên") is None
    reason = personnel_years_reason(date(2021, 12, 3), TODAY, "Chuyên viên")
    assert reason is not None and "(5 năm;" in reason.vietnamese()


# Seeds 000–002: the non-local commune key posts; unknown hometowns are not guessed.
def test_a_local_person_in_a_non_local_post_is_signalled() -> None:
    assert local_key_post_reason("commune_pc_chair", False, 7, 7, "Chủ tịch UBND", "Xã A") is not None
    assert local_key_post_reason(None, True, 7, 7, "Bí thư", None) is not None
    assert local_key_post_reason("commune_pc_chair", False, 8, 7, "Chủ tịch UBND", None) is None
    assert local_key_post_reason("commune_pc_chair", False, None, 7, "Chủ tịch UBND", None) is None
    assert local_key_post_reason("commune_pc_vice_chair", False, 7, 7, "Phó Chủ tịch", None) is None


def test_a_reason_is_a_msgid_with_its_numbers_worded_by_the_caller() -> None:
    """The engine keeps the words unworded (decision 0118): the page words them in the reader's language, the
    engine's own notification in Vietnamese, the same text as before the change."""
    head = head_term_reason(date(2021, 12, 3), TODAY, 5, "Xã An Phú")
    assert head is not None and head.message == HEAD_TERMS_REASON
    assert head.vietnamese() == (
        "Giữ chức vụ người đứng đầu tại Xã An Phú liên tục từ 03/12/2021, đang ở nhiệm kỳ thứ 2 "
        "(tối đa 2 nhiệm kỳ liên tiếp ở một nơi)"
    )
    assert str(head) == (
        "Has held a head post in Xã An Phú continuously since 03/12/2021, now in term 2 "
        "(at most 2 consecutive terms in one place)"
    )
    assert dict(head.args)["term"] == Amount(2)
    local = local_key_post_reason("commune_pc_chair", False, 7, 7, "Chủ tịch UBND", "Xã A")
    assert local is not None and local.vietnamese() == (
        "Là người địa phương (quê quán: Xã A) nhưng giữ Chủ tịch UBND, chức danh bố trí người không là người địa phương"
    )
    unknown_home = local_key_post_reason(None, True, 7, 7, "Bí thư", None)
    assert unknown_home is not None and "quê quán" not in unknown_home.vietnamese()
    # A translation that reorders the words, and numbers written a reader's way.
    worded = head.text(lambda msgid: "%(most)s/%(term)s %(place)s", lambda args: {**args, "most": "hai"})
    assert worded == "hai/2 Xã An Phú"
    assert set(REASONS_VI) == SIGNAL_REASON_MSGIDS


def test_signal_settings_are_checked() -> None:
    assert DEFAULT_SIGNAL_POLICY.head_terms == 2
    with pytest.raises(Invalid) as caught:
        SignalPolicy(head_terms=0, personnel_years=0)
    assert {p.field for p in caught.value.problems} == {"head_terms", "personnel_years"}
