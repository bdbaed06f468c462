"""Administration page: deploy a version from the browser, see problems that need an administrator."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle, in_use, reinstate_process, retire_process
from workflows.deployment.validation import BundleFile
from workflows.engine.operations import latest_version
from workflows.models import AuditEvent, ProcessInstance, ProcessVersion
from workflows.registry.models import User

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


def _versions(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(ProcessVersion)) or 0


@pytest.mark.parametrize("username", ["officer1", "supervisor1", "personnel1", "auditor1"])
def test_only_administrators(auth: AuthActions, client, username: str, driver: WorkflowDriver) -> None:
    auth.login(username)
    assert client.get("/admin").status_code == 403
    before = _versions(driver)
    data = {"files": (io.BytesIO((FIXTURES / "two_versions_v1.bpmn").read_bytes()), "versioned.bpmn")}
    response = auth.post("/admin/processes", data, content_type="multipart/form-data")
    assert response.status_code == 403 and _versions(driver) == before


def test_upload_deploys_a_new_version(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("admin")
    assert "Quản trị" in client.get("/admin").get_data(as_text=True)
    data = {"files": (io.BytesIO((FIXTURES / "two_versions_v1.bpmn").read_bytes()), "versioned.bpmn")}
    response = auth.post("/admin/processes", data, page="/admin", content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get("/admin").get_data(as_text=True)
    assert "versioned" in page


def test_a_broken_model_lists_its_problems_and_stores_nothing(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("admin")
    before = _versions(driver)
    data = {"files": (io.BytesIO((FIXTURES / "xsd_error.bpmn").read_bytes()), "xsd_error.bpmn")}
    response = auth.post("/admin/processes", data, page="/admin", content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "xsd_error.bpmn" in body and "7" in body
    assert _versions(driver) == before
    empty = auth.post("/admin/processes", {}, page="/admin", content_type="multipart/form-data")
    assert empty.status_code == 422


def _refused_page(auth: AuthActions, *names: str) -> str:
    files = [(io.BytesIO((FIXTURES / name).read_bytes()), name) for name in names]
    response = auth.post("/admin/processes", {"files": files}, page="/admin", content_type="multipart/form-data")
    assert response.status_code == 422
    return html.unescape(response.get_data(as_text=True))


def test_a_models_problems_are_said_in_the_administrators_language_with_their_ids(auth: AuthActions) -> None:
    """Each problem in Vietnamese (the default) or English, with where it is and what it names filled in."""
    auth.login("admin")
    page = _refused_page(auth, "with_dmn.bpmn")
    assert (
        "tệp with_dmn.bpmn, dòng 7, phần tử compute_grade: Quyết định (decision) 'grade_decision' không được định "
        "nghĩa trong tệp DMN nào của gói triển khai (gói không có quyết định nào)"
    ) in page
    assert "is not defined" not in page and "element compute_grade" not in page
    page = _refused_page(auth, "xsd_error.bpmn")
    assert (
        "tệp xsd_error.bpmn, dòng 7, phần tử Flow_2: Không đúng lược đồ (XSD). Chi tiết kỹ thuật: "
        "Element 'bpmn:sequenceFlow'"
    ) in page

    auth.post("/auth/language", {"locale": "en", "next": "/admin"}, page="/admin")
    page = _refused_page(auth, "with_dmn.bpmn")
    assert (
        "with_dmn.bpmn, line 7, element compute_grade: decision 'grade_decision' is not defined in any DMN file of "
        "the bundle (decisions available: none)"
    ) in page


def test_a_file_that_is_not_xml_says_where_in_the_administrators_language_then_what_lxml_said(
    auth: AuthActions,
) -> None:
    """Not lxml's English alone: what is wrong and where (line, column) in Vietnamese, lxml's words after it for
    whoever debugs the model."""
    auth.login("admin")
    page = _refused_page(auth, "malformed.bpmn")
    assert (
        "tệp malformed.bpmn, dòng 8, cột 1: Tệp BPMN không phải XML hợp lệ. Chi tiết kỹ thuật: AttValue: ' expected"
    ) in page
    assert "malformed XML" not in page and "XML không đúng cú pháp" not in page and "line 8" not in page

    auth.post("/auth/language", {"locale": "en", "next": "/admin"}, page="/admin")
    page = _refused_page(auth, "malformed.bpmn")
    assert (
        "malformed.bpmn, line 8, column 1: The BPMN file is not valid XML. Technical details: AttValue: ' expected"
    ) in page


def test_a_bundle_refused_before_validation_says_so_in_the_administrators_language(auth: AuthActions) -> None:
    auth.login("admin")
    form = b'{"type": "object"}'
    files = [(io.BytesIO(form), "a.json"), (io.BytesIO(form), "a.json")]
    response = auth.post("/admin/processes", {"files": files}, page="/admin", content_type="multipart/form-data")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "tệp a.json: Có tên tệp xuất hiện hai lần trong gói triển khai" in page


def test_unassignable_tasks_are_shown(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    bpmn = FIXTURES / "camunda_assignment.bpmn"
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(bpmn.name, bpmn.read_bytes())], actor=None, forms_dir=None)
    instance_id = driver.start("camunda_assignment", as_user="personnel1", subject="CB0001", data={"reviewer": "ghost"})
    auth.login("admin")
    page = client.get("/admin").get_data(as_text=True)
    assert "ghost" in page and "Chuẩn bị" in page
    # Why nobody has it, in the administrator's language, with the model's detail as written.
    assert "người xử lý do mô hình chỉ định không phải là tài khoản đang hoạt động: ghost" in page
    # The procedure by its name and case number, linked to the instance.
    (row,) = lxml_html.fromstring(page).xpath("//section[1]//tr[td][contains(., 'ghost')]")
    (link,) = row.xpath("td[2]/a")
    assert link.text_content() == f"Giao việc theo thuộc tính Camunda — hồ sơ số {instance_id}"
    assert link.get("href") == f"/instances/{instance_id}"


def _review(driver: WorkflowDriver, officer: str, cadre: str) -> int:
    instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
    driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    return instance_id


def test_tasks_whose_role_nobody_holds_are_shown(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """A group task assigned without a problem can still wait for nobody: Phường Bình Minh has no direct supervisor
    in the small demo, so its review is in no inbox. Xã An Phú's review (supervisor1 takes it) is not listed."""
    x002, x001 = _review(driver, "officer3", "CB0005"), _review(driver, "officer1", "CB0001")
    auth.login("admin")
    page = client.get("/admin").get_data(as_text=True)
    assert "Không có việc gì cần xử lý" not in page
    rows = lxml_html.fromstring(page).xpath("//section[1]//tr[td]")
    listed = {row.xpath("string(td[2])").strip(): row.xpath("string(td[3])").strip() for row in rows}
    assert listed == {
        f"Phê duyệt đề nghị (mẫu) — hồ sơ số {x002}": "Không người dùng nào đang hoạt động có vai trò Lãnh đạo trực "
        "tiếp tại Phường Bình Minh hoặc đơn vị cấp trên."
    }
    assert rows[0].xpath("td[2]/a/@href") == [f"/instances/{x002}"]
    assert f"hồ sơ số {x001}" not in page and f"#{x002}" not in page


