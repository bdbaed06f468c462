"""The collective's removals name each entry of the plan by name, through HTTP (decision 0081): each proposal of the
screening stays in its own row, a row added offers the plan of the review's unit and term (cadre, code, title, unit),
the entry chosen is stored as the id the approval reads. An entry that does not exist, is another unit's or term's, or
is off the plan already is refused by the form's hook at its cell, in Vietnamese, 422, nothing written."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.planning import (
    CHAIR_PLANNED,
    DISCIPLINED,
    FAILED_YEAR,
    NEW_SECRETARY,
    NEW_VICE,
    PEOPLE,
    TERM,
    setup_planning,
)
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_planning import _as, _entries, _events, _instance_id, _rows, _start, _submit
from tests.webapp.test_task_form_choices import _instance_data
from workflows.access import in_subtree
from workflows.db import transaction
from workflows.registry.models import Cadre, OrgUnit, PlanningEntry, Position
from workflows.registry.records import add_planning_entry, remove_planning_entry

CHAIR = "Chủ tịch UBND xã"
VICE = "Phó Chủ tịch UBND xã"


@pytest.fixture
def world(app: Flask, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """The demo commune's plan (three for the chair, the two the screening proposes for the vice-chair), and three
    entries the removals may not take: one of the next term, one already off the plan, one of another commune."""
    found = setup_planning(session_factory)
    with session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        cadres = {c.code: c for c in s.scalars(select(Cadre).where(Cadre.code.like("QH%")))}
        entries = {
            code: entry_id
            for entry_id, code in s.execute(
                select(PlanningEntry.id, Cadre.code).join(Cadre, Cadre.id == PlanningEntry.cadre_id)
            )
        }
        later = add_planning_entry(s, None, cadres[NEW_VICE], position_id=found["secretary"], term="2031-2036")
        gone = add_planning_entry(s, None, cadres[NEW_SECRETARY], position_id=found["secretary"], term=TERM)
        s.flush()
        remove_planning_entry(s, None, cadres[NEW_SECRETARY], gone.id, reason="Chuyển công tác")
        other_unit = s.scalars(
            select(OrgUnit).where(~in_subtree(OrgUnit, x001.id), OrgUnit.is_active).order_by(OrgUnit.id)
        ).first()
        assert other_unit is not None
        elsewhere_title = Position(title="Chủ tịch UBND phường", unit_id=other_unit.id, level="commune")
        s.add(elsewhere_title)
        s.flush()
        outsider = Cadre(code="NG01", full_name="Ngô Văn Ngoại", unit_id=other_unit.id)
        s.add(outsider)
        s.flush()
        elsewhere = add_planning_entry(s, None, outsider, position_id=elsewhere_title.id, term=TERM)
        s.flush()
        found.update(
            unit_name=x001.name,
            entries=entries,
            later=later.id,
            gone=gone.id,
            elsewhere=elsewhere.id,
            other_unit=other_unit.name,
        )
    return found


def _label(world: dict[str, Any], code: str, title: str) -> str:
    return f"{PEOPLE[code][0]} ({code}) — {title} ({world['unit_name']})"


def _selects(html: str) -> list[Any]:
    page = lxml_html.fromstring(html)
    return sorted(
        page.xpath('//select[starts-with(@name, "removals-")][contains(@name, "-entry_id")]'),
        key=lambda s: int(s.get("name").split("-")[1]),
    )


def _options(select_: Any) -> list[tuple[str, str, bool]]:
    return [
        (o.get("value"), o.text_content().strip(), o.get("selected") is not None) for o in select_.xpath(".//option")
    ]


def _cell_error(html: str, cell: str) -> str:
    error = re.search(rf'id="{cell}-error"[^>]*>(.*?)</div>', html, re.S)
    assert error is not None, f"no error on {cell}"
    return error.group(1)


def _at_removals(auth: AuthActions, driver: WorkflowDriver) -> tuple[int, int]:
    instance_id = _instance_id(_start(auth))
    assert _submit(auth, driver, instance_id, "screening", "personnel1", {}).status_code == 302
    _as(auth, "head1")
    return instance_id, driver.task(instance_id, "confirm_removals").id


def _decided(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Both proposals removed, in the order the screening lists them (by name)."""
    entries = world["entries"]
    return [
        {"entry_id": entries[FAILED_YEAR], "decision": "remove"},  # Hoàng Thị Gấm
        {"entry_id": entries[DISCIPLINED], "decision": "remove"},  # Phạm Văn Em
    ]


