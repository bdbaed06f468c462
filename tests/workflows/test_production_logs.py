"""The JSON request line is the standard library's document, written faster (decision 0101)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum, IntEnum, StrEnum
from uuid import UUID

import pytest

from workflows.production.logs import JsonLineFormatter, json_line


def _standard(line: dict[str, object]) -> str:
    return json.dumps(line, ensure_ascii=False, default=str)


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Status(StrEnum):
    OPEN = "open"


@dataclass
class Point:
    x: int


LINES = [
    {"event": "request", "method": "GET", "path": "/api/v1/tasks", "status": 200, "user_id": 3, "cpu_ms": 2.51},
    {"msg": "Đề nghị cấp phòng họp — “quoted” \\ \n\t", "duration_ms": 0.1, "instance_id": None, "ok": True},
    {
        "when": datetime(2026, 12, 6, 13, 0, 1, 5000),
        "aware": datetime(2026, 12, 6, tzinfo=UTC),
        "day": date(2026, 1, 2),
    },
    {"colour": Colour.RED, "level": Level.HIGH, "status": Status.OPEN, "point": Point(1), "id": UUID(int=5)},
    {"large": 2**70, "small": -(2**63), "float": 1e16, "tiny": 5e-324, "neg_zero": -0.0},
    {"nested": {"a": [1, 2.5, "x", None]}, "set": {1}, "bytes": b"ab"},
]


@pytest.mark.parametrize("line", LINES)
def test_a_line_reads_as_the_standard_librarys(line: dict[str, object]) -> None:
    assert json.loads(json_line(line)) == json.loads(_standard(line))


def test_what_orjson_cannot_write_is_written_as_before() -> None:
    for line in ({"error": "lone \ud800 surrogate"}, {"big": 2**70}, {"value": math.nan}, {"value": -math.inf}):
        assert json_line(line) == _standard(line)


def test_the_formatter_writes_one_compact_line_with_the_records_fields() -> None:
    record = logging.LogRecord("canbo.request", logging.INFO, __file__, 1, "%s %s", ("GET", "/inbox"), None)
    record.event, record.status, record.cpu_ms = "request", 200, 1.25
    text = JsonLineFormatter().format(record)
    assert "\n" not in text and ", " not in text
    line = json.loads(text)
    assert (line["msg"], line["event"], line["status"], line["cpu_ms"], line["level"]) == (
        "GET /inbox",
        "request",
        200,
        1.25,
        "info",
    )