def test_a_procedure_whose_last_step_failed_is_named_by_its_name_and_case_number(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """As the other lists of the page and every other page name a case — not "sample_approval #12"."""
    instance_id = _review(driver, "officer1", "CB0001")
    with driver.session_factory() as s, transaction(s):
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        instance.last_error = "NameError: boom (element review_outcome)"
    auth.login("admin")
    page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = page.xpath("//section[1]//tr[td][contains(., 'NameError: boom')]")
    assert row.xpath("string(td[1])").strip() == f"Phê duyệt đề nghị (mẫu) — hồ sơ số {instance_id}"
    assert row.xpath("td[1]/a/@href") == [f"/instances/{instance_id}"]
    assert "sample_approval" not in row.xpath("string(td[1])")


# -- withdrawing a procedure from use (decision 0050) -------------------------------------------------------------


def _withdrawn(driver: WorkflowDriver, process_id: str) -> bool:
    with driver.session_factory() as s:
        return not in_use(s, process_id)


def test_a_procedure_is_withdrawn_from_use_and_put_back(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("admin")
    page = client.get("/admin").get_data(as_text=True)
    assert 'action="/admin/processes/sample_approval/withdraw"' in page

    refused = auth.post("/admin/processes/sample_approval/withdraw", {"reason": "  "}, page="/admin")
    assert refused.status_code == 422 and not _withdrawn(driver, "sample_approval")
    body = refused.get_data(as_text=True)
    assert "Hãy nêu lý do" in body and 'aria-invalid="true"' in body and "<details open>" in body

    done = auth.post("/admin/processes/sample_approval/withdraw", {"reason": "Thay bằng quy trình mới"}, page="/admin")
    assert done.status_code == 302 and _withdrawn(driver, "sample_approval")
    page = client.get("/admin").get_data(as_text=True)
    assert "Thay bằng quy trình mới" in page and 'action="/admin/processes/sample_approval/reinstate"' in page
    assert "Phê duyệt đề nghị (mẫu) đã ngừng sử dụng" in page  # said by its name, not its model id
    again = auth.post("/admin/processes/sample_approval/withdraw", {"reason": "Lần nữa"}, page="/admin")
    assert again.status_code == 302 and "đã ngừng sử dụng" in client.get("/admin").get_data(as_text=True)

    # Nobody starts it any more: not offered, and refused when posted anyway; the lists still filter by it.
    auth.logout()
    auth.login("personnel1")
    assert 'value="sample_approval"' not in client.get("/instances/start").get_data(as_text=True)
    posted = auth.post(
        "/instances/start", {"process_id": "sample_approval", "subject": "CB0001", "unit": ""}, page="/instances/start"
    )
    assert posted.status_code == 422
    assert 'value="sample_approval"' in client.get("/instances").get_data(as_text=True)

    auth.logout()
    auth.login("admin")
    back = auth.post(
        "/admin/processes/sample_approval/reinstate", {"reason": "Quy trình mới chưa ban hành"}, page="/admin"
    )
    assert back.status_code == 302 and not _withdrawn(driver, "sample_approval")
    assert "Phê duyệt đề nghị (mẫu) đã được dùng lại" in client.get("/admin").get_data(as_text=True)
    assert auth.post("/admin/processes/nothing_like_it/withdraw", {"reason": "x"}, page="/admin").status_code == 404
    assert auth.post("/admin/processes/nothing_like_it/reinstate", {"reason": "x"}, page="/admin").status_code == 404
    assert auth.post("/admin/processes/sample_approval/reinstate", {"csrf_token": "forged"}).status_code == 400


def _reinstated_reasons(driver: WorkflowDriver) -> list[str]:
    with driver.session_factory() as s:
        payloads = s.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "process_reinstated")).all()
    return [json.loads(payload)["reason"] for payload in payloads]


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Hãy nêu lý do dùng lại quy trình"), ("   ", "Hãy nêu lý do dùng lại quy trình"), ("x" * 501, "Tối đa 500")],
)
def test_putting_a_procedure_back_in_use_asks_why_and_changes_nothing_without_it(
    auth: AuthActions, client, driver: WorkflowDriver, reason: str, message: str
) -> None:
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="sample_approval", reason="Thay bằng quy trình mới")
    auth.login("admin")
    page = client.get("/admin").get_data(as_text=True)
    assert 'id="reinstate-reason-sample_approval"' in page and 'name="reason"' in page
    before = everything_stored(driver.session_factory)
    refused = auth.post("/admin/processes/sample_approval/reinstate", {"reason": reason}, page="/admin")
    assert refused.status_code == 422 and _withdrawn(driver, "sample_approval")
    assert everything_stored(driver.session_factory) == before
    body = html.unescape(refused.get_data(as_text=True))
    assert message in body and 'aria-invalid="true"' in body and "<details open>" in body
    assert _reinstated_reasons(driver) == []
    done = auth.post(
        "/admin/processes/sample_approval/reinstate", {"reason": "  Quy trình mới  chưa ban hành "}, page="/admin"
    )
    assert done.status_code == 302 and not _withdrawn(driver, "sample_approval")
    assert _reinstated_reasons(driver) == ["Quy trình mới chưa ban hành"]


