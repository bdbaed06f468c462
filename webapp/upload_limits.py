"""How large an upload may be, said before a file is sent (decision 0110).

The server refuses a request larger than `MAX_CONTENT_LENGTH` (413) before any view reads it, so a form sent with one
file too many megabytes comes back as an error page and none of it is saved. Every file field therefore shows the
limit ("tối đa 20 MB"), and static/upload_limits.js checks the chosen files against it where the field is, before
anything is sent: a file field's `data-max-bytes` (its own limit when it has one), and the page's
`data-upload-limit` for all the files of one form together.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from webapp.number_fields import format_amount

__all__ = ["MEGABYTE", "UploadLimit", "megabytes", "request_limit", "upload_limit"]

MEGABYTE = 1024 * 1024
# What a form sends besides its files (its fields, the multipart boundaries) is left out of the files' share.
FORM_MARGIN_BYTES = 64 * 1024


def megabytes(size_bytes: int) -> float:
    """A size in MB as the limit is stated, to one decimal (20971520 → 20; 1.5 MB stays 1.5)."""
    return round(size_bytes / MEGABYTE, 1)


def request_limit() -> int | None:
    """The largest request the server accepts, in bytes (None: no limit configured)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return int(limit) if limit else None


@dataclass(frozen=True)
class UploadLimit:
    size_bytes: int
    text: str  # "tối đa 20 MB", beside the field
    too_large: str  # what the page's script says of a chosen file larger than that, with {name} for its name
    all_too_large: str  # what it says when the files of one form together are


def upload_limit() -> UploadLimit | None:
    """The limit of one request, worded for the page (a template global); None when none is configured."""
    limit = request_limit()
    if limit is None:
        return None
    size = format_amount(megabytes(limit))
    return UploadLimit(
        size_bytes=max(limit - FORM_MARGIN_BYTES, 0),
        text=_("at most %(size)s MB", size=size),
        too_large=_(
            "“%(name)s” is larger than the %(size)s MB allowed; choose a smaller file.", name="{name}", size=size
        ),
        all_too_large=_(
            "The chosen files together are larger than the %(size)s MB that can be sent at once; choose smaller "
            "files, or send some now and the others after saving.",
            size=size,
        ),
    )
