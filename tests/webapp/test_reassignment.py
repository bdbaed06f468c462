"""Handing an open task to another person through the real app (decision 0078): the "Giao lại" page with its person
picker, the account page of someone who left, the command line and the API; who may, who may not, what a refusal
says in Vietnamese and that it writes nothing, and the history's and the audit log's sentence in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.appointment import setup_appointment, start, today_text
from tests.fixtures.evaluation import CRITERIA, ROWS
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from tests.webapp.test_evaluation import _table, _task
from tests.webapp.test_evaluation_review_panel import _submitted_by_the_cadre
from webapp.extensions import db
from workflows import clock
from workflows.db import transaction
from workflows.engine import operations
from workflows.models import HumanTask, TaskDraft
from workflows.reassignment import open_tasks_of
from workflows.registry.models import User
from workflows.registry.tokens import create_token
from workflows.timers import run_due_timers

REQUEST = {"subject_line": "Đề nghị cử đi học lớp trung cấp lý luận chính trị", "amount": 1}
REASON = "Đồng chí Dũng nghỉ ốm dài ngày"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _text(response: Any) -> str:
    return " ".join(_doc(response).text_content().split())


def _review(driver: WorkflowDriver, subject: str = "CB0001", starter: str = "officer1") -> tuple[int, int]:
    """A sample approval at its review (a supervisor's group step of Xã An Phú), taken by head1."""
    instance_id = driver.start("sample_approval", as_user=starter, subject=subject)
    driver.complete(starter, driver.task(instance_id, "submit_request").id, REQUEST)
    review_id = driver.task(instance_id, "review_request").id
    with driver.session_factory() as s, transaction(s):
        operations.claim_task(s, actor=driver.user(s, "head1"), task_id=review_id)
    return instance_id, review_id


def _id(driver: WorkflowDriver, username: str) -> int:
    with driver.session_factory() as s:
        return driver.user(s, username).id  # type: ignore[union-attr]


def _holder(driver: WorkflowDriver, task_id: int) -> int | None:
    with driver.session_factory() as s:
        task = s.get(HumanTask, task_id)
        assert task is not None
        return task.assignee_id


def _switch(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def _post(auth: AuthActions, task_id: int, **fields: str) -> Any:
    page = f"/tasks/{task_id}/reassign"
    return auth.post(page, fields, page=page)


def test_personnel_hands_a_step_on_from_the_instance_page_and_the_history_says_so(
    app: Flask, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    instance_id, review_id = _review(driver)
    auth.login("personnel1")
    show = _doc(client.get(f"/instances/{instance_id}"))
    (link,) = show.xpath('//a[contains(@class, "reassign-link")]/@href')
    assert link == f"/tasks/{review_id}/reassign"
    assert client.get(f"/tasks/{review_id}").status_code == 200
    assert _doc(client.get(f"/tasks/{review_id}")).xpath('//a[@id="reassign-link"]/@href') == [link]

    page = client.get(link)
    assert page.status_code == 200
    offered = _doc(page).xpath('//select[@name="assignee"]/option/text()')
    assert offered == ["Chọn người", "Lê Văn Minh (supervisor1)"]  # not head1 (holds it), no one outside the role
    assert "Phạm Quốc Dũng" in _doc(page).xpath('string(//dd[@id="task-holder"])')

    done = _post(auth, review_id, assignee=str(_id(driver, "supervisor1")), reason=REASON)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/instances/{instance_id}")
    assert _holder(driver, review_id) == _id(driver, "supervisor1")
    history = _text(client.get(f"/instances/{instance_id}"))
    assert (
        f"Đỗ Thị Hoa: Giao lại bước “Xem xét, phê duyệt” từ Phạm Quốc Dũng cho Lê Văn Minh. Lý do: {REASON}" in history
    )
    assert "Đã giao lại bước “Xem xét, phê duyệt” cho Lê Văn Minh." in history  # the flash

    auth.logout()
    auth.login("auditor1")
    log = _text(client.get("/audit/events?event_type=task_reassigned"))
    assert "Giao lại bước “Xem xét, phê duyệt” từ Phạm Quốc Dũng cho Lê Văn Minh" in log
    with driver.session_factory() as s, transaction(s):
        driver.user(s, "auditor1").locale = "en"  # type: ignore[union-attr]
    english = _text(client.get(f"/audit/instances/{instance_id}"))
    assert f"Handed the step “Xem xét, phê duyệt” from Phạm Quốc Dũng to Lê Văn Minh. Reason: {REASON}" in english


def test_a_group_step_nobody_took_is_given_to_one_of_the_group(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    review_id = driver.task(instance_id, "review_request").id
    auth.login("admin")
    offered = _doc(client.get(f"/tasks/{review_id}/reassign")).xpath('//select[@name="assignee"]/option/text()')
    assert offered == ["Chọn người", "Lê Văn Minh (supervisor1)", "Phạm Quốc Dũng (head1)"]
    assert _post(auth, review_id, assignee=str(_id(driver, "head1")), reason="Phân công").status_code == 302
    history = _text(client.get(f"/instances/{instance_id}"))
    assert "Giao bước “Xem xét, phê duyệt” (đang chờ nhóm nhận) cho Phạm Quốc Dũng. Lý do: Phân công" in history


@pytest.mark.parametrize(("username", "status"), [("supervisor1", 403), ("head1", 403), ("officer3", 404)])
def test_others_may_not_reach_the_page_nor_post_to_it(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver, username: str, status: int
) -> None:
    instance_id, review_id = _review(driver)
    auth.login(username)
    if status == 403:  # they see the procedure, not the way to hand its step on
        assert not _doc(client.get(f"/instances/{instance_id}")).xpath('//a[contains(@class, "reassign-link")]')
    assert client.get(f"/tasks/{review_id}/reassign").status_code == status
    before = everything_stored(driver.session_factory)
    csrf = auth.csrf_token("/inbox")
    posted = client.post(
        f"/tasks/{review_id}/reassign",
        data={"csrf_token": csrf, "assignee": str(_id(driver, "supervisor1")), "reason": "x"},
    )
    assert posted.status_code == status
    assert everything_stored(driver.session_factory) == before


def test_a_missing_task_is_404(auth: AuthActions, client: FlaskClient) -> None:
    auth.login("personnel1")
    assert client.get("/tasks/999999/reassign").status_code == 404


@pytest.mark.parametrize(
    ("assignee", "reason", "message"),
    [
        ("supervisor1", "  ", "ghi lý do giao lại việc; lý do được lưu vào nhật ký hệ thống"),
        ("officer3", REASON, "người này không giữ vai trò mà bước này yêu cầu tại đơn vị nơi bước đang chờ"),
        ("officer1", REASON, "người được xem xét trong quy trình không được nhận một bước của chính quy trình đó"),
        ("head1", REASON, "việc này đang ở chính người này"),
        ("", REASON, "chọn người nhận việc"),
        ("not-a-number", REASON, "chọn người nhận việc"),
    ],
)
def test_bad_input_is_refused_in_vietnamese_and_changes_nothing(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver, assignee: str, reason: str, message: str
) -> None:
    _instance_id, review_id = _review(driver)
    auth.login("personnel1")
    before = everything_stored(driver.session_factory)
    chosen = str(_id(driver, assignee)) if assignee in ("supervisor1", "officer3", "officer1", "head1") else assignee
    refused = _post(auth, review_id, assignee=chosen, reason=reason)
    assert refused.status_code == 422
    assert message in _text(refused)
    assert "Việc chưa được giao lại" in _text(refused)
    assert everything_stored(driver.session_factory) == before


def test_a_post_without_its_csrf_token_changes_nothing(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    _instance_id, review_id = _review(driver)
    auth.login("personnel1")
    before = everything_stored(driver.session_factory)
    posted = client.post(
        f"/tasks/{review_id}/reassign", data={"assignee": str(_id(driver, "supervisor1")), "reason": REASON}
    )
    assert posted.status_code == 400
    assert everything_stored(driver.session_factory) == before


def test_a_completed_task_is_refused_with_409(auth: AuthActions, client: FlaskClient, driver: WorkflowDriver) -> None:
    _instance_id, review_id = _review(driver)
    auth.login("personnel1")
    page = f"/tasks/{review_id}/reassign"
    csrf = auth.csrf_token(page)
    driver.complete("head1", review_id, {"decision": "approve"})  # meanwhile
    posted = client.post(page, data={"csrf_token": csrf, "assignee": str(_id(driver, "supervisor1")), "reason": "x"})
    assert posted.status_code == 409
    assert "việc này đã đóng (đã hoàn thành hoặc đã hủy)" in _text(posted)


def test_a_secret_ballot_step_is_refused_on_the_page(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    world = setup_appointment(session_factory)
    instance_id = start(session_factory, driver.engine, world["post_id"])
    driver.complete(
        "personnel1", driver.task(instance_id, "eligibility_policy").id, {"dossier_received_on": today_text()}
    )
    driver.complete("leader1", driver.task(instance_id, "policy_decision").id, {"policy_decision": "approve"})
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    driver.complete("personnel1", driver.task(instance_id, "step1_conference").id, conference)
    ballot_id = driver.task(instance_id, "ballot_step2").id
    auth.login("personnel1")
    assert not _doc(client.get(f"/instances/{instance_id}")).xpath('//a[contains(@class, "reassign-link")]')
    page = client.get(f"/tasks/{ballot_id}/reassign")
    assert page.status_code == 200 and not _doc(page).xpath('//form[@id="reassign-form"]')
    vote_belongs = "đây là bước bỏ phiếu kín: lá phiếu thuộc về thành viên của tập thể biểu quyết"
    assert vote_belongs in _doc(page).xpath('string(//p[@id="reassign-refused"])')
    before = everything_stored(session_factory)
    refused = _post(auth, ballot_id, assignee=str(_id(driver, "admin")), reason=REASON)
    assert refused.status_code == 422 and vote_belongs in _text(refused)
    assert everything_stored(session_factory) == before


def test_the_account_page_of_someone_who_left_hands_all_their_tasks_on_naming_those_refused(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    first, first_review = _review(driver)
    second, second_review = _review(driver)
    own = driver.start("sample_approval", as_user="head1", subject="CB0004")  # head1's own request stays theirs
    own_task = driver.task(own, "submit_request").id
    head1 = _id(driver, "head1")
    auth.login("admin")
    deactivated = auth.post(f"/admin/users/{head1}/deactivate", {"reason": "Nghỉ hưu"}, page=f"/admin/users/{head1}")
    assert deactivated.status_code == 302
    page = _doc(client.get(f"/admin/users/{head1}"))
    assert page.xpath('//section[@id="held-tasks"]//tr/@data-task') == [
        str(first_review),
        str(second_review),
        str(own_task),
    ]
    links = page.xpath('//section[@id="held-tasks"]//a[contains(@href, "/reassign")]/@href')
    assert links == [f"/tasks/{t}/reassign?from_user={head1}" for t in (first_review, second_review)]
    # Their own request can go to nobody: said beside it, not offered as a link every choice would refuse.
    (fixed,) = page.xpath(f'//tr[@data-task="{own_task}"]//*[@data-fixed]')
    assert "Không giao lại được bước này: bước này thuộc về chính người được xem xét" in fixed.text_content()
    assert page.xpath('//form[@id="hand-on-form"]//select/option/text()') == ["Chọn người", "Lê Văn Minh (supervisor1)"]

    before = everything_stored(driver.session_factory)
    refused = auth.post(f"/admin/users/{head1}/hand-on", {"assignee": "", "reason": ""}, page=f"/admin/users/{head1}")
    assert refused.status_code == 422
    assert "chọn người nhận việc" in _text(refused) and "ghi lý do giao lại việc" in _text(refused)
    assert everything_stored(driver.session_factory) == before

    supervisor = _id(driver, "supervisor1")
    done = auth.post(
        f"/admin/users/{head1}/hand-on",
        {"assignee": str(supervisor), "reason": "Nghỉ hưu"},
        page=f"/admin/users/{head1}",
    )
    assert done.status_code == 302
    assert [_holder(driver, t) for t in (first_review, second_review, own_task)] == [supervisor, supervisor, head1]
    shown = _text(client.get(f"/admin/users/{head1}"))
    assert "Đã giao lại 2 việc cho Lê Văn Minh." in shown
    assert f"Không giao lại được: #{own} Lập đề nghị (bước này thuộc về chính người được xem xét" in shown
    assert first != second


def test_the_page_started_from_an_account_goes_back_to_it(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    _instance_id, review_id = _review(driver)
    head1 = _id(driver, "head1")
    auth.login("admin")
    page = client.get(f"/tasks/{review_id}/reassign?from_user={head1}")
    assert _doc(page).xpath('//input[@name="from_user"]/@value') == [str(head1)]
    done = _post(auth, review_id, assignee=str(_id(driver, "supervisor1")), reason="Nghỉ hưu", from_user=str(head1))
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/users/{head1}")


def test_the_command_line_hands_a_task_on_and_refuses_in_vietnamese(runner, driver: WorkflowDriver) -> None:
    _instance_id, review_id = _review(driver)
    before = everything_stored(driver.session_factory)
    refused = runner.invoke(args=["tasks", "reassign", str(review_id), "--to", "officer3", "--reason", REASON])
    assert refused.exit_code == 1
    assert "Việc chưa được giao lại" in refused.stderr and "người này không giữ vai trò" in refused.stderr
    forbidden = runner.invoke(
        args=["tasks", "reassign", str(review_id), "--to", "supervisor1", "--reason", REASON, "--as", "supervisor1"]
    )
    assert forbidden.exit_code == 1
    assert runner.invoke(args=["tasks", "reassign", "-5", "--to", "supervisor1", "--reason", "x"]).exit_code == 1
    assert runner.invoke(args=["tasks", "reassign", str(review_id), "--to", "nobody", "--reason", "x"]).exit_code == 1
    assert everything_stored(driver.session_factory) == before
    done = runner.invoke(
        args=["tasks", "reassign", str(review_id), "--to", "supervisor1", "--reason", REASON, "--as", "personnel1"]
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"Đã giao việc {review_id} “Xem xét, phê duyệt” cho supervisor1."
    assert _holder(driver, review_id) == _id(driver, "supervisor1")


def test_the_api_hands_a_task_on_with_the_same_checks(app: Flask, client: FlaskClient, driver: WorkflowDriver) -> None:
    _instance_id, review_id = _review(driver)
    with app.app_context():
        tokens = {
            name: create_token(db.session, db.session.scalars(select(User).where(User.username == name)).one(), "t")
            for name in ("personnel1", "supervisor1", "officer3")
        }
        db.session.commit()

    def call(as_user: str, body: Any) -> Any:
        return client.post(
            f"/api/v1/tasks/{review_id}/reassign", json=body, headers={"Authorization": f"Bearer {tokens[as_user]}"}
        )

    before = everything_stored(driver.session_factory)
    assert call("officer3", {"assignee": "supervisor1", "reason": REASON}).status_code == 404
    assert call("supervisor1", {"assignee": "supervisor1", "reason": REASON}).status_code == 403
    bad = call("personnel1", {"assignee": "officer3", "reason": "", "note": 1})
    assert bad.status_code == 422
    assert sorted(problem["field"] for problem in bad.get_json()["problems"]) == ["note"]
    bad = call("personnel1", {"assignee": "officer3", "reason": ""})
    assert sorted(problem["field"] for problem in bad.get_json()["problems"]) == ["assignee", "reason"]
    assert everything_stored(driver.session_factory) == before
    done = call("personnel1", {"assignee": "supervisor1", "reason": REASON})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["assignee_id"] == _id(driver, "supervisor1")
    again = call("personnel1", {"assignee": "supervisor1", "reason": REASON}).get_json()["problems"]
    assert [(problem["field"], problem["message"]) for problem in again] == [
        ("assignee", "việc này đang ở chính người này")
    ]


def test_an_account_holding_only_steps_that_cannot_move_is_offered_no_hand_on(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    own = driver.start("sample_approval", as_user="head1", subject="CB0004")
    head1 = _id(driver, "head1")
    auth.login("admin")
    page = _doc(client.get(f"/admin/users/{head1}"))
    assert page.xpath('//section[@id="held-tasks"]//tr/@data-task') == [str(driver.task(own, "submit_request").id)]
    assert page.xpath('//section[@id="held-tasks"]//*[@data-fixed]')
    assert not page.xpath('//form[@id="hand-on-form"]')
    assert not page.xpath('//section[@id="held-tasks"]//a[contains(@href, "/reassign")]')


def test_the_account_page_costs_the_same_statements_however_many_tasks_the_person_holds(
    app: Flask, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    """The held tasks, whether the administrator may see each, why a task cannot move and the people "hand all to
    one person" offers are read in a fixed number of statements: not a few per held task (decision 0085)."""
    clock.set_now(T0)
    head1 = _id(driver, "head1")
    auth.login("admin")
    with app.app_context():
        engine = db.engine

    def page_statements() -> tuple[int, list[str]]:
        with statements_sent(engine) as sent:
            page = client.get(f"/admin/users/{head1}")
        assert page.status_code == 200
        offered = _doc(page).xpath('//form[@id="hand-on-form"]//select/option/text()')
        return len(sent.statements), offered

    # A step that escalated to the unit's heads on its deadline, taken by head1.
    escalating = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(escalating, "submit_request").id, REQUEST)
    clock.set_now(T0 + timedelta(days=3, minutes=1))
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 1
    escalated = driver.task(escalating, "escalated_review").id
    with driver.session_factory() as s, transaction(s):
        operations.claim_task(s, actor=driver.user(s, "head1"), task_id=escalated)
    client.get(f"/admin/users/{head1}")  # the first view of the app prepares its statements
    one, offered_for_one = page_statements()
    # Three more, of other kinds: two supervisors' steps (another lane role, other receivers) and their own request
    # (it cannot move).
    _review(driver)
    _review(driver)
    driver.start("sample_approval", as_user="head1", subject="CB0004")
    with driver.session_factory() as s:
        assert len(open_tasks_of(s, head1)) == 4

    four, offered_for_four = page_statements()
    assert four == one, (one, four)
    assert "Lê Văn Minh (supervisor1)" not in offered_for_one  # a supervisor does not take a head's step
    assert set(offered_for_four) == {*offered_for_one, "Lê Văn Minh (supervisor1)"}


# -- the draft goes with the task (decision 0084) -------------------------------------------------------------------


@pytest.mark.usefixtures("in_november")
def test_a_saved_draft_goes_to_the_new_holder_with_a_notice_and_leaves_the_previous_one(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    _submitted_by_the_cadre(auth, driver)
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    typed = {**_table(ROWS), **CRITERIA, "criteria_competence": "7", "criteria_reason": "Chưa xong lớp bồi dưỡng"}
    saved = auth.post(f"/tasks/{review.id}", {**typed, "action": "draft"}, page=f"/tasks/{review.id}")
    assert saved.status_code == 302

    _switch(auth, "personnel1")
    told = " ".join(_doc(client.get(f"/tasks/{review.id}/reassign")).xpath('string(//*[@id="reassign-draft"])').split())
    assert re.fullmatch(
        r"Bản nháp lưu ngày \d\d/11/2026 \d\d:\d\d sẽ được chuyển cùng bước này cho người nhận\.", told
    ), told
    assert _post(auth, review.id, assignee=str(_id(driver, "head1")), reason=REASON).status_code == 302
    history = _text(client.get(f"/instances/{review.instance_id}"))
    assert f"cho Phạm Quốc Dũng. Lý do: {REASON} Bản nháp Lê Văn Minh đã lưu được chuyển cùng công việc." in history

    _switch(auth, "head1")
    page = _doc(client.get(f"/tasks/{review.id}"))
    assert page.xpath('//input[@name="criteria_competence"]/@value') == ["7"]
    assert "Chưa xong lớp bồi dưỡng" in page.xpath('string(//*[@name="criteria_reason"])') + "".join(
        page.xpath('//*[@name="criteria_reason"]/@value')
    )
    notice = " ".join(page.xpath('string(//*[@id="draft-handed-on"])').split())
    assert re.fullmatch(
        r"Bản nháp do Lê Văn Minh lưu ngày \d\d/11/2026 \d\d:\d\d được chuyển cùng công việc\.", notice
    ), notice

    _switch(auth, "supervisor1")  # no longer his: neither the draft nor a form to save into
    page = _doc(client.get(f"/tasks/{review.id}"))
    assert not page.xpath('//*[@id="draft-handed-on"]')
    assert "7" not in page.xpath('//input[@name="criteria_competence"]/@value')
    late = auth.post(f"/tasks/{review.id}", {**typed, "action": "draft", "background": "1"}, page=f"/tasks/{review.id}")
    assert late.status_code == 409  # his page saving by itself after the hand-on: refused
    assert auth.post(f"/tasks/{review.id}/discard-draft", {}, page=f"/tasks/{review.id}").status_code in (302, 404)
    head1 = _id(driver, "head1")
    with driver.session_factory() as s:
        draft = s.get(TaskDraft, review.id)
        assert draft is not None and (draft.user_id, draft.data["criteria_competence"]) == (head1, 7)


def test_a_completion_first_still_refuses_the_hand_on_and_a_hand_on_first_the_completion(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    """The pages on either side of the race, with a draft saved: whichever is committed first wins, the other is
    told 409, and the draft is where the winner left it."""
    _instance_id, review_id = _review(driver)
    auth.login("head1")
    assert auth.post(f"/tasks/{review_id}", {"action": "draft"}, page=f"/tasks/{review_id}").status_code == 302
    done = auth.post(f"/tasks/{review_id}", {"decision": "approve"}, page=f"/tasks/{review_id}")
    assert done.status_code == 302
    auth.logout()
    auth.login("personnel1")
    before = everything_stored(driver.session_factory)
    late = _post(auth, review_id, assignee=str(_id(driver, "supervisor1")), reason=REASON)
    assert late.status_code == 409
    assert everything_stored(driver.session_factory) == before

    _instance_id, review_id = _review(driver, subject="CB0002", starter="officer2")
    auth.logout()
    auth.login("head1")
    assert auth.post(f"/tasks/{review_id}", {"action": "draft"}, page=f"/tasks/{review_id}").status_code == 302
    auth.logout()
    auth.login("personnel1")
    assert _post(auth, review_id, assignee=str(_id(driver, "supervisor1")), reason=REASON).status_code == 302
    auth.logout()
    auth.login("head1")
    stale = auth.post(f"/tasks/{review_id}", {"decision": "approve"}, page=f"/tasks/{review_id}")
    assert stale.status_code == 409
    supervisor1 = _id(driver, "supervisor1")
    assert _holder(driver, review_id) == supervisor1
    with driver.session_factory() as s:
        draft = s.get(TaskDraft, review_id)
        assert draft is not None and draft.user_id == supervisor1