def test_a_withdrawn_procedures_start_page_says_so_before_it_is_filled_in(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("personnel1")
    assert "ngừng sử dụng" not in client.get("/appointments/start").get_data(as_text=True)
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="appointment", reason="Chờ quy định mới của tỉnh")
    page = client.get("/appointments/start")
    assert page.status_code == 200
    text = " ".join(lxml_html.fromstring(page.get_data(as_text=True)).text_content().split())
    assert "Quy trình này đã ngừng sử dụng từ" in text and "(Chờ quy định mới của tỉnh)" in text
    assert "quản trị viên" in text
    # Said once, on this page only: not carried to the next one.
    assert "ngừng sử dụng" not in client.get("/inbox").get_data(as_text=True)
    assert "ngừng sử dụng" not in client.get("/rotations/start").get_data(as_text=True)


@pytest.mark.parametrize("username", ["officer1", "personnel1", "auditor1"])
def test_only_administrators_withdraw(auth: AuthActions, username: str, driver: WorkflowDriver) -> None:
    auth.login(username)
    response = auth.post("/admin/processes/sample_approval/withdraw", {"reason": "x"})
    assert response.status_code == 403 and not _withdrawn(driver, "sample_approval")


def test_the_api_says_which_procedures_are_withdrawn(app, client, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="sample_approval", reason="Thay thế")
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["processes", "list"]).output
    assert "withdrawn" in listed and "Thay thế" in listed
    assert runner.invoke(args=["processes", "reinstate", "sample_approval"]).exit_code != 0  # --reason is required
    refused = runner.invoke(args=["processes", "reinstate", "sample_approval", "--reason", " "])
    assert refused.exit_code == 1 and _withdrawn(driver, "sample_approval")
    reinstated = runner.invoke(args=["processes", "reinstate", "sample_approval", "--reason", "Dùng lại"])
    assert reinstated.exit_code == 0 and not _withdrawn(driver, "sample_approval")
    refused = runner.invoke(args=["processes", "withdraw", "sample_approval", "--reason", " "])
    assert refused.exit_code == 1 and not _withdrawn(driver, "sample_approval")
    assert runner.invoke(args=["processes", "withdraw", "sample_approval", "--reason", "Hết hiệu lực"]).exit_code == 0
    assert _withdrawn(driver, "sample_approval")


