"""User accounts through the real app: an administrator creates an account, grants and removes roles, deactivates
and reactivates it, resets its password; each change is audited, each refusal says why in Vietnamese and writes
nothing, and nobody else reaches these pages."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from lxml import html as lxml_html
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.accounts.views import PER_PAGE
from webapp.extensions import db
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.models import AuditEvent
from workflows.registry.models import OrgUnit, RoleAssignment, User
from workflows.registry.tokens import create_token
from workflows.states import Role


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _unit_id(driver: WorkflowDriver, code: str) -> int:
    with driver.session_factory() as s:
        unit_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
        assert unit_id is not None
        return unit_id


def _user(driver: WorkflowDriver, username: str) -> User | None:
    with driver.session_factory() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is not None:
            _ = user.role_assignments
            s.expunge(user)
        return user


def _events(driver: WorkflowDriver, user_id: int | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    with driver.session_factory() as s:
        query = select(AuditEvent).where(AuditEvent.chain_key.like("user:%")).order_by(AuditEvent.id)
        if user_id is not None:
            query = query.where(AuditEvent.chain_key == f"user:{user_id}")
        return [(e.event_type, e.actor_name, json.loads(e.payload)) for e in s.scalars(query)]


def _temporary_password(response: Any) -> str:
    (code,) = _doc(response).xpath('//section[@id="temporary-password"]//code')
    return code.text_content().strip()


def _create(auth: AuthActions, driver: WorkflowDriver, **fields: str) -> Any:
    data = {
        "username": "nguyen.van.an",
        "full_name": "Nguyễn Văn An",
        "email": "an@example.vn",
        "role": "officer",
        "unit_id": str(_unit_id(driver, "X001")),
        "reason": "Tuyển dụng theo Quyết định 12/QĐ-UBND",
        **fields,
    }
    return auth.post("/admin/users/new", data, page="/admin/users/new")


def test_a_created_account_signs_in_with_its_temporary_password(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("admin")
    response = _create(auth, driver, username="  Nguyen.Van.An ")
    assert response.status_code == 200
    password = _temporary_password(response)
    created = _user(driver, "nguyen.van.an")
    assert created is not None and created.is_active and created.full_name == "Nguyễn Văn An"
    assert created.password_hash and password not in created.password_hash  # kept only as its hash
    assert [(a.role, a.unit_id) for a in created.role_assignments] == [("officer", _unit_id(driver, "X001"))]
    assert created.unit_id == _unit_id(driver, "X001")
    (event,) = _events(driver, created.id)
    assert event[0] == "user_created" and event[1] == "admin"
    assert event[2]["role"] == "officer" and event[2]["reason"].startswith("Tuyển dụng")
    assert password not in json.dumps(event[2])
    # Shown once: the account's page does not show it again.
    assert password not in client.get(f"/admin/users/{created.id}").get_data(as_text=True)
    auth.logout()
    assert auth.login("nguyen.van.an", password).status_code == 302
    # The administrator's password opens nothing but the form to choose one's own.
    first = client.get("/inbox")
    assert first.status_code == 302 and first.headers["Location"].endswith("/auth/password")
    assert client.get("/auth/password").status_code == 200
    same = auth.post(
        "/auth/password",
        {"current_password": password, "new_password": password, "confirm_password": password},
        page="/auth/password",
    )
    assert same.status_code == 422 and "Hãy chọn mật khẩu khác mật khẩu tạm thời" in same.get_data(as_text=True)
    changed = auth.post(
        "/auth/password",
        {"current_password": password, "new_password": "mat-khau-rieng", "confirm_password": "mat-khau-rieng"},
        page="/auth/password",
    )
    assert changed.status_code == 302
    assert client.get("/inbox").status_code == 200
    assert not _user(driver, "nguyen.van.an").must_change_password  # type: ignore[union-attr]


def test_a_duplicate_username_is_refused_in_vietnamese_and_nothing_is_written(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("admin")
    with driver.session_factory() as s:
        users_before = s.scalar(select(func.count()).select_from(User))
    response = _create(auth, driver, username="Officer1")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Tên đăng nhập “officer1” đã có người dùng; hãy chọn tên khác" in page
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(User)) == users_before
    assert _events(driver) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "an van"}, "Tên đăng nhập chỉ gồm"),
        ({"full_name": ""}, "Cần nhập họ và tên"),
        ({"email": "not-an-address"}, "Địa chỉ e-mail không hợp lệ"),
        ({"role": "emperor"}, "Chọn một vai trò trong danh sách"),
        ({"unit_id": ""}, "Chọn một đơn vị trong danh sách"),
        ({"cadre_code": "CB0001"}, "Hồ sơ cán bộ này đã có tài khoản"),
        ({"cadre_code": "KHONGCO"}, "Không có hồ sơ cán bộ nào mang mã này"),
    ],
)
def test_bad_input_is_refused_with_its_message(
    auth: AuthActions, driver: WorkflowDriver, fields: dict[str, str], message: str
) -> None:
    auth.login("admin")
    response = _create(auth, driver, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _user(driver, fields.get("username", "nguyen.van.an").strip().lower()) is None
    assert _events(driver) == []


def test_a_deactivated_account_cannot_sign_in_nor_use_its_token(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    with app.app_context():
        token = create_token(db.session, db.session.get(User, officer.id), "dms")
        db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    auth.login("admin")
    refused = auth.post(f"/admin/users/{officer.id}/deactivate", {"reason": ""}, page=f"/admin/users/{officer.id}")
    assert refused.status_code == 422 and "Hãy nêu lý do" in refused.get_data(as_text=True)
    assert _user(driver, "officer2").is_active  # type: ignore[union-attr]
    response = auth.post(
        f"/admin/users/{officer.id}/deactivate", {"reason": "Nghỉ hưu"}, page=f"/admin/users/{officer.id}"
    )
    assert response.status_code == 302
    assert not _user(driver, "officer2").is_active  # type: ignore[union-attr]
    page = _doc(client.get(f"/admin/users/{officer.id}"))
    assert page.xpath('string(//dd[@id="user-status"])').strip() == "Đã ngừng hoạt động"
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    auth.logout()
    assert auth.login("officer2").status_code == 401
    auth.login("admin")
    auth.post(f"/admin/users/{officer.id}/activate", {"reason": "Quay lại"}, page=f"/admin/users/{officer.id}")
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert [e[0] for e in _events(driver, officer.id)] == ["user_deactivated", "user_activated"]
    deactivated = _events(driver, officer.id)[0]
    assert deactivated[1] == "admin" and deactivated[2]["reason"] == "Nghỉ hưu" and deactivated[2]["api_tokens"] == 1


def test_open_tasks_of_a_deactivated_account_are_counted_on_its_page(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    driver.start("sample_approval", as_user="officer2", subject="CB0002")  # its first task is officer2's own
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    auth.post(f"/admin/users/{officer.id}/deactivate", {"reason": "Nghỉ việc"}, page=f"/admin/users/{officer.id}")
    page = _doc(client.get(f"/admin/users/{officer.id}"))
    assert page.xpath('string(//dd[@id="open-tasks"])').strip() == "1"
    assert "1" in page.xpath('string(//*[@id="open-tasks-warning"])')
    assert _events(driver, officer.id)[0][2]["open_tasks"] == 1


def test_an_administrator_cannot_lock_themselves_out(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    admin = _user(driver, "admin")
    assert admin is not None
    auth.login("admin")
    response = auth.post(f"/admin/users/{admin.id}/deactivate", {"reason": "thử"}, page=f"/admin/users/{admin.id}")
    assert response.status_code == 422
    assert "Bạn không thể ngừng tài khoản của chính mình" in response.get_data(as_text=True)
    (admin_role,) = admin.role_assignments
    response = auth.post(
        f"/admin/users/{admin.id}/roles/{admin_role.id}/revoke", {"reason": "thử"}, page=f"/admin/users/{admin.id}"
    )
    assert response.status_code == 422
    assert "Bạn không thể bỏ vai trò quản trị cuối cùng của chính mình" in response.get_data(as_text=True)
    still = _user(driver, "admin")
    assert still is not None and still.is_active and still.has_role("admin")
    assert _events(driver) == []


def test_a_granted_supervisor_role_shows_the_units_group_tasks(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    review = driver.task(instance_id, "review_request")
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("officer2")
    assert f"/tasks/{review.id}" not in client.get("/inbox?scope=group").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    x001 = _unit_id(driver, "X001")
    response = auth.post(
        f"/admin/users/{officer.id}/roles",
        {"role": "supervisor", "unit_id": str(x001), "reason": "Bổ nhiệm phó chủ tịch"},
        page=f"/admin/users/{officer.id}",
    )
    assert response.status_code == 302
    again = auth.post(
        f"/admin/users/{officer.id}/roles",
        {"role": "supervisor", "unit_id": str(x001), "reason": "lần nữa"},
        page=f"/admin/users/{officer.id}",
    )
    assert again.status_code == 422 and "đã có vai trò này" in again.get_data(as_text=True)
    auth.logout()
    auth.login("officer2")
    assert f"/tasks/{review.id}" in client.get("/inbox?scope=group").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    granted = next(a for a in _user(driver, "officer2").role_assignments if a.role == "supervisor")  # type: ignore[union-attr]
    response = auth.post(
        f"/admin/users/{officer.id}/roles/{granted.id}/revoke",
        {"reason": "Hết nhiệm kỳ"},
        page=f"/admin/users/{officer.id}",
    )
    assert response.status_code == 302
    with driver.session_factory() as s:
        assert s.get(RoleAssignment, granted.id) is None
    events = _events(driver, officer.id)
    assert [(e[0], e[2]["role"], e[2]["unit"]["code"], e[2]["reason"]) for e in events] == [
        ("role_granted", "supervisor", "X001", "Bổ nhiệm phó chủ tịch"),
        ("role_revoked", "supervisor", "X001", "Hết nhiệm kỳ"),
    ]
    history = _doc(client.get(f"/admin/users/{officer.id}")).xpath('//ol[@id="user-history"]/li/@data-event')
    assert history == ["role_granted", "role_revoked"]
    with driver.session_factory() as s:
        assert verify_chains(s).ok


def test_a_password_reset_shows_a_new_password_once_and_ends_the_old_one(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    officer = _user(driver, "officer3")
    assert officer is not None
    auth.login("admin")
    response = auth.post(
        f"/admin/users/{officer.id}/password", {"reason": "Quên mật khẩu"}, page=f"/admin/users/{officer.id}"
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = _temporary_password(response)
    assert re.fullmatch(r"[A-Za-z2-9]{12}", password)
    assert [e[0] for e in _events(driver, officer.id)] == ["password_reset"]
    assert _user(driver, "officer3").must_change_password  # type: ignore[union-attr]
    auth.logout()
    assert auth.login("officer3").status_code == 401  # the demo password no longer works
    assert auth.login("officer3", password).status_code == 302
    assert client.get("/inbox").headers["Location"].endswith("/auth/password")


def test_the_list_searches_and_filters(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("admin")
    listed = set(_doc(client.get("/admin/users")).xpath("//tr/@data-user"))
    assert {"admin", "officer1", "officer3", "supervisor1"} <= listed
    assert set(_doc(client.get("/admin/users?q=Hoa")).xpath("//tr/@data-user")) == {"personnel1"}
    assert set(_doc(client.get("/admin/users?q=officer3")).xpath("//tr/@data-user")) == {"officer3"}
    x002 = _unit_id(driver, "X002")
    in_x002 = set(_doc(client.get(f"/admin/users?unit={x002}")).xpath("//tr/@data-user"))
    assert "officer3" in in_x002 and "officer1" not in in_x002
    x001 = _unit_id(driver, "X001")
    supervisors = set(_doc(client.get(f"/admin/users?unit={x001}&role=supervisor")).xpath("//tr/@data-user"))
    assert {"supervisor1", "head1"} <= supervisors and "officer1" not in supervisors and "officer3" not in supervisors
    officer = _user(driver, "officer3")
    assert officer is not None
    auth.post(f"/admin/users/{officer.id}/deactivate", {"reason": "Nghỉ"}, page=f"/admin/users/{officer.id}")
    assert "officer3" in set(_doc(client.get("/admin/users?active=no")).xpath("//tr/@data-user"))
    assert "officer3" not in set(_doc(client.get("/admin/users?active=yes")).xpath("//tr/@data-user"))


@pytest.mark.parametrize("username", ["personnel1", "supervisor1", "officer1", "auditor1"])
def test_only_administrators_reach_the_account_pages(
    auth: AuthActions, client, driver: WorkflowDriver, username: str
) -> None:
    target = _user(driver, "officer2")
    assert target is not None
    (role,) = target.role_assignments
    auth.login(username)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.get(f"/admin/users/{target.id}").status_code == 403
    posts = {
        "/admin/users/new": {"username": "x", "full_name": "X", "role": "admin", "unit_id": "1"},
        f"/admin/users/{target.id}/roles": {"role": "admin", "unit_id": "1", "reason": "x"},
        f"/admin/users/{target.id}/roles/{role.id}/revoke": {"reason": "x"},
        f"/admin/users/{target.id}/deactivate": {"reason": "x"},
        f"/admin/users/{target.id}/activate": {"reason": "x"},
        f"/admin/users/{target.id}/password": {"reason": "x"},
    }
    for path, data in posts.items():
        assert auth.post(path, data).status_code == 403, path
    assert _events(driver) == []
    assert _user(driver, "x") is None


def test_a_form_without_its_csrf_token_is_refused(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    response = client.post(f"/admin/users/{officer.id}/deactivate", data={"reason": "x"})
    assert response.status_code in (400, 422)
    assert _user(driver, "officer2").is_active  # type: ignore[union-attr]
    assert _events(driver) == []


def test_an_unknown_account_is_404(auth: AuthActions, client) -> None:
    auth.login("admin")
    assert client.get("/admin/users/999999").status_code == 404


def test_the_command_line_creates_grants_revokes_deactivates_and_resets(
    runner, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    created = runner.invoke(
        args=["users", "create", "tran.thi.binh", "officer", "X002", "--name", "Trần Thị Bình", "--reason", "QĐ 5"]
    )
    assert created.exit_code == 0, created.output
    password = created.stdout.strip()
    assert re.fullmatch(r"[A-Za-z2-9]{12}", password)
    again = runner.invoke(args=["users", "create", "tran.thi.binh", "officer", "X002", "--name", "Khác"])
    assert again.exit_code == 1
    assert "Tên đăng nhập “tran.thi.binh” đã có người dùng" in again.stderr
    assert (
        runner.invoke(args=["users", "grant", "tran.thi.binh", "supervisor", "x002", "--reason", "Bổ nhiệm"]).exit_code
        == 0
    )
    user = _user(driver, "tran.thi.binh")
    assert user is not None and user.has_role("supervisor", _unit_id(driver, "X002"))
    refused = runner.invoke(args=["users", "revoke", "tran.thi.binh", "head", "X002", "--reason", "x"])
    assert refused.exit_code == 1 and "không có vai trò head" in refused.stderr
    assert (
        runner.invoke(args=["users", "revoke", "tran.thi.binh", "supervisor", "X002", "--reason", "Hết"]).exit_code == 0
    )
    assert runner.invoke(args=["users", "deactivate", "tran.thi.binh", "--reason", "Nghỉ việc"]).exit_code == 0
    assert auth.login("tran.thi.binh", password).status_code == 401
    twice = runner.invoke(args=["users", "deactivate", "tran.thi.binh", "--reason", "Nghỉ việc"])
    assert twice.exit_code == 1 and "Tài khoản đã ngừng hoạt động rồi" in twice.stderr
    assert runner.invoke(args=["users", "activate", "tran.thi.binh", "--reason", "Quay lại"]).exit_code == 0
    reset = runner.invoke(args=["users", "reset-password", "tran.thi.binh", "--reason", "Quên"])
    assert reset.exit_code == 0
    assert auth.login("tran.thi.binh", reset.stdout.strip()).status_code == 302
    events = _events(driver, user.id)
    assert [e[0] for e in events] == [
        "user_created",
        "role_granted",
        "role_revoked",
        "user_deactivated",
        "user_activated",
        "password_reset",
    ]
    assert all(e[1] == "system" for e in events)


def test_a_communes_administrator_manages_only_the_accounts_wholly_in_their_commune(
    runner, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    assert runner.invoke(args=["users", "grant", "officer2", "admin", "X001", "--reason", "Quản trị xã"]).exit_code == 0
    # officer1 belongs to An Phú but also holds a provincial role: not the commune administrator's to manage.
    assert (
        runner.invoke(args=["users", "grant", "officer1", "personnel", "T01", "--reason", "Biệt phái"]).exit_code == 0
    )
    before = len(_events(driver))
    supervisor, officer1 = _user(driver, "supervisor1"), _user(driver, "officer1")
    assert supervisor is not None and officer1 is not None
    auth.login("officer2")
    listed = set(_doc(client.get("/admin/users")).xpath("//tr/@data-user"))
    assert "supervisor1" in listed and "officer3" not in listed and "admin" not in listed
    assert client.get(f"/admin/users/{officer1.id}").status_code == 404
    reset = auth.post(f"/admin/users/{officer1.id}/password", {"reason": "x"})
    assert reset.status_code == 404
    assert client.get(f"/admin/users/{supervisor.id}").status_code == 200
    t01 = _unit_id(driver, "T01")
    refused = auth.post(
        f"/admin/users/{supervisor.id}/roles",
        {"role": "admin", "unit_id": str(t01), "reason": "tự nâng quyền"},
        page=f"/admin/users/{supervisor.id}",
    )
    assert refused.status_code == 422 and "Đơn vị đó nằm ngoài phạm vi của bạn" in refused.get_data(as_text=True)
    assert not _user(driver, "supervisor1").has_role("admin")  # type: ignore[union-attr]
    assert len(_events(driver)) == before


def _edit(auth: AuthActions, user_id: int, **fields: str) -> Any:
    data = {"full_name": "Nguyễn Thị Hoa", "email": "hoa@example.vn", "reason": "Sai chính tả khi tạo", **fields}
    return auth.post(f"/admin/users/{user_id}/details", data, page=f"/admin/users/{user_id}")


def test_an_administrator_corrects_the_name_and_e_mail_and_it_is_audited(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    page = _doc(client.get(f"/admin/users/{officer.id}"))
    assert page.xpath('//form[@id="details-form"]//input[@name="full_name"]/@value') == [officer.full_name]
    response = _edit(auth, officer.id, full_name="  Nguyễn   Thị Hoa ")
    assert response.status_code == 302
    edited = _user(driver, "officer2")
    assert edited is not None and edited.full_name == "Nguyễn Thị Hoa" and edited.email == "hoa@example.vn"
    ((kind, actor, payload),) = _events(driver, officer.id)
    assert (kind, actor) == ("user_details_changed", "admin")
    assert payload["before"] == {"full_name": officer.full_name, "email": officer.email}
    assert payload["after"] == {"full_name": "Nguyễn Thị Hoa", "email": "hoa@example.vn"}
    assert payload["reason"] == "Sai chính tả khi tạo"
    assert "password" not in json.dumps(payload)
    history = _doc(client.get(f"/admin/users/{officer.id}")).xpath('//li[@data-event="user_details_changed"]')
    assert history and "Nguyễn Thị Hoa" in history[0].text_content()
    # The same values again change nothing and say so.
    again = _edit(auth, officer.id)
    assert again.status_code == 422
    assert "Họ tên và địa chỉ e-mail không thay đổi" in again.get_data(as_text=True)
    assert len(_events(driver, officer.id)) == 1
    with driver.session_factory() as s:
        assert verify_chains(s).ok


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "Địa chỉ e-mail không hợp lệ"),
        ({"full_name": " "}, "Cần nhập họ và tên"),
        ({"reason": ""}, "Hãy nêu lý do"),
    ],
)
def test_a_bad_correction_is_refused_and_nothing_changes(
    auth: AuthActions, client, driver: WorkflowDriver, fields: dict[str, str], message: str
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    response = _edit(auth, officer.id, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    after = _user(driver, "officer2")
    assert after is not None and (after.full_name, after.email) == (officer.full_name, officer.email)
    assert _events(driver) == []


@pytest.mark.parametrize("username", ["personnel1", "officer1"])
def test_only_administrators_correct_an_account(
    auth: AuthActions, client, driver: WorkflowDriver, username: str
) -> None:
    target = _user(driver, "officer2")
    assert target is not None
    auth.login(username)
    assert auth.post(f"/admin/users/{target.id}/details", {"full_name": "X", "reason": "x"}).status_code == 403
    assert _user(driver, "officer2").full_name == target.full_name  # type: ignore[union-attr]
    assert _events(driver) == []


def test_an_administrator_cannot_correct_an_account_outside_their_scope(
    runner, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    assert runner.invoke(args=["users", "grant", "officer2", "admin", "X001", "--reason", "Quản trị xã"]).exit_code == 0
    before = len(_events(driver))
    outside = _user(driver, "officer3")
    assert outside is not None
    auth.login("officer2")
    refused = auth.post(f"/admin/users/{outside.id}/details", {"full_name": "Tên Khác", "reason": "x"})
    assert refused.status_code == 404
    assert _user(driver, "officer3").full_name == outside.full_name  # type: ignore[union-attr]
    assert len(_events(driver)) == before


def test_the_command_line_corrects_an_account(runner, driver: WorkflowDriver) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    edited = runner.invoke(args=["users", "edit", "officer2", "--email", "moi@example.vn", "--reason", "Đổi hộp thư"])
    assert edited.exit_code == 0, edited.output
    after = _user(driver, "officer2")
    assert after is not None and after.email == "moi@example.vn" and after.full_name == officer.full_name
    ((kind, actor, payload),) = _events(driver, officer.id)
    assert (kind, actor) == ("user_details_changed", "system")
    assert payload["after"] == {"email": "moi@example.vn"}
    bad = runner.invoke(args=["users", "edit", "officer2", "--email", "khong-hop-le", "--reason", "x"])
    assert bad.exit_code == 1 and "Địa chỉ e-mail không hợp lệ" in bad.stderr
    assert _user(driver, "officer2").email == "moi@example.vn"  # type: ignore[union-attr]


def _many_accounts(driver: WorkflowDriver, count: int, *, unit: str = "X002") -> None:
    """`count` officers of the unit named nv001…, every other one deactivated (no password anyone signs in with)."""
    unit_id = _unit_id(driver, unit)
    with driver.session_factory() as s, transaction(s):
        people = [
            User(
                username=f"nv{n:03d}",
                full_name=f"Nhân viên {n:03d}",
                password_hash="x",
                unit_id=unit_id,
                is_active=n % 2 == 0,
            )
            for n in range(1, count + 1)
        ]
        s.add_all(people)
        s.flush()
        s.add_all(RoleAssignment(user_id=p.id, role=Role.OFFICER, unit_id=unit_id) for p in people)


def _listed(response: Any) -> list[str]:
    return [str(name) for name in _doc(response).xpath('//table[@id="users"]//tr/@data-user')]


def test_the_list_pages_with_the_count_of_matches_and_keeps_its_filters_across_pages(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _many_accounts(driver, 2 * PER_PAGE + 20)
    x002 = _unit_id(driver, "X002")
    auth.login("admin")
    first = client.get(f"/admin/users?q=nv&unit={x002}&role=officer")
    page = _doc(first)
    assert " ".join(page.xpath('string(//*[@id="users-count"])').split()) == f"Số tài khoản khớp: {2 * PER_PAGE + 20}"
    assert _listed(first) == [f"nv{n:03d}" for n in range(1, PER_PAGE + 1)]
    assert "Trang 1/3" in " ".join(page.xpath('string(//nav[@class="pagination"])').split())
    (following,) = page.xpath('//nav[@class="pagination"]//a[@rel="next"]/@href')
    assert parse_qs(urlsplit(following).query) == {
        "q": ["nv"],
        "unit": [str(x002)],
        "role": ["officer"],
        "page": ["2"],
    }
    second = client.get(following)
    assert _listed(second) == [f"nv{n:03d}" for n in range(PER_PAGE + 1, 2 * PER_PAGE + 1)]
    (back,) = _doc(second).xpath('//nav[@class="pagination"]//a[@rel="prev"]/@href')
    assert parse_qs(urlsplit(back).query)["page"] == ["1"] and "q=nv" in back
    last = [f"nv{n:03d}" for n in range(2 * PER_PAGE + 1, 2 * PER_PAGE + 21)]
    assert _listed(client.get(f"/admin/users?q=nv&unit={x002}&role=officer&page=3")) == last

    # Past the last page: the last page, as every list; not a number: the first.
    beyond = client.get(f"/admin/users?q=nv&unit={x002}&role=officer&page=99999999999999999999")
    assert beyond.status_code == 200 and _listed(beyond) == last
    assert _listed(client.get(f"/admin/users?q=nv&unit={x002}&role=officer&page=abc")) == _listed(first)

    # Another filter counts and pages what it matches.
    inactive = client.get("/admin/users?q=nv&active=no")
    assert " ".join(_doc(inactive).xpath('string(//*[@id="users-count"])').split()).endswith(f": {PER_PAGE + 10}")
    (following,) = _doc(inactive).xpath('//nav[@class="pagination"]//a[@rel="next"]/@href')
    assert parse_qs(urlsplit(following).query) == {"q": ["nv"], "active": ["no"], "page": ["2"]}
    assert _listed(client.get(following)) == [f"nv{n:03d}" for n in range(2 * PER_PAGE + 1, 2 * PER_PAGE + 21, 2)]

    # One page: no page links.
    few = _doc(client.get("/admin/users?q=nv00"))
    assert not few.xpath('//nav[@class="pagination"]')
    assert " ".join(few.xpath('string(//*[@id="users-count"])').split()) == "Số tài khoản khớp: 9"


LAST_TOP_ADMIN = "Đây là quản trị viên cuối cùng còn hoạt động của đơn vị cao nhất T01"


def test_the_last_administrator_of_the_top_unit_is_neither_deactivated_nor_demoted(
    runner, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """At the command line anything else goes (decision 0074), but not an install left with nobody to manage it
    (decision 0107); a commune's administrator does not manage the province, so does not count."""
    assert runner.invoke(args=["users", "grant", "officer2", "admin", "X001", "--reason", "Quản trị xã"]).exit_code == 0
    before = _events(driver)
    for args in (["deactivate", "admin"], ["revoke", "admin", "admin", "T01"]):
        refused = runner.invoke(args=["users", *args, "--reason", "Nghỉ"])
        assert refused.exit_code == 1 and LAST_TOP_ADMIN in refused.stderr, refused.output
    assert _events(driver) == before
    still = _user(driver, "admin")
    assert still is not None and still.is_active and still.has_role("admin", _unit_id(driver, "T01"))
    # With a second administrator of the province, the first may go; the second is then the last one.
    assert runner.invoke(args=["users", "grant", "officer1", "admin", "T01", "--reason", "Bàn giao"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "admin", "--reason", "Nghỉ hưu"]).exit_code == 0
    refused = runner.invoke(args=["users", "revoke", "officer1", "admin", "T01", "--reason", "x"])
    assert refused.exit_code == 1 and LAST_TOP_ADMIN in refused.stderr


