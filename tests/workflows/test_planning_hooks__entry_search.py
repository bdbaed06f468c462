"""`search_plan_entries` (decision 0083) on hand-made rows: the entries of a unit's plan for a term — titles of the
unit or below, active — whose label holds every word typed, case and Vietnamese marks ignored; less the entries left
out; by name; at most the limit; nothing typed finds nothing. And `count_plan_entries`, `plan_entries(only=…)`: a long
plan counted, and read only where the form holds its entries (decision 0088)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.workflows.test_planning_facts import TERM, Org, make_cadre, org, plan  # noqa: F401 -- org: the fixture
from workflows.planning.hooks import count_plan_entries, plan_entries, search_plan_entries


def _found(session: Session, org: Org, text: str, **kwargs: Any) -> list[str]:  # noqa: F811
    return [label for _entry, label, _unit in search_plan_entries(session, org.commune.id, TERM, text, **kwargs)]


def test_the_search_keeps_to_the_units_plan_for_the_term_and_finds_every_word(session: Session, org: Org) -> None:  # noqa: F811
    dang = make_cadre(session, org, "QH01", "Đặng Thị Hằng")
    dinh = make_cadre(session, org, "QH02", "Đinh Văn Tú")
    other = make_cadre(session, org, "QH03", "Đỗ Văn Ngoại", unit_id=org.other_commune.id)
    kept = plan(session, dang, org.vice_chair)  # the committee, below the commune
    proposed = plan(session, dinh, org.secretary)
    plan(session, dinh, org.chair, term="2031-2036")  # another term
    plan(session, dang, org.office_chief, status="removed")  # off the plan
    plan(session, other, org.deputy_director)  # the department: not below the commune
    # Only the two entries of the commune's plan for the term (by name as the database sorts names).
    assert sorted(_found(session, org, "d")) == sorted(
        [
            "Đặng Thị Hằng (QH01) — Phó Chủ tịch UBND (Ủy ban nhân dân xã An Phú)",
            "Đinh Văn Tú (QH02) — Bí thư Đảng ủy (Xã An Phú)",
        ]
    )
    assert _found(session, org, "HANG pho chu tich") == [_found(session, org, "qh01")[0]]
    assert _found(session, org, "dang uy dinh") == ["Đinh Văn Tú (QH02) — Bí thư Đảng ủy (Xã An Phú)"]
    assert _found(session, org, "ngoai") == [] and _found(session, org, "giam doc") == []
    assert _found(session, org, "d", leave_out=[proposed.id]) == [_found(session, org, "qh01")[0]]
    assert len(_found(session, org, "d", limit=1)) == 1
    assert _found(session, org, "  ") == [] and _found(session, org, "_") == []
    assert kept.id


def test_the_plan_is_counted_as_it_is_listed_and_listed_by_the_ids_asked(session: Session, org: Org) -> None:  # noqa: F811
    """What the removals' page needs of a long plan without reading it (decision 0088): its size, by the same scope
    as the list (less the entries left out), and the entries of it that the form holds."""
    dang = make_cadre(session, org, "QH01", "Đặng Thị Hằng")
    dinh = make_cadre(session, org, "QH02", "Đinh Văn Tú")
    other = make_cadre(session, org, "QH03", "Đỗ Văn Ngoại", unit_id=org.other_commune.id)
    kept = plan(session, dang, org.vice_chair)
    proposed = plan(session, dinh, org.secretary)
    later = plan(session, dinh, org.chair, term="2031-2036")
    removed = plan(session, dang, org.office_chief, status="removed")
    elsewhere = plan(session, other, org.deputy_director)
    listed = [entry.id for entry, _label, _unit in plan_entries(session, org.commune.id, TERM)]
    assert sorted(listed) == sorted([kept.id, proposed.id])
    assert count_plan_entries(session, org.commune.id, TERM) == len(listed) == 2
    assert count_plan_entries(session, org.commune.id, TERM, leave_out=[proposed.id, elsewhere.id]) == 1
    assert count_plan_entries(session, org.other_commune.id, "2031-2036") == 0
    # Only the ids asked that the plan lists, each by its label; none asked, none read.
    only = plan_entries(session, org.commune.id, TERM, only={kept.id, later.id, removed.id, elsewhere.id})
    assert [(entry.id, label) for entry, label, _unit in only] == [
        (kept.id, "Đặng Thị Hằng (QH01) — Phó Chủ tịch UBND (Ủy ban nhân dân xã An Phú)")
    ]
    assert plan_entries(session, org.commune.id, TERM, only=set()) == []
