"""The planning review through HTTP: an annual review of the demo commune started on its page, every task submitted
on the task pages, each ballot opened on the review's ballot page, attended, voted by the seven members of the
collective and closed on the ballot pages. The screening proposes two removals the collective confirms one by one,
three nominees go through the ballots, the 4th nominee for a full title is refused at its row; the approved list
lands on each cadre's record, the plan page shows it with its history and structure, and the audit chains verify.
Bad input answers with a clear message and changes nothing."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions, raw_data_words
from tests.fixtures.planning import (
    CHAIR_PLANNED,
    DISCIPLINED,
    FAILED_YEAR,
    FOURTH,
    NEW_SECRETARY,
    NEW_VICE,
    NEW_VICE_2,
    TERM,
    add_personnel_officer,
    add_unit,
    setup_planning,
)
from tests.fixtures.reads import logged_reads
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import verify_chains
from workflows.models import AuditEvent, BallotBox, Notification, ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, PlanningEntry, PlanningStatus
from workflows.registry.units import in_tree_order
from workflows.states import InstanceStatus


@pytest.fixture
def world(app: Flask, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_planning(session_factory)


def _as(auth: AuthActions, username: str) -> None:
    if auth.client.get("/inbox").status_code == 200:
        auth.logout()
    assert auth.login(username).status_code == 302


def _submit(auth: AuthActions, driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict) -> Any:
    _as(auth, username)
    task = driver.task(instance_id, key)
    return auth.post(f"/tasks/{task.id}", {**data, "action": "submit"}, page=f"/tasks/{task.id}")


def _rows(name: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{name}-{i}-{key}": str(value) for i, row in enumerate(rows) for key, value in row.items()}


def _hold_ballot(auth: AuthActions, instance_id: int, members: dict[str, int], mark: str = "yes") -> int:
    _as(auth, "personnel1")
    page = f"/planning/{instance_id}/ballot"
    electors = [str(i) for i in members.values()]
    opened = auth.post(page, {"electors": electors, "members_count": str(len(electors)), "mode": "online"}, page=page)
    assert opened.status_code == 302, opened.get_data(as_text=True)
    match = re.search(r"/ballots/(\d+)/manage", opened.headers["Location"])
    assert match
    box = int(match.group(1))
    manage = f"/ballots/{box}/manage"
    assert auth.post(f"/ballots/{box}/attendance", {"present": electors}, page=manage).status_code == 302
    for username in members:
        _as(auth, username)
        vote_page = auth.client.get(f"/ballots/{box}/vote").get_data(as_text=True)
        fields = sorted(set(re.findall(r'name="(candidate_\d+)"', vote_page)))
        assert fields
        response = auth.post(
            f"/ballots/{box}/vote", {**{f: mark for f in fields}, "confirm": "y"}, page=f"/ballots/{box}/vote"
        )
        assert response.status_code == 302
    _as(auth, "personnel1")
    assert auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=manage).status_code == 302
    return box


def _start(auth: AuthActions, variant: str = "annual", unit: str = "X001", term: str = TERM) -> Any:
    _as(auth, "personnel1")
    return auth.post("/planning/start", {"unit": unit, "term": term, "variant": variant}, page="/planning/start")


def _instance_id(response: Any) -> int:
    match = re.search(r"/instances/(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def _entries(session_factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with session_factory() as s:
        return [
            (e.id, e.cadre_id, e.position_id, e.status, e.removal_instance_id)
            for e in s.scalars(select(PlanningEntry).order_by(PlanningEntry.id))
        ]


def _events(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        return int(s.scalar(select(func.count(AuditEvent.id))) or 0)


def _dashboard_counts(client: FlaskClient) -> dict[str, str]:
    html = client.get("/reports/targets").get_data(as_text=True)
    found = {}
    for key in ("women", "ethnic_minority"):
        match = re.search(rf'data-indicator="{key}">.*?data-count="([^"]+)"', html, re.S)
        assert match, key
        found[key] = match.group(1)
    return found


def _verified(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        report = verify_chains(s)
        assert report.ok, report


def _through_frame(auth: AuthActions, driver: WorkflowDriver, instance_id: int, world: dict[str, Any]) -> None:
    """Screening (no extra inputs), the collective removes both proposals, frame of three titles, approved."""
    assert _submit(auth, driver, instance_id, "screening", "personnel1", {"screening_note": ""}).status_code == 302
    with driver.session_factory() as s:
        proposed = {
            e.id: c
            for e, c in s.execute(
                select(PlanningEntry, Cadre.code)
                .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
                .where(Cadre.code.in_([DISCIPLINED, FAILED_YEAR]))
            )
        }
    rows = [{"entry_id": entry, "decision": "remove", "keep_reason": ""} for entry in sorted(proposed)]
    confirmed = _submit(auth, driver, instance_id, "confirm_removals", "head1", _rows("removals", rows))
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    frame = [{"position_id": world[name]} for name in ("chair", "vice", "secretary", "department")]
    assert (
        _submit(auth, driver, instance_id, "review_frame", "personnel1", _rows("frame_titles", frame)).status_code
        == 302
    )
    approved = _submit(auth, driver, instance_id, "approve_frame", "head1", {"frame_decision": "approve"})
    assert approved.status_code == 302


def test_a_screening_code_that_names_nobody_is_refused_naming_the_code_in_the_officers_language(
    auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    instance_id = _instance_id(_start(auth))
    refused = _submit(auth, driver, instance_id, "screening", "personnel1", {"political_failed_codes": "ZZ404"})
    assert refused.status_code == 422
    assert "Không có cán bộ nào mang mã ZZ404." in refused.get_data(as_text=True)
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    refused = _submit(auth, driver, instance_id, "screening", "personnel1", {"political_failed_codes": "ZZ404"})
    assert refused.status_code == 422
    assert "No cadre has the code ZZ404." in refused.get_data(as_text=True)


def test_the_collective_finds_no_decision_made_for_it_and_must_choose_one(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    """The screening proposes; the collective decides. Its step shows the proposals with no decision taken and no
    choice selected, and sending it without choosing is refused at each row, nothing written."""
    instance_id = _instance_id(_start(auth))
    assert _submit(auth, driver, instance_id, "screening", "personnel1", {}).status_code == 302
    _as(auth, "head1")
    task_id = driver.task(instance_id, "confirm_removals").id
    page = lxml_html.fromstring(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    selects = page.xpath('//select[starts-with(@name, "removals-")][contains(@name, "-decision")]')
    assert len(selects) == 2
    for select_box in selects:
        assert select_box.xpath("./option[1]/@value") == [""]
        assert [o.get("value") for o in select_box.xpath("./option[@selected]")] in ([], [""])
    # Nowhere else on the page does the collective's decision read as made.
    outside_the_form = "".join(
        node.text_content() for node in page.xpath("//main//*[not(ancestor-or-self::form)][not(self::script)]")
    )
    assert "Đưa ra khỏi quy hoạch" not in outside_the_form.replace("Đề xuất đưa ra khỏi quy hoạch", "")
    before = _entries(session_factory)
    # What the browser sends untouched: each proposal's row, its choice left empty.
    with session_factory() as s:
        proposed = sorted(
            s.scalars(
                select(PlanningEntry.id)
                .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
                .where(Cadre.code.in_([DISCIPLINED, FAILED_YEAR]))
            )
        )
    rows = [{"entry_id": entry, "decision": "", "keep_reason": ""} for entry in proposed]
    refused = _submit(auth, driver, instance_id, "confirm_removals", "head1", _rows("removals", rows))
    assert refused.status_code == 422
    refused_page = refused.get_data(as_text=True)
    assert 'id="removals-0-decision-error"' in refused_page and 'id="removals-1-decision-error"' in refused_page
    assert _entries(session_factory) == before
    assert driver.task(instance_id, "confirm_removals").status == "open"


def test_annual_review_of_a_commune_removes_two_and_adds_three_through_http(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    members = world["members"]
    # The targets dashboard shows the plan's structure: 2 women and 1 ethnic minority among 5 planned people.
    _as(auth, "personnel1")
    assert _dashboard_counts(client) == {"women": "2/5", "ethnic_minority": "1/5"}
    started = _start(auth)
    assert started.status_code == 302, started.get_data(as_text=True)
    instance_id = _instance_id(started)

    # The screening proposes exactly the disciplined cadre and the one graded KHTNV, each with the reason.
    assert _submit(auth, driver, instance_id, "screening", "personnel1", {}).status_code == 302
    _as(auth, "head1")
    page = client.get(f"/tasks/{driver.task(instance_id, 'confirm_removals').id}").get_data(as_text=True)
    assert "Phạm Văn Em" in page and "Hoàng Thị Gấm" in page and "Nguyễn Văn Bình" not in page
    assert "khiển trách" in page and "Không hoàn thành nhiệm vụ" in page
    with session_factory() as s:
        proposed = sorted(
            s.scalars(
                select(PlanningEntry.id)
                .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
                .where(Cadre.code.in_([DISCIPLINED, FAILED_YEAR]))
            )
        )
    # Keeping one without a reason is refused at its row; then both are removed one by one.
    keep = [{"entry_id": proposed[0], "decision": "keep", "keep_reason": ""}]
    keep.append({"entry_id": proposed[1], "decision": "remove", "keep_reason": ""})
    refused = _submit(auth, driver, instance_id, "confirm_removals", "head1", _rows("removals", keep))
    assert refused.status_code == 422
    assert 'id="removals-0-keep_reason-error"' in refused.get_data(as_text=True)
    rows = [{"entry_id": entry, "decision": "remove", "keep_reason": ""} for entry in proposed]
    assert _submit(auth, driver, instance_id, "confirm_removals", "head1", _rows("removals", rows)).status_code == 302

    frame = [{"position_id": world[name]} for name in ("chair", "vice", "secretary", "department")]
    assert (
        _submit(auth, driver, instance_id, "review_frame", "personnel1", _rows("frame_titles", frame)).status_code
        == 302
    )
    assert (
        _submit(auth, driver, instance_id, "approve_frame", "head1", {"frame_decision": "approve"}).status_code == 302
    )

    # The 4th nominee for the full chair title is refused at its row, with the three names; nothing advances.
    nominations = [
        {"cadre_code": NEW_VICE, "position_id": world["vice"]},
        {"cadre_code": NEW_VICE_2, "position_id": world["vice"]},
        {"cadre_code": NEW_SECRETARY, "position_id": world["secretary"]},
        {"cadre_code": FOURTH, "position_id": world["chair"]},
    ]
    before = (_entries(session_factory), _events(session_factory))
    fourth = _submit(auth, driver, instance_id, "nominate", "personnel1", _rows("nominations", nominations))
    assert fourth.status_code == 422
    html = fourth.get_data(as_text=True)
    error = re.search(r'id="nominations-3-cadre_code-error"[^>]*>(.*?)</div>', html, re.S)
    assert (
        error is not None and "đã có 3 người trong quy hoạch" in error.group(1) and "tối đa 3 người" in error.group(1)
    )
    assert 'id="nominations-0-cadre_code-error"' not in html
    assert (_entries(session_factory), _events(session_factory)) == before
    assert driver.task(instance_id, "nominate") is not None

    listed = _submit(auth, driver, instance_id, "nominate", "personnel1", _rows("nominations", nominations[:3]))
    assert listed.status_code == 302, listed.get_data(as_text=True)
    # The structure of the plan with the list added is shown on the next step.
    _as(auth, "personnel1")
    ballot_page = client.get(f"/tasks/{driver.task(instance_id, 'ballot_key_cadres').id}").get_data(as_text=True)
    assert "Nữ: " in ballot_page and "Dân tộc thiểu số" in ballot_page

    # Completing a ballot step before its box is closed is refused.
    early = _submit(auth, driver, instance_id, "ballot_key_cadres", "personnel1", {})
    assert early.status_code == 422
    key_box = _hold_ballot(auth, instance_id, members)
    assert _submit(auth, driver, instance_id, "ballot_key_cadres", "personnel1", {}).status_code == 302
    _hold_ballot(auth, instance_id, members)
    assert _submit(auth, driver, instance_id, "ballot_leadership", "personnel1", {}).status_code == 302
    # The party committee votes only on the committee title (the party secretary).
    committee_box = _hold_ballot(auth, instance_id, members)
    with session_factory() as s:
        committee = s.get(BallotBox, committee_box)
        assert committee is not None and [c["key"] for c in committee.candidates] == [
            f"{NEW_SECRETARY}@{world['secretary']}"
        ]
        assert len(s.get(BallotBox, key_box).candidates) == 3  # type: ignore[union-attr]
    assert _submit(auth, driver, instance_id, "ballot_committee", "personnel1", {}).status_code == 302
    assert (
        _submit(auth, driver, instance_id, "dossier", "personnel1", {"submission_number": "15/TTr-BTC"}).status_code
        == 302
    )
    no_number = _submit(auth, driver, instance_id, "approval", "leader1", {"approval_decision": "approve"})
    assert no_number.status_code == 422
    approved = _submit(
        auth,
        driver,
        instance_id,
        "approval",
        "leader1",
        {"approval_decision": "approve", "decision_number": "120-QĐ/TU"},
    )
    assert approved.status_code == 302, approved.get_data(as_text=True)

    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        rows = s.execute(
            select(Cadre.code, PlanningEntry.position_id, PlanningEntry.status, PlanningEntry.source_instance_id,
                   PlanningEntry.removal_instance_id, PlanningEntry.reason)
            .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
            .order_by(PlanningEntry.id)
        ).all()  # fmt: skip
        by_code = {row[0]: row for row in rows}
        for code in (DISCIPLINED, FAILED_YEAR):
            assert by_code[code][2] == PlanningStatus.REMOVED and by_code[code][4] == instance_id
            assert by_code[code][5]
        for code, post in ((NEW_VICE, "vice"), (NEW_VICE_2, "vice"), (NEW_SECRETARY, "secretary")):
            assert by_code[code][1:4] == (world[post], PlanningStatus.ACTIVE, instance_id)
        assert FOURTH not in by_code
        assert all(by_code[code][2] == PlanningStatus.ACTIVE for code in CHAIR_PLANNED)
        # Made known in the unit.
        told = s.scalar(
            select(func.count(Notification.id)).where(
                Notification.instance_id == instance_id, Notification.kind == "planning_result"
            )
        )
        assert told and told >= 7
        # Each change is on the cadre's own chain.
        new_vice = s.scalars(select(Cadre.id).where(Cadre.code == NEW_VICE)).one()
        kinds = s.scalars(select(AuditEvent.event_type).where(AuditEvent.chain_key == f"cadre:{new_vice}")).all()
        assert "planning_entry_added" in kinds
    _verified(session_factory)

    # The dashboard reflects the new plan: a man and a woman out, two women and a Tày man in.
    _as(auth, "personnel1")
    assert _dashboard_counts(client) == {"women": "3/6", "ethnic_minority": "2/6"}

    # The plan page: by unit, title and term, the history linking each change to the review, the structure.
    _as(auth, "personnel1")
    plan = client.get(f"/planning?unit=X001&term={TERM}")
    assert plan.status_code == 200
    html = plan.get_data(as_text=True)
    assert html.count('data-change="added"') == 8 and html.count('data-change="removed"') == 2
    assert html.count(f'href="/instances/{instance_id}"') == 5  # 3 additions + 2 removals
    assert 'data-indicator="women"' in html and 'data-indicator="ethnic_minority"' in html
    # Each cadre's record shows the entry and the review that made it.
    with session_factory() as s:
        removed_id = s.scalars(select(Cadre.id).where(Cadre.code == DISCIPLINED)).one()
    record = client.get(f"/registry/cadres/{removed_id}").get_data(as_text=True)
    assert f'href="/instances/{instance_id}"' in record and "khiển trách" in record
    exported = client.get(f"/planning?unit=X001&term={TERM}&format=xlsx")
    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.get_data())).active
    assert sheet is not None
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert values[0][:6] == ["Đơn vị", "Chức danh quy hoạch", "Nhiệm kỳ", "Mã cán bộ", "Họ và tên", "Trạng thái"]
    assert len(values) == 1 + 8
    assert sum(1 for v in values[1:] if v[5] == "Đã đưa ra khỏi quy hoạch") == 2
    assert [(viewer, detail) for viewer, _object, _unit, detail in logged_reads(session_factory, "plan_list")] == [
        ("personnel1", f"unit=X001&term={TERM}&format=xlsx")  # the page on screen was not logged
    ]


@pytest.mark.parametrize(
    ("nominations", "row", "message"),
    [
        # The same cadre twice for one title.
        ([(NEW_VICE, "vice"), (NEW_VICE, "vice")], 1, "đã có trong quy hoạch"),
        # CB0003 holds the vice-chair post: a department head is a lower title.
        ([("CB0003", "department")], 0, "chỉ quy hoạch chức danh cao hơn"),
    ],
)
def test_bad_nominations_are_refused_at_the_row_and_nothing_is_written(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory,
    world: dict[str, Any],
    nominations: list[tuple[str, str]],
    row: int,
    message: str,
) -> None:
    instance_id = _instance_id(_start(auth))
    _through_frame(auth, driver, instance_id, world)
    task = driver.task(instance_id, "nominate")
    before = (_entries(session_factory), _events(session_factory))
    data = _rows("nominations", [{"cadre_code": c, "position_id": world[p]} for c, p in nominations])
    response = _submit(auth, driver, instance_id, "nominate", "personnel1", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="nominations-{row}-cadre_code-error"[^>]*>(.*?)</div>', html, re.S)
    assert error is not None and message in error.group(1)
    assert (_entries(session_factory), _events(session_factory)) == before
    assert driver.task(instance_id, "nominate").id == task.id
    _verified(session_factory)


def test_starting_is_scoped_and_checked(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    with session_factory() as s:
        count = s.scalar(select(func.count(ProcessInstance.id)))
    bad = _start(auth, term="2031-2026")
    assert bad.status_code == 422 and "2026-2031" in bad.get_data(as_text=True)
    assert _start(auth, unit="NOPE").status_code == 422
    _as(auth, "officer1")
    assert auth.client.get("/planning/start").status_code == 403
    with session_factory() as s:
        assert s.scalar(select(func.count(ProcessInstance.id))) == count
    first = _start(auth)
    assert first.status_code == 302
    again = _start(auth)
    assert again.status_code == 409
    running = _instance_id(first)
    said = again.get_data(as_text=True)
    assert f"hồ sơ số {running}." in said and f'href="/instances/{running}">Mở hồ sơ số {running}</a>' in said
    # An officer of the other commune cannot see X001's plan or open its ballots: as if they did not exist.
    _as(auth, "officer3")
    assert client.get("/planning?unit=X001").status_code == 404
    assert client.get(f"/planning/{_instance_id(first)}/ballot").status_code == 404


def _unit_options(client: FlaskClient, path: str) -> list[tuple[str, str, bool]]:
    """The unit select's options of a page: (value, label, selected)."""
    doc = lxml_html.fromstring(client.get(path).get_data(as_text=True))
    options = doc.xpath('//select[@name="unit"]/option')
    return [(o.get("value"), o.text_content(), o.get("selected") is not None) for o in options]


