"""The database as the app opens it (workflows/db.py)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker


def test_lower_folds_vietnamese_letters_on_every_database(session_factory: sessionmaker[Session]) -> None:
    """Name searches compare lower(name): SQLite's built-in folded ASCII only ("ĐẶNG" stayed as it was)."""
    with session_factory() as s:
        assert s.scalar(select(func.lower("ĐẶNG THỊ ÁNH Nguyệt"))) == "đặng thị ánh nguyệt"
        assert s.scalar(select(func.lower(None))) is None