def test_the_page_does_not_let_the_last_provincial_administrator_keep_only_a_communes_role(
    runner, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """Their own last administrator role is not the one removed, yet the province would have nobody left."""
    assert runner.invoke(args=["users", "grant", "admin", "admin", "X001", "--reason", "Kiêm nhiệm"]).exit_code == 0
    admin = _user(driver, "admin")
    assert admin is not None
    (top_role,) = [a for a in admin.role_assignments if a.unit_id == _unit_id(driver, "T01")]
    auth.login("admin")
    before = _events(driver)
    page = f"/admin/users/{admin.id}"
    response = auth.post(f"{page}/roles/{top_role.id}/revoke", {"reason": "Chuyển về xã"}, page=page)
    assert response.status_code == 422
    assert LAST_TOP_ADMIN in response.get_data(as_text=True)
    assert _events(driver) == before


def test_a_name_or_reason_too_long_for_the_record_says_its_maximum_and_nothing_is_written(
    auth: AuthActions, driver: WorkflowDriver
) -> None:
    """Decision 0118: "Họ và tên quá dài" did not say how long a name may be; the other fields, right, say nothing."""
    auth.login("admin")
    before = _events(driver)
    refused = _create(auth, driver, full_name="Nguyễn " * 50, reason="x" * 501)
    assert refused.status_code == 422
    page = _doc(refused)
    assert [" ".join(e.text_content().split()) for e in page.xpath('//*[@id="full_name-error"]')] == [
        "Tối đa 255 ký tự."
    ]
    assert [" ".join(e.text_content().split()) for e in page.xpath('//*[@id="reason-error"]')] == ["Tối đa 500 ký tự."]
    assert not page.xpath('//*[@id="username-error" or @id="email-error" or @id="role-error" or @id="unit_id-error"]')
    assert _user(driver, "nguyen.van.an") is None and _events(driver) == before
    officer = _user(driver, "officer2")
    assert officer is not None
    renamed = _edit(auth, officer.id, full_name="Trần " * 60)
    assert renamed.status_code == 422
    assert "Tối đa 255 ký tự." in renamed.get_data(as_text=True)
    after = _user(driver, "officer2")
    assert after is not None and after.full_name == officer.full_name and _events(driver) == before
