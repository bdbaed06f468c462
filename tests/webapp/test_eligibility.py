"""The start pages' shared preview rows and start warning (decisions 0070, 0096): met / not met / unknown, the
advice, who may set a rule aside, and the flash worded as the preview words it."""

from __future__ import annotations

from typing import Any

from flask import get_flashed_messages

from webapp.eligibility import FAILED, PASSED, UNKNOWN, blocking_lines, preview_rows, warn_of_unmet_rules
from workflows.rules.appointment import RuleResult

MET = RuleResult("age", True, "Đủ tuổi", "HD 06")
NOT_MET = RuleResult("planning", False, "Không có trong quy hoạch", "QĐ 377")
NO_DATA = RuleResult("age", False, "Thiếu ngày sinh", "HD 06", unknown=True)


def test_rows_say_met_not_met_or_unknown_and_who_may_set_a_rule_aside(app: Any) -> None:
    advice = {("planning", FAILED): "Bổ sung quy hoạch.", ("age", UNKNOWN): "Ghi ngày sinh."}
    with app.test_request_context():
        exceptable = preview_rows([MET, NOT_MET, NO_DATA], advice, exceptable={"planning"}, stopping={"age"})
        not_exceptable = preview_rows([NOT_MET], {}, exceptable=(), stopping={"planning"})
        met_at_the_check = preview_rows([NOT_MET], advice, exceptable=(), stopping=())
    assert [row.status for row in exceptable] == [PASSED, FAILED, UNKNOWN]
    assert exceptable[0].to_fix == ""
    assert exceptable[1].to_fix.startswith("Bổ sung quy hoạch. ") and "cấp có thẩm quyền" in exceptable[1].to_fix
    assert exceptable[2].to_fix.startswith("Ghi ngày sinh. ") and "không thể miễn" in exceptable[2].to_fix
    assert "không thể miễn" in not_exceptable[0].to_fix
    # A rule neither set aside nor stopping (met by a decision the check records): its own advice says it all.
    assert met_at_the_check[0].to_fix == "Bổ sung quy hoạch."


def test_only_a_stopping_rule_not_met_blocks_the_start(app: Any) -> None:
    """Decision 0136: a rule nobody at the eligibility check may set aside, not met, blocks the start; not one the
    competent authority may set aside, nor one that could not be checked (the data may be recorded before then)."""
    with app.test_request_context():
        rows = preview_rows([MET, NOT_MET, NO_DATA], {}, exceptable=(), stopping={"planning", "age"})
        waived = preview_rows([NOT_MET], {}, exceptable={"planning"}, stopping={"planning"})
    assert [row.is_blocking for row in rows] == [False, True, False]
    assert not waived[0].is_blocking


def test_the_lines_of_a_blocked_start_name_each_rule_with_its_finding_and_basis(app: Any) -> None:
    with app.test_request_context():
        (line,) = blocking_lines([NOT_MET])
    assert line == "Chưa đạt “Có trong quy hoạch chức danh”: Không có trong quy hoạch (QĐ 377)."


def test_the_warning_names_rules_not_met_apart_from_those_that_cannot_be_checked(app: Any) -> None:
    with app.test_request_context():
        warn_of_unmet_rules([MET, NOT_MET, NO_DATA])
        failed, unknown = get_flashed_messages(with_categories=True)
    assert failed[0] == unknown[0] == "warning"
    assert failed[1].startswith("Chưa đạt điều kiện: Có trong quy hoạch chức danh.")
    assert "thiếu dữ liệu" in unknown[1] and "Tuổi bổ nhiệm" in unknown[1] and "Có trong quy hoạch" not in unknown[1]


def test_every_rule_met_or_a_refused_start_warns_of_nothing(app: Any) -> None:
    with app.test_request_context():
        warn_of_unmet_rules([MET])
        warn_of_unmet_rules(None)
        assert get_flashed_messages() == []
