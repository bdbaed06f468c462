"""The planning review's forms name titles and cadres as people know them (decision 0071), through HTTP: a title is
a select of the titles by name (the unit's for the frame, the approved frame's for the nominations), a cadre's code
box searches the review's unit and shows the name of the cadre a code names. The stored data keeps the ids and
codes as before, and an id outside the list is refused by the form's server hook, in Vietnamese, changing nothing.
The screening ticks the discipline records and the cadres under it by name, stored as the comma-separated ids and
codes as before (decision 0072); the frame's titles are grouped by unit."""

from __future__ import annotations

import re
from datetime import date
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
    add_unit,
    setup_planning,
)
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_planning import _as, _entries, _events, _instance_id, _rows, _start, _submit, _through_frame
from workflows.access import in_subtree
from workflows.db import transaction
from workflows.engine.runtime import instance_data
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, DisciplineRecord, OrgUnit, Position
from workflows.registry.records import add_discipline

UNFRAMED = "Phó Bí thư Đảng ủy xã"


@pytest.fixture
def world(app: Flask, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    found = setup_planning(session_factory)
    with session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        # A title of the unit the frame leaves out, and one of a unit outside the review's unit.
        unframed = Position(title=UNFRAMED, unit_id=x001.id, level="commune")
        elsewhere_unit = s.scalars(
            select(OrgUnit).where(~in_subtree(OrgUnit, x001.id), OrgUnit.is_active).order_by(OrgUnit.id)
        ).first()
        assert elsewhere_unit is not None
        elsewhere = Position(title="Chức danh đơn vị khác", unit_id=elsewhere_unit.id, level="commune")
        outsider = s.scalars(select(Cadre).where(Cadre.unit_id == elsewhere_unit.id, Cadre.is_active)).first()
        s.add_all([unframed, elsewhere])
        s.flush()
        found.update(
            unframed=unframed.id,
            elsewhere=elsewhere.id,
            unit_name=x001.name,
            outsider=(outsider.code, outsider.full_name) if outsider is not None else None,
        )
    return found


def _select(html: str, name: str) -> tuple[list[tuple[str, str]], str | None]:
    """The options (value, label) of the select `name`, and the value selected."""
    found = lxml_html.fromstring(html).xpath(f'//select[@name="{name}"]')
    assert found, f"no select {name}"
    options = [(o.get("value"), o.text_content().strip()) for o in found[0].xpath(".//option")]
    chosen = [o.get("value") for o in found[0].xpath(".//option") if o.get("selected") is not None]
    return options, chosen[0] if chosen else None


def _proposed(html: str) -> list[str]:
    """The entries the removals' rows hold (each proposal's select offers only its own entry)."""
    selects = lxml_html.fromstring(html).xpath(
        '//select[starts-with(@name, "removals-")][contains(@name, "-entry_id")]'
    )
    return [s.xpath(".//option[@selected]")[0].get("value") for s in selects if s.xpath(".//option[@selected]")]


def _cell_error(html: str, cell: str) -> str:
    error = re.search(rf'id="{cell}-error"[^>]*>(.*?)</div>', html, re.S)
    assert error is not None, f"no error on {cell}"
    return error.group(1)


def test_the_frame_offers_the_units_titles_by_name_and_refuses_a_forged_one(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    instance_id = _instance_id(_start(auth))
    assert _submit(auth, driver, instance_id, "screening", "personnel1", {}).status_code == 302
    removals = driver.task(instance_id, "confirm_removals")
    _as(auth, "head1")
    page = client.get(f"/tasks/{removals.id}").get_data(as_text=True)
    entry_ids = _proposed(page)
    rows = [{"entry_id": e, "decision": "remove", "keep_reason": ""} for e in entry_ids]
    assert _submit(auth, driver, instance_id, "confirm_removals", "head1", _rows("removals", rows)).status_code == 302

    _as(auth, "personnel1")
    task = driver.task(instance_id, "review_frame")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    options, chosen = _select(html, "frame_titles-0-position_id")
    labels = dict(options)
    # Every title of the unit by its name and unit, the unit's own; none of another unit; nothing chosen yet.
    assert options[0] == ("", "— Chọn —") and not chosen
    for key, title in (("chair", "Chủ tịch UBND xã"), ("vice", "Phó Chủ tịch UBND xã"), ("unframed", UNFRAMED)):
        assert labels[str(world[key])] == f"{title} ({world['unit_name']})"
    assert str(world["elsewhere"]) not in labels
    assert "số hiệu" not in html and 'name="frame_titles-0-position_id" type="text"' not in html

    # A title of another unit, posted by hand: the frame's hook refuses it at its row, in Vietnamese; nothing moves.
    before = (_entries(session_factory), _events(session_factory))
    forged = _rows("frame_titles", [{"position_id": world["chair"]}, {"position_id": world["elsewhere"]}])
    refused = auth.post(f"/tasks/{task.id}", {**forged, "action": "submit"}, page=f"/tasks/{task.id}")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Đơn vị không có chức danh này." in _cell_error(html, "frame_titles-1-position_id")
    options, chosen = _select(html, "frame_titles-1-position_id")
    assert chosen == str(world["elsewhere"])
    assert dict(options)[chosen] == f"Số hiệu {world['elsewhere']} (không có trong danh sách)"
    assert _select(html, "frame_titles-0-position_id")[1] == str(world["chair"])
    assert (_entries(session_factory), _events(session_factory)) == before
    assert driver.task(instance_id, "review_frame").id == task.id


def _instance_data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        workflow = driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance)
        return dict(instance_data(workflow))


def _nominating(auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]) -> tuple[int, int]:
    instance_id = _instance_id(_start(auth))
    _through_frame(auth, driver, instance_id, world)
    _as(auth, "personnel1")
    return instance_id, driver.task(instance_id, "nominate").id