def _units_in_tree_order(session_factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    """Every active unit of the demo organisation, as a province-wide officer is offered them: (code, label)."""
    with session_factory() as s:
        units = list(s.scalars(select(OrgUnit).where(OrgUnit.is_active)))
        return [(u.code, "— " * depth + u.name) for u, depth in in_tree_order(units)]


def test_the_start_page_offers_every_unit_in_scope_in_tree_order(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    """Planning is done at each level: the province-wide officer is offered the province and every unit below it,
    each under its parent (X001's people's committee right under X001, before X002), and starts one below a commune."""
    add_unit(session_factory, "X001-UB", "Ủy ban nhân dân xã An Phú", "peoples_committee", "X001")
    _as(auth, "personnel1")
    offered = _unit_options(client, "/planning/start")
    expected = _units_in_tree_order(session_factory)
    assert [(value, label) for value, label, _selected in offered] == [("", "Chọn đơn vị"), *expected]
    codes = [code for code, _label in expected]
    assert {"T01", "T01-BTC", "X001", "X001-UB", "X002"} <= set(codes)
    assert codes.index("X001-UB") == codes.index("X001") + 1 and codes[0] == "T01"
    assert ("X001-UB", "— — Ủy ban nhân dân xã An Phú") in expected
    # From the plan page's link the unit shown there is chosen.
    assert [value for value, _label, selected in _unit_options(client, "/planning/start?unit=X002") if selected] == [
        "X002"
    ]
    started = _start(auth, unit="X001-UB")
    assert started.status_code == 302, started.get_data(as_text=True)
    # The plan page lists the same units (the merged ones too: none here), the province shown first by default.
    plan = _unit_options(client, "/planning")
    assert [(value, label) for value, label, _selected in plan] == expected
    assert [value for value, _label, selected in plan if selected] == ["T01"]
    assert [value for value, _label, selected in _unit_options(client, "/planning?unit=X001-UB") if selected] == [
        "X001-UB"
    ]


def test_a_unit_outside_the_officers_scope_is_refused_and_nothing_is_written(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, world: dict[str, Any]
) -> None:
    """A personnel officer of commune X001 is offered X001 and the units below it only; posting another commune or
    the province answers 422 with the reason on the unit field, and nothing is started or logged."""
    add_unit(session_factory, "X001-UB", "Ủy ban nhân dân xã An Phú", "peoples_committee", "X001")
    add_personnel_officer(session_factory, "personnelx1", "X001")
    _as(auth, "personnelx1")
    offered = [value for value, _label, _selected in _unit_options(client, "/planning/start")]
    assert offered == ["", "X001", "X001-UB"]
    with session_factory() as s:
        count = s.scalar(select(func.count(ProcessInstance.id)))
    events = _events(session_factory)
    for unit in ("X002", "T01", "NOPE"):
        refused = auth.post(
            "/planning/start", {"unit": unit, "term": TERM, "variant": "annual"}, page="/planning/start"
        )
        assert refused.status_code == 422
        doc = lxml_html.fromstring(refused.get_data(as_text=True))
        assert "chỉ được bắt đầu rà soát quy hoạch đối với đơn vị thuộc phạm vi của mình" in doc.text_content()
    with session_factory() as s:
        assert s.scalar(select(func.count(ProcessInstance.id))) == count
    assert _events(session_factory) == events
    started = auth.post(
        "/planning/start", {"unit": "X001-UB", "term": TERM, "variant": "annual"}, page="/planning/start"
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    # Their plan page: their own unit first, the units below it; none above or beside.
    plan = _unit_options(client, "/planning")
    assert [value for value, _label, _selected in plan] == ["X001", "X001-UB"]
    assert [value for value, _label, selected in plan if selected] == ["X001"]


@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("0000-0005", "quá xa so với hiện tại"),
        ("1000-1005", "quá xa so với hiện tại"),
        ("2026-2099", "không đúng số năm"),
        ("2026-2027", "không đúng số năm"),
    ],
)
def test_a_term_of_the_wrong_length_or_far_from_the_present_is_refused(
    auth: AuthActions, app: Flask, session_factory, world: dict[str, Any], term: str, words: str
) -> None:
    with session_factory() as s:
        count = s.scalar(select(func.count(ProcessInstance.id)))
    page = _start(auth, term=term)
    assert page.status_code == 422 and words in page.get_data(as_text=True)
    refused = app.test_cli_runner().invoke(
        args=["planning", "start", "--unit", "X001", "--term", term, "--variant", "term", "--as", "personnel1"]
    )
    assert refused.exit_code == 1 and "term:" in refused.output and "Traceback" not in refused.output
    with session_factory() as s:
        assert s.scalar(select(func.count(ProcessInstance.id))) == count


def test_canbo_planning_start(app: Flask, driver: WorkflowDriver, session_factory, world: dict[str, Any]) -> None:
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["planning", "start", "--unit", "X001", "--term", "2026", "--variant", "term",
                                  "--as", "personnel1"])  # fmt: skip
    assert refused.exit_code != 0
    with session_factory() as s:
        assert (
            s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == "planning_review")) == 0
        )
    result = runner.invoke(args=["planning", "start", "--unit", "X001", "--term", TERM, "--variant", "term",
                                 "--as", "personnel1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"(term/X001/{TERM}/1)" in result.output
    with session_factory() as s:
        instance = s.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "planning_review")).one()
    # The plan of a new term skips the screening: its first step is the frame.
    assert [t.task_key for t in driver.open_tasks(instance.id)] == ["review_frame"]


