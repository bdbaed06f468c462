"""Importing cadre lists: all-or-nothing, idempotent by code, scoped, audited; export → import round trip."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.registry.cadre_columns import CADRE_COLUMNS, CADRE_EXPORT_COLUMNS
from workflows.registry.importing import ImportRefused, export_cadres, import_cadres
from workflows.registry.models import Cadre, Position, User
from workflows.registry.records import add_position, end_position
from workflows.registry.tabular import write_table

TODAY = date(2026, 11, 22)


def _rows(*overrides: dict) -> list[dict]:
    base = {
        "code": "CB9001",
        "full_name": "Lò Văn Pá",
        "birth_date": date(1985, 3, 14),
        "gender": "male",
        "ethnicity": "Thái",
        "hometown": "Xã An Phú",
        "hometown_unit_code": "X001",
        "unit_code": "X002",
        "is_party_member": True,
        "party_joined_date": date(2008, 5, 19),
        "education_level": "dai_hoc",
        "education_field": "Công nghệ thông tin",
        "is_science_technology": True,
        "political_theory": "trung_cap",
    }
    return [{**base, **o} for o in overrides]


def _file(rows: list[dict], fmt: str = "xlsx") -> tuple[bytes, str]:
    return write_table(rows, CADRE_COLUMNS, fmt), f"cadres.{fmt}"  # type: ignore[arg-type]


def _import(factory: sessionmaker[Session], content: bytes, name: str, actor: str | None = None, **kwargs: object):
    with factory() as s, transaction(s):
        user = s.scalars(select(User).where(User.username == actor)).one() if actor else None
        return import_cadres(s, user, content, name, today=TODAY, **kwargs)  # type: ignore[arg-type]


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Cadre)) or 0


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_import_creates_then_reimport_changes_nothing(session_factory, demo_users, fmt: str) -> None:
    content, name = _file(_rows({}, {"code": "CB9002", "full_name": "Hà Thị Mỷ", "gender": "female"}), fmt)
    first = _import(session_factory, content, name)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = _import(session_factory, content, name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB9001")).one()
        assert cadre.ethnicity == "Thái" and cadre.retirement_date is not None
        assert verify_chains(s).ok


def test_changed_rows_are_updated_with_history(session_factory, demo_users) -> None:
    _import(session_factory, *_file(_rows({})))
    _import(session_factory, *_file(_rows({"political_theory": "cao_cap"})))
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB9001")).one()
        assert cadre.political_theory == "cao_cap"
        from workflows.models import AuditEvent

        payloads = s.scalars(select(AuditEvent.payload).where(AuditEvent.chain_key == f"cadre:{cadre.id}")).all()
        assert any('"political_theory"' in p and "trung_cap" in p and "cao_cap" in p for p in payloads)


def test_a_file_with_problems_imports_nothing(session_factory, demo_users) -> None:
    before = _count(session_factory)
    content, name = _file(
        _rows({}, {"code": "CB9003", "unit_code": "NOWHERE"}, {"code": "CB9004", "birth_date": date(2030, 1, 1)})
    )
    with pytest.raises(ImportRefused) as refused:
        _import(session_factory, content, name)
    messages = [str(p) for p in refused.value.report.problems]
    assert any('Dòng 3, cột "Mã đơn vị": "NOWHERE"' in m for m in messages)
    assert any("Dòng 4" in m and "Ngày sinh" in m for m in messages)
    assert _count(session_factory) == before


def test_skip_bad_rows_imports_the_good_ones(session_factory, demo_users) -> None:
    content, name = _file(_rows({}, {"code": "CB9003", "unit_code": "NOWHERE"}))
    result = _import(session_factory, content, name, skip_bad_rows=True)
    assert result.created == 1 and result.skipped_rows == [3]


def test_a_personnel_officer_imports_only_within_their_scope(session_factory, demo_users) -> None:
    content, name = _file(_rows({}))
    with pytest.raises(ImportRefused) as refused:
        _import(session_factory, content, name, actor="supervisor1")  # a commune role, not personnel
    assert "phạm vi" in str(refused.value.report.problems[0])
    assert _import(session_factory, content, name, actor="personnel1").created == 1


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_gives_the_same_records(session_factory, demo_users, fmt: str) -> None:
    _import(session_factory, *_file(_rows({}, {"code": "CB9002", "full_name": "Hà Thị Mỷ", "gender": "female"})))
    with session_factory() as s:
        exported = export_cadres(s, fmt, TODAY)  # type: ignore[arg-type]
        before = {c.code: _record(c) for c in s.scalars(select(Cadre))}
    assert "Tên đơn vị".encode() in exported or fmt == "xlsx"
    result = _import(session_factory, exported, f"export.{fmt}")
    assert result.created == 0 and result.updated == 0 and result.unchanged == _count(session_factory)
    with session_factory() as s:
        assert {c.code: _record(c) for c in s.scalars(select(Cadre))} == before


def _record(cadre: Cadre) -> dict[str, object]:
    return {attribute.key: getattr(cadre, attribute.key) for attribute in Cadre.__mapper__.column_attrs}


def test_the_export_says_the_unit_by_name_the_posts_held_and_the_age(session_factory, demo_users) -> None:
    _import(session_factory, *_file(_rows({})))
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB9001")).one()
        posts = [
            Position(title=title, unit_id=cadre.unit_id, level="commune")
            for title in ("Phó Chủ tịch", "Chủ tịch", "Bí thư")
        ]
        s.add_all(posts)
        s.flush()
        held = add_position(s, None, cadre, position_id=posts[0].id, started_on=date(2020, 1, 1))
        add_position(s, None, cadre, position_id=posts[1].id, started_on=date(2021, 1, 1))
        end_position(s, None, cadre, held.id, ended_on=date(2025, 1, 1))
        add_position(s, None, cadre, position_id=posts[2].id, started_on=date(2027, 1, 1))
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB9001")).one()
        exported = export_cadres(s, "csv", TODAY, [cadre])
        unit_name = cadre.unit.name
    header, row = csv.reader(io.StringIO(exported.decode("utf-8-sig")))
    cells = dict(zip(header, row, strict=True))
    assert header == [c.header for c in CADRE_EXPORT_COLUMNS]
    assert cells["Mã đơn vị"] == "X002" and cells["Tên đơn vị"] == unit_name
    assert cells["Tuổi"] == "41"  # born 14/03/1985, on 22/11/2026
    # Neither the post that ended in 2025 nor the one a decision gives her from 2027 is held on TODAY.
    assert cells["Chức vụ hiện tại"] == posts[1].title


def test_an_edited_read_only_cell_is_ignored_not_imported(session_factory, demo_users) -> None:
    _import(session_factory, *_file(_rows({})))
    with session_factory() as s:
        exported = export_cadres(s, "csv", TODAY, s.scalars(select(Cadre).where(Cadre.code == "CB9001")))
    edited = exported.replace(b",41,", b",99,")
    assert edited != exported
    result = _import(session_factory, edited, "export.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


BLANK_OPTIONAL = {"is_party_member": None, "party_joined_date": None, "is_science_technology": None, "ethnicity": None}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_blank_optional_cells_import_the_same_way_twice(session_factory, demo_users, fmt: str) -> None:
    content, name = _file(_rows(BLANK_OPTIONAL, {**BLANK_OPTIONAL, "code": "CB9002"}), fmt)
    first = _import(session_factory, content, name)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = _import(session_factory, content, name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB9001")).one()
        assert (cadre.is_party_member, cadre.is_science_technology) == (False, False)


def test_a_blank_ethnicity_stays_unknown(session_factory, demo_users) -> None:
    _import(session_factory, *_file(_rows({"ethnicity": None})))
    with session_factory() as s:
        assert s.scalars(select(Cadre.ethnicity).where(Cadre.code == "CB9001")).one() is None


def test_a_blank_flag_keeps_what_an_existing_record_has(session_factory, demo_users) -> None:
    _import(session_factory, *_file(_rows({})))  # "Có" for both
    again = _import(session_factory, *_file(_rows({"is_science_technology": None})))
    assert (again.updated, again.unchanged) == (0, 1)
    with session_factory() as s:
        assert s.scalars(select(Cadre.is_science_technology).where(Cadre.code == "CB9001")).one() is True


def _close_unit(factory: sessionmaker[Session], code: str) -> None:
    from workflows.registry.models import OrgUnit

    with factory() as s, transaction(s):
        s.scalars(select(OrgUnit).where(OrgUnit.code == code)).one().is_active = False


def test_a_row_the_records_refuse_on_update_is_reported_at_its_row_and_column(session_factory, demo_users) -> None:
    _import(session_factory, *_file(_rows({}, {"code": "CB9002"})))
    _close_unit(session_factory, "X001")
    content, name = _file(_rows({"political_theory": "cao_cap"}, {"code": "CB9002", "unit_code": "X001"}))
    with pytest.raises(ImportRefused) as refused:
        _import(session_factory, content, name, explain=lambda p: f"<{p.message}>")
    assert [str(p) for p in refused.value.report.problems] == ['Dòng 3, cột "Mã đơn vị": <the unit is not active>.']
    with session_factory() as s:  # the good row was rolled back with the rest
        assert s.scalars(select(Cadre.political_theory).where(Cadre.code == "CB9001")).one() == "trung_cap"


def test_skip_bad_rows_skips_a_row_the_records_refuse(session_factory, demo_users) -> None:
    _close_unit(session_factory, "X001")
    content, name = _file(_rows({}, {"code": "CB9002", "unit_code": "X001"}))
    result = _import(session_factory, content, name, skip_bad_rows=True)
    assert (result.created, result.skipped_rows) == (1, [3])
    assert "the unit is not active" in str(result.report.problems[0])


def test_emails_that_differ_from_the_account_are_named_not_imported(session_factory, demo_users) -> None:
    with session_factory() as s, transaction(s):
        user = s.scalars(select(User).where(User.username == "personnel1")).one()
        user.email = "hoa@btc.gov.vn"
    with session_factory() as s:
        exported = export_cadres(s, "csv", TODAY, s.scalars(select(Cadre).where(Cadre.code == "CB0006")))
    assert b"hoa@btc.gov.vn" in exported
    assert _import(session_factory, exported, "export.csv").email_rows == []
    edited = exported.replace(b"hoa@btc.gov.vn", b"moi@btc.gov.vn")
    result = _import(session_factory, edited, "export.csv")
    assert (result.updated, result.unchanged, result.email_rows) == (0, 1, [2])
    with session_factory() as s:
        assert s.scalars(select(User.email).where(User.username == "personnel1")).one() == "hoa@btc.gov.vn"