def test_a_nomination_is_for_a_title_of_the_frame_chosen_by_name(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    instance_id, task_id = _nominating(auth, driver, world)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    options, _chosen = _select(html, "nominations-0-position_id")
    # The four titles of the approved frame, in the frame's order, by name: not the unit's other title.
    names = {key: str(world[key]) for key in ("chair", "vice", "secretary", "department")}
    assert [value for value, _label in options] == ["", *names.values()]
    assert dict(options)[names["vice"]] == f"Phó Chủ tịch UBND xã ({world['unit_name']})"
    assert f"{UNFRAMED} ({world['unit_name']})" not in dict(options).values()
    assert "Chức danh quy hoạch (số hiệu)" not in html
    # The cadre box searches the review's unit (an enhancement: it is a plain text box without the script).
    box = lxml_html.fromstring(html).xpath('//input[@name="nominations-0-cadre_code"]')[0]
    assert box.get("type") == "text" and box.get("data-cadre-search") == f"/tasks/{task_id}/cadres"
    assert "cadre_search.js" in html

    # A forged title outside the frame (a title of the unit all the same) is refused by the hook, in Vietnamese.
    before = (_entries(session_factory), _events(session_factory))
    forged = _rows("nominations", [{"cadre_code": NEW_VICE, "position_id": world["unframed"]}])
    refused = auth.post(f"/tasks/{task_id}", {**forged, "action": "submit"}, page=f"/tasks/{task_id}")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    message = _cell_error(html, "nominations-0-position_id")
    assert "Chức danh này không có trong khung quy hoạch đã được phê duyệt." in message
    assert _select(html, "nominations-0-position_id")[1] == str(world["unframed"])
    assert (_entries(session_factory), _events(session_factory)) == before
    assert driver.task(instance_id, "nominate").id == task_id
    # So is a value that is no id at all.
    junk = auth.post(
        f"/tasks/{task_id}",
        {"nominations-0-cadre_code": NEW_VICE, "nominations-0-position_id": "chủ tịch", "action": "submit"},
        page=f"/tasks/{task_id}",
    )
    assert junk.status_code == 422 and "Phải là một số nguyên." in junk.get_data(as_text=True)

    # The titles chosen by name are stored as the ids the scripts and the ballots read.
    chosen = _rows(
        "nominations",
        [
            {"cadre_code": NEW_VICE, "position_id": names["vice"]},
            {"cadre_code": NEW_SECRETARY, "position_id": names["secretary"]},
        ],
    )
    done = auth.post(f"/tasks/{task_id}", {**chosen, "action": "submit"}, page=f"/tasks/{task_id}")
    assert done.status_code == 302, done.get_data(as_text=True)
    nominees = _instance_data(driver, instance_id)["nominees"]
    assert [(n["cadre_code"], n["position_id"]) for n in nominees] == [
        (NEW_VICE, world["vice"]),
        (NEW_SECRETARY, world["secretary"]),
    ]

    # The same form sent again from another tab: the task is done, what was typed is given back, titles by name.
    again = auth.post(f"/tasks/{task_id}", {**chosen, "action": "submit"})
    assert again.status_code == 409
    assert f"Phó Chủ tịch UBND xã ({world['unit_name']})" in again.get_data(as_text=True)

    # What was submitted, read-only: each title by its name, each code with the cadre's name, no search.
    shown = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    options, chosen_value = _select(shown, "nominations-1-position_id")
    assert chosen_value == names["secretary"] and dict(options)[chosen_value].startswith("Bí thư Đảng ủy xã (")
    assert PEOPLE[NEW_VICE][0] in shown and PEOPLE[NEW_SECRETARY][0] in shown
    assert "data-cadre-search" not in shown and "cadre_search.js" not in shown


def test_the_cadre_box_names_the_cadre_and_searches_only_the_reviews_unit(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    _review, task_id = _nominating(auth, driver, world)
    # A draft with a known code and an unknown one: the name beside the first, a word beside the second.
    rows = _rows(
        "nominations",
        [
            {"cadre_code": NEW_VICE, "position_id": world["vice"]},
            {"cadre_code": "ZZ404", "position_id": world["vice"]},
        ],
    )
    assert auth.post(f"/tasks/{task_id}", {**rows, "action": "draft"}, page=f"/tasks/{task_id}").status_code == 302
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    page = lxml_html.fromstring(html)
    assert page.xpath('//*[@id="nominations-0-cadre_code-name"]')[0].text_content().strip() == PEOPLE[NEW_VICE][0]
    unknown = page.xpath('//*[@id="nominations-1-cadre_code-name"]')[0]
    assert unknown.text_content().strip() == "Không có cán bộ nào của đơn vị trong thủ tục này mang mã này."
    assert "nominations-0-cadre_code-name" in page.xpath('//input[@name="nominations-0-cadre_code"]')[0].get(
        "aria-describedby"
    )

    # The search: a name typed without marks finds the cadre of the unit; a cadre of another unit is not found.
    found = client.get(f"/tasks/{task_id}/cadres?q=vu thi hanh").get_json()
    assert [c["code"] for c in found["cadres"]] == [NEW_VICE]
    assert found["cadres"][0]["name"] == PEOPLE[NEW_VICE][0]
    if world["outsider"] is not None:
        code, name = world["outsider"]
        assert client.get(f"/tasks/{task_id}/cadres?q={code}").get_json() == {"cadres": []}
        assert client.get(f"/tasks/{task_id}/cadres", query_string={"q": name}).get_json() == {"cadres": []}

    # Only whoever may fill the form in searches it.
    _as(auth, "head1")
    assert client.get(f"/tasks/{task_id}/cadres?q=QH").status_code in (403, 404)


def _boxes(html: str, name: str) -> list[tuple[str, str, bool]]:
    """The checkboxes posting `name`: (value, label, ticked)."""
    page = lxml_html.fromstring(html)
    found = []
    for box in page.xpath(f'//input[@type="checkbox"][@name="{name}"]'):
        label = page.xpath(f'//label[@for="{box.get("id")}"]')[0].text_content().strip()
        found.append((box.get("value"), label, box.get("checked") is not None))
    return found


def _field_error(html: str, field: str) -> str:
    error = re.search(rf'id="{field}-error"[^>]*>(.*?)</div>', html, re.S)
    assert error is not None, f"no error on {field}"
    return error.group(1)


def test_the_screening_ticks_records_and_cadres_by_name_stored_as_ids_and_codes(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    with session_factory() as s, transaction(s):
        cadres = {c.code: c for c in s.scalars(select(Cadre).where(Cadre.code.in_([DISCIPLINED, NEW_VICE])))}
        # A second record of the screened cadre, and one of a cadre of the unit who is not on the plan.
        older = add_discipline(
            s, None, cadres[DISCIPLINED], level="canh_cao", decided_on=date(2020, 5, 4), note="Vi phạm quy chế"
        )
        unplanned = add_discipline(s, None, cadres[NEW_VICE], level="khien_trach", decided_on=date(2025, 1, 2))
        s.flush()
        older_id, unplanned_id = older.id, unplanned.id
        recent_id = s.scalars(
            select(DisciplineRecord.id).where(
                DisciplineRecord.cadre_id == cadres[DISCIPLINED].id, DisciplineRecord.id != older_id
            )
        ).one()
    instance_id = _instance_id(_start(auth))
    task = driver.task(instance_id, "screening")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)

    # Each record of the cadres under screening by whose it is, its kind, date and reason; not the unplanned one's.
    name = PEOPLE[DISCIPLINED][0]
    records = _boxes(html, "waived_discipline_ids")
    assert [value for value, _label, _ticked in records] == [str(older_id), str(recent_id)]
    labels = {value: label for value, label, _ticked in records}
    assert labels[str(older_id)] == f"{name} ({DISCIPLINED}) — Cảnh cáo, quyết định ngày 04/05/2020: Vi phạm quy chế"
    assert labels[str(recent_id)].startswith(f"{name} ({DISCIPLINED}) — Khiển trách, quyết định ngày 01/03/")
    # The five planned cadres by name and code; not a cadre of the unit off the plan.
    planned = [*CHAIR_PLANNED, DISCIPLINED, FAILED_YEAR]
    cadre_boxes = _boxes(html, "political_failed_codes")
    assert sorted(value for value, _label, _ticked in cadre_boxes) == sorted(planned)
    assert NEW_VICE not in {value for value, _label, _ticked in cadre_boxes}
    assert (CHAIR_PLANNED[0], f"{PEOPLE[CHAIR_PLANNED[0]][0]} ({CHAIR_PLANNED[0]})", False) in cadre_boxes
    assert not any(ticked for _v, _l, ticked in records + cadre_boxes)
    assert "cách nhau bằng dấu phẩy" not in html
    assert not lxml_html.fromstring(html).xpath('//input[@type="text"][@name="waived_discipline_ids"]')

    # A record of a cadre outside the screening, and a cadre of the unit off the plan, posted by hand: the hook
    # refuses each at its field, in Vietnamese; nothing moves, the task stays open, the forged values shown ticked.
    before = (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id))
    forged = {"waived_discipline_ids": [str(recent_id), str(unplanned_id)], "political_failed_codes": NEW_VICE}
    refused = auth.post(f"/tasks/{task.id}", {**forged, "action": "submit"}, page=f"/tasks/{task.id}")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f"Kỷ luật số hiệu {unplanned_id} không phải của cán bộ nào trong diện sàng lọc." in _field_error(
        html, "waived_discipline_ids"
    )
    assert f"{PEOPLE[NEW_VICE][0]} ({NEW_VICE}) không thuộc diện sàng lọc." in _field_error(
        html, "political_failed_codes"
    )
    boxes = _boxes(html, "waived_discipline_ids")
    assert (str(unplanned_id), f"{unplanned_id} (không có trong danh sách)", True) in boxes
    assert (str(recent_id), True) in [(v, t) for v, _l, t in boxes]
    assert (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id)) == before
    assert driver.task(instance_id, "screening").id == task.id

    # Ticked by name, stored as the comma-separated ids and codes the hook always read: the waived records no
    # longer bar the disciplined cadre, and the cadre concluded to fail the political standard is proposed instead.
    chosen = {"waived_discipline_ids": [str(older_id), str(recent_id)], "political_failed_codes": CHAIR_PLANNED[0]}
    done = auth.post(f"/tasks/{task.id}", {**chosen, "action": "submit"}, page=f"/tasks/{task.id}")
    assert done.status_code == 302, done.get_data(as_text=True)
    data = _instance_data(driver, instance_id)
    assert data["waived_discipline_ids"] == f"{older_id}, {recent_id}"
    assert data["political_failed_codes"] == CHAIR_PLANNED[0]
    assert sorted(r["cadre_code"] for r in data["removals"]) == sorted([CHAIR_PLANNED[0], FAILED_YEAR])

    # The same form sent again from another tab: the task is done, what was ticked is given back by name.
    again = auth.post(f"/tasks/{task.id}", {**chosen, "action": "submit"})
    assert again.status_code == 409
    assert labels[str(older_id)] in again.get_data(as_text=True)

    # What was submitted, read-only: the records and the cadre ticked, by name.
    shown = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    ticked = [(v, label) for v, label, t in _boxes(shown, "waived_discipline_ids") if t]
    assert ticked == [(str(older_id), labels[str(older_id)]), (str(recent_id), labels[str(recent_id)])]
    assert [(v, t) for v, _l, t in _boxes(shown, "political_failed_codes")] == [(CHAIR_PLANNED[0], True)]
    assert f"{PEOPLE[CHAIR_PLANNED[0]][0]} ({CHAIR_PLANNED[0]})" in shown