def test_the_instance_page_shows_no_internal_key_of_a_planning_reviews_data(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """A new user read "committee_title_codes commune_party_secretary; …", "variant annual" and "Quyết định của tập
    thể: remove" among a planning review's data: every key and coded value it writes has words."""
    _as(auth, "personnel1")
    instance_id = _instance_id(_start(auth))
    _through_frame(auth, driver, instance_id, world)
    _as(auth, "personnel1")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    doc = lxml_html.fromstring(page)
    assert not (raw := sorted(set(raw_data_words(page)))), " ".join(raw)
    assert doc.xpath('string(//dd[@data-key="variant"])').strip() == "Rà soát hằng năm"
    assert (
        doc.xpath('string(//dd[@data-key="committee_title_codes"])')
        .strip()
        .startswith("Bí thư Đảng ủy xã; Phó Bí thư Đảng ủy xã; Ủy viên cấp ủy")
    )
    for table in ("removals", "removals_confirmed"):
        decisions = doc.xpath(f'//dd[@data-key="{table}"]//td[@data-column="decision"]')
        assert decisions and {cell.text_content().strip() for cell in decisions} == {"Đưa ra khỏi quy hoạch"}
    # Decision 0095: an entry is named by its cadre and title, never by its database id ("Số hiệu 75"); the frame's
    # titles by their names, not their ids; the working keys (unit_id, planning_key) are the administrator's.
    for table in ("removals", "removals_confirmed", "frame"):
        columns = doc.xpath(f'//dd[@data-key="{table}"]//th/@title')
        assert columns and not [c for c in columns if c.endswith("_id")], (table, columns)
    removed = doc.xpath('//dd[@data-key="removals_confirmed"]//td[@data-column="cadre_code"]')
    assert {cell.text_content().strip() for cell in removed} == {DISCIPLINED, FAILED_YEAR}
    assert "Số hiệu" not in doc.text_content()
    assert not doc.xpath('//details[contains(@class, "technical-data")]')
    for key in ("planning_key", "unit_id", "authority_unit_id"):
        assert f'data-key="{key}"' not in page, key


def test_each_step_shows_its_deadline_in_the_inbox_and_on_its_page(
    app: Flask, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """Decision 0120: a planning step opens with its deadline, shown as the evaluation's are."""
    instance_id = _instance_id(_start(auth))
    task = driver.task(instance_id, "screening")
    assert task.due_dt is not None
    shown = app.jinja_env.filters["localdatetime"](task.due_dt)
    assert shown.endswith("23:59")  # the end of the working day, Vietnam's time
    inbox = auth.client.get("/inbox?scope=group").get_data(as_text=True)
    assert f'<time datetime="{task.due_dt.isoformat()}Z">{shown}</time>' in inbox
    page = auth.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"<dt>Hạn xử lý</dt><dd>{shown}</dd>" in page