def test_each_proposal_is_named_in_its_row_and_a_row_added_offers_the_reviews_plan_by_name(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    _review, task_id = _at_removals(auth, driver)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    rows = _selects(html)
    # Each proposal: its own entry only, by name, code, title and unit; no id to type, nothing else to choose.
    assert [_options(s) for s in rows] == [
        [(str(world["entries"][FAILED_YEAR]), _label(world, FAILED_YEAR, VICE), True)],
        [(str(world["entries"][DISCIPLINED]), _label(world, DISCIPLINED, VICE), True)],
    ]
    assert not lxml_html.fromstring(html).xpath('//input[contains(@name, "entry_id")]')
    header = lxml_html.fromstring(html).xpath('//th[@id="removals-col-entry_id"]')[0]
    assert header.text_content().strip().startswith("Cán bộ và chức danh quy hoạch")

    # "Add row" (no script needed): the new row offers the rest of the plan of the unit for the term, by name, grouped
    # by unit; not the proposals (they have their rows), nor the next term's entry, one already off the plan, or
    # another commune's.
    added = auth.post(
        f"/tasks/{task_id}", {**_rows("removals", _decided(world)), "add_row__removals": "1"}, page=f"/tasks/{task_id}"
    )
    assert added.status_code == 200
    rows = _selects(added.get_data(as_text=True))
    assert len(rows) == 3 and [o[0] for o in _options(rows[0])] == [str(world["entries"][FAILED_YEAR])]
    new_row = rows[2]
    assert [g.get("label") for g in new_row.xpath("./optgroup")] == [world["unit_name"]]
    options = _options(new_row)
    assert options[0] == ("", "— Chọn —", True)
    # The chair's three, by name.
    names = sorted(CHAIR_PLANNED, key=lambda code: PEOPLE[code][0])
    assert options[1:] == [(str(world["entries"][code]), _label(world, code, CHAIR), False) for code in names]
    offered = {value for value, _label_, _chosen in options}
    assert not offered & {str(world[key]) for key in ("later", "gone", "elsewhere")}


@pytest.mark.parametrize(
    ("forged", "message"),
    [
        ("missing", "Không có mục quy hoạch nào mang số hiệu {id}."),
        ("elsewhere", "Mục quy hoạch số hiệu {id} không thuộc quy hoạch của {unit} nhiệm kỳ {term}."),
        ("later", "Mục quy hoạch số hiệu {id} không thuộc quy hoạch của {unit} nhiệm kỳ {term}."),
        ("gone", "Bùi Thị Lan (QH08) — Bí thư Đảng ủy xã ({unit}) đã được đưa ra khỏi quy hoạch trước đó."),
    ],
)
def test_an_entry_outside_the_reviews_plan_is_refused_at_its_cell_and_nothing_is_written(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
    forged: str,
    message: str,
) -> None:
    instance_id, task_id = _at_removals(auth, driver)
    entry_id = 2147483000 if forged == "missing" else world[forged]
    before = (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id))
    rows = [*_decided(world), {"entry_id": entry_id, "reason": "Vi phạm quy chế làm việc", "decision": "remove"}]
    refused = auth.post(f"/tasks/{task_id}", {**_rows("removals", rows), "action": "submit"}, page=f"/tasks/{task_id}")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    expected = message.format(id=entry_id, unit=world["unit_name"], term=TERM)
    assert expected in _cell_error(html, "removals-2-entry_id")
    # Another unit's entry is said by its id only: whose it is, is not this review's business.
    assert "Ngô Văn Ngoại" not in html
    # The forged id is shown as what it is, selected in its row, the proposals untouched.
    assert (str(entry_id), f"Số hiệu {entry_id} (không có trong danh sách)", True) in _options(_selects(html)[2])
    assert (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id)) == before
    assert driver.task(instance_id, "confirm_removals").id == task_id