def test_the_frame_groups_the_titles_by_unit_in_tree_order(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    below = add_unit(session_factory, "X001-UB", "Ủy ban nhân dân xã An Phú", "peoples_committee", "X001")
    with session_factory() as s, transaction(s):
        office = Position(title="Chánh Văn phòng", unit_id=below, level="commune")
        s.add(office)
        s.flush()
        office_id = office.id
    instance_id = _instance_id(_start(auth))
    assert _submit(auth, driver, instance_id, "screening", "personnel1", {}).status_code == 302
    removals = driver.task(instance_id, "confirm_removals")
    _as(auth, "head1")
    page = client.get(f"/tasks/{removals.id}").get_data(as_text=True)
    entry_ids = _proposed(page)
    rows = [{"entry_id": e, "decision": "remove", "keep_reason": ""} for e in entry_ids]
    assert _submit(auth, driver, instance_id, "confirm_removals", "head1", _rows("removals", rows)).status_code == 302

    _as(auth, "personnel1")
    task = driver.task(instance_id, "review_frame")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    select_ = lxml_html.fromstring(html).xpath('//select[@name="frame_titles-0-position_id"]')[0]
    groups = select_.xpath("./optgroup")
    # The review's unit first, then the unit below it; each title in its unit's group, "Choose" in none.
    assert [g.get("label") for g in groups] == [world["unit_name"], "Ủy ban nhân dân xã An Phú"]
    own = {o.get("value") for o in groups[0].xpath("./option")}
    assert {str(world[key]) for key in ("chair", "vice", "secretary", "department", "unframed")} <= own
    assert [o.get("value") for o in groups[1].xpath("./option")] == [str(office_id)]
    assert [o.get("value") for o in select_.xpath("./option")] == [""]
    # Grouped or not, the title chosen is posted and kept as its id.
    frame = _rows("frame_titles", [{"position_id": world["chair"]}, {"position_id": office_id}])
    done = auth.post(f"/tasks/{task.id}", {**frame, "action": "submit"}, page=f"/tasks/{task.id}")
    assert done.status_code == 302, done.get_data(as_text=True)
    assert [f["position_id"] for f in _instance_data(driver, instance_id)["frame"]] == [world["chair"], office_id]
