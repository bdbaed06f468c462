"""The inbox through the real app: scope per role and unit, claim/release (one or several), filters, the summary per
procedure, bulk approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.models import AuditEvent
from workflows.states import EventType, InstanceStatus

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _submitted(driver: WorkflowDriver, officer: str, cadre: str, text: str = "Đề nghị") -> int:
    instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
    driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": text})
    return instance_id


@pytest.fixture
def two_communes(driver: WorkflowDriver) -> dict[str, int]:
    """A request waiting for review in each commune, and one not yet submitted."""
    clock.set_now(T0)
    return {
        "x001_review": _submitted(driver, "officer1", "CB0001"),
        "x002_review": _submitted(driver, "officer3", "CB0005"),
        "x001_draft": driver.start("sample_approval", as_user="officer2", subject="CB0002"),
    }


def test_officer_sees_only_their_own_task(
    auth: AuthActions, client, two_communes: dict, driver: WorkflowDriver
) -> None:
    auth.login("officer2")
    page = client.get("/inbox").get_data(as_text=True)
    own = driver.task(two_communes["x001_draft"], "submit_request")
    assert f"/tasks/{own.id}" in page
    assert "Trần Văn Hùng" in page and "Nguyễn Thị Lan" not in page
    group = client.get("/inbox?scope=group").get_data(as_text=True)
    assert "/tasks/" not in group


def test_supervisor_group_tasks_are_limited_to_their_unit(
    auth: AuthActions, client, two_communes: dict, driver: WorkflowDriver
) -> None:
    auth.login("supervisor1")
    page = client.get("/inbox?scope=group").get_data(as_text=True)
    mine = driver.task(two_communes["x001_review"], "review_request")
    other = driver.task(two_communes["x002_review"], "review_request")
    assert f"/tasks/{mine.id}" in page and f"/tasks/{other.id}" not in page


@pytest.mark.parametrize(
    ("username", "instance_key", "task_key", "status"),
    [
        ("officer1", "x001_review", "review_request", 404),  # own request, manager's step: not theirs to see
        ("officer3", "x001_review", "review_request", 404),  # another commune
        ("supervisor1", "x002_review", "review_request", 404),  # another commune's supervisor
        ("officer2", "x001_review", "review_request", 404),
        ("supervisor1", "x001_review", "review_request", 200),
        ("head1", "x001_review", "review_request", 200),
        ("personnel1", "x001_review", "review_request", 200),  # province-wide oversight, read-only
        ("auditor1", "x002_review", "review_request", 200),  # province-wide, read-only
        ("officer2", "x001_draft", "submit_request", 200),
        ("officer1", "x001_draft", "submit_request", 404),
    ],
)
def test_task_page_scope(
    auth: AuthActions,
    client,
    two_communes: dict,
    driver: WorkflowDriver,
    username: str,
    instance_key: str,
    task_key: str,
    status: int,
) -> None:
    task = driver.task(two_communes[instance_key], task_key)
    auth.login(username)
    assert client.get(f"/tasks/{task.id}").status_code == status


@pytest.mark.parametrize("username", ["personnel1", "auditor1", "officer1", "officer3"])
def test_people_outside_the_lane_cannot_complete(
    auth: AuthActions, client, two_communes: dict, driver: WorkflowDriver, username: str
) -> None:
    task = driver.task(two_communes["x001_review"], "review_request")
    auth.login(username)
    response = auth.post(f"/tasks/{task.id}", {"decision": "approve"}, page="/inbox")
    assert response.status_code in (403, 404)
    assert driver.instance(two_communes["x001_review"]).status == InstanceStatus.RUNNING
    assert driver.task(two_communes["x001_review"], "review_request").id == task.id


def test_claim_moves_a_group_task_to_my_tasks_and_release_returns_it(
    auth: AuthActions, client, two_communes: dict, driver: WorkflowDriver, demo_users: dict
) -> None:
    task = driver.task(two_communes["x001_review"], "review_request")
    auth.login("head1")
    auth.post(f"/inbox/tasks/{task.id}/claim", {"next": "/inbox?scope=group"})
    assert driver.task(two_communes["x001_review"], "review_request").assignee_id == demo_users["head1"].id
    assert f"/tasks/{task.id}" in client.get("/inbox").get_data(as_text=True)
    # supervisor1 no longer sees it among the group's tasks, and cannot take it
    other = AuthActions(client.application.test_client())
    other.login("supervisor1")
    assert f"/tasks/{task.id}" not in other.client.get("/inbox?scope=group").get_data(as_text=True)
    refused = other.post(f"/inbox/tasks/{task.id}/claim", {"next": "/inbox"})
    assert "đã được người khác nhận" in other.client.get(refused.headers["Location"]).get_data(as_text=True)
    auth.post(f"/inbox/tasks/{task.id}/release", {"next": "/inbox"})
    assert driver.task(two_communes["x001_review"], "review_request").assignee_id is None


def test_overdue_tasks_are_highlighted_and_filterable(auth: AuthActions, client, two_communes: dict) -> None:
    clock.set_now(T0 + timedelta(days=3, hours=2))  # past the 3-day deadline; the worker has not run
    auth.login("supervisor1")
    page = client.get("/inbox?scope=group").get_data(as_text=True)
    assert 'class="overdue"' in page and "Quá hạn" in page
    assert client.get("/inbox?scope=group&due=soon").get_data(as_text=True).count("/tasks/") == 0
    assert client.get("/inbox?scope=group&due=overdue").get_data(as_text=True).count('href="/tasks/') >= 1


def test_search_by_name_and_reference(auth: AuthActions, client, two_communes: dict, driver: WorkflowDriver) -> None:
    task = driver.task(two_communes["x001_review"], "review_request")
    auth.login("supervisor1")
    assert f"/tasks/{task.id}" in client.get("/inbox?scope=group&q=lan").get_data(as_text=True)
    assert f"/tasks/{task.id}" not in client.get("/inbox?scope=group&q=Hùng").get_data(as_text=True)
    ref = f"%23{two_communes['x001_review']}"
    assert f"/tasks/{task.id}" in client.get(f"/inbox?scope=group&q={ref}").get_data(as_text=True)


def _menu_counts(page: str) -> list[str]:
    """The menu's badges as a person reads them, and as a screen reader does (visually hidden words included)."""
    tree = lxml_html.fromstring(page)
    return [" ".join(badge.text_content().split()) for badge in tree.xpath("//nav[@class='mainnav']//span[@title]")]


