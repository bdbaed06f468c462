"""A submission refused on what was entered keeps the files chosen with it (decision 0135): a browser cannot show a
chosen file again, so they are stored and kept in the person's draft, as "Save draft" keeps them, and the page says
so instead of "nothing was saved". Nothing is sent; without a file nothing is saved, as before. Through the monthly
self-assessment's page (real Flask test client, real BPMN)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_evaluation_evidence import PDF_A, PDF_B, _attachments, _data, _file, _form, _kept, _opened, _post
from workflows.models import TaskDraft

pytestmark = pytest.mark.usefixtures("in_november")

KEPT_VI = "Những gì đã nhập và các tệp đã chọn đã được giữ lại trong bản nháp"


def _draft(driver: WorkflowDriver, task_id: int) -> TaskDraft | None:
    with driver.session_factory() as s:
        return s.scalars(select(TaskDraft).where(TaskDraft.human_task_id == task_id)).one_or_none()


def test_a_refused_submission_keeps_its_files_in_the_draft_and_says_so(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """A file under a product row and the general evidence, a criterion scored 11 of 10: refused, the files kept."""
    instance_id, task = _opened(auth, driver)
    chosen = {
        "products-0-evidence": _file(PDF_A, "ok.pdf"),
        "evidence": _file(PDF_B, "khac.pdf"),
        "criteria_politics": "11",
    }
    response = _post(auth, task, _form(**chosen))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Chưa gửi được: hãy sửa những chỗ được đánh dấu dưới đây." in page
    assert "Chưa có gì được lưu" not in page and KEPT_VI in page
    assert 'id="criteria_politics-error"' in page  # the problem is still said on its field
    assert "data-unsaved" not in page  # the page holds what the draft holds

    row, other = _attachments(driver)
    assert (row.filename, row.field_name, other.filename, other.field_name) == (
        "ok.pdf",
        "products.0.evidence",
        "khac.pdf",
        "evidence",
    )
    assert _kept(page) == {
        "products-0-evidence__kept": f"attachment:{row.id}",
        "evidence__kept": f"attachment:{other.id}",
    }
    assert f'data-attachment="{row.id}"' in page  # each file shown with its field
    draft = _draft(driver, task.id)
    assert draft is not None and draft.data["products"][0]["evidence"] == f"attachment:{row.id}"
    assert draft.data["evidence"] == f"attachment:{other.id}" and draft.data["criteria_politics"] == 11
    assert driver.task(instance_id, "self_assessment").id == task.id  # nothing was sent

    # The form comes back with the files in their fields.
    again = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert _kept(again) == _kept(page)

    # Corrected and sent as the browser sends the page back: the same files, no second copy.
    assert _post(auth, task, {**_form(), **_kept(page)}).status_code == 302
    assert len(_attachments(driver)) == 2
    data = _data(driver, instance_id)
    assert data["products"][0]["evidence"] == f"attachment:{row.id}" and data["evidence"] == f"attachment:{other.id}"


def test_a_refused_submission_without_a_file_saves_nothing(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task = _opened(auth, driver)
    response = _post(auth, task, _form(criteria_politics="11"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Chưa có gì được lưu: hãy sửa những chỗ được đánh dấu dưới đây." in page and KEPT_VI not in page
    assert "data-unsaved" in page
    assert _attachments(driver) == [] and _draft(driver, task.id) is None
    assert driver.task(instance_id, "self_assessment").id == task.id


def test_a_refused_submission_whose_only_file_is_refused_saves_nothing(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _instance_id, task = _opened(auth, driver)
    response = _post(auth, task, _form(**{"products-0-evidence": _file(b"ghi chu", "ghi-chu.txt")}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Chưa có gì được lưu" in page and KEPT_VI not in page
    error = re.search(r'<div class="field-error" id="products-0-evidence-error" role="alert">(.*?)</div>', page, re.S)
    assert error is not None and "Chỉ chấp nhận tệp có định dạng" in error.group(1)
    assert _attachments(driver) == [] and _draft(driver, task.id) is None
