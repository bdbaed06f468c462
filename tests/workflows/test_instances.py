"""The read side of instance pages: the list in scope with its filters, one instance's detail, what the start
form offers, and the predicates the pages ask."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.access import can_view_instance, instance_scope_condition, visible_instance_ids
from workflows.audit import PendingEvent, insert_audit_rows, instance_audit_rows
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.engine import operations
from workflows.engine.runtime import Definition, ProcessEngine
from workflows.engine.store import lock_instance, save_instance
from workflows.errors import NotFound
from workflows.instances import (
    MAX_ID,
    FieldNames,
    InstanceFilters,
    _row_changes,
    can_cancel_instance,
    can_comment,
    can_start_any,
    data_summary,
    day_start_utc,
    display_value,
    field_names,
    find_cadre,
    instance_page,
    instance_variables,
    is_read_only,
    load_instance_detail,
    load_visible_attachment,
    load_visible_instance,
    parse_day,
    reviewed_values,
    search_startable_subjects,
    sees_errors,
    startable_processes,
    startable_subjects,
    timeline,
)
from workflows.models import Attachment, HumanTask, ProcessInstance, ProcessVersion
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import EventType, InstanceStatus
from workflows.timers import run_due_timers

FIXTURE_MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
VIETNAM = timezone(timedelta(hours=7))


def _user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _unit(session: Session, code: str) -> int:
    return session.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).one()


def _submitted(driver: WorkflowDriver, officer: str, cadre: str, text: str = "Đề nghị") -> int:
    instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
    driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": text})
    return instance_id


@pytest.fixture
def procedures(driver: WorkflowDriver) -> dict[str, int]:
    """Started an hour apart: x001 (under review), x002 (under review), x001_draft (not submitted)."""
    ids = {}
    for hours, (key, officer, cadre) in enumerate(
        [("x001", "officer1", "CB0001"), ("x002", "officer3", "CB0005"), ("x001_draft", "officer2", "CB0002")]
    ):
        clock.set_now(T0 + timedelta(hours=hours))
        if key == "x001_draft":
            ids[key] = driver.start("sample_approval", as_user=officer, subject=cadre)
        else:
            ids[key] = _submitted(driver, officer, cadre)
    clock.set_now(T0 + timedelta(hours=3))
    return ids


def _ids(session: Session, username: str, **filters: Any) -> list[int]:
    page = instance_page(session, _user(session, username), InstanceFilters(**filters))
    return [row.instance.id for row in page.rows]


# -- the list ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("officer1", {"x001"}),
        ("officer2", {"x001_draft"}),
        ("officer3", {"x002"}),
        ("supervisor1", {"x001", "x001_draft"}),
        ("personnel1", {"x001", "x002", "x001_draft"}),
        ("auditor1", {"x001", "x002", "x001_draft"}),
    ],
)
def test_list_scope(session: Session, procedures: dict[str, int], username: str, expected: set[str]) -> None:
    assert set(_ids(session, username)) == {procedures[key] for key in expected}


def test_filters(session: Session, procedures: dict[str, int]) -> None:
    x001, x002, draft = procedures["x001"], procedures["x002"], procedures["x001_draft"]
    assert set(_ids(session, "personnel1", status="running")) == {x001, x002, draft}
    assert _ids(session, "personnel1", status="completed") == []
    assert _ids(session, "personnel1", process_id="versioned") == []
    assert set(_ids(session, "personnel1", unit_id=_unit(session, "T01"))) == {x001, x002, draft}  # a subtree
    assert _ids(session, "personnel1", unit_id=_unit(session, "X002")) == [x002]
    assert _ids(session, "personnel1", search="Mai") == [x002]
    assert _ids(session, "personnel1", search="cb0002") == [draft]
    assert _ids(session, "personnel1", search=f"#{x001}") == [x001]
    assert _ids(session, "personnel1", search=f"sample_approval#{x001}") == [x001]
    assert _ids(session, "personnel1", search=f"other#{x001}") == []
    assert _ids(session, "personnel1", search=f"#{MAX_ID + 1}") == []
    assert _ids(session, "personnel1", search="100%_") == []  # wildcards are literal
    one_hour_in = (T0 + timedelta(hours=1)).replace(tzinfo=None)
    assert set(_ids(session, "personnel1", started_from=one_hour_in)) == {x002, draft}
    assert _ids(session, "personnel1", started_before=one_hour_in) == [x001]


def test_the_scope_still_applies_under_filters(session: Session, procedures: dict[str, int]) -> None:
    assert _ids(session, "officer1", unit_id=_unit(session, "X002")) == []
    assert _ids(session, "supervisor1", search=f"#{procedures['x002']}") == []


def test_sorting(session: Session, procedures: dict[str, int], driver: WorkflowDriver) -> None:
    x001, x002, draft = procedures["x001"], procedures["x002"], procedures["x001_draft"]
    assert _ids(session, "personnel1") == [draft, x002, x001]
    assert _ids(session, "personnel1", sort="oldest") == [x001, x002, draft]
    assert _ids(session, "personnel1", sort="subject") == [x002, x001, draft]  # Hoàng, Nguyễn, Trần
    assert _ids(session, "personnel1", sort="nonsense") == [draft, x002, x001]
    session.rollback()  # SQLite: a writer waits for every open transaction, even a reading one
    with driver.session_factory() as s, transaction(s):
        operations.cancel_instance(s, driver.engine, actor=_user(s, "admin"), instance_id=x002, reason="Trùng")
    assert _ids(session, "personnel1", sort="ended")[0] == x002


def test_pages_are_clamped(session: Session, procedures: dict[str, int]) -> None:
    user = _user(session, "personnel1")
    second = instance_page(session, user, InstanceFilters(per_page=2, page=2))
    assert (second.total, second.pages, second.page, len(second.rows)) == (3, 2, 2, 1)
    far = instance_page(session, user, InstanceFilters(per_page=2, page=10**12))
    assert far.page == 2 and [r.instance.id for r in far.rows] == [r.instance.id for r in second.rows]
    empty = instance_page(session, _user(session, "officer1"), InstanceFilters(status="cancelled", page=5))
    assert (empty.total, empty.pages, empty.page, empty.rows) == (0, 1, 1, [])


def test_rows_carry_the_current_steps(session: Session, procedures: dict[str, int]) -> None:
    page = instance_page(session, _user(session, "supervisor1"), InstanceFilters())
    steps = {row.instance.id: row.current_steps for row in page.rows}
    assert steps == {procedures["x001"]: ["Xem xét, phê duyệt"], procedures["x001_draft"]: ["Lập đề nghị"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("02/11/2026", date(2026, 11, 2)), ("2/1/2026", date(2026, 1, 2)), (" 2026-11-02 ", date(2026, 11, 2))],
)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text) == expected


@pytest.mark.parametrize("text", ["", "31/02/2026", "2026-13-01", "11/02", "02/11/0001", "02.11.2026", "hôm qua"])
def test_parse_day_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day(text)


def test_day_start_utc_is_local_midnight() -> None:
    assert day_start_utc(date(2026, 11, 2), VIETNAM) == datetime(2026, 11, 1, 17, 0)


# -- predicates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "read_only", "may_start", "sees", "cancels"),
    [
        ("officer1", False, True, False, False),  # for themself
        ("supervisor1", False, True, False, False),
        ("personnel1", False, True, False, False),
        ("auditor1", True, False, False, False),
        ("admin", False, True, True, True),  # no cadre, but administers the province
    ],
)
def test_predicates(
    session: Session,
    procedures: dict[str, int],
    username: str,
    read_only: bool,
    may_start: bool,
    sees: bool,
    cancels: bool,
) -> None:
    user = _user(session, username)
    instance = session.get(ProcessInstance, procedures["x001"])
    assert instance is not None
    assert is_read_only(user) is read_only
    assert can_comment(user) is not read_only
    assert can_start_any(session, user) is may_start
    assert sees_errors(user) is sees
    assert can_cancel_instance(session, user, instance) is cancels


def test_someone_with_no_cadre_and_no_role_cannot_start(session: Session, demo_users: dict) -> None:
    nobody = User(username="guest", full_name="Khách", unit_id=_unit(session, "X001"))
    session.add(nobody)
    session.flush()
    assert can_start_any(session, nobody) is False
    assert startable_subjects(session, nobody) == []


# -- one instance -------------------------------------------------------------------------------------------


def test_load_visible_instance(session: Session, procedures: dict[str, int]) -> None:
    officer1 = _user(session, "officer1")
    assert load_visible_instance(session, officer1, procedures["x001"]).id == procedures["x001"]
    for forged in (procedures["x002"], 0, -1, MAX_ID + 1, 10**30):
        with pytest.raises(NotFound):
            load_visible_instance(session, officer1, forged)


def _in_list_scope(session: Session, user: User, instance_id: int) -> bool:
    unit = aliased(OrgUnit)
    query = (
        select(ProcessInstance.id)
        .outerjoin(unit, ProcessInstance.unit_id == unit.id)
        .where(ProcessInstance.id == instance_id, instance_scope_condition(user, unit))
    )
    return session.scalar(query) is not None


def test_one_instance_is_visible_exactly_when_the_list_shows_it(session: Session, procedures: dict[str, int]) -> None:
    """can_view_instance decides on the loaded row where it can; the list filters in SQL: they must agree, for
    every person and instance, including someone who sees an instance only because they took part in it."""
    x002 = session.get(ProcessInstance, procedures["x002"])
    assert x002 is not None
    outsider = _user(session, "officer1")
    assert not can_view_instance(session, outsider, x002)
    step = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == x002.id, HumanTask.closed_dt.is_(None))
    ).one()
    step.assignee_id = outsider.id  # officer1 is given x002's open step: now they take part
    session.flush()
    assert can_view_instance(session, outsider, x002)
    users = list(session.scalars(select(User)))
    instances = [session.get(ProcessInstance, instance_id) for instance_id in procedures.values()]
    decided = {(u.username, i.id): can_view_instance(session, u, i) for u in users for i in instances if i}
    assert decided == {(u.username, i.id): _in_list_scope(session, u, i.id) for u in users for i in instances if i}
    assert any(decided.values()) and not all(decided.values())
    # A list's links (the evaluation results) ask the same for all its rows in one query; a row without one is none.
    ids = [*procedures.values(), None]
    for u in users:
        assert visible_instance_ids(session, u, ids) == {
            i for (name, i), seen in decided.items() if name == u.username and seen
        }
    assert visible_instance_ids(session, users[0], [None]) == set()


def test_instance_detail(session: Session, process_engine: ProcessEngine, procedures: dict[str, int]) -> None:
    detail = load_instance_detail(session, process_engine, _user(session, "supervisor1"), procedures["x001"])
    (task,) = detail.open_tasks
    assert task.task.task_key == "review_request" and task.candidate_unit_name == "Xã An Phú" and task.can_open
    assert detail.started_by_name == "Nguyễn Thị Lan"
    data = {item.key: item for item in detail.data}
    assert data["subject_line"].value == "Đề nghị" and data["subject_line"].label == "Nội dung đề nghị"
    assert detail.diagram_svg is not None and 'data-element-id="review_request"' in detail.diagram_svg
    assert [e.event.event_type for e in detail.timeline][:2] == [EventType.INSTANCE_STARTED, EventType.TASK_OPENED]
    assert detail.can_comment and not detail.can_cancel and not detail.sees_errors
    officer1 = load_instance_detail(session, process_engine, _user(session, "officer1"), procedures["x001"])
    assert officer1.open_tasks[0].can_open is False  # the supervisor's step is not theirs to open
    with pytest.raises(NotFound):
        load_instance_detail(session, process_engine, _user(session, "officer3"), procedures["x001"])


def test_timeline_folds_a_completion_with_its_data_change(
    session: Session, procedures: dict[str, int], driver: WorkflowDriver, process_engine: ProcessEngine
) -> None:
    instance_id = procedures["x001"]
    driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "return"})
    definition = process_engine.definition(session, driver.instance(instance_id).process_version_id)
    entries = timeline(session, instance_id, field_names(definition))
    review = next(e for e in entries if e.payload.get("task_key") == "review_request" and e.changes)
    changes = {c.key: c for c in review.changes}
    assert review.actor_full_name == "Lê Văn Minh"
    assert (changes["decision"].before, changes["decision"].after) == (None, "Trả lại")  # the form's choice label
    assert (changes["return_count"].before, changes["return_count"].after) == (0, 1)
    assert EventType.DATA_CHANGED not in {e.event.event_type for e in entries}
    opened = [e for e in entries if e.event.event_type == EventType.TASK_OPENED]
    assert opened[0].assignee_name == "Nguyễn Thị Lan"
    assert opened[1].candidate_unit_name == "Xã An Phú" and opened[1].due_dt == datetime(2026, 11, 5, 8, 0)


def _append(session_factory: sessionmaker[Session], instance_id: int, *events: PendingEvent) -> None:
    with session_factory() as s, transaction(s):
        snapshot = lock_instance(s, instance_id)
        rows, seq, head = instance_audit_rows(snapshot, list(events), actor=None)
        insert_audit_rows(s, rows)
        save_instance(s, snapshot, audit_seq=seq, audit_head=head)


def test_timeline_hides_bookkeeping_keys(
    session: Session, session_factory: sessionmaker[Session], procedures: dict[str, int]
) -> None:
    instance_id = procedures["x002"]
    _append(
        session_factory,
        instance_id,
        PendingEvent(EventType.DATA_CHANGED, {"changes": {"_timer": {"from": 1, "to": 2}}}),
        PendingEvent(
            EventType.DATA_CHANGED, {"changes": {"_timer": {"from": 2, "to": 3}, "late": {"from": None, "to": True}}}
        ),
        PendingEvent(EventType.DATA_CHANGED, {"changes": {"note": {"from": "x", "removed": True}}}),
    )
    changes = [e.changes for e in timeline(session, instance_id) if e.event.event_type == EventType.DATA_CHANGED]
    assert [[(c.key, c.after, c.removed) for c in group] for group in changes] == [
        [("late", True, False)],
        [("note", None, True)],
    ]


def test_data_summary_hides_bookkeeping_and_links_files(
    session: Session, procedures: dict[str, int], demo_users: dict
) -> None:
    file = Attachment(
        id=41,
        instance_id=procedures["x001"],
        filename="a.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        uploaded_by_id=demo_users["officer1"].id,
    )
    names = FieldNames(titles={"decision": "Quyết định"}, choices={"decision": {"approve": "Đồng ý"}})
    items = data_summary(
        {"_state": 1, "decision": "approve", "scan": "attachment:41", "other": "attachment:99"}, names, [file]
    )
    assert [(i.key, i.label, i.value, i.attachment) for i in items] == [
        ("decision", "Quyết định", "Đồng ý", None),
        ("other", "other", "attachment:99", None),  # not this instance's file: shown as text, never linked
        ("scan", "scan", "attachment:41", file),
    ]


def _definition(forms: dict) -> Definition:
    return Definition(
        id=0, process_id="p", version=1, name="p", content_hash="", spec=None, subprocess_specs={}, forms=forms
    )


def test_field_names_follow_the_forms_and_the_language() -> None:
    form = {
        "properties": {
            "decision": {"type": "string", "title": "Quyết định", "oneOf": [{"const": "approve", "title": "Đồng ý"}]},
            "grade": {"type": "string", "title": "Xếp loại", "enum": ["A"], "x-labels": {"A": "Xuất sắc"}},
            "count": {"type": "integer"},
        },
        "x-ui": {"decision": {"label_en": "Decision", "labels_en": {"approve": "Approve"}}},
    }
    vi = field_names(_definition({"f.json": form}))
    assert (vi.title("decision"), vi.value("decision", "approve")) == ("Quyết định", "Đồng ý")
    assert vi.value("grade", "A") == "Xuất sắc" and vi.title("count") == "count" and vi.value("grade", "B") == "B"
    assert vi.value("decision", True) is True and vi.value("decision", None) is None
    en = field_names(_definition({"f.json": form}), "en")
    assert (en.title("decision"), en.value("decision", "approve")) == ("Decision", "Approve")
    assert en.title("grade") == "Xếp loại"  # no English given: the form's own title


def test_a_list_of_choices_is_named_by_its_items_choices() -> None:
    """Decision 0109: the documents ticked received read "Tờ trình; …", not "submission; minutes"."""
    form = {
        "properties": {
            "documents_received": {
                "type": "array",
                "title": "Thành phần hồ sơ đã nhận",
                "items": {"type": "string", "oneOf": [{"const": "cv", "title": "Sơ yếu lý lịch"}]},
            },
        }
    }
    names = field_names(_definition({"f.json": form}))
    assert names.value("documents_received", ["cv", "unknown"]) == ["Sơ yếu lý lịch", "unknown"]
    assert names.value("documents_received", []) == []
    (item,) = data_summary({"documents_received": ["cv"]}, names, [])
    assert (item.label, item.value, item.technical) == ("Thành phần hồ sơ đã nhận", ["Sơ yếu lý lịch"], False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        ("chữ", "chữ"),
        (3, 3),
        ({"b": 1, "a": "ô"}, '{"a": "ô", "b": 1}'),
        ([1, 2], "[1, 2]"),
    ],
)
def test_display_value(value: object, expected: object) -> None:
    assert display_value(value) == expected


def test_attachments_follow_their_instance(session: Session, procedures: dict[str, int], demo_users: dict) -> None:
    file = Attachment(
        instance_id=procedures["x001"],
        filename="a.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        uploaded_by_id=demo_users["officer1"].id,
    )
    session.add(file)
    session.flush()
    assert load_visible_attachment(session, _user(session, "supervisor1"), file.id) is file
    for username, attachment_id in (("officer3", file.id), ("admin", file.id + 1), ("admin", MAX_ID + 1)):
        with pytest.raises(NotFound):
            load_visible_attachment(session, _user(session, username), attachment_id)


# -- the diagram source ------------------------------------------------------------------------------------


def test_the_diagram_is_drawn_from_the_file_defining_the_process() -> None:
    from workflows.engine.runtime import defining_bpmn_file

    version = ProcessVersion(
        process_id="main",
        files={
            "a_rules.dmn": '<definitions><decision id="main"/></definitions>',
            "b_called.bpmn": '<bpmn:process id="main_helper"/><bpmn:callActivity calledElement="main"/>',
            "c_collab.bpmn": '<bpmn:participant id="x" processRef="main"/>',
            "d_main.bpmn": "<bpmn:process isExecutable='true' id='main'></bpmn:process>",
        },
    )
    assert defining_bpmn_file(version) == version.files["d_main.bpmn"]
    assert defining_bpmn_file(ProcessVersion(process_id="other", files=version.files)) is None


# -- starting ------------------------------------------------------------------------------------------------


def test_startable_processes_are_the_latest_versions(session_factory: sessionmaker[Session], demo_users: dict) -> None:
    for name in ("two_versions_v1.bpmn", "two_versions_v2.bpmn"):
        with session_factory() as s, transaction(s):
            deploy_bundle(
                s, [BundleFile("versioned.bpmn", (FIXTURE_MODELS / name).read_bytes())], actor=None, forms_dir=None
            )
    with session_factory() as s:
        choices = {c.process_id: c.version for c in startable_processes(s)}
    assert choices == {
        "sample_approval": 1,
        "monthly_evaluation": 1,
        "annual_grading": 1,
        "appointment": 1,
        "planning_review": 1,
        "rotation": 1,
        "versioned": 2,
    }


def test_find_cadre_within_scope(session: Session, demo_users: dict) -> None:
    found = find_cadre(session, _user(session, "personnel1"), "CB0005")
    assert found is not None and found.full_name == "Hoàng Thị Mai"
    typed = find_cadre(session, _user(session, "officer1"), " cb0001 ")
    assert typed is not None and typed.code == "CB0001"
    # A colleague in one's unit is found (the start itself decides whether one may start for them) ...
    assert find_cadre(session, _user(session, "officer2"), "CB0001") is not None
    # ... someone in another commune reads the same as a code that does not exist.
    assert find_cadre(session, _user(session, "officer3"), "CB0001") is None
    assert find_cadre(session, _user(session, "personnel1"), "XX9999") is None
    assert find_cadre(session, _user(session, "personnel1"), "  ") is None


def test_startable_subjects(session: Session, demo_users: dict) -> None:
    def codes(username: str) -> list[str]:
        return [c.code for c in startable_subjects(session, _user(session, username))]

    assert codes("officer2") == ["CB0002"]
    assert codes("supervisor1") == ["CB0003"]
    assert codes("personnel1") == [f"CB000{n}" for n in range(1, 8)]
    assert codes("admin") == [f"CB000{n}" for n in range(1, 8)]
    assert len(startable_subjects(session, _user(session, "personnel1"), limit=2)) == 2


def _found(session: Session, username: str, text: str, **kwargs: int) -> list[str]:
    return [c.code for c in search_startable_subjects(session, _user(session, username), text, **kwargs)]


def test_the_cadre_search_finds_names_without_marks_and_codes_by_prefix(session: Session, demo_users: dict) -> None:
    assert _found(session, "personnel1", "nguyen thi lan") == ["CB0001"]
    assert _found(session, "personnel1", "ĐỖ  THỊ hoa") == _found(session, "personnel1", "do thi") == ["CB0006"]
    assert _found(session, "personnel1", "cb000") == [f"CB000{n}" for n in range(1, 8)]
    assert _found(session, "personnel1", "CB0005") == ["CB0005"]
    assert _found(session, "personnel1", "cb000", limit=3) == ["CB0001", "CB0002", "CB0003"]
    # Only the code's start: "0005" is inside a code, not its beginning.
    assert _found(session, "personnel1", "0005") == []
    for wildcard in ("%", "_", "  ", ""):
        assert _found(session, "personnel1", wildcard) == []


def test_the_cadre_search_keeps_to_the_start_scope(session: Session, demo_users: dict) -> None:
    assert _found(session, "officer2", "nguyen thi lan") == []  # a colleague, but officers start only for themselves
    assert _found(session, "officer2", "tran van hung") == ["CB0002"]
    assert _found(session, "officer3", "cb000") == ["CB0005"]


def test_the_cadre_search_reaches_cadres_past_the_first_suggestions(session: Session, demo_users: dict) -> None:
    from workflows.instances import MAX_SUBJECT_CHOICES

    unit_id = _unit(session, "X001")
    session.add_all(
        Cadre(code=f"CB{n:05d}", full_name=f"Nguyễn Thị Thu {n}", unit_id=unit_id)
        for n in range(10_000, 10_000 + MAX_SUBJECT_CHOICES + 1)
    )
    session.flush()
    last = f"CB{10_000 + MAX_SUBJECT_CHOICES:05d}"
    assert last not in [c.code for c in startable_subjects(session, _user(session, "personnel1"))]
    assert _found(session, "personnel1", last) == [last]
    assert _found(session, "personnel1", f"nguyen thi thu {10_000 + MAX_SUBJECT_CHOICES}") == [last]
    assert len(_found(session, "personnel1", "nguyen thi thu")) == 20


def test_a_cancelled_instance_is_still_readable(
    session: Session, process_engine: ProcessEngine, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s, transaction(s):
        operations.cancel_instance(
            s, driver.engine, actor=_user(s, "admin"), instance_id=procedures["x001"], reason="Trùng"
        )
    detail = load_instance_detail(session, process_engine, _user(session, "admin"), procedures["x001"])
    assert detail.instance.status == InstanceStatus.CANCELLED and detail.open_tasks == []
    assert detail.timeline[-1].event.event_type == EventType.INSTANCE_CANCELLED
    assert detail.timeline[-1].payload["reason"] == "Trùng"
    assert detail.diagram_svg is not None


def test_the_models_working_data_is_marked_technical_unless_a_form_names_it() -> None:
    names = FieldNames(titles={"subject_line": "Nội dung đề nghị", "decider_id": "Người quyết định"})
    data = {
        "subject_line": "Đề nghị",
        "source": "external",
        "return_count": 0,
        "policy": {"term_years": 5},
        "target_unit_id": 4,
        "appointment_key": "external/CB0003/45/1",
        "decider_id": 7,  # named by a form: a person chose it
        "ballot_boxes_used": [3, 9],
        "members": ["CB0001", "CB0002"],
        "review_changes": {},  # a dict, but worded for every reader (decision 0095)
        "ballot_next": "proceed",  # what the gateways route by (decision 0109)
        "has_nominees": True,
    }
    items = {item.key: item.technical for item in data_summary(data, names, [])}
    assert items == {
        "appointment_key": True,
        "ballot_boxes_used": True,
        "ballot_next": True,
        "has_nominees": True,
        "members": False,
        "review_changes": False,
        "decider_id": False,
        "policy": True,
        "return_count": False,
        "source": False,
        "subject_line": False,
        "target_unit_id": True,
    }


def test_a_tables_column_of_ids_is_left_out_of_the_page_and_its_history() -> None:
    """Decision 0095: "Số hiệu 75" (a planning entry's database id) said nothing; the row names its cadre and title."""
    names = FieldNames()
    before = [{"entry_id": 75, "cadre_code": "CB0001", "title": "Phó Chủ tịch UBND xã", "decision": "keep"}]
    after = [{**before[0], "decision": "remove"}, {"entry_id": 76, "cadre_code": "CB0002", "title": "Chủ tịch"}]
    (item,) = data_summary({"removals": after}, names, [])
    assert item.table is not None and [key for key, _label in item.table.columns] == ["cadre_code", "title", "decision"]
    rows = _row_changes("removals", before, after, names)
    assert rows is not None and [[cell.key for cell in row.cells] for row in rows] == [
        ["decision"],
        ["cadre_code", "title"],
    ]
    # A nomination's ballot key carries a title's id ("SH000580@40"): the row names its cadre and title (0109).
    nominees = [{"key": "CB0001@40", "cadre_code": "CB0001", "title": "Chủ tịch"}]
    (listed,) = data_summary({"nominees": nominees}, names, [])
    assert listed.table is not None and [key for key, _label in listed.table.columns] == ["cadre_code", "title"]
    (kept_key,) = data_summary({"nominees": [{"key": "CB0001", "name": "An"}]}, names, [])  # an appointment's
    assert kept_key.table is not None and [key for key, _label in kept_key.table.columns] == ["key", "name"]
    # A text column that ends in _id is not an id of a row, and stays.
    (kept,) = data_summary({"codes": [{"unit_id": "X001"}]}, names, [])
    assert kept.table is not None and kept.table.columns == [("unit_id", "unit_id")]


def test_a_reviews_changes_are_named_by_the_forms_row_column_and_field() -> None:
    """`review_changes` (decision 0062) keyed by field paths: each value by its table's row number (from 1) and
    column title, or by its field's title, in the forms' order; a key without a title stays as it is."""
    names = FieldNames(
        titles={"products": "Sản phẩm", "criteria_politics": "Tiêu chí (a)"},
        columns={"products": {"completed": "Đã hoàn thành"}},
        order={"products": 0, "criteria_politics": 1},
    )
    changes = {
        "criteria_politics": {"before": 9, "after": 8, "reason": "Vắng họp"},
        "products.1.completed": {"before": 38, "after": 30, "reason": "Sổ theo dõi"},
        "products.0.delays": {"before": 0, "after": 2, "reason": ""},
        "not_a_change": "kept out",
    }
    found = reviewed_values("review_changes", changes, names)
    assert found is not None
    assert [(v.table, v.row, v.label, v.before, v.after, v.reason) for v in found] == [
        ("products", 1, "delays", 0, 2, None),
        ("products", 2, "Đã hoàn thành", 38, 30, "Sổ theo dõi"),
        (None, None, "Tiêu chí (a)", 9, 8, "Vắng họp"),
    ]
    assert reviewed_values("review_changes", None, names) is None
    assert reviewed_values("score_breakdown", changes, names) is None  # another key's dict is not a review's
    (item,) = [i for i in data_summary({"review_changes": changes}, names, []) if i.key == "review_changes"]
    assert item.reviewed == found


# -- the data of a procedure running in parallel branches ----------------------------------------------------

PARALLEL = FIXTURE_MODELS / "parallel_clearances.bpmn"
DOSSIER = {"documents_received": ["cv", "health_certificate"], "dossier_checked_on": "2026-11-02"}
POLITICAL = {"political_result": "cleared", "political_note": "Đạt tiêu chuẩn chính trị"}
INSPECTION = {"inspection_result": "cleared", "inspection_note": "Không có đơn thư"}


def _parallel_clearances(driver: WorkflowDriver) -> int:
    """parallel_clearances (tests/fixtures/bpmn): three opinions in parallel, beside them a 3-day deadline."""
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(PARALLEL.name, PARALLEL.read_bytes())], actor=None, forms_dir=None)
    return driver.start("parallel_clearances", as_user="personnel1", subject="CB0002")