def test_nav_shows_counts(auth: AuthActions, client, two_communes: dict) -> None:
    """The group's count says in words whose it is ("+1 của nhóm"): a hover title alone told no one on a phone."""
    auth.login("supervisor1")
    page = client.get("/inbox").get_data(as_text=True)
    assert _menu_counts(page) == ["Việc của tôi: 0", "+1 của nhóm"]
    assert 'title="Việc của tôi"><span class="visually-hidden">Việc của tôi: </span>0<' in page  # "0" is all one sees
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    assert _menu_counts(client.get("/inbox").get_data(as_text=True)) == ["My tasks: 0", "+1 for the group"]


def test_nav_shows_no_group_count_without_group_tasks(auth: AuthActions, client, two_communes: dict) -> None:
    auth.login("officer2")
    assert _menu_counts(client.get("/inbox").get_data(as_text=True)) == ["Việc của tôi: 1"]


def test_the_menu_marks_one_item_as_the_current_page(auth: AuthActions, client) -> None:
    """The start page belongs to "Start a procedure" alone, though its endpoint also begins with "Procedures"'."""
    auth.login("personnel1")
    for path, label in (("/instances/start", "Khởi tạo hồ sơ quy trình"), ("/instances", "Quy trình")):
        page = lxml_html.fromstring(client.get(path).get_data(as_text=True))
        current = page.xpath("//nav[contains(@class, 'mainnav')]//a[@aria-current='page']")
        assert [link.text_content().strip() for link in current] == [label], path


