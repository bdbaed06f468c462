"""Changing an account's username (decision 0086): an administrator does it on the account's page, or the server's
operator with `canbo users rename`; checked as on creation, audited with the name before and after, and the person's
earlier events are still theirs in the audit log, which keeps the name each event recorded."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_accounts import _doc, _events, _user
from webapp.extensions import db
from workflows.audit import verify_chains
from workflows.models import AuditEvent
from workflows.registry.models import User
from workflows.registry.tokens import create_token


def _rename(auth: AuthActions, user: User, username: str, **fields: str) -> Any:
    """The account page's details form as a browser sends it: every field, the name and e-mail left as they are."""
    data = {
        "username": username,
        "full_name": user.full_name,
        "email": user.email or "",
        "reason": "Gõ nhầm khi tạo tài khoản",
        **fields,
    }
    return auth.post(f"/admin/users/{user.id}/details", data, page=f"/admin/users/{user.id}")


def test_an_administrator_renames_an_account_and_it_is_audited(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    page = _doc(client.get(f"/admin/users/{officer.id}"))
    assert page.xpath('//form[@id="details-form"]//input[@name="username"]/@value') == ["officer2"]
    response = _rename(auth, officer, "  Tran.Van.Binh ")
    assert response.status_code == 302
    assert _user(driver, "officer2") is None
    renamed = _user(driver, "tran.van.binh")
    assert renamed is not None and renamed.id == officer.id and renamed.full_name == officer.full_name
    ((kind, actor, payload),) = _events(driver, officer.id)
    assert (kind, actor) == ("username_changed", "admin")
    assert payload == {
        "before": {"username": "officer2"},
        "after": {"username": "tran.van.binh"},
        "reason": "Gõ nhầm khi tạo tài khoản",
    }
    history = _doc(client.get(f"/admin/users/{officer.id}")).xpath('//li[@data-event="username_changed"]')
    assert history
    assert "Đổi tên đăng nhập: officer2 → tran.van.binh — Gõ nhầm khi tạo tài khoản" in history[0].text_content()
    with driver.session_factory() as s:
        assert verify_chains(s).ok


def test_a_rename_with_a_new_name_and_e_mail_records_each_change_under_its_own_event(
    auth: AuthActions, driver: WorkflowDriver
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    assert _rename(auth, officer, "hoa.nguyen", full_name="Nguyễn Thị Hoa").status_code == 302
    events = _events(driver, officer.id)
    assert [(kind, payload["after"]) for kind, _actor, payload in events] == [
        ("username_changed", {"username": "hoa.nguyen"}),
        ("user_details_changed", {"full_name": "Nguyễn Thị Hoa"}),
    ]


def test_the_same_username_is_no_change(auth: AuthActions, driver: WorkflowDriver) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    # Typed in capitals, it is the same name: nothing else changed either, so nothing is saved and the page says so.
    response = _rename(auth, officer, "OFFICER2")
    assert response.status_code == 422
    assert "Tên đăng nhập, họ tên và địa chỉ e-mail không thay đổi" in response.get_data(as_text=True)
    assert _events(driver) == []
    # With the e-mail changed, the unchanged username writes no event of its own.
    assert _rename(auth, officer, "officer2", email="moi@example.vn").status_code == 302
    assert [kind for kind, _actor, _payload in _events(driver, officer.id)] == ["user_details_changed"]


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Cần nhập tên đăng nhập"),
        ("   ", "Cần nhập tên đăng nhập"),
        ("trần.bình", "Tên đăng nhập chỉ gồm"),
        ("tran binh", "Tên đăng nhập chỉ gồm"),
        (".tran", "Tên đăng nhập chỉ gồm"),
        ("a" * 81, "Tên đăng nhập chỉ gồm"),
        ("Officer1", "Tên đăng nhập “officer1” đã có người dùng; hãy chọn tên khác"),
        ("ADMIN", "Tên đăng nhập “admin” đã có người dùng; hãy chọn tên khác"),
    ],
)
def test_a_bad_username_is_refused_with_its_message_and_nothing_is_written(
    auth: AuthActions, driver: WorkflowDriver, username: str, message: str
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    # The full name changes too: a refused username refuses the whole form.
    response = _rename(auth, officer, username, full_name="Tên Mới")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    after = _user(driver, "officer2")
    assert after is not None and after.full_name == officer.full_name
    assert _events(driver) == []
    (error,) = _doc(response).xpath('//form[@id="details-form"]//div[@id="username-error"]')
    assert message in error.text_content()


def test_a_rename_needs_a_reason(auth: AuthActions, driver: WorkflowDriver) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    auth.login("admin")
    response = _rename(auth, officer, "tran.van.binh", reason="")
    assert response.status_code == 422 and "Hãy nêu lý do" in response.get_data(as_text=True)
    assert _user(driver, "officer2") is not None
    assert _events(driver) == []


def test_the_new_name_signs_in_and_the_old_one_does_not(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    with app.app_context():
        token = create_token(db.session, db.session.get(User, officer.id), "dms")
        db.session.commit()
    # The person is signed in elsewhere while the administrator renames them.
    their_client = app.test_client()
    theirs = AuthActions(their_client)
    assert theirs.login("officer2").status_code == 302
    auth.login("admin")
    assert _rename(auth, officer, "tran.van.binh").status_code == 302
    # Their session names the account by its id (and password stamp): it goes on, as the same person.
    inbox = their_client.get("/inbox")
    assert inbox.status_code == 200
    assert _doc(inbox).xpath('string(//a[@class="who"])').strip() == officer.full_name
    # The API token belongs to the account, not to its name.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["username"] == "tran.van.binh"
    auth.logout()
    assert auth.login("officer2").status_code == 401
    assert auth.login("tran.van.binh").status_code == 302


@pytest.mark.parametrize("username", ["personnel1", "officer1", "auditor1"])
def test_only_administrators_rename_an_account(auth: AuthActions, driver: WorkflowDriver, username: str) -> None:
    target = _user(driver, "officer2")
    assert target is not None
    auth.login(username)
    response = auth.post(
        f"/admin/users/{target.id}/details",
        {"username": "ke.mao.danh", "full_name": target.full_name, "reason": "x"},
    )
    assert response.status_code == 403
    assert _user(driver, "officer2") is not None and _user(driver, "ke.mao.danh") is None
    assert _events(driver) == []


def test_an_administrator_cannot_rename_an_account_outside_their_scope(
    runner, auth: AuthActions, driver: WorkflowDriver
) -> None:
    assert runner.invoke(args=["users", "grant", "officer2", "admin", "X001", "--reason", "Quản trị xã"]).exit_code == 0
    before = len(_events(driver))
    outside = _user(driver, "officer3")
    assert outside is not None
    auth.login("officer2")
    assert _rename(auth, outside, "ke.mao.danh").status_code == 404
    assert _user(driver, "officer3") is not None
    assert len(_events(driver)) == before


def test_the_audit_log_finds_a_renamed_persons_events_by_either_name(
    runner, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    # officer2 acts (as a commune administrator correcting an account) before being renamed.
    assert runner.invoke(args=["users", "grant", "officer2", "admin", "X001", "--reason", "Quản trị xã"]).exit_code == 0
    supervisor, officer = _user(driver, "supervisor1"), _user(driver, "officer2")
    assert supervisor is not None and officer is not None
    auth.login("officer2")
    assert _rename(auth, supervisor, "supervisor1", email="gs@example.vn").status_code == 302
    auth.logout()
    auth.login("admin")
    assert _rename(auth, officer, "tran.van.binh").status_code == 302
    with driver.session_factory() as s:
        earlier = s.scalar(select(AuditEvent).where(AuditEvent.chain_key == f"user:{supervisor.id}"))
        assert earlier is not None
        # The chained event keeps the name it recorded: its hash covers it.
        assert (earlier.actor_name, earlier.actor_id) == ("officer2", officer.id)
        assert verify_chains(s).ok

    def shown(**args: str) -> list[str]:
        page = _doc(client.get("/audit/events", query_string=args))
        return [row.get("id") for row in page.xpath("//table[contains(@class, 'audit')]/tbody/tr")]

    # By the new name (the person, through the event's actor id) and by the old one (the name the event recorded).
    assert f"event-{earlier.id}" in shown(actor="tran.van.binh")
    assert f"event-{earlier.id}" in shown(actor="officer2")
    assert f"event-{earlier.id}" not in shown(actor="officer3")
    page = _doc(client.get("/audit/events", query_string={"chain": f"user:{supervisor.id}"}))
    (row,) = page.xpath(f'//tr[@id="event-{earlier.id}"]')
    # Who acted: the person's full name today, beside the name the event recorded.
    assert " ".join(row.xpath('string(./td[@class="actor"])').split()) == f"{officer.full_name} officer2"
    assert f"Tài khoản: {supervisor.full_name} (supervisor1)" in row.text_content()
    # The rename itself: its type is a choice of the filter, and the row words it as the account's page does.
    renamed = _doc(client.get("/audit/events", query_string={"event_type": "username_changed"}))
    (rename_row,) = renamed.xpath("//table[contains(@class, 'audit')]/tbody/tr")
    content = " ".join(rename_row.xpath('string(./td[@class="content"])').split())
    assert "Đổi tên đăng nhập." in content and "Lý do: Gõ nhầm khi tạo tài khoản" in content
    assert "Tên đăng nhập: officer2 → tran.van.binh" in content
    # The export keeps the recorded name: the file says what the chain says.
    exported = client.get("/audit/events", query_string={"chain": f"user:{supervisor.id}", "format": "csv"})
    assert exported.status_code == 200 and "officer2" in exported.get_data(as_text=True)


def test_the_command_line_renames_an_account(runner, auth: AuthActions, driver: WorkflowDriver) -> None:
    officer = _user(driver, "officer2")
    assert officer is not None
    done = runner.invoke(args=["users", "rename", "officer2", "Tran.Van.Binh", "--reason", "Đổi quy ước"])
    assert done.exit_code == 0, done.output
    assert "Đã đổi tên đăng nhập officer2 thành tran.van.binh." in done.stdout
    ((kind, actor, payload),) = _events(driver, officer.id)
    assert (kind, actor) == ("username_changed", "system")
    assert payload["before"] == {"username": "officer2"} and payload["after"] == {"username": "tran.van.binh"}
    same = runner.invoke(args=["users", "rename", "tran.van.binh", "tran.van.binh", "--reason", "x"])
    assert same.exit_code == 0 and "không có gì thay đổi" in same.stdout
    taken = runner.invoke(args=["users", "rename", "tran.van.binh", "OFFICER1", "--reason", "x"])
    assert taken.exit_code == 1 and "Tên đăng nhập “officer1” đã có người dùng" in taken.stderr
    bad = runner.invoke(args=["users", "rename", "tran.van.binh", "trần", "--reason", "x"])
    assert bad.exit_code == 1 and "Tên đăng nhập chỉ gồm" in bad.stderr
    no_reason = runner.invoke(args=["users", "rename", "tran.van.binh", "binh.tran", "--reason", " "])
    assert no_reason.exit_code == 1 and "Hãy nêu lý do" in no_reason.stderr
    assert len(_events(driver, officer.id)) == 1
    assert auth.login("tran.van.binh").status_code == 302
