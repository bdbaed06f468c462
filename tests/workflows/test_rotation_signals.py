"""Proactive rotation signals (QĐ 65-QĐ/TW Điều 4 [V] S50; seed 004 §1.10; seeds 000–002) at the boundaries."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.errors import Invalid
from workflows.rules.rotation_signals import (
    DEFAULT_SIGNAL_POLICY,
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
    assert reason is not None and "nhiệm kỳ thứ 2" in reason and "03/12/2021" in reason
    assert head_term_reason(date(2021, 12, 3), TODAY, 5, "X", SignalPolicy(head_terms=3)) is None


# Seed 004 §1.10 [P]: personnel staff after 5 consecutive years in the same post.
def test_personnel_staff_are_signalled_after_five_years_in_one_post() -> None:
    assert personnel_years_reason(date(2021, 12, 4), TODAY, "Chuyên viên") is None
    reason = personnel_years_reason(date(2021, 12, 3), TODAY, "Chuyên viên")
    assert reason is not None and "5 năm" in reason


# Seeds 000–002: the non-local commune key posts; unknown hometowns are not guessed.
def test_a_local_person_in_a_non_local_post_is_signalled() -> None:
    assert local_key_post_reason("commune_pc_chair", False, 7, 7, "Chủ tịch UBND", "Xã A") is not None
    assert local_key_post_reason(None, True, 7, 7, "Bí thư", None) is not None
    assert local_key_post_reason("commune_pc_chair", False, 8, 7, "Chủ tịch UBND", None) is None
    assert local_key_post_reason("commune_pc_chair", False, None, 7, "Chủ tịch UBND", None) is None
    assert local_key_post_reason("commune_pc_vice_chair", False, 7, 7, "Phó Chủ tịch", None) is None


def test_signal_settings_are_checked() -> None:
    assert DEFAULT_SIGNAL_POLICY.head_terms == 2
    with pytest.raises(Invalid) as caught:
        SignalPolicy(head_terms=0, personnel_years=0)
    assert {p.field for p in caught.value.problems} == {"head_terms", "personnel_years"}