def _shown(session_factory: sessionmaker[Session], engine: ProcessEngine, instance_id: int) -> dict[str, Any]:
    with session_factory() as s:
        detail = load_instance_detail(s, engine, _user(s, "personnel1"), instance_id)
        return {item.key: item.value for item in detail.data}


def test_after_a_deadline_fires_in_its_branch_the_detail_still_shows_the_whole_procedures_data(
    session_factory: sessionmaker[Session], driver: WorkflowDriver, process_engine: ProcessEngine
) -> None:
    """The deadline's branch split off before the opinions were entered: when it fires, and once its escalation
    step is done, the detail still shows what every branch holds — not the deadline branch's copy of the data
    (which was all it showed: {"stage": "clearances"})."""
    clock.set_now(T0)
    instance_id = _parallel_clearances(driver)
    driver.complete("personnel1", driver.task(instance_id, "dossier").id, DOSSIER)
    driver.complete("personnel1", driver.task(instance_id, "political").id, POLITICAL)
    before = {"stage": "clearances", **DOSSIER, **POLITICAL}
    assert _shown(session_factory, process_engine, instance_id) == before  # both opinions, not only the last

    clock.set_now(T0 + timedelta(days=4))
    run_due_timers(session_factory, process_engine)
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"inspection", "escalate"}
    assert _shown(session_factory, process_engine, instance_id) == before

    instruction = {"instruction": "Hoàn thành trong tuần"}
    driver.complete("personnel1", driver.task(instance_id, "escalate").id, instruction)
    assert _shown(session_factory, process_engine, instance_id) == {**before, **instruction}

    # The join, its summary, the decision: the same data, as the procedure holds it from here on.
    driver.complete("auditor1", driver.task(instance_id, "inspection").id, INSPECTION)
    joined = {**before, **instruction, **INSPECTION, "all_cleared": True}
    assert _shown(session_factory, process_engine, instance_id) == joined
    driver.complete("personnel1", driver.task(instance_id, "decide").id, {"decision": "approve"})
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    assert _shown(session_factory, process_engine, instance_id) == {**joined, "decision": "approve"}


def test_instance_variables_are_the_pages_data_as_values_without_bookkeeping_keys(
    session_factory: sessionmaker[Session], procedures: dict[str, int], process_engine: ProcessEngine
) -> None:
    instance_id = procedures["x001"]
    with session_factory() as s, transaction(s):
        snapshot = lock_instance(s, instance_id)
        definition = process_engine.definition(s, snapshot.process_version_id)
        workflow = process_engine.load(definition, snapshot)
        workflow.last_task.data["_reminders_sent"] = 2  # a model's own bookkeeping, as a timer branch keeps
        save_instance(s, snapshot, state=process_engine.dump(workflow))
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        variables = instance_variables(s, process_engine, instance)
    assert variables.data["subject_line"] == "Đề nghị"
    assert not [key for key in variables.data if key.startswith("_")]
    assert variables.titles["subject_line"] == "Nội dung đề nghị"
    assert set(variables.titles) <= set(variables.data)