# -- using an earlier version again (decision 0055) ---------------------------------------------------------------

V1 = BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v1.bpmn").read_bytes())
V2 = BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v2.bpmn").read_bytes())
PAGE = "/admin/processes/versioned"
ROLLBACK = "/admin/processes/versioned/rollback"


def _two_versions(driver: WorkflowDriver) -> None:
    """versioned v1 by the system (as at start-up), v2 by the administrator."""
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [V1], actor=None, forms_dir=None)
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        deploy_bundle(s, [V2], actor=admin, forms_dir=None)


def _state(driver: WorkflowDriver) -> tuple[int, int, int]:
    """Versions, audit events, the version new instances start on."""
    with driver.session_factory() as s:
        versions = s.scalar(select(func.count()).select_from(ProcessVersion)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        return versions, events, latest_version(s, "versioned").version


def test_the_procedures_page_lists_its_versions_and_uses_an_earlier_one_again(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _two_versions(driver)
    running = driver.start("versioned", as_user="personnel1", subject="CB0001")
    auth.login("admin")
    assert f'href="{PAGE}"' in client.get("/admin").get_data(as_text=True)
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "Quy trình có phiên bản (v2)" in page and "Các phiên bản" in page
    assert '<tr data-version="2" data-current="true">' in page and "Phiên bản đang dùng" in page
    assert "Quản trị hệ thống" in page and "Hệ thống" in page  # who deployed v2, and v1
    assert f'action="{ROLLBACK}"' in page and 'name="version" value="1"' in page and "Dùng lại phiên bản này" in page
    assert 'name="version" value="2"' not in page  # the version in use offers nothing

    done = auth.post(ROLLBACK, {"version": "1", "reason": "Phiên bản 2 sai bước duyệt"}, page=PAGE)
    assert done.status_code == 302 and done.headers["Location"] == PAGE
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "hồ sơ mới nay theo phiên bản 3, có nội dung của phiên bản 1" in page
    assert '<tr data-version="3" data-current="true">' in page and "cùng nội dung với v1" in page
    assert "cùng nội dung với phiên bản đang dùng" in page  # v1: nothing to go back to
    assert _state(driver)[2] == 3 and driver.version_of(running) == 2
    started = driver.start("versioned", as_user="personnel1", subject="CB0001")
    assert driver.version_of(started) == 3
    with driver.session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "process_rolled_back")).one()
        assert event.actor_name == "admin" and '"reason":"Phiên bản 2 sai bước duyệt"' in event.payload
    # The audit log names the event in the reader's language, and its row shows the reason and the versions.
    logged = client.get("/audit/events?event_type=process_rolled_back").get_data(as_text=True)
    assert "Dùng lại phiên bản trước của quy trình" in logged
    said = (
        "Dùng lại phiên bản trước của quy trình (v3). Nội dung của v1, thay cho v2. Lý do: Phiên bản 2 sai bước duyệt"
    )
    assert said in " ".join(lxml_html.fromstring(logged).text_content().split())