def test_bulk_approval_completes_each_task_separately(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    second = _submitted(driver, "officer2", "CB0002", "Đề nghị thứ hai")
    first_task = driver.task(two_communes["x001_review"], "review_request")
    second_task = driver.task(second, "review_request")
    auth.login("supervisor1")
    for task in (first_task, second_task):
        auth.post(f"/inbox/tasks/{task.id}/claim", {"next": "/inbox"})
    draft_task = driver.task(two_communes["x001_draft"], "submit_request")  # not an approval step, not theirs
    driver.save_draft("supervisor1", first_task.id, {"decision": "reject"})
    driver.save_draft("officer2", draft_task.id, {"subject_line": "Còn đang viết"})
    auth.post("/inbox/bulk-approve", {"task_id": [str(first_task.id), str(second_task.id), str(draft_task.id)]})
    assert driver.instance(two_communes["x001_review"]).status == InstanceStatus.COMPLETED
    assert driver.instance(second).status == InstanceStatus.COMPLETED
    assert driver.instance(two_communes["x001_draft"]).status == InstanceStatus.RUNNING
    assert driver.drafts() == {draft_task.id: "open"}  # the approved step's draft went with it (decision 0085)


def test_bulk_approval_names_only_the_tasks_the_person_may_see(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    """A forged id of another commune's task is refused without its case number or step; their own are named."""
    other = driver.task(two_communes["x002_review"], "review_request")
    own_draft = driver.task(two_communes["x001_draft"], "submit_request")
    auth.login("supervisor1")
    auth.post("/inbox/bulk-approve", {"task_id": [str(other.id), "999999"]})
    page = client.get("/inbox").get_data(as_text=True)
    assert "2 việc ngoài phạm vi của bạn" in page
    assert f"#{two_communes['x002_review']} " not in page
    assert driver.instance(two_communes["x002_review"]).status == InstanceStatus.RUNNING
    auth.logout()
    auth.login("officer2")
    auth.post("/inbox/bulk-approve", {"task_id": [str(own_draft.id)]})
    page = client.get("/inbox").get_data(as_text=True)
    assert f"#{two_communes['x001_draft']} {own_draft.name}" in page  # their own task, not an approval step
    assert driver.instance(two_communes["x001_draft"]).status == InstanceStatus.RUNNING


def test_filters_that_cannot_be_applied_are_refused_by_name(auth: AuthActions, client, two_communes: dict) -> None:
    auth.login("supervisor1")
    for query in ("scope=nope", "sort=drop", "due=yesterday", "unit=x", "process=nope"):
        response = client.get(f"/inbox?{query}")
        assert response.status_code == 400, query
        assert "Không áp dụng được điều kiện lọc" in response.get_data(as_text=True), query
    response = client.get("/inbox?process=nope&unit=abc&due=xyz&sort=zzz")
    page = response.get_data(as_text=True)
    assert page.count("Không thuộc các giá trị cho phép") == 3 and "Đơn vị không tồn tại" in page
    assert '<table class="tasks">' not in page


def test_odd_pages_and_searches_are_not_filters_to_refuse(auth: AuthActions, client, two_communes: dict) -> None:
    auth.login("supervisor1")
    for query in ("page=-4", "page=abc", "q=" + "x" * 500):
        assert client.get(f"/inbox?{query}").status_code == 200, query


def test_pagination_keeps_filters(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    for _ in range(27):
        _submitted(driver, "officer1", "CB0001")
    auth.login("supervisor1")
    first = client.get("/inbox?scope=group&sort=opened").get_data(as_text=True)
    assert first.count('href="/tasks/') == 25
    assert 'rel="next"' in first and "scope=group" in first and "sort=opened" in first
    second = client.get("/inbox?scope=group&sort=opened&page=2").get_data(as_text=True)
    assert second.count('href="/tasks/') == 2 and 'rel="prev"' in second


# -- numbers that are not ids, and a next page with a line break -------------------------------------------------

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "query",
    [
        f"page={HUGE}",
        "page=²",
        f"unit={HUGE}",
        "unit=²",
        "unit=１",
        f"q=%23{HUGE}",
        "q=%23²",
        f"unit={HUGE}&format=xlsx",
        f"unit={HUGE}&format=csv",
        f"page={HUGE}&scope=watching",
    ],
)
def test_numbers_that_cannot_be_ids_are_no_server_error(
    auth: AuthActions, client, two_communes: dict, query: str
) -> None:
    auth.login("supervisor1")
    response = client.get(f"/inbox?{query}")
    # A unit that cannot be one is refused as a filter (decision 0112); the rest are read as nothing to find.
    assert response.status_code == (400 if query.startswith("unit=") else 200)
    response.get_data()  # a .csv is streamed: it must be sent whole, not break after its header


def test_bulk_approval_leaves_out_text_that_is_no_task_id(
    auth: AuthActions, client, two_communes: dict, driver: WorkflowDriver
) -> None:
    auth.login("supervisor1")
    review = driver.task(two_communes["x001_review"], "review_request")
    response = auth.post("/inbox/bulk-approve", {"task_id": ["²", HUGE, "１"]})
    assert response.status_code == 302
    assert driver.task(two_communes["x001_review"], "review_request").id == review.id  # still open


@pytest.mark.parametrize("path", ["/inbox/tasks/999999/release", "/inbox/bulk-approve"])
def test_a_next_page_with_a_line_break_goes_back_to_the_inbox(auth: AuthActions, client, path: str) -> None:
    auth.login("officer1")
    response = auth.post(path, {"next": "/inbox\r\nX: y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inbox") and "X" not in response.headers


def test_the_selection_is_offered_only_on_steps_the_bulk_approval_would_agree_to(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    auth.login("officer2")  # their own request to fill in: nothing to approve in bulk
    page = client.get("/inbox").get_data(as_text=True)
    assert 'type="checkbox" name="task_id"' not in page
    assert 'class="bulk"' not in page
    auth.logout()
    review = driver.task(two_communes["x001_review"], "review_request")
    auth.login("supervisor1")
    auth.post(f"/inbox/tasks/{review.id}/claim", {"next": "/inbox"})
    page = client.get("/inbox").get_data(as_text=True)
    assert page.count('type="checkbox" name="task_id"') == 1 and f'name="task_id" value="{review.id}"' in page
    assert 'class="bulk"' in page
    group = client.get("/inbox?scope=group").get_data(as_text=True)
    assert "/inbox/bulk-approve" not in group and 'class="bulk"' not in group  # tasks to take first, not to approve


# -- the summary per procedure and the groups of the table ---------------------------------------------------------


def _rows(page: str) -> list[str]:
    """The task links of the table, in order."""
    return lxml_html.fromstring(page).xpath(
        "//table[contains(@class, 'tasks')]//td/a[starts-with(@href, '/tasks/')]/@href"
    )


def _chips(page: str) -> list[tuple[str, int, str, bool]]:
    """(label, count, link, is current) of each chip of the summary."""
    chips = lxml_html.fromstring(page).xpath("//nav[contains(@class, 'inbox-summary')]//a[contains(@class, 'chip')]")
    return [
        (
            (chip.text or "").strip(),
            int(chip.xpath("string(.//span[@class='count'])")),
            chip.get("href"),
            chip.get("aria-current") == "true",
        )
        for chip in chips
    ]


def test_the_summary_counts_the_rows_per_procedure_and_links_to_them(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    _submitted(driver, "officer2", "CB0002", "Đề nghị thứ hai")
    auth.login("supervisor1")
    page = client.get("/inbox?scope=group").get_data(as_text=True)
    (everything, procedure) = _chips(page)
    assert everything[1] == procedure[1] == len(_rows(page)) == 2
    assert everything[3] and not procedure[3]  # nothing filtered: "All" is the current one
    assert "scope=group" in procedure[2] and "process=sample_approval" in procedure[2]
    filtered = client.get(procedure[2]).get_data(as_text=True)
    assert len(_rows(filtered)) == 2
    assert [current for *_, current in _chips(filtered)] == [False, True]
    assert 'type="hidden" name="process" value="sample_approval"' in filtered  # kept when the form is sent again
    # the tab's own tasks: the officer's request to fill in, nothing of the supervisor's group
    auth.logout()
    auth.login("officer2")
    chips = _chips(client.get("/inbox").get_data(as_text=True))
    assert [count for _label, count, *_ in chips] == [1, 1]


def test_a_tab_without_tasks_has_no_summary(auth: AuthActions, client) -> None:
    auth.login("officer1")
    assert "inbox-summary" not in client.get("/inbox").get_data(as_text=True)


def test_sorted_by_procedure_the_table_has_a_header_row_per_procedure(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    _submitted(driver, "officer2", "CB0002", "Đề nghị thứ hai")
    auth.login("supervisor1")
    by_process = lxml_html.fromstring(client.get("/inbox?scope=group&sort=process").get_data(as_text=True))
    headers = by_process.xpath("//table[contains(@class, 'tasks')]//tr[@class='group-row']/th")
    assert len(headers) == 1 and headers[0].get("colspan") == "7"
    by_due = client.get("/inbox?scope=group&sort=due").get_data(as_text=True)
    assert "group-row" not in by_due


# -- taking several group tasks at once ----------------------------------------------------------------------------


def _claims(client, task_ids: list[int]) -> list[tuple[int | None, int | None]]:
    """(task id, actor id) of every claim recorded in the audit log for these tasks."""
    with client.application.app_context():
        from webapp.extensions import db

        return list(
            db.session.execute(
                select(AuditEvent.human_task_id, AuditEvent.actor_id).where(
                    AuditEvent.event_type == EventType.TASK_CLAIMED, AuditEvent.human_task_id.in_(task_ids)
                )
            ).tuples()
        )


def test_taking_the_selected_tasks_claims_each_and_records_each(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict, demo_users: dict
) -> None:
    second = _submitted(driver, "officer2", "CB0002", "Đề nghị thứ hai")
    tasks = [driver.task(two_communes["x001_review"], "review_request"), driver.task(second, "review_request")]
    auth.login("supervisor1")
    group = client.get("/inbox?scope=group").get_data(as_text=True)
    assert group.count('type="checkbox" name="task_id"') == 2 and 'action="/inbox/claim"' in group
    assert "Nhận các việc đã chọn" in group and "data-select-all" in group

    response = auth.post("/inbox/claim", {"task_id": [str(t.id) for t in tasks], "next": "/inbox?scope=group"})

    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox?scope=group")
    supervisor = demo_users["supervisor1"].id
    assert [driver.task(i, "review_request").assignee_id for i in (two_communes["x001_review"], second)] == [
        supervisor,
        supervisor,
    ]
    assert sorted(_claims(client, [t.id for t in tasks])) == sorted((t.id, supervisor) for t in tasks)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã nhận 2 công việc" in page and "Không nhận được" not in page
    assert len(_rows(page)) == 0


def test_taking_the_selected_tasks_leaves_out_the_ones_that_cannot_be_taken(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict, demo_users: dict
) -> None:
    second = _submitted(driver, "officer2", "CB0002", "Đề nghị thứ hai")
    taken_meanwhile = driver.task(two_communes["x001_review"], "review_request")
    free = driver.task(second, "review_request")
    elsewhere = driver.task(two_communes["x002_review"], "review_request")  # another commune's: not theirs to take
    head = AuthActions(client.application.test_client())
    head.login("head1")
    head.post(f"/inbox/tasks/{taken_meanwhile.id}/claim", {"next": "/inbox"})
    auth.login("supervisor1")

    response = auth.post(
        "/inbox/claim",
        {"task_id": [str(taken_meanwhile.id), str(free.id), str(elsewhere.id), "²"], "next": "/inbox?scope=group"},
    )

    assert response.status_code == 302
    assert driver.task(second, "review_request").assignee_id == demo_users["supervisor1"].id
    assert driver.task(two_communes["x001_review"], "review_request").assignee_id == demo_users["head1"].id
    assert driver.task(two_communes["x002_review"], "review_request").assignee_id is None
    claims = _claims(client, [taken_meanwhile.id, free.id, elsewhere.id])
    assert sorted(claims) == sorted(
        [(taken_meanwhile.id, demo_users["head1"].id), (free.id, demo_users["supervisor1"].id)]
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã nhận 1 công việc" in page
    refusal = lxml_html.fromstring(page).xpath("string(//*[contains(text(), 'Không nhận được')])")
    # the one taken meanwhile is named, with the reason; the other commune's task is not named
    assert f"#{two_communes['x001_review']}" in refusal and "đã được người khác nhận" in refusal
    assert f"#{two_communes['x002_review']}" not in refusal and "ngoài phạm vi của bạn" in refusal


def test_taking_the_selected_tasks_without_a_csrf_token_takes_none(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    task = driver.task(two_communes["x001_review"], "review_request")
    auth.login("supervisor1")
    response = client.post("/inbox/claim", data={"task_id": [str(task.id)], "next": "/inbox?scope=group"})
    assert response.status_code == 400
    assert driver.task(two_communes["x001_review"], "review_request").assignee_id is None
    assert _claims(client, [task.id]) == []


def test_taking_nothing_says_so(auth: AuthActions, client, two_communes: dict) -> None:
    auth.login("supervisor1")
    response = auth.post("/inbox/claim", {"next": "/inbox?scope=group"})
    assert "Chưa chọn công việc nào" in client.get(response.headers["Location"]).get_data(as_text=True)


def _guide(page: str) -> list[str]:
    """The links of the empty inbox's guide, by what they point to (decision 0118)."""
    tree = lxml_html.fromstring(page)
    return [str(link) for link in tree.xpath("//div[@data-empty-guide]//a/@href")]


def test_an_inspector_with_no_tasks_is_pointed_to_the_pages_she_works_in(
    auth: AuthActions, client, two_communes: dict
) -> None:
    """An auditor is given no tasks: a bare "No tasks here." told her nothing of where her work is."""
    auth.login("auditor1")
    response = client.get("/inbox")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/tasks/" not in page
    assert _guide(page) == ["/audit/events", "/instances"]
    assert "Để kiểm tra các quy trình thuộc phạm vi của bạn:" in page and "Nhật ký hệ thống" in page
    assert _guide(client.get("/inbox?scope=group").get_data(as_text=True)) == ["/audit/events", "/instances"]
    for link in _guide(page):
        assert client.get(link).status_code == 200  # each page the guide names opens for her
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    english = client.get("/inbox").get_data(as_text=True)
    assert "To inspect the procedures of your units:" in english and _guide(english) == ["/audit/events", "/instances"]


def test_an_empty_list_of_ones_own_points_to_the_groups_tasks_waiting(
    auth: AuthActions, client, two_communes: dict
) -> None:
    auth.login("supervisor1")  # nothing of her own, one review for the group to take; no inspector
    page = client.get("/inbox").get_data(as_text=True)
    assert _guide(page) == ["/inbox?scope=group"]
    assert "Nhóm của bạn có 1 việc đang chờ người nhận." in page
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    assert "1 task of your group is waiting for someone to take it." in client.get("/inbox").get_data(as_text=True)


def test_a_filtered_empty_list_is_only_empty(auth: AuthActions, client, two_communes: dict) -> None:
    """An empty list under a filter is the filter's answer, not a sign that the work is elsewhere."""
    auth.login("auditor1")
    page = client.get("/inbox?due=overdue").get_data(as_text=True)
    assert "Không có công việc nào." in page
    assert _guide(page) == [] and "data-empty-guide" not in page
    auth.logout()
    auth.login("officer2")  # a task of her own: no guide either
    assert "data-empty-guide" not in client.get("/inbox").get_data(as_text=True)


def test_a_manager_cannot_approve_his_own_request_in_bulk(
    auth: AuthActions, client, driver: WorkflowDriver, two_communes: dict
) -> None:
    """supervisor1 (CB0003) files a request; its approval is a direct manager's step he may not take (decision 0133)."""
    own = _submitted(driver, "supervisor1", "CB0003", "Xin cấp kinh phí công tác")
    review = driver.task(own, "review_request")
    auth.login("supervisor1")
    group = client.get("/inbox?scope=group").get_data(as_text=True)
    assert f'href="/tasks/{review.id}"' not in group
    assert f'href="/tasks/{driver.task(two_communes["x001_review"], "review_request").id}"' in group
    auth.post("/inbox/bulk-approve", {"task_id": [str(review.id)]})
    page = client.get("/inbox").get_data(as_text=True)
    assert f"#{own} {review.name} (đây là một bước trong quy trình về chính bạn" in page
    assert driver.instance(own).status == InstanceStatus.RUNNING
    task_page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert (
        "Đây là một bước trong quy trình về chính bạn" in task_page and f'action="/tasks/{review.id}"' not in task_page
    )
    auth.post(f"/inbox/tasks/{review.id}/claim", {"next": "/inbox"})
    assert "đây là một bước trong quy trình về chính bạn" in client.get("/inbox").get_data(as_text=True)
    assert driver.task(own, "review_request").assignee_id is None


def test_each_row_says_what_its_case_is_about(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """Two requests waiting for the same review read alike but for their summaries (decision 0144): what is asked
    and how much, in the reader's language, so that a supervisor can tell them apart, and agree to several, without
    opening each. A draft not yet submitted says nothing."""
    computers = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    request = {"subject_line": "Mua máy tính cho bộ phận một cửa", "amount": 35000000}
    driver.complete("officer1", driver.task(computers, "submit_request").id, request)
    advance = _submitted(driver, "officer2", "CB0002", "Tạm ứng công tác phí")
    driver.start("sample_approval", as_user="officer1", subject="CB0001")

    def summaries(page: str) -> dict[int, str]:
        rows = lxml_html.fromstring(page).xpath("//table[@class='tasks']/tbody/tr[td/a]")
        return {
            int(row.xpath(".//td/a/@href")[0].rsplit("/", 1)[1]): " ".join(
                "".join(row.xpath(".//div[@class='case-summary']//text()")).split()
            )
            for row in rows
        }

    auth.login("supervisor1")
    shown = summaries(client.get("/inbox?scope=group").get_data(as_text=True))
    assert shown[driver.task(computers, "review_request").id] == (
        "Nội dung đề nghị: Mua máy tính cho bộ phận một cửa · Số lượng: 35.000.000"
    )
    assert shown[driver.task(advance, "review_request").id] == "Nội dung đề nghị: Tạm ứng công tác phí"
    auth.logout()
    auth.login("officer1")
    assert set(summaries(client.get("/inbox").get_data(as_text=True)).values()) == {""}  # a draft says nothing yet


def test_a_step_returned_for_changes_is_marked_reopened_in_the_inbox(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """A request sent back comes to the officer's inbox as the same step: the row says it is open again, so it is
    not taken for a new one. A first submission is not marked."""
    returned = _submitted(driver, "officer1", "CB0001", "Đề nghị lần 1")
    fresh = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    review = driver.task(returned, "review_request")
    driver.complete("supervisor1", review.id, {"decision": "return", "comment": "Bổ sung số tiền"})

    auth.login("officer1")
    page = client.get("/inbox").get_data(as_text=True)
    rows = {
        int(row.xpath(".//a/@href")[0].rsplit("/", 1)[1]): row.text_content()
        for row in lxml_html.fromstring(page).xpath("//table[@class='tasks']/tbody/tr")
    }
    again, first = driver.task(returned, "submit_request").id, driver.task(fresh, "submit_request").id
    assert "Mở lại" in rows[again] and "Mở lại" not in rows[first]
