"""Evidence per work product in the monthly self-assessment (issue #5): a file in each row of the products table,
through the task page (real Flask test client, real BPMN). Stored like the form's other files, linked to its row, kept
when a row is added, a draft is saved or the manager submits the review, shown as a download link to those who may
see the procedure; refused files and references to other procedures write nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import CRITERIA, MONTH, ROWS, vietnamese
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_api import Api
from tests.webapp.test_api import api as api
from tests.webapp.test_api import tokens as tokens
from workflows.models import Attachment, HumanTask, ProcessInstance, TaskDraft

pytestmark = pytest.mark.usefixtures("in_november")

ACCEPTED = ".pdf, .doc, .docx, .xlsx, .jpg, .png"
PDF_A = b"%PDF-1.4 bien ban hop"
PDF_B = b"%PDF-1.4 ho so da giai quyet"


def _switch(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def _form(rows: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    table = {
        f"products-{i}-{key}": value
        for i, row in enumerate(ROWS if rows is None else rows)
        for key, value in row.items()
    }
    return {**table, **CRITERIA, "self_report": "Hoàn thành", "proposed_grade": "HTXSNV", "action": "submit", **changes}


def _file(content: bytes, name: str) -> tuple[io.BytesIO, str]:
    return (io.BytesIO(content), name)


def _opened(auth: AuthActions, driver: WorkflowDriver) -> tuple[int, HumanTask]:
    auth.login("personnel1")
    assert (
        auth.post(
            "/evaluation/open", {"month": MONTH, "unit": "X001", "confirm": "1"}, page="/evaluation/open"
        ).status_code
        == 302
    )
    _switch(auth, "officer1")
    with driver.session_factory() as s:
        instance_id = s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001"))
    assert instance_id is not None
    return instance_id, driver.task(instance_id, "self_assessment")


def _post(auth: AuthActions, task: HumanTask, data: dict[str, Any]) -> Any:
    return auth.post(f"/tasks/{task.id}", data, page=f"/tasks/{task.id}", content_type="multipart/form-data")


def _data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        workflow = driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance)
        return dict(workflow.last_task.data)


def _attachments(driver: WorkflowDriver) -> list[Attachment]:
    with driver.session_factory() as s:
        return list(s.scalars(select(Attachment).order_by(Attachment.id)))


def _kept(html: str) -> dict[str, str]:
    """The references the page posts back, by input name (what a browser sends with the form)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+__kept)" value="([^"]*)">', html))


def _stored_files(app: Flask) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_each_row_keeps_its_own_evidence_from_self_assessment_to_review(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task = _opened(auth, driver)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="products-0-evidence"' in page and 'type="file"' in page
    submitted = _post(
        auth,
        task,
        _form(
            **{"products-0-evidence": _file(PDF_A, "bien-ban.pdf"), "products-1-evidence": _file(PDF_B, "ho-so.pdf")}
        ),
    )
    assert submitted.status_code == 302

    first, second = _attachments(driver)
    assert (first.filename, first.field_name, first.size) == ("bien-ban.pdf", "products.0.evidence", len(PDF_A))
    assert (second.filename, second.field_name) == ("ho-so.pdf", "products.1.evidence")
    assert first.instance_id == second.instance_id == instance_id
    data = _data(driver, instance_id)
    assert [row.get("evidence") for row in data["products"]] == [f"attachment:{first.id}", f"attachment:{second.id}"]
    assert data["self_score"] == 98.0  # the evidence column is no part of the score
    assert b"bien ban hop" not in driver.instance(instance_id).state.encode()

    # The manager sees each row's file as a link on the review form and on the procedure's page, and downloads both.
    _switch(auth, "supervisor1")
    review = driver.task(instance_id, "manager_review")
    review_page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    for attachment in (first, second):
        assert f'href="/attachments/{attachment.id}" data-attachment="{attachment.id}"' in review_page
    assert _kept(review_page) == {
        "products-0-evidence__kept": f"attachment:{first.id}",
        "products-1-evidence__kept": f"attachment:{second.id}",
    }
    instance_page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    cells = re.findall(r'<td data-column="evidence"><a href="/attachments/(\d+)"', instance_page)
    assert cells == [str(first.id), str(second.id)]
    for attachment, content in ((first, PDF_A), (second, PDF_B)):
        download = client.get(f"/attachments/{attachment.id}")
        assert download.status_code == 200 and download.get_data() == content
        download.close()

    # The review is sent with the references the page holds: the rows keep their files.
    table = {f"products-{i}-{key}": value for i, row in enumerate(ROWS) for key, value in row.items()}
    agreed = auth.post(
        f"/tasks/{review.id}",
        {**table, **CRITERIA, **_kept(review_page), "decision": "submit"},
        page=f"/tasks/{review.id}",
    )
    assert agreed.status_code == 302
    after = _data(driver, instance_id)
    assert [row.get("evidence") for row in after["products"]] == [f"attachment:{first.id}", f"attachment:{second.id}"]
    assert after["score"] == 98.0

    # The head deciding reads the procedure's data beside the form as the instance page shows it: titled fields,
    # the products as a table, each row's file a link — not raw keys and Python lists.
    _switch(auth, "head1")
    decision = driver.task(instance_id, "head_decision")
    decision_page = client.get(f"/tasks/{decision.id}").get_data(as_text=True)
    # The head's form is short (a decision and a note): the procedure's data is shown open, to be read first.
    context = decision_page.split('<details class="context" open>', 1)[1].split("</details>", 1)[0]
    assert re.search(r'<dt title="products">(?!products<)[^<]+</dt>', context)
    assert re.findall(r'<td data-column="evidence"><a href="/attachments/(\d+)"', context) == [
        str(first.id),
        str(second.id),
    ]
    assert "[{" not in context and "'evidence'" not in context

    # Someone who may not see the procedure gets neither the files nor the page.
    for outsider in ("officer2", "officer3"):
        _switch(auth, outsider)
        for attachment in (first, second):
            assert client.get(f"/attachments/{attachment.id}").status_code in (403, 404)
        assert client.get(f"/instances/{instance_id}").status_code in (403, 404)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: _file(b"MZ\x90\x00", "virus.exe"), f"Chỉ chấp nhận tệp có định dạng: {ACCEPTED}."),
        (lambda: _file(b"%PDF" + b"x" * (10 * 1024 * 1024), "qua-lon.pdf"), "Tệp không được lớn hơn 10 MB."),
        (
            lambda: _file(b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode", "fake.pdf"),
            "Nội dung tệp “fake.pdf” không phải là tệp PDF như tên tệp cho thấy; hãy chọn đúng tệp.",
        ),
        (lambda: _file(PDF_A, "bang-tinh.xlsx"), "Nội dung tệp “bang-tinh.xlsx” không phải là tệp XLSX"),
    ],
    ids=["wrong type", "too big", "a program named .pdf", "a pdf named .xlsx"],
)
def test_a_refused_row_file_is_said_on_its_cell_and_only_the_accepted_one_is_kept(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver, upload: Any, message: str
) -> None:
    """Nothing is sent; the accepted file is kept in the draft (decision 0135), the refused one is stored nowhere."""
    instance_id, task = _opened(auth, driver)
    response = _post(
        auth, task, _form(**{"products-0-evidence": _file(PDF_A, "bien-ban.pdf"), "products-1-evidence": upload()})
    )
    response.request.environ["wsgi.input"].close()  # a large test body is spooled to a file nobody else closes
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<div class="field-error" id="products-1-evidence-error" role="alert">(.*?)</div>', page, re.S)
    assert error is not None and message in error.group(1) and "Không giữ tệp" in error.group(1)
    assert 'id="products-0-evidence-error"' not in page
    assert 'value="Tham mưu văn bản"' in page and 'value="Giải quyết hồ sơ"' in page  # the rows are shown again
    assert re.search(r'name="criteria_politics"[^>]*value="10"', page)
    (stored,) = _attachments(driver)
    assert stored.filename == "bien-ban.pdf" and len(_stored_files(app)) == 1
    assert _kept(page) == {"products-0-evidence__kept": f"attachment:{stored.id}"}
    assert driver.task(instance_id, "self_assessment").id == task.id  # still open


def test_adding_a_row_stores_the_chosen_file_and_keeps_its_reference(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task = _opened(auth, driver)
    added = _post(
        auth,
        task,
        _form(**{"products-0-evidence": _file(PDF_A, "bien-ban.pdf"), "add_row__products": "1", "action": ""}),
    )
    assert added.status_code == 200
    page = added.get_data(as_text=True)
    (stored,) = _attachments(driver)
    assert stored.filename == "bien-ban.pdf" and stored.instance_id == instance_id
    assert _kept(page) == {"products-0-evidence__kept": f"attachment:{stored.id}"}
    assert f'data-attachment="{stored.id}"' in page  # a link to what was chosen
    assert 'name="products-2-name"' in page  # the row was added
    assert driver.task(instance_id, "self_assessment").id == task.id

    # Submitted as the browser sends the page back: the reference is in its row, no second copy is stored.
    assert _post(auth, task, {**_form(), **_kept(page)}).status_code == 302
    assert len(_attachments(driver)) == 1
    products = _data(driver, instance_id)["products"]
    assert products[0]["evidence"] == f"attachment:{stored.id}" and "evidence" not in products[1]


def test_a_draft_keeps_the_chosen_row_file(app: Flask, auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _instance_id, task = _opened(auth, driver)
    saved = _post(auth, task, _form(**{"products-1-evidence": _file(PDF_B, "ho-so.pdf"), "action": "draft"}))
    assert saved.status_code == 302
    (stored,) = _attachments(driver)
    with driver.session_factory() as s:
        draft = s.scalars(select(TaskDraft).where(TaskDraft.human_task_id == task.id)).one()
        assert draft.data["products"][1]["evidence"] == f"attachment:{stored.id}"
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert _kept(page) == {"products-1-evidence__kept": f"attachment:{stored.id}"}


def test_a_draft_with_a_refused_file_keeps_everything_else_and_says_which_file(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task = _opened(auth, driver)
    changes = {
        "products-0-evidence": _file(PDF_A, "bien-ban.pdf"),
        "products-1-evidence": _file(b"ghi chu", "ghi-chu.txt"),
        "action": "draft",
    }
    response = _post(auth, task, _form(**changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<div class="field-error" id="products-1-evidence-error" role="alert">(.*?)</div>', page, re.S)
    assert error is not None
    assert "Không giữ tệp “ghi-chu.txt”" in error.group(
        1
    ) and f"Chỉ chấp nhận tệp có định dạng: {ACCEPTED}." in error.group(1)
    assert "Đã lưu nháp, trừ những mục được đánh dấu bên dưới." in page and "Chưa có gì được lưu" not in page
    assert 'value="Tham mưu văn bản"' in page and re.search(r'name="criteria_politics"[^>]*value="10"', page)

    (stored,) = _attachments(driver)  # the accepted file only
    assert stored.filename == "bien-ban.pdf" and len(_stored_files(app)) == 1
    assert _kept(page) == {"products-0-evidence__kept": f"attachment:{stored.id}"}
    with driver.session_factory() as s:
        draft = s.scalars(select(TaskDraft).where(TaskDraft.human_task_id == task.id)).one()
        products = draft.data["products"]
        assert products[0]["evidence"] == f"attachment:{stored.id}" and "evidence" not in products[1]
        assert [row["name"] for row in products] == ["Tham mưu văn bản", "Giải quyết hồ sơ"]
        assert draft.data["self_report"] == "Hoàn thành" and draft.data["criteria_politics"] == 10
    assert driver.task(instance_id, "self_assessment").id == task.id  # a draft submits nothing


def test_a_reference_to_another_procedures_file_is_refused(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task = _opened(auth, driver)
    with driver.session_factory() as s:
        other = s.scalar(
            select(ProcessInstance.id).where(
                ProcessInstance.business_key == f"{MONTH}/CB0002", ProcessInstance.id != instance_id
            )
        )
        assert other is not None
        foreign = Attachment(
            instance_id=other,
            filename="cua-nguoi-khac.pdf",
            content_type="application/pdf",
            size=3,
            sha256="0" * 64,
            uploaded_by_id=1,
        )
        s.add(foreign)
        s.commit()
        foreign_id = foreign.id
    response = _post(auth, task, _form(**{"products-0-evidence__kept": f"attachment:{foreign_id}"}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="products-0-evidence-error"' in page
    assert vietnamese(app, "This file is not attached to this procedure. Choose the file again.") in page
    assert f"attachment:{foreign_id}" not in page
    assert driver.task(instance_id, "self_assessment").id == task.id
    with driver.session_factory() as s:
        assert s.scalar(select(func.count(Attachment.id))) == 1


@pytest.mark.parametrize("reference", ["attachment:9999999999", "attachment:²", "attachment:0"])
def test_a_reference_no_file_can_have_is_refused_like_a_foreign_one(
    app: Flask, auth: AuthActions, driver: WorkflowDriver, reference: str
) -> None:
    # Past the largest id the database would fail on the number (a 500 on PostgreSQL) if it were asked.
    instance_id, task = _opened(auth, driver)
    response = _post(auth, task, _form(**{"products-0-evidence__kept": reference}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert vietnamese(app, "This file is not attached to this procedure. Choose the file again.") in page
    assert driver.task(instance_id, "self_assessment").id == task.id


def test_the_api_accepts_a_rows_stored_reference_like_the_top_level_file(
    auth: AuthActions,
    api: Api,
    driver: WorkflowDriver,
) -> None:
    """The JSON door takes a binary field as the schema types it (a string: the stored reference), in a row as at
    the top level; the score ignores it."""
    instance_id, task = _opened(auth, driver)
    body = {
        "products": [
            {**{k: float(v) if k != "name" else v for k, v in row.items()}, "evidence": f"attachment:{n}"}
            for n, row in enumerate(ROWS, start=1)
        ],
        "criteria_politics": 10,
        "criteria_competence": 9,
        "criteria_innovation": 9,
        "proposed_grade": "HTXSNV",
        "evidence": "attachment:9",
    }
    refused = api.post(f"/api/v1/tasks/{task.id}/complete", "officer1", json={**body, "products": [{"evidence": 5}]})
    assert refused.status_code == 422
    response = api.post(f"/api/v1/tasks/{task.id}/complete", "officer1", json=body)
    assert response.status_code == 200, response.get_json()
    data = _data(driver, instance_id)
    assert [row["evidence"] for row in data["products"]] == ["attachment:1", "attachment:2"]
    assert data["self_score"] == 98.0


def test_the_month_a_small_files_size_and_a_drafts_decimal_read_the_vietnamese_way(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """The instance page names the period "tháng 11/2026" (not "2026-11") and a small file's size in bytes (not
    "0.0 KB"); a decimal typed "9,5" into a draft comes back as "9,5", not "9.5"."""
    instance_id, task = _opened(auth, driver)
    draft = _post(
        auth,
        task,
        _form(**{"criteria_competence": "9,5", "action": "draft", "products-0-evidence": _file(PDF_A, "bien-ban.pdf")}),
    )
    assert draft.status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="criteria_competence"[^>]*>', page)
    assert field is not None and 'value="9,5"' in field.group(0), field
    assert _post(auth, task, _form(**{"products-0-evidence": _file(PDF_A, "bien-ban.pdf")})).status_code == 302
    shown = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    period = re.search(r'<dd data-key="period">(.*?)</dd>', shown)
    assert period is not None and period.group(1) == "tháng 11/2026"
    assert f"({len(PDF_A)} byte" in shown and "0.0 KB" not in shown and "0,0 KB" not in shown


def test_the_evidence_fields_state_their_limit_and_carry_it_for_the_page_script(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _instance_id, task = _opened(auth, driver)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    # The form's own 10 MB, below the server's 20 MB; a server that takes less lowers it (decision 0110).
    general = re.search(r'<input[^>]*id="evidence"[^>]*>', page)
    assert general is not None and 'data-max-bytes="10485760"' in general.group(0)
    assert re.search(r'id="evidence-limit">tối đa 10 MB<', page) and re.search(
        r'id="products-0-evidence-limit">tối đa 10 MB<', page
    )
    assert "evidence-limit" in general.group(0)  # named in aria-describedby
    app.config["MAX_CONTENT_LENGTH"] = 5 * 1024 * 1024
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="evidence-limit">tối đa 5 MB<' in page and 'data-max-bytes="5242880"' in page
    assert "Tệp “{name}” lớn hơn mức tối đa 5 MB; hãy chọn tệp nhỏ hơn." in page


def test_a_draft_over_the_server_limit_stores_nothing_and_leads_back_to_the_task(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id, task = _opened(auth, driver)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = auth.post(
        f"/tasks/{task.id}",
        _form(action="draft", evidence=_file(b"%PDF" + b"x" * (1024 * 1024), "qua-lon.pdf")),
        page=f"/tasks/{task.id}",
        content_type="multipart/form-data",
        headers={"Referer": f"http://localhost/tasks/{task.id}"},
    )
    response.request.environ["wsgi.input"].close()  # a large test body is spooled to a file nobody else closes
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "1 MB" in page and f'href="/tasks/{task.id}" data-history-back>Quay lại</a>' in page
    assert _attachments(driver) == [] and _stored_files(app) == []
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TaskDraft)) == 0
    assert driver.task(instance_id, "self_assessment").id == task.id
