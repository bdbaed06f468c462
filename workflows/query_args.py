"""Numbers typed into query strings and forms: ids, page numbers, years.

Only ASCII digits count. `str.isdigit()` also accepts '²' (which `int()` refuses) and `int()` accepts '١' or '１'
(Arabic-Indic and full-width digits), ' 5', '+5' and '1_000': none of these is an id someone typed on purpose.
An id past `MAX_ID` cannot exist (primary keys are 32-bit on PostgreSQL) and must not reach the database, whose
driver would fail on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false

# The largest primary key (32-bit on PostgreSQL).
MAX_ID = 2**31 - 1
# More digits than any bound here: longer text is refused before int() reads it.
_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)


def parse_int(raw: Any, *, low: int, high: int) -> int | None:
    """`raw` (surrounding spaces allowed) as a whole number within low..high, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if low <= raw <= high else None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_id(raw: Any) -> int | None:
    """A database id (1..MAX_ID), else None: nothing else can name a row."""
    return parse_int(raw, low=1, high=MAX_ID)


def id_arg(args: Mapping[str, Any], name: str) -> int | None:
    """The id in `args[name]` (a query string or a form), None when missing or not an id."""
    return parse_id(args.get(name))


def page_arg(args: Mapping[str, Any], name: str = "page") -> int:
    """A page number: 1 when missing or not a number; a number past MAX_ID is past the last page, so MAX_ID
    (the list pages show their last page or an empty one, and the offset stays within what SQL can take)."""
    raw = args.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if not (text.isascii() and text.isdigit()):
        return 1
    return MAX_ID if len(text) > len(str(MAX_ID)) else min(max(1, int(text)), MAX_ID)


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows take: at least one (an empty list is one empty page)."""
    return max(1, -(-total // per_page))


def page_within(page: int, total: int, per_page: int) -> int:
    """The page to show for the `page` asked for: a page past the last shows the last, so that an old link or a
    typed number never shows "page 100000 of 41" over an empty table (and no huge offset reaches the database)."""
    return min(max(1, page), page_count(total, per_page))


def reference_condition(text: str, instance_id: Any, process_id: Any) -> ColumnElement[bool] | None:
    """A search for one procedure, written "#12" or "sample_approval#12", as a condition on the columns holding the
    instance id and the process id (false for "#0" or an id past MAX_ID: no procedure has it); None when `text` is
    not written so."""
    process, hash_sign, number = text.rpartition("#")
    if not hash_sign or not (number.isascii() and number.isdigit()):
        return None
    found = parse_id(number)
    if found is None:
        return false()
    condition = instance_id == found
    return and_(condition, process_id == process) if process else condition
