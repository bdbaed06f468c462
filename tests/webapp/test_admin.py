"""Administration page: deploy a version from the browser, see problems that need an administrator."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.models import ProcessVersion

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


def test_unassignable_tasks_are_shown(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    bpmn = FIXTURES / "camunda_assignment.bpmn"
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(bpmn.name, bpmn.read_bytes())], actor=None, forms_dir=None)
    driver.start("camunda_assignment", as_user="personnel1", subject="CB0001", data={"reviewer": "ghost"})
    auth.login("admin")
    page = client.get("/admin").get_data(as_text=True)
    assert "ghost" in page and "Chuẩn bị" in page
    # Why nobody has it, in the administrator's language, with the model's detail as written.
    assert "người xử lý do mô hình chỉ định không phải là tài khoản đang hoạt động: ghost" in page