def test_on_a_phone_each_version_row_names_its_running_count(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """A narrow screen hides the table's header row (app.css): the running count, a bare number otherwise, and the
    other cells that do not say what they are carry their column's name, shown before the value."""
    _two_versions(driver)
    driver.start("versioned", as_user="personnel1", subject="CB0001")
    auth.login("admin")
    page = lxml_html.fromstring(client.get(PAGE).get_data(as_text=True))
    headers = page.xpath('//section[@id="versions"]//thead//th/text()')
    assert "Đang chạy" in headers
    running = {
        row.get("data-version"): row.xpath('./td[@data-label="Đang chạy"]//text()')
        for row in page.xpath('//section[@id="versions"]//tbody/tr')
    }
    assert running == {"1": ["0"], "2": ["1"]}
    labels = page.xpath('//section[@id="versions"]//tbody/tr[@data-version="2"]/td/@data-label')
    assert set(labels) <= set(headers) and len(labels) == 7
    stylesheet = client.get("/static/app.css")
    css = stylesheet.get_data(as_text=True)
    stylesheet.close()
    narrow = css[css.index("@media (max-width: 700px)") :]
    assert "table.tasks td[data-label]::before { content: attr(data-label)" in narrow


def test_a_withdrawn_procedure_is_said_to_stay_withdrawn(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _two_versions(driver)
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="versioned", reason="Phiên bản 2 sai")
    auth.login("admin")
    assert "Ngừng sử dụng từ" in client.get(PAGE).get_data(as_text=True)
    done = auth.post(ROLLBACK, {"version": "1", "reason": "Quay về phiên bản 1"}, page=PAGE)
    assert done.status_code == 302 and _withdrawn(driver, "versioned")
    assert "vẫn đang ngừng sử dụng" in html.unescape(client.get(PAGE).get_data(as_text=True))
    with driver.session_factory() as s, transaction(s):
        reinstate_process(s, actor=None, process_id="versioned", reason="Phiên bản 1 dùng được")
    assert driver.version_of(driver.start("versioned", as_user="personnel1", subject="CB0001")) == 3


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"version": "1", "reason": "  "}, 422, "Hãy nêu lý do dùng lại phiên bản trước"),
        ({"version": "1"}, 422, "Hãy nêu lý do dùng lại phiên bản trước"),
        ({"version": "9", "reason": "x"}, 422, "Quy trình này không có phiên bản 9."),
        ({"version": "0", "reason": "x"}, 422, "Hãy chọn một phiên bản của quy trình."),
        ({"version": "99999999999999999999", "reason": "x"}, 422, "Hãy chọn một phiên bản của quy trình."),
        ({"version": "một", "reason": "x"}, 422, "Không phải là số nguyên hợp lệ."),
        ({"version": "1_000", "reason": "x"}, 422, "Không phải là số nguyên hợp lệ."),  # int() reads it; no id is so
        ({"version": "١", "reason": "x"}, 422, "Không phải là số nguyên hợp lệ."),
        ({"reason": "x"}, 422, "Hãy chọn một phiên bản của quy trình."),
        ({"version": "2", "reason": "x"}, 409, "Phiên bản 2 đang được dùng."),
    ],
)
def test_a_bad_request_is_refused_in_vietnamese_and_changes_nothing(
    auth: AuthActions, driver: WorkflowDriver, data: dict, status: int, message: str
) -> None:
    _two_versions(driver)
    before = _state(driver)
    auth.login("admin")
    response = auth.post(ROLLBACK, data, page=PAGE)
    assert response.status_code == status
    assert message in html.unescape(response.get_data(as_text=True))
    assert _state(driver) == before


