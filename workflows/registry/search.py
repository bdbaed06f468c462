"""How a typed name or code finds a cadre, the same on every page that looks people up (decision 0063).

A code matches from its start ("CB00" finds CB0001…), a name anywhere in it with case and Vietnamese marks ignored
("tran van hung" finds Trần Văn Hùng), on SQLite as on PostgreSQL (`db.folded`).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import ColumnElement

from workflows.db import folded
from workflows.registry.models import Cadre
from workflows.text import as_typed, comparable


class CadreMatch(NamedTuple):
    by_code: ColumnElement[bool]
    by_name: ColumnElement[bool]

    @property
    def either(self) -> ColumnElement[bool]:
        return self.by_code | self.by_name


def cadre_match(text: str) -> CadreMatch | None:
    """The conditions a cadre meets when `text` names them by code or by name; None when nothing was typed."""
    typed = as_typed(text)
    if not typed:
        return None
    return CadreMatch(
        Cadre.code.startswith(typed.upper(), autoescape=True),
        folded(Cadre.full_name).contains(comparable(typed), autoescape=True),
    )
