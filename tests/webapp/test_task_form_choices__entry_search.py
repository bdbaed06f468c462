"""The removals of a plan too long for one select search it, through HTTP (decision 0083): a row added gets a search
box and a select of what it finds, `GET /tasks/<id>/planning-entries?q=` answers the page's script with the entries
of the review's plan that every word typed finds (name, code, title, unit; marks and case ignored), at most a few,
only to whoever may fill the form in. Without the script, "Tìm" sends the form back with the select listing what
the box finds; the select still posts the id, which the hook checks as before (Vietnamese, 422, nothing written)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.planning import CHAIR_PLANNED, DISCIPLINED, FAILED_YEAR, LONG_LIST, PEOPLE, TERM, add_long_plan
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_planning import _as, _entries, _events, _rows
from tests.webapp.test_task_form_choices import _instance_data
from tests.webapp.test_task_form_choices__removals import (
    _at_removals,
    _cell_error,
    _decided,
    _label,
    _options,
    _selects,
    world,  # noqa: F401 -- the fixture: the demo commune's plan and the entries a review may not take
)
from webapp.extensions import db
from webapp.tasks import views
from workflows.models import HumanTask
from workflows.registry.models import PlanningEntry

CHAIR = "Chủ tịch UBND xã"


@pytest.fixture
def long_world(
    app: Flask,
    world: dict[str, Any],  # noqa: F811 -- the fixture imported above
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """The plan of the removals' tests with twelve more people: fifteen entries a row added may take, searched from
    ten on here (a province's plan, in small)."""
    add_long_plan(session_factory)
    monkeypatch.setattr(views, "ENTRY_SEARCH_FROM", 10)
    return world


def _found(client: FlaskClient, task_id: int, typed: str) -> dict[str, Any]:
    response = client.get(f"/tasks/{task_id}/planning-entries", query_string={"q": typed})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _codes(found: dict[str, Any]) -> list[str]:
    return [entry["label"].split("(")[1].split(")")[0] for entry in found["entries"]]


def test_the_search_finds_the_reviews_plan_by_any_word_marks_and_case_ignored(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, long_world: dict[str, Any]
) -> None:
    _review, task_id = _at_removals(auth, driver)
    # A name typed without marks: both Đinh, by name; each with its label (cadre, code, title, unit) and unit.
    found = _found(client, task_id, "dinh")
    assert found["more"] is False
    assert [(e["label"], e["unit"]) for e in found["entries"]] == [
        (f"Đinh Thị Hòa (QL02) — Trưởng thôn 1 ({long_world['unit_name']})", long_world["unit_name"]),
        (f"Đinh Văn Tú (QL01) — Trưởng thôn 1 ({long_world['unit_name']})", long_world["unit_name"]),
    ]
    assert isinstance(found["entries"][0]["id"], int)
    # Every word, each anywhere in the label: a name and a title; a code.
    assert _codes(_found(client, task_id, "tu thon 1")) == ["QL01"]
    assert sorted(_codes(_found(client, task_id, "van thon 1"))) == ["QL01", "QL03", "QL11"]  # QL11: "1" in its code
    assert _codes(_found(client, task_id, "ql1")) == ["QL12", "QL11", "QL10"]  # Dương, Quách, Trịnh
    # Upper case and marks as typed; "2" is found in the title as in the codes.
    assert sorted(_codes(_found(client, task_id, "TRƯỞNG THÔN 2"))) == ["QL02", "QL04", "QL05", "QL06", "QL12"]
    assert sorted(_codes(_found(client, task_id, "chu tich"))) == sorted(CHAIR_PLANNED)
    # Not the screening's proposals (they have their rows), nor another term's entry, one already off the plan, or
    # another commune's; nothing typed finds nothing.
    assert _found(client, task_id, PEOPLE[DISCIPLINED][0])["entries"] == []
    for key, typed in (("later", "vu thi hanh"), ("gone", "bui thi lan"), ("elsewhere", "ngo van ngoai")):
        assert long_world[key] not in [e["id"] for e in _found(client, task_id, typed)["entries"]], key
    assert _found(client, task_id, "   ") == {"entries": [], "more": False}
    assert _found(client, task_id, "%") == {"entries": [], "more": False}  # a wildcard is a character like any


def test_the_search_lists_at_most_its_limit_and_says_there_are_more(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    long_world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _review, task_id = _at_removals(auth, driver)
    monkeypatch.setattr(views, "ENTRY_SEARCH_LIMIT", 4)
    found = _found(client, task_id, "truong thon")  # twelve
    assert len(found["entries"]) == 4 and found["more"] is True
    assert _found(client, task_id, "truong thon 4")["more"] is False


def test_the_search_answers_only_whoever_may_fill_the_form_in(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    long_world: dict[str, Any],
) -> None:
    instance_id, task_id = _at_removals(auth, driver)
    url = f"/tasks/{task_id}/planning-entries?q=dinh"
    assert client.get(url).status_code == 200  # head1, who decides
    # Personnel of the unit see the task, read only: not theirs to fill in.
    _as(auth, "personnel1")
    assert client.get(f"/tasks/{task_id}").status_code == 200
    assert client.get(url).status_code == 403
    # An officer of another commune cannot see it: as if it did not exist.
    _as(auth, "officer3")
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert client.get(url).status_code == 404
    assert client.get("/tasks/2147483000/planning-entries?q=dinh").status_code == 404
    # The screening, done: its form has no entry to choose, and it is not open.
    _as(auth, "personnel1")
    with session_factory() as s:
        screening = s.scalars(
            select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.task_key == "screening")
        ).one()
    assert client.get(f"/tasks/{screening}").status_code == 200
    assert client.get(f"/tasks/{screening}/planning-entries?q=dinh").status_code == 403
    # Signed out: to the sign-in page, nothing listed.
    auth.logout()
    assert client.get(url).status_code == 302


def test_a_row_added_to_a_long_plan_is_searched_and_the_chosen_id_is_checked_as_before(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    long_world: dict[str, Any],
) -> None:
    instance_id, task_id = _at_removals(auth, driver)
    page = f"/tasks/{task_id}"
    decided = _rows("removals", _decided(long_world))
    added = auth.post(page, {**decided, "add_row__removals": "1"}, page=page)
    assert added.status_code == 200
    html = added.get_data(as_text=True)
    tree = lxml_html.fromstring(html)
    rows = _selects(html)
    # The proposals stay pinned, without a search; the row added has a box and a select of nothing yet.
    assert [len(_options(s)) for s in rows[:2]] == [1, 1]
    assert not tree.xpath('//input[@id="removals-0-entry_id-find"]')
    assert _options(rows[2]) == [("", "— Chọn —", True)]
    box = tree.xpath('//input[@id="removals-2-entry_id-find"]')[0]
    assert box.get("type") == "search" and box.get("name") == "removals-2-entry_id__find"
    assert box.get("data-entry-search") == f"/tasks/{task_id}/planning-entries"
    assert tree.xpath('//label[@for="removals-2-entry_id-find"]')[0].text_content().strip() == (
        "Tìm theo tên, mã hoặc chức danh"
    )
    find = tree.xpath('//button[@name="find_entries"]')[0]
    assert find.text_content().strip() == "Tìm" and find.get("formnovalidate") is not None
    assert "entry_search.js" in html
    # No optgroups of the whole plan anywhere: the page does not carry the province's list.
    assert not tree.xpath("//optgroup")

    # Without the script: "Tìm" sends the form back, the row's select listing what its box finds, by name.
    before = (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id))
    typed = {**decided, "removals-2-entry_id__find": "dinh", "removals-2-reason": "Vi phạm", "find_entries": "1"}
    searched = auth.post(page, typed, page=page)
    assert searched.status_code == 200
    html = searched.get_data(as_text=True)
    options = _options(_selects(html)[2])
    assert [label for _value, label, _chosen in options] == [
        "— Chọn —",
        f"Đinh Thị Hòa (QL02) — Trưởng thôn 1 ({long_world['unit_name']})",
        f"Đinh Văn Tú (QL01) — Trưởng thôn 1 ({long_world['unit_name']})",
    ]
    tree = lxml_html.fromstring(html)
    assert tree.xpath('//input[@id="removals-2-entry_id-find"]')[0].get("value") == "dinh"
    assert tree.xpath('//*[@id="removals-2-entry_id-found"]')[0].text_content().strip() == (
        "Tìm thấy 2 mục: chọn trong danh sách."
    )
    assert (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id)) == before

    # A forged id, posted by a select of this kind: refused at its cell as before, shown as what it is.
    refused = auth.post(
        page,
        {
            **decided,
            **_rows("removals", [{}, {}, {"entry_id": long_world["elsewhere"], "reason": "x", "decision": "remove"}]),
            "action": "submit",
        },
        page=page,
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert (
        f"Mục quy hoạch số hiệu {long_world['elsewhere']} không thuộc quy hoạch của {long_world['unit_name']} "
        f"nhiệm kỳ {TERM}."
    ) in _cell_error(html, "removals-2-entry_id")
    assert "Ngô Văn Ngoại" not in html
    assert (str(long_world["elsewhere"]), f"Số hiệu {long_world['elsewhere']} (không có trong danh sách)", True) in (
        _options(_selects(html)[2])
    )
    assert (_entries(session_factory), _events(session_factory), _instance_data(driver, instance_id)) == before

    # Chosen from what was found: stored as the rows the approval reads; refused again, the choice stays by name.
    chair_entry = long_world["entries"][CHAIR_PLANNED[0]]
    bare = {**decided, "removals-2-entry_id": str(chair_entry), "removals-2-decision": "remove", "action": "submit"}
    again = auth.post(page, bare, page=page)  # no reason
    assert again.status_code == 422
    assert (str(chair_entry), _label(long_world, CHAIR_PLANNED[0], CHAIR), True) in _options(
        _selects(again.get_data(as_text=True))[2]
    )
    done = auth.post(page, {**bare, "removals-2-reason": "Không hoàn thành nhiệm vụ"}, page=page)
    assert done.status_code == 302, done.get_data(as_text=True)
    confirmed = _instance_data(driver, instance_id)["removals_confirmed"]
    assert confirmed[2]["entry_id"] == chair_entry and confirmed[2]["cadre_code"] == CHAIR_PLANNED[0]
    # Read only afterwards: each row its entry by name; no box, no script, not the whole plan.
    shown = client.get(page).get_data(as_text=True)
    assert [_options(s) for s in _selects(shown)][2] == [
        (str(chair_entry), _label(long_world, CHAIR_PLANNED[0], CHAIR), True)
    ]
    assert "entry_search.js" not in shown and "removals-2-entry_id-find" not in shown
    assert len(LONG_LIST) == 12


def test_a_short_plan_keeps_the_grouped_select_without_a_search(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    world: dict[str, Any],  # noqa: F811 -- the fixture imported above
) -> None:
    _review, task_id = _at_removals(auth, driver)
    page = f"/tasks/{task_id}"
    added = auth.post(page, {**_rows("removals", _decided(world)), "add_row__removals": "1"}, page=page)
    html = added.get_data(as_text=True)
    assert len(_options(_selects(html)[2])) == 1 + len(CHAIR_PLANNED)  # "Chọn" and the chair's three
    assert "removals-2-entry_id-find" not in html and "entry_search.js" not in html and "find_entries" not in html


@contextmanager
def _entries_read() -> Iterator[set[int]]:
    """The ids of the planning entries read from the database while the block runs (each row made an entry)."""
    read: set[int] = set()

    def loaded(entry: PlanningEntry, _context: Any) -> None:
        read.add(entry.id)

    event.listen(PlanningEntry, "load", loaded)
    try:
        yield read
    finally:
        event.remove(PlanningEntry, "load", loaded)


def test_a_long_plans_page_counts_the_plan_and_reads_only_the_entries_its_rows_hold(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    long_world: dict[str, Any],
) -> None:
    """Decision 0088: a plan of ENTRY_SEARCH_FROM entries or more is counted in SQL; the page reads only the
    proposals and the entries its rows hold, and the search still finds the rest."""
    _review, task_id = _at_removals(auth, driver)
    page = f"/tasks/{task_id}"
    entries = long_world["entries"]
    proposals = {entries[FAILED_YEAR], entries[DISCIPLINED]}
    with app.app_context():
        engine = db.engine
    with _entries_read() as read, statements_sent(engine) as sent:
        shown = client.get(page)
    assert shown.status_code == 200
    assert read <= proposals, read
    assert any("count(*)" in statement.lower() for statement in sent.statements), str(sent)
    # A row added holding an entry chosen from the search (refused for want of a reason): that entry is read, by
    # name in its select, and no other of the plan's fifteen; the page names none of the others.
    chair_entry = entries[CHAIR_PLANNED[0]]
    found = _found(client, task_id, PEOPLE[CHAIR_PLANNED[0]][0])["entries"]
    assert [entry["id"] for entry in found] == [chair_entry]
    held = {
        **_rows("removals", _decided(long_world)),
        "removals-2-entry_id": str(chair_entry),
        "removals-2-decision": "remove",
        "action": "submit",
    }
    with _entries_read() as read:
        refused = auth.post(page, held, page=page)
    assert refused.status_code == 422
    assert read <= proposals | {chair_entry}, read
    html = refused.get_data(as_text=True)
    assert (str(chair_entry), _label(long_world, CHAIR_PLANNED[0], CHAIR), True) in _options(_selects(html)[2])
    for name in (*(PEOPLE[code][0] for code in CHAIR_PLANNED[1:]), *LONG_LIST.values()):
        assert name not in html, name


def test_a_plan_just_short_of_the_threshold_is_read_and_listed_whole(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    long_world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The count leaves the proposals out as the list does: fifteen entries a row may take are listed whole below
    sixteen, searched from fifteen."""
    _review, task_id = _at_removals(auth, driver)
    page = f"/tasks/{task_id}"
    added = {**_rows("removals", _decided(long_world)), "add_row__removals": "1"}
    monkeypatch.setattr(views, "ENTRY_SEARCH_FROM", 16)
    with _entries_read() as read:
        html = auth.post(page, added, page=page).get_data(as_text=True)
    assert len(_options(_selects(html)[2])) == 1 + 15  # "Chọn" and every entry a row may take
    assert len(read) == 2 + 15 and "removals-2-entry_id-find" not in html
    monkeypatch.setattr(views, "ENTRY_SEARCH_FROM", 15)
    html = auth.post(page, added, page=page).get_data(as_text=True)
    assert _options(_selects(html)[2]) == [("", "— Chọn —", True)] and "removals-2-entry_id-find" in html