def test_the_collective_takes_another_entry_off_the_plan_by_name_with_its_reason(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    instance_id, task_id = _at_removals(auth, driver)
    chair_entry = world["entries"][CHAIR_PLANNED[0]]
    page = f"/tasks/{task_id}"
    before = (_entries(session_factory), _events(session_factory))

    # Added without a reason, or "kept" (only a proposal can be kept): refused at the cell, in Vietnamese.
    bare = [*_decided(world), {"entry_id": chair_entry, "decision": "remove"}]
    refused = auth.post(page, {**_rows("removals", bare), "action": "submit"}, page=page)
    assert refused.status_code == 422
    assert "Ghi lý do tập thể đưa cán bộ này ra khỏi quy hoạch." in _cell_error(
        refused.get_data(as_text=True), "removals-2-reason"
    )
    kept = [*_decided(world), {"entry_id": chair_entry, "reason": "x", "decision": "keep", "keep_reason": "y"}]
    refused = auth.post(page, {**_rows("removals", kept), "action": "submit"}, page=page)
    assert refused.status_code == 422
    assert "Chỉ trường hợp do hệ thống sàng lọc đề xuất mới có thể quyết định giữ lại" in _cell_error(
        refused.get_data(as_text=True), "removals-2-decision"
    )
    # The same entry twice.
    twice = [*_decided(world), {"entry_id": world["entries"][DISCIPLINED], "reason": "x", "decision": "remove"}]
    refused = auth.post(page, {**_rows("removals", twice), "action": "submit"}, page=page)
    assert refused.status_code == 422
    assert (_entries(session_factory), _events(session_factory)) == before

    # Chosen by name, stored as the rows the approval reads: the entry's id with its cadre and title, the reason.
    reason = "Không hoàn thành nhiệm vụ được giao trong năm"
    rows = [*_decided(world), {"entry_id": chair_entry, "reason": reason, "decision": "remove"}]
    done = auth.post(page, {**_rows("removals", rows), "action": "submit"}, page=page)
    assert done.status_code == 302, done.get_data(as_text=True)
    data = _instance_data(driver, instance_id)
    confirmed = data["removals_confirmed"]
    assert [r["entry_id"] for r in confirmed] == [
        world["entries"][FAILED_YEAR],
        world["entries"][DISCIPLINED],
        chair_entry,
    ]
    assert confirmed[2] == {
        "entry_id": chair_entry,
        "cadre_code": CHAIR_PLANNED[0],
        "cadre_name": PEOPLE[CHAIR_PLANNED[0]][0],
        "title": f"{CHAIR} ({world['unit_name']})",
        "reason": reason,
        "decision": "remove",
        "keep_reason": "",
    }
    # The proposals keep the screening's own reason, whatever the row said.
    assert confirmed[0]["reason"].startswith("Xếp loại chất lượng năm")
    assert data["removals_kept"] == []

    # The same form sent again from another tab: the task is done, what was chosen is given back by name.
    again = auth.post(page, {**_rows("removals", rows), "action": "submit"})
    assert again.status_code == 409
    assert _label(world, CHAIR_PLANNED[0], CHAIR) in again.get_data(as_text=True)

    # What was submitted, read-only: each entry by name (the added one too), disabled.
    shown = client.get(page).get_data(as_text=True)
    selects = _selects(shown)
    assert [_options(s) for s in selects][2] == [(str(chair_entry), _label(world, CHAIR_PLANNED[0], CHAIR), True)]
    assert all(s.get("disabled") is not None for s in selects)
    # The procedure's page shows the rows in words, the added one among the confirmed.
    instance = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert reason in instance and PEOPLE[CHAIR_PLANNED[0]][0] in instance
