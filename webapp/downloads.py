"""A list page's .xlsx and .csv buttons: the page's own query, with its filters, sent as a file.

`?format=xlsx|csv` on a list page's URL asks for the file instead of the page, so the buttons carry the filters
the person is looking at. CSV is streamed as the rows are read. An .xlsx is built row by row in openpyxl's
write-only mode (rows go to a temporary file, not into memory) and sent once complete, up to `XLSX_ROW_LIMIT` rows.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext as _

from webapp.http import problem_text
from workflows.errors import Problem
from workflows.exports import XLSX_ROW_LIMIT
from workflows.registry.records import local_today
from workflows.registry.tabular import MEDIA_TYPES, Column, TooManyRows, iter_csv, write_xlsx

FORMATS = ("xlsx", "csv")


def export_format() -> str | None:
    """The file asked for, or None for the page itself."""
    fmt = request.args.get("format") or None
    return fmt if fmt in FORMATS else None


def format_problems() -> list[Problem]:
    """A `format` that is neither .xlsx nor .csv is a bad filter like any other (the page answers 400)."""
    fmt = request.args.get("format")
    if fmt and fmt not in FORMATS:
        return [Problem("choose .xlsx or .csv", field="format")]
    return []


def bad_filters(problems: Sequence[Problem]) -> tuple[str, int]:
    """The answer to filters that cannot be applied, for a list page without room to show them by its fields."""
    message = "; ".join(problem_text(problem) for problem in problems)
    return render_template("errors/error.html", status=400, message=message), 400


def send_table(
    records: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    fmt: str,
    name: str,
    *,
    count: Callable[[], int] | None = None,
    title_rows: Sequence[str] = (),
) -> Response | tuple[str, int]:
    """The download of a list; `name` is the file name without date or extension ("ket-qua-danh-gia").
    `count` (the rows the query will give) lets a too-large .xlsx be refused before it is built. `title_rows` go
    above the table in the .xlsx only: the .csv keeps one plain header row, so that programs can read it."""
    filename = f"{name}-{local_today():%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = Response(stream_with_context(iter_csv(records, columns)), content_type=MEDIA_TYPES["csv"])
    else:
        if count is not None and count() > XLSX_ROW_LIMIT:
            return _too_many_rows()
        target = io.BytesIO()  # the finished file is compressed: a few MB at the row limit
        try:
            write_xlsx(records, columns, target, max_rows=XLSX_ROW_LIMIT, title_rows=title_rows)
        except TooManyRows:
            return _too_many_rows()
        response = Response(target.getvalue(), content_type=MEDIA_TYPES["xlsx"])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Personal data: not kept in shared caches, not offered again from the browser's cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _too_many_rows() -> tuple[str, int]:
    message = _(
        "This list has more than %(limit)s rows, more than one .xlsx file should hold. Narrow the filters, "
        "or export .csv.",
        limit=f"{XLSX_ROW_LIMIT:,}".replace(",", "."),
    )
    return render_template("errors/error.html", status=400, message=message), 400
