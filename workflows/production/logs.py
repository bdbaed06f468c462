"""One JSON object per line: what log shippers read without parsing prose. Used by `canbo serve` and `canbo worker`
(CANBO_LOG_FORMAT=json). Fields passed as `extra=` that are in FIELDS become keys of the line.

Every request writes one line, so the line is written with orjson (decision 0101): the same document as
`json.dumps(line, ensure_ascii=False, default=str)` in a fraction of its time — only the spacing differs (compact).
Only lines of plain values (strings, integers, finite floats, booleans, None: a request line) take that way; any
other value — a datetime, an enum, a nested structure, NaN — and whatever orjson refuses (an integer past 64 bits, a
lone surrogate) are written by `json.dumps` as before."""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

FIELDS = (
    "event",
    "request_id",
    "method",
    "path",
    "endpoint",
    "status",
    "user_id",
    "instance_id",
    "process_id",
    "duration_ms",
    "cpu_ms",
    "job",
    "fired",
    "worker_id",
    "error",
)


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json_line(line)


# The values orjson writes exactly as the standard library does (a subclass — an enum — is left to it: orjson would
# write an Enum's value where `default=str` wrote its name).
_PLAIN = frozenset({str, int, bool, type(None)})


def json_line(line: dict[str, Any]) -> str:
    """`json.dumps(line, ensure_ascii=False, default=str)`, compact, through orjson when every value is plain."""
    for value in line.values():
        kind = type(value)
        if kind not in _PLAIN and not (kind is float and math.isfinite(value)):
            return json.dumps(line, ensure_ascii=False, default=str)  # nested, a datetime, NaN …: as before
    try:
        return orjson.dumps(line).decode()
    except TypeError:  # an integer past 64 bits, a lone surrogate
        return json.dumps(line, ensure_ascii=False, default=str)


class CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted (as logging's last-resort handler does), not to the
    stream of the moment it was made: a command run in a test's CLI runner logs into what the runner captures."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def use_json_lines(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every logger's records to `stream` (stderr) as JSON lines, replacing the root handlers."""
    use_lines(JsonLineFormatter(), stream, level)


def use_text_lines(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Every logger's records as their bare message, one a line: CANBO_LOG_FORMAT=text for a person at a terminal."""
    use_lines(logging.Formatter("%(message)s"), stream, level)


def use_lines(formatter: logging.Formatter, stream: TextIO | None, level: int) -> None:
    handler = logging.StreamHandler(stream) if stream is not None else CurrentStderr()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # SpiffWorkflow logs every task state change at INFO: several lines per completion, costly and of no use to
    # operators (the audit log has what happened).
    logging.getLogger("spiff").setLevel(logging.WARNING)