def test_a_version_of_another_procedure_or_an_unknown_procedure_is_not_found_and_changes_nothing(
    auth: AuthActions, driver: WorkflowDriver
) -> None:
    _two_versions(driver)  # versioned has v2; sample_approval has only v1
    before = _state(driver)
    auth.login("admin")
    other = auth.post("/admin/processes/sample_approval/rollback", {"version": "2", "reason": "x"}, page=PAGE)
    assert other.status_code == 422
    assert "Quy trình này không có phiên bản 2." in html.unescape(other.get_data(as_text=True))
    unknown = auth.post("/admin/processes/nothing_like_it/rollback", {"version": "1", "reason": "x"}, page=PAGE)
    assert unknown.status_code == 404
    assert auth.client.get("/admin/processes/nothing_like_it").status_code == 404
    assert _state(driver) == before


@pytest.mark.parametrize("username", ["officer1", "supervisor1", "personnel1", "auditor1"])
def test_only_administrators_use_an_earlier_version_again(
    auth: AuthActions, client, username: str, driver: WorkflowDriver
) -> None:
    _two_versions(driver)
    before = _state(driver)
    auth.login(username)
    assert client.get(PAGE).status_code == 403
    assert auth.post(ROLLBACK, {"version": "1", "reason": "x"}).status_code == 403
    assert _state(driver) == before


def test_a_rollback_without_the_forms_token_is_refused(auth: AuthActions, driver: WorkflowDriver) -> None:
    _two_versions(driver)
    before = _state(driver)
    auth.login("admin")
    forged = auth.post(ROLLBACK, {"version": "1", "reason": "x", "csrf_token": "forged"})
    assert forged.status_code == 400 and _state(driver) == before


