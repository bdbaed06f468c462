"""The inbox's summary per procedure, built from the step counts it already has (no statement of its own)."""

from __future__ import annotations

from workflows.inbox import ProcedureCount, StepCount, facet_summary


def test_steps_are_grouped_under_their_procedure_in_order() -> None:
    facets = [
        ("ballot", "Bỏ phiếu", "cast", "Bỏ phiếu", 1),
        ("evaluation", "Đánh giá", "manager_review", "Nhận xét", 12),
        ("evaluation", "Đánh giá", "head_decision", "Quyết định", 2),
    ]
    assert facet_summary(facets) == [
        ProcedureCount("ballot", "Bỏ phiếu", 1, [StepCount("cast", "Bỏ phiếu", 1)]),
        ProcedureCount(
            "evaluation",
            "Đánh giá",
            14,
            [StepCount("manager_review", "Nhận xét", 12), StepCount("head_decision", "Quyết định", 2)],
        ),
    ]


def test_a_procedure_or_step_renamed_between_versions_is_counted_once() -> None:
    facets = [
        ("evaluation", "Đánh giá", "manager_review", "Nhận xét", 3),
        ("evaluation", "Đánh giá xếp loại", "manager_review", "Nhận xét của quản lý", 4),
    ]
    assert facet_summary(facets) == [
        ProcedureCount("evaluation", "Đánh giá", 7, [StepCount("manager_review", "Nhận xét", 7)])
    ]


def test_no_tasks_no_summary() -> None:
    assert facet_summary([]) == []
