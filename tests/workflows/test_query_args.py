from __future__ import annotations

import pytest

from workflows.query_args import page_count, page_within


@pytest.mark.parametrize(
    ("asked", "total", "shown"),
    [(1, 0, 1), (999_999, 0, 1), (3, 50, 2), (999_999, 1_007, 41), (0, 100, 1), (-4, 100, 1), (2, 26, 2)],
)
def test_a_page_past_the_last_is_the_last(asked: int, total: int, shown: int) -> None:
    assert page_within(asked, total, 25) == shown


def test_an_empty_list_is_one_page() -> None:
    assert page_count(0, 25) == 1 and page_count(25, 25) == 1 and page_count(26, 25) == 2