def test_uploading_an_earlier_versions_file_points_to_using_it_again(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _two_versions(driver)
    before = _state(driver)
    auth.login("admin")
    data = {"files": (io.BytesIO(V1.content), "versioned.bpmn")}
    response = auth.post("/admin/processes", data, page="/admin", content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert (
        "nội dung này là phiên bản 1, một phiên bản trước; không có gì thay đổi và hồ sơ mới vẫn theo phiên bản 2"
    ) in page
    assert "“Dùng lại phiên bản này”" in page
    assert _state(driver) == before


# -- a version's diagram, files and changes; its running procedures --------------------------------------------

V3_RENAMED = BundleFile(
    "versioned.bpmn",
    V2.content.replace("Bước đầu".encode(), "Bước đầu đã đổi tên".encode()).replace(
        b'id="Definitions_versioned_v2"', b'id="Definitions_versioned_v3"'
    ),
)


def _three_versions(driver: WorkflowDriver) -> None:
    _two_versions(driver)
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [V3_RENAMED], actor=None, forms_dir=None)


def test_each_version_compares_its_steps_with_the_version_before(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _three_versions(driver)
    auth.login("admin")
    page = lxml_html.fromstring(client.get(PAGE).get_data(as_text=True))

    def changes(version: int) -> list[tuple[str, str]]:
        items = page.xpath(f'//tr[@data-version="{version}"]//li[@data-change]')
        return [(li.get("data-change"), " ".join(li.text_content().split())) for li in items]

    assert changes(2) == [("added", "Thêm bước: Bước bổ sung second_step Bước do người thực hiện")]
    assert changes(3) == [("renamed", "Đổi tên bước: first_step “Bước đầu” → “Bước đầu đã đổi tên”")]
    first = page.xpath('//tr[@data-version="1"]/td[@data-label="So với phiên bản trước"]')[0].text_content()
    assert "Phiên bản đầu tiên" in first
    # The version page draws the version's own diagram and says the same.
    shown = client.get(f"{PAGE}/versions/3")
    body = html.unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200 and 'class="bpmn-diagram' in body  # a model without DI says so in its place
    assert "Bước đầu đã đổi tên" in body and "“Bước đầu” → “Bước đầu đã đổi tên”" in body
    assert "'sha256-" in shown.headers["Content-Security-Policy"]  # the diagram's styles, allowed by hash
    assert f'href="{PAGE}/versions/3/files/versioned.bpmn"' in body
    assert client.get(f"{PAGE}/versions/9").status_code == 404
    drawn = client.get("/admin/processes/sample_approval/versions/1").get_data(as_text=True)
    assert 'class="bpmn-diagram" viewBox=' in drawn and 'data-process-id="sample_approval"' in drawn
    assert client.get("/admin/processes/nothing_like_it/versions/1").status_code == 404


def test_a_versions_files_download_as_they_were_stored(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _two_versions(driver)
    auth.login("admin")
    assert f'href="{PAGE}/versions/1/files/versioned.bpmn"' in client.get(PAGE).get_data(as_text=True)
    response = client.get(f"{PAGE}/versions/1/files/versioned.bpmn")
    assert response.status_code == 200 and response.get_data() == V1.content
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "versioned-v1-versioned.bpmn" in response.headers["Content-Disposition"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert client.get(f"{PAGE}/versions/1/files/other.bpmn").status_code == 404
    assert client.get(f"{PAGE}/versions/3/files/versioned.bpmn").status_code == 404
    # A version that stores forms offers them too.
    sample = lxml_html.fromstring(client.get("/admin/processes/sample_approval").get_data(as_text=True))
    links = sample.xpath('//tr[@data-version="1"]//a[contains(@href, "/files/")]/@href')
    assert any(link.endswith(".bpmn") for link in links) and any(link.endswith(".json") for link in links), links
    folded = sample.xpath('//tr[@data-version="1"]//details[@class="version-forms"]')
    assert folded and all(link.endswith(".json") for link in folded[0].xpath(".//a/@href"))  # the forms, folded
    form = client.get(next(link for link in links if link.endswith(".json")))
    assert form.status_code == 200 and "attachment" in form.headers["Content-Disposition"]
    json.loads(form.get_data())


@pytest.mark.parametrize("username", ["officer1", "supervisor1", "personnel1", "auditor1"])
def test_only_administrators_see_a_versions_diagram_and_files(
    auth: AuthActions, client, driver: WorkflowDriver, username: str
) -> None:
    _two_versions(driver)
    auth.login(username)
    for url in (f"{PAGE}/versions/2", f"{PAGE}/versions/1/files/versioned.bpmn", PAGE):
        assert client.get(url).status_code == 403, url


def test_a_versions_running_count_lists_its_running_procedures(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [V1], actor=None, forms_dir=None)
    on_v1 = driver.start("versioned", as_user="personnel1", subject="CB0001")
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [V2], actor=None, forms_dir=None)
    on_v2 = driver.start("versioned", as_user="personnel1", subject="CB0001")
    auth.login("admin")
    page = lxml_html.fromstring(client.get(PAGE).get_data(as_text=True))
    link = page.xpath('//tr[@data-version="1"]/td[@data-label="Đang chạy"]/a')[0]
    assert link.text == "1" and link.get("href") == "/instances?process=versioned&version=1&status=running"
    listed = lxml_html.fromstring(client.get(link.get("href")).get_data(as_text=True))
    assert [int(i) for i in listed.xpath("//tr/@data-instance-id")] == [on_v1]
    v2 = lxml_html.fromstring(client.get("/instances?process=versioned&version=v2").get_data(as_text=True))
    assert [int(i) for i in v2.xpath("//tr/@data-instance-id")] == [on_v2]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("process=versioned&version=abc", "Hãy nhập số phiên bản, ví dụ 2."),
        ("process=versioned&version=0", "Hãy nhập số phiên bản, ví dụ 2."),
        ("process=versioned&version=-1", "Hãy nhập số phiên bản, ví dụ 2."),
        ("process=versioned&version=" + "9" * 30, "Hãy nhập số phiên bản, ví dụ 2."),
        ("process=versioned&version=3", "Quy trình này không có phiên bản 3."),
        ("version=1", "Hãy chọn một quy trình để lọc theo phiên bản của nó."),
    ],
)
def test_a_version_filter_that_cannot_apply_is_named_in_vietnamese(
    auth: AuthActions, client, driver: WorkflowDriver, query: str, message: str
) -> None:
    _two_versions(driver)
    started = driver.start("versioned", as_user="personnel1", subject="CB0001")
    auth.login("admin")
    response = client.get(f"/instances?{query}")
    assert response.status_code == 400  # refused as the audit log refuses a filter (decision 0112)
    page = lxml_html.fromstring(response.get_data(as_text=True))
    assert page.xpath('//div[@role="alert"]//li/text()') == [message]
    assert page.xpath('//input[@name="version"]/@aria-invalid') == ["true"]
    assert started not in [int(i) for i in page.xpath("//tr/@data-instance-id")]


def test_a_withdrawn_procedure_is_put_back_in_use_from_its_own_page(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _two_versions(driver)
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="versioned", reason="Phiên bản 2 sai")
    auth.login("admin")
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "Phiên bản mới nhất (đang ngừng sử dụng)" in page and "Phiên bản đang dùng" not in page
    assert 'action="/admin/processes/versioned/reinstate"' in page and 'name="back" value="process"' in page

    before = everything_stored(driver.session_factory)
    refused = auth.post("/admin/processes/versioned/reinstate", {"reason": " ", "back": "process"}, page=PAGE)
    assert refused.status_code == 422 and everything_stored(driver.session_factory) == before
    body = html.unescape(refused.get_data(as_text=True))
    assert "Hãy nêu lý do dùng lại quy trình" in body and 'id="reinstate-reason-error"' in body
    assert "Các phiên bản" in body  # the procedure's page again, not the administration page

    done = auth.post("/admin/processes/versioned/reinstate", {"reason": "Đã sửa", "back": "process"}, page=PAGE)
    assert done.status_code == 302 and done.headers["Location"] == PAGE
    assert not _withdrawn(driver, "versioned") and _reinstated_reasons(driver) == ["Đã sửa"]
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "Phiên bản đang dùng" in page and "đang ngừng sử dụng)" not in page and 'name="back"' not in page
