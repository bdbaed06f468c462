"""The task page: form built from the task's JSON Schema, validation keeping input, drafts, decisions, uploads."""

from __future__ import annotations

import io
import re
import time

import pytest
from itsdangerous import TimestampSigner
from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.models import script_model
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from webapp.text_fields import MAX_COMMENT
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.engine import operations
from workflows.models import Attachment, Comment, HumanTask, TaskDraft
from workflows.registry.models import User
from workflows.states import InstanceStatus, TaskStatus


def _request_task(driver: WorkflowDriver) -> tuple[int, int]:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    return instance_id, driver.task(instance_id, "submit_request").id


def test_the_form_is_built_from_the_schema_with_instructions(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Nội dung đề nghị" in page and 'name="subject_line"' in page and 'name="amount"' in page
    assert "Hướng dẫn" in page  # instructionsForEndUser shown


def test_invalid_input_is_refused_in_vietnamese_and_kept(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    response = auth.post(
        f"/tasks/{task_id}", {"amount": "-7", "details": "giữ lại nội dung này"}, page=f"/tasks/{task_id}"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Trường này là bắt buộc." in page and "lớn hơn hoặc bằng 0" in page
    assert 'value="-7"' in page and "giữ lại nội dung này" in page
    assert driver.task(instance_id, "submit_request").id == task_id  # nothing advanced


def test_draft_is_kept_and_restored(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    response = auth.post(
        f"/tasks/{task_id}", {"action": "draft", "subject_line": "Bản nháp", "amount": "mười"}, page=f"/tasks/{task_id}"
    )
    assert response.status_code == 302
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Bản nháp" in page and "mười" in page and "bản nháp đã lưu" in page.lower()
    with driver.session_factory() as s:
        assert s.get(TaskDraft, task_id) is not None


def test_submit_advances_and_clears_the_draft(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    auth.post(f"/tasks/{task_id}", {"action": "draft", "subject_line": "x"}, page=f"/tasks/{task_id}")
    response = auth.post(f"/tasks/{task_id}", {"action": "submit", "subject_line": "Đề nghị"}, page=f"/tasks/{task_id}")
    assert response.status_code == 302
    assert driver.task(instance_id, "review_request")
    with driver.session_factory() as s:
        assert s.get(TaskDraft, task_id) is None
    again = auth.post(f"/tasks/{task_id}", {"subject_line": "lần hai"}, page="/inbox")
    assert again.status_code == 409  # closed: no longer anyone's to act on, and said so
    assert "lần hai" in again.get_data(as_text=True)


def test_return_needs_a_comment_which_is_recorded(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _request_task(driver)
    driver.complete("officer1", task_id, {"subject_line": "Đề nghị"})
    review_id = driver.task(instance_id, "review_request").id
    auth.login("supervisor1")
    refused = auth.post(f"/tasks/{review_id}", {"decision": "return"}, page=f"/tasks/{review_id}")
    assert refused.status_code == 422 and "Ý kiến" in refused.get_data(as_text=True)
    assert driver.task(instance_id, "review_request").id == review_id
    done = auth.post(
        f"/tasks/{review_id}", {"decision": "return", "comment_text": "Bổ sung số lượng"}, page=f"/tasks/{review_id}"
    )
    assert done.status_code == 302
    assert driver.task(instance_id, "submit_request")  # back to the officer
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Đã trả lại hồ sơ từ bước" in inbox and "Hoàn tất" not in inbox  # a return, not "done: sent"
    with driver.session_factory() as s:
        comment = s.scalars(select(Comment).where(Comment.instance_id == instance_id)).one()
        assert comment.body == "Bổ sung số lượng"


def _review_task(driver: WorkflowDriver) -> tuple[int, int]:
    instance_id, task_id = _request_task(driver)
    driver.complete("officer1", task_id, {"subject_line": "Đề nghị"})
    return instance_id, driver.task(instance_id, "review_request").id


@pytest.mark.parametrize("comment", ["\x00", "\x00\x07 \x1f\x7f"])
def test_a_comment_of_control_characters_only_is_no_comment(
    auth: AuthActions, client, driver: WorkflowDriver, comment: str
) -> None:
    instance_id, review_id = _review_task(driver)
    auth.login("supervisor1")
    refused = auth.post(
        f"/tasks/{review_id}", {"decision": "return", "comment_text": comment}, page=f"/tasks/{review_id}"
    )
    assert refused.status_code == 422 and "Vui lòng ghi ý kiến nêu rõ lý do." in refused.get_data(as_text=True)
    assert driver.task(instance_id, "review_request").id == review_id
    approved = auth.post(
        f"/tasks/{review_id}", {"decision": "approve", "comment_text": comment}, page=f"/tasks/{review_id}"
    )
    assert approved.status_code == 302  # approving needs no comment: none is stored
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with driver.session_factory() as s:
        assert s.scalars(select(Comment)).all() == []


def test_a_task_comment_is_capped_like_an_instance_comment(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, review_id = _review_task(driver)
    auth.login("supervisor1")
    for too_long in ("x" * (MAX_COMMENT + 1), "x" * 1_000_000):
        response = auth.post(
            f"/tasks/{review_id}",
            {"decision": "approve", "comment_text": too_long, "action": "submit"},
            page=f"/tasks/{review_id}",
        )
        assert response.status_code == 422 and "Tối đa 2.000 ký tự." in response.get_data(as_text=True)
        assert driver.instance(instance_id).status == InstanceStatus.RUNNING
        assert driver.task(instance_id, "review_request").id == review_id
    with driver.session_factory() as s:
        assert s.scalars(select(Comment)).all() == []
    at_most = auth.post(
        f"/tasks/{review_id}", {"decision": "approve", "comment_text": "x" * MAX_COMMENT}, page=f"/tasks/{review_id}"
    )
    assert at_most.status_code == 302
    with driver.session_factory() as s:
        assert len(s.scalars(select(Comment)).one().body) == MAX_COMMENT


def test_approve(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _request_task(driver)
    driver.complete("officer1", task_id, {"subject_line": "Đề nghị"})
    review_id = driver.task(instance_id, "review_request").id
    auth.login("supervisor1")
    assert auth.post(f"/tasks/{review_id}", {"decision": "approve"}, page=f"/tasks/{review_id}").status_code == 302
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED


def test_a_task_without_a_form_has_instructions_and_a_comment(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [script_model("no_form", "total = 1")], actor=None, forms_dir=None)
    instance_id = driver.start("no_form", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "enter_data")
    auth.login("officer1")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="comment_text"' in page
    response = auth.post(f"/tasks/{task.id}", {"action": "submit", "comment_text": "Xong"}, page=f"/tasks/{task.id}")
    assert response.status_code == 302
    assert driver.task(instance_id, "confirm")


def test_a_conflicting_submission_is_explained(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    token = auth.csrf_token(f"/tasks/{task_id}")
    driver.complete("officer1", task_id, {"subject_line": "từ tab khác"})  # e.g. another browser tab
    response = client.post(f"/tasks/{task_id}", data={"subject_line": "x", "csrf_token": token})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Việc này đã được xử lý lúc" in page and "Lỗi 403" not in page
    assert driver.task(instance_id, "review_request")


def test_attachment_is_stored_outside_the_state(
    app, auth: AuthActions, client, driver: WorkflowDriver, tmp_path
) -> None:
    schema = (
        b'{"type": "object", "required": ["evidence"], "properties": {"evidence": {"type": "string", '
        b'"format": "binary", "title": "Minh ch\\u1ee9ng"}}, "x-ui": {"evidence": {"accept": ".pdf", "max_size_mb": 1}}}'
    )
    bpmn = (
        script_model("with_file", "total = 1")
        .content.replace(
            b'<bpmn:userTask id="enter_data" name="Nh\xe1\xba\xadp d\xe1\xbb\xaf li\xe1\xbb\x87u">',
            b'<bpmn:userTask id="enter_data" name="Nh\xe1\xba\xadp d\xe1\xbb\xaf li\xe1\xbb\x87u"><bpmn:extensionElements>'
            b'<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="evidence.json"/>'
            b"</spiffworkflow:properties></bpmn:extensionElements>",
        )
        .replace(b"xmlns:xsi=", b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:xsi=')
    )
    from workflows.deployment.validation import BundleFile

    with driver.session_factory() as s, transaction(s):
        deploy_bundle(
            s, [BundleFile("with_file.bpmn", bpmn)], actor=None, forms_dir=None, extra_forms={"evidence.json": schema}
        )
    instance_id = driver.start("with_file", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "enter_data")
    auth.login("officer1")
    wrong = auth.post(
        f"/tasks/{task.id}",
        {"action": "submit", "evidence": (io.BytesIO(b"MZ..."), "virus.exe")},
        page=f"/tasks/{task.id}",
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422
    ok = auth.post(
        f"/tasks/{task.id}",
        {"action": "submit", "evidence": (io.BytesIO(b"%PDF-1.4 minh chung"), "minh-chung.pdf")},
        page=f"/tasks/{task.id}",
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    with driver.session_factory() as s:
        attachment = s.scalars(select(Attachment).where(Attachment.instance_id == instance_id)).one()
    assert attachment.filename == "minh-chung.pdf" and attachment.size == len(b"%PDF-1.4 minh chung")
    stored = tmp_path / "uploads" / attachment.sha256
    assert stored.read_bytes() == b"%PDF-1.4 minh chung"
    assert b"minh chung" not in driver.instance(instance_id).state.encode()


def _full_name(driver: WorkflowDriver, username: str) -> str:
    with driver.session_factory() as s:
        return s.scalars(select(User.full_name).where(User.username == username)).one()


def _checked(page: str, name: str, value: str) -> bool:
    """Whether the radio `name` with `value` is drawn checked (and disabled: the task is closed)."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return "checked" in tag and "disabled" in tag
    return False


def test_a_completed_task_shows_what_was_submitted_read_only(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _, review_id = _review_task(driver)
    auth.login("supervisor1")
    done = auth.post(
        f"/tasks/{review_id}",
        {"decision": "return", "comment_text": "Bổ sung số lượng cụ thể"},
        page=f"/tasks/{review_id}",
    )
    assert done.status_code == 302
    page = client.get(f"/tasks/{review_id}").get_data(as_text=True)
    assert "Bổ sung số lượng cụ thể" in page and _checked(page, "decision", "return")
    assert not _checked(page, "decision", "approve")
    assert "Việc này đã được xử lý lúc" in page and _full_name(driver, "supervisor1") in page
    assert 'name="comment_text"' not in page  # nothing to submit any more


def test_each_round_of_a_returned_request_keeps_its_own_answer(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, first_id = _request_task(driver)
    driver.complete("officer1", first_id, {"subject_line": "Lần đầu", "amount": 5})
    driver.complete(
        "supervisor1", driver.task(instance_id, "review_request").id, {"decision": "return", "comment": "Sửa"}
    )
    second_id = driver.task(instance_id, "submit_request").id
    driver.complete("officer1", second_id, {"subject_line": "Lần hai", "amount": 7})
    auth.login("officer1")
    first = client.get(f"/tasks/{first_id}").get_data(as_text=True)
    second = client.get(f"/tasks/{second_id}").get_data(as_text=True)
    assert 'value="Lần đầu"' in first and 'value="Lần hai"' not in first
    assert 'value="Lần hai"' in second and 'value="Lần đầu"' not in second
    assert 'value="7"' in second and "disabled" in second


def test_a_task_closed_by_cancellation_says_nothing_was_submitted(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task_id = _request_task(driver)
    other_id, blank_id = _request_task(driver)
    auth.login("officer1")
    auth.post(f"/tasks/{task_id}", {"action": "draft", "subject_line": "Nháp chưa gửi"}, page=f"/tasks/{task_id}")
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        for cancelled in (instance_id, other_id):
            operations.cancel_instance(s, driver.engine, actor=admin, instance_id=cancelled, reason="Hồ sơ trùng")
    with driver.session_factory() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.CANCELLED  # type: ignore[union-attr]
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "vì quy trình bị hủy; không có nội dung nào được gửi" in page
    assert "Nháp chưa gửi" not in page  # the unsent draft went with the task (decision 0085)
    assert driver.drafts() == {}
    blank = client.get(f"/tasks/{blank_id}").get_data(as_text=True)
    assert "không có nội dung nào được gửi" in blank and 'name="subject_line"' not in blank
    stale = auth.post(f"/tasks/{blank_id}", {"subject_line": "Gửi muộn"}, page="/inbox")
    assert stale.status_code == 409 and "quy trình bị hủy" in stale.get_data(as_text=True)


def test_a_stale_tab_gets_409_with_who_and_when_and_the_typed_text(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, review_id = _review_task(driver)
    auth.login("supervisor1")
    token = auth.csrf_token(f"/tasks/{review_id}")  # the second tab, opened before the first one submitted
    first = auth.post(f"/tasks/{review_id}", {"decision": "approve"}, page=f"/tasks/{review_id}")
    assert first.status_code == 302
    stale = client.post(
        f"/tasks/{review_id}",
        data={"decision": "return", "comment_text": "Ý kiến vừa gõ ở tab thứ hai", "csrf_token": token},
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Việc này đã được xử lý lúc" in page and _full_name(driver, "supervisor1") in page
    assert "Ý kiến vừa gõ ở tab thứ hai" in page  # given back to copy
    assert f'href="/instances/{instance_id}"' in page
    assert "403" not in page
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED


def test_a_stale_form_for_a_task_taken_by_someone_else_says_who_has_it(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, review_id = _review_task(driver)  # a group task of the supervisors
    auth.login("supervisor1")
    token = auth.csrf_token(f"/tasks/{review_id}")
    with driver.session_factory() as s, transaction(s):
        task = s.get(HumanTask, review_id)
        assert task is not None
        task.assignee_id = s.scalars(select(User.id).where(User.username == "head1")).one()  # reassigned
    response = client.post(
        f"/tasks/{review_id}", data={"decision": "return", "comment_text": "Cần bổ sung", "csrf_token": token}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert _full_name(driver, "head1") in page and "Cần bổ sung" in page
    assert driver.task(instance_id, "review_request").id == review_id  # nothing advanced


def test_a_form_for_a_task_no_longer_visible_is_404_with_the_typed_text(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    token = auth.csrf_token(f"/tasks/{task_id}")
    with driver.session_factory() as s, transaction(s):
        task = s.get(HumanTask, task_id)
        assert task is not None
        task.assignee_id = s.scalars(select(User.id).where(User.username == "officer2")).one()
    response = client.post(f"/tasks/{task_id}", data={"subject_line": "Đề nghị đang gõ", "csrf_token": token})
    assert response.status_code == 404  # not told whether it exists, nor who has it
    page = response.get_data(as_text=True)
    assert "Đề nghị đang gõ" in page and _full_name(driver, "officer2") not in page
    assert driver.task(instance_id, "submit_request").id == task_id


def test_a_conflict_found_under_the_lock_is_the_same_409(
    auth: AuthActions, client, driver: WorkflowDriver, monkeypatch
) -> None:
    """The task closes between the page's read and the service's lock (another tab, a deadline)."""
    _, review_id = _review_task(driver)
    auth.login("supervisor1")
    token = auth.csrf_token(f"/tasks/{review_id}")
    driver.complete("supervisor1", review_id, {"decision": "approve"})  # the other tab
    monkeypatch.setattr("workflows.tasks.can_act", lambda *args: True)  # the page's read still saw it open
    response = client.post(
        f"/tasks/{review_id}", data={"decision": "reject", "comment_text": "Không đồng ý", "csrf_token": token}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Việc này đã được xử lý lúc" in page and "Không đồng ý" in page


def test_an_approver_sees_the_request_open(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _, review_id = _review_task(driver)
    auth.login("supervisor1")
    page = client.get(f"/tasks/{review_id}").get_data(as_text=True)
    assert '<details class="context" open>' in page and "Đề nghị" in page


@pytest.mark.usefixtures("in_november")
def test_a_closed_review_shows_its_product_table_criteria_and_decision(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """The walkthrough's case: the monthly evaluation's review, reopened after it was sent on."""
    from tests.fixtures.evaluation import CRITERIA, MONTH, ROWS
    from workflows.models import ProcessInstance

    auth.login("personnel1")
    assert (
        auth.post(
            "/evaluation/open", {"month": MONTH, "unit": "X001", "confirm": "1"}, page="/evaluation/open"
        ).status_code
        == 302
    )
    with driver.session_factory() as s:
        instance_id = s.scalars(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        ).one()
    rows = {f"products-{i}-{key}": value for i, row in enumerate(ROWS) for key, value in row.items()}
    driver.complete(
        "officer1",
        driver.task(instance_id, "self_assessment").id,
        {
            "products": [{k: int(v) if v.isdigit() else v for k, v in row.items()} for row in ROWS],
            **{k: int(v) for k, v in CRITERIA.items()},
            "self_report": "Hoàn thành đầy đủ",
            "proposed_grade": "HTXSNV",
        },
    )
    review_id = driver.task(instance_id, "manager_review").id
    auth.logout()
    auth.login("supervisor1")
    long_form = client.get(f"/tasks/{review_id}").get_data(as_text=True)
    assert '<details class="context">' in long_form  # a long form keeps the procedure's data folded
    changed = {
        **rows,
        "products-1-completed_quality": "18",
        "products-1-reason": "Hai hồ sơ trả lại",
        **CRITERIA,
        "criteria_competence": "8",
        "criteria_reason": "Chậm báo cáo",
    }
    sent = auth.post(f"/tasks/{review_id}", {**changed, "decision": "submit"}, page=f"/tasks/{review_id}")
    assert sent.status_code == 302, re.findall(r'<li><a href="#[^"]*">.*?</li>', sent.get_data(as_text=True))
    page = client.get(f"/tasks/{review_id}").get_data(as_text=True)
    assert 'value="Giải quyết hồ sơ"' in page and 'value="18"' in page  # both rows, as the reviewer left them
    assert "Hai hồ sơ trả lại" in page and "Chậm báo cáo" in page
    assert _checked(page, "decision", "submit") or 'value="submit" selected' in page
    assert re.search(r'name="criteria_competence"[^>]*value="8"|value="8"[^>]*name="criteria_competence"', page)


# -- a form whose CSRF token no longer holds -------------------------------------------------------------------------

FROM_THIS_SITE = {"Origin": "http://localhost"}  # what a browser sends with a form posted from the app's own page
TYPED = {
    "action": "submit",
    "subject_line": "Đề nghị mua máy in",
    "amount": "1200",
    "details": "giữ lại nội dung này",
    "comment_text": "ghi chú kèm theo",
}


def _token_on(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _stale_token(auth: AuthActions, task_id: int) -> str:
    """The token of a task page opened before the person signed out and in again (in another tab): still signed in,
    but the page's token belongs to the old sign-in."""
    token = auth.csrf_token(f"/tasks/{task_id}")
    auth.logout()
    auth.login("officer1")
    return token


def test_an_expired_form_is_shown_again_with_what_was_typed_and_nothing_stored(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    token = _stale_token(auth, task_id)
    before = everything_stored(driver.session_factory)
    refused = client.post(f"/tasks/{task_id}", data={**TYPED, "csrf_token": token}, headers=FROM_THIS_SITE)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Biểu mẫu đã hết hạn nên chưa có gì được lưu hay gửi đi" in page and "bấm “Gửi” lần nữa" in page
    assert 'value="Đề nghị mua máy in"' in page and 'value="1200"' in page
    assert "giữ lại nội dung này" in page and "ghi chú kèm theo" in page
    assert everything_stored(driver.session_factory) == before  # the refused post did nothing
    fresh = _token_on(page)
    assert fresh != token

    sent = client.post(f"/tasks/{task_id}", data={**TYPED, "csrf_token": fresh}, headers=FROM_THIS_SITE)
    assert sent.status_code == 302
    assert driver.task(instance_id, "review_request")


def test_an_expired_draft_names_its_own_button_and_saves_nothing(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    token = _stale_token(auth, task_id)
    before = everything_stored(driver.session_factory)
    refused = client.post(
        f"/tasks/{task_id}", data={**TYPED, "action": "draft", "csrf_token": token}, headers=FROM_THIS_SITE
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "bấm “Lưu nháp” lần nữa" in page and 'value="Đề nghị mua máy in"' in page
    assert everything_stored(driver.session_factory) == before


def test_a_refused_token_from_another_site_gets_the_plain_error_page(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    before = everything_stored(driver.session_factory)
    for headers in ({"Origin": "https://evil.example"}, {}):
        refused = client.post(f"/tasks/{task_id}", data={**TYPED, "csrf_token": "forged"}, headers=headers)
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert "Đề nghị mua máy in" not in page and 'class="taskform"' not in page  # no form filled in for it
    assert everything_stored(driver.session_factory) == before


def test_an_expired_form_of_someone_signed_out_goes_to_sign_in(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    token = auth.csrf_token(f"/tasks/{task_id}")
    auth.logout()
    before = everything_stored(driver.session_factory)
    refused = client.post(f"/tasks/{task_id}", data={**TYPED, "csrf_token": token}, headers=FROM_THIS_SITE)
    assert refused.status_code == 302 and "/auth/login" in refused.headers["Location"]
    assert everything_stored(driver.session_factory) == before


def test_a_form_left_open_for_hours_is_still_accepted(
    auth: AuthActions, client, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    token = auth.csrf_token(f"/tasks/{task_id}")
    hours_later = int(time.time()) + 5 * 3600  # past Flask-WTF's default hour; the sign-in still holds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: hours_later)
    sent = client.post(f"/tasks/{task_id}", data={**TYPED, "csrf_token": token})
    assert sent.status_code == 302
    assert driver.task(instance_id, "review_request")


# -- a task the reader may see but not act on says why ------------------------------------------------------------


def _viewer_notice(page: str) -> str | None:
    notices = lxml_html.fromstring(page).xpath("//p[contains(@class, 'viewer-notice')]")
    return " ".join(notices[0].text_content().split()) if notices else None


def test_a_viewer_who_is_not_the_assignee_is_told_whom_the_task_is_for(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)  # officer1's own request
    auth.login("officer1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert _viewer_notice(page) is None and 'name="subject_line"' in page
    auth.logout()
    auth.login("head1")  # oversees the unit: sees the task, may not fill it in
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    notice = _viewer_notice(page)
    assert notice == f"Việc này được giao cho {_full_name(driver, 'officer1')}; bạn chỉ xem được."
    assert '<section class="readonly">' in page and "<form" not in page.split("<main", 1)[-1]


def test_a_group_task_viewer_is_told_which_role_it_is_for(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _, review_id = _review_task(driver)  # a group task of the supervisors
    auth.login("supervisor1")
    assert _viewer_notice(client.get(f"/tasks/{review_id}").get_data(as_text=True)) is None
    auth.logout()
    auth.login("personnel1")  # oversees the unit, is no supervisor
    notice = _viewer_notice(client.get(f"/tasks/{review_id}").get_data(as_text=True))
    assert notice is not None and notice.startswith(
        "Việc này được giao cho bất kỳ ai có vai trò Lãnh đạo trực tiếp tại"
    )
    assert notice.endswith("; bạn chỉ xem được.")


def test_a_group_task_held_by_someone_else_says_how_to_take_it(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, review_id = _review_task(driver)
    with driver.session_factory() as s, transaction(s):
        task = s.get(HumanTask, review_id)
        assert task is not None
        task.assignee_id = s.scalars(select(User.id).where(User.username == "head1")).one()  # given to head1
    auth.login("head1")
    assert _viewer_notice(client.get(f"/tasks/{review_id}").get_data(as_text=True)) is None
    auth.logout()
    auth.login("supervisor1")  # of the group: may take it once it is back with the group
    notice = _viewer_notice(client.get(f"/tasks/{review_id}").get_data(as_text=True))
    assert notice == (
        f"Việc này đang do {_full_name(driver, 'head1')} xử lý; bạn chỉ xem được. Nếu người đó trả việc về nhóm, "
        "bạn có thể nhận việc ở mục “Việc của nhóm” trong Hộp công việc."
    )


def test_a_closed_task_has_no_viewer_notice(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """A closed task already says what happened to it (who handled it, or why it closed)."""
    _, task_id = _request_task(driver)
    driver.complete("officer1", task_id, {"subject_line": "Đề nghị"})
    auth.login("head1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert _viewer_notice(page) is None and "Việc này đã được xử lý lúc" in page


def test_a_draft_saved_in_the_background_is_stored_and_answered_briefly(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    typed = {"action": "draft", "background": "1", "subject_line": "Gõ rồi rời trang", "amount": "12"}
    response = auth.post(f"/tasks/{task_id}", typed, page=f"/tasks/{task_id}")
    assert response.status_code == 200
    assert response.json is not None and response.json["saved"] is True
    assert re.fullmatch(r"Đã lưu nháp lúc \d\d:\d\d\.", response.json["message"])
    with driver.session_factory() as s:
        draft = s.get(TaskDraft, task_id)
        assert draft is not None and draft.data["subject_line"] == "Gõ rồi rời trang"
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'value="Gõ rồi rời trang"' in page
    assert "Đã lưu nháp. Bạn có thể" not in page and "flash success" not in page  # no flash left for the next page


def test_a_background_save_refused_for_its_token_stores_nothing_and_flashes_nothing(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    token = _stale_token(auth, task_id)
    before = everything_stored(driver.session_factory)
    refused = client.post(
        f"/tasks/{task_id}",
        data={**TYPED, "action": "draft", "background": "1", "csrf_token": token},
        headers=FROM_THIS_SITE,
    )
    assert refused.status_code == 400
    assert refused.json is not None and refused.json["saved"] is False
    assert everything_stored(driver.session_factory) == before
    assert "flash error" not in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_only_a_draft_is_saved_in_the_background(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _request_task(driver)
    auth.login("officer1")
    response = auth.post(f"/tasks/{task_id}", {**TYPED, "background": "1"}, page=f"/tasks/{task_id}")
    assert response.status_code == 400
    assert driver.task(instance_id, "submit_request").id == task_id  # nothing submitted


def test_a_task_form_saves_its_draft_by_itself(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "task_draft.js" in page and "data-autosave" in page and "data-autosave-status" in page


def test_a_refused_form_given_back_is_marked_unsaved_for_the_page_to_save(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _, task_id = _request_task(driver)
    auth.login("officer1")
    refused = auth.post(f"/tasks/{task_id}", {"amount": "-7", "details": "gõ rồi"}, page=f"/tasks/{task_id}")
    assert refused.status_code == 422 and "data-unsaved" in refused.get_data(as_text=True)
    assert "data-unsaved" not in client.get(f"/tasks/{task_id}").get_data(as_text=True)
