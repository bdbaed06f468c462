"""The task page: form built from the task's JSON Schema, validation keeping input, drafts, decisions, uploads."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.models import script_model
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.text_fields import MAX_COMMENT
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.models import Attachment, Comment, TaskDraft
from workflows.states import InstanceStatus


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
    assert again.status_code in (403, 404)  # closed: no longer anyone's to act on


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
        assert response.status_code == 422 and f"Tối đa {MAX_COMMENT} ký tự." in response.get_data(as_text=True)
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
    assert response.status_code in (403, 404, 302)
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
