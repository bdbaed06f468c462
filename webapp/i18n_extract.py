"""The catalogs' extractor for Python files: Babel's own, plus the messages it misses.

Babel does not look inside the arguments of a keyword's call for another keyword's call, so the message of the
`Problem` in `Invalid("…", [Problem("at most 120 characters")])` was never extracted, fell out of the catalog and
reached Vietnamese users in English. `babel.cfg` names this extractor for `webapp/` and `workflows/`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from typing import IO, Any

from babel.messages.extract import extract_python


def extract(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: dict[str, Any]
) -> Iterator[tuple[int, str, Any, list[str]]]:
    source = fileobj.read()
    fileobj.seek(0)
    found = set()
    for lineno, funcname, messages, comments in extract_python(fileobj, keywords, comment_tags, options):
        found.add((funcname, messages))
        yield lineno, funcname, messages, comments
    encoding = options.get("encoding", "utf-8")
    for lineno, funcname, messages in _keyword_calls(ast.parse(source.decode(encoding)), keywords):
        if (funcname, messages) not in found:
            found.add((funcname, messages))
            yield lineno, funcname, messages, []


def _keyword_calls(tree: ast.AST, keywords: Collection[str]) -> Iterator[tuple[int, str, Any]]:
    """Every keyword's call, however deeply nested, in the shape Babel's extractor gives it: the positional
    arguments, a string for each literal and None for anything else (one argument alone as itself). Babel then
    picks the message by the keyword's specification (`ngettext`: the first two)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in keywords or not node.args:
            continue
        messages = tuple(
            arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None for arg in node.args
        )
        if any(messages):
            yield node.lineno, name, messages[0] if len(messages) == 1 else messages
