"""How the audit log's table shows an event's content in one cell."""

from __future__ import annotations

import json
from typing import Any

SUMMARY_LIMIT = 300
LISTED_ITEMS = 3


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def payload_summary(payload: str, limit: int = SUMMARY_LIMIT) -> str:
    """The event's content with what a reader looks for first: its single values (a reason, version numbers, a
    status) before its lists and objects, and a long list of names cut to its first few with the count of the rest.
    The stored JSON puts keys in alphabetical order, and cut at `limit` characters it hid everything after a
    deployment's file and form names — for the appointment, the reason and the version numbers of a rollback."""
    try:
        content = json.loads(payload)
    except ValueError:
        content = None
    if not isinstance(content, dict):
        return payload if len(payload) <= limit else payload[: limit - 1] + "…"
    single = [f"{key}: {_value(value)}" for key, value in content.items() if not isinstance(value, list | dict)]
    nested = []
    for key, value in content.items():
        if isinstance(value, list) and len(value) > LISTED_ITEMS:
            shown = ", ".join(_value(item) for item in value[:LISTED_ITEMS])
            nested.append(f"{key}: {shown} (+{len(value) - LISTED_ITEMS})")
        elif isinstance(value, list | dict):
            nested.append(f"{key}: {_value(value)}")
    text = "; ".join(single + nested)
    return text if len(text) <= limit else text[: limit - 1] + "…"
