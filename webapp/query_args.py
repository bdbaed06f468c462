"""Request arguments every page reads the same way: ids and page numbers (parsed by workflows.query_args) and the
`next` page to go back to after an action."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from workflows.query_args import MAX_ID, id_arg, page_arg, page_within, parse_id

__all__ = ["MAX_ID", "id_arg", "page_arg", "page_within", "parse_id", "safe_next"]


def safe_next(target: str | None, default: str = "inbox.index") -> str:
    """`target` if it is a local path, else the `default` endpoint's URL. A crafted `next` must not send an
    official to another site (browsers read a backslash as a slash), and a control character (a CR/LF would
    split the Location header) is never a path we wrote."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and target.isprintable()
        and "\\" not in target
        and not urlsplit(target).netloc
    ):
        return target
    return url_for(default)
