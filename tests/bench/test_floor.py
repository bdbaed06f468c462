"""The floor benchmark's ceiling (bench/floor.py): the most completions per second a mix can reach when every
request costs at least the floor and every completion also its engine advance."""

from __future__ import annotations

import pytest

from bench.floor import completion_ceiling


def test_the_ceiling_counts_every_request_of_the_mix_at_the_floor_and_the_engine_once_per_completion() -> None:
    # 40 % reads: 1/0.6 requests per completion; 2 ms each and 2 ms of engine: 2000 / (3.33 + 2) per second.
    assert completion_ceiling(2.0, 2.0, 0.4, 2.0) == pytest.approx(2000 / (2.0 / 0.6 + 2.0))
    # Completions only: one request per completion.
    assert completion_ceiling(2.0, 2.0, 0.0, 2.0) == pytest.approx(500.0)
    # Twice the cores carry twice as much; a dearer floor carries less.
    assert completion_ceiling(2.0, 2.0, 0.4, 4.0) == pytest.approx(2 * completion_ceiling(2.0, 2.0, 0.4, 2.0))
    assert completion_ceiling(3.0, 2.0, 0.4, 2.0) < completion_ceiling(2.0, 2.0, 0.4, 2.0)
