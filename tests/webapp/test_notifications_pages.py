"""In-app notifications and the account page (e-mail opt-out, API tokens)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from lxml import html as lxml_html
from sqlalchemy import select, update

from tests.fixtures.app import AuthActions
from tests.fixtures.mail import smtp_inbox
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.db import transaction
from workflows.evaluation import RESULT_NOTICE
from workflows.models import HumanTask, Notification
from workflows.notifications import create_notifications, notify_cadre
from workflows.overdue_digest import OVERDUE_DIGEST, notify_overdue_weekly
from workflows.registry.models import ApiToken, User
from workflows.registry.tokens import user_for_token


def test_a_new_task_notification_opens_the_task(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    # Started by the personnel officer: nobody hears of a task she opened herself (decision 0117).
    instance_id = driver.start("sample_approval", as_user="personnel1", subject="CB0001")
    create_notifications(driver.session_factory)
    auth.login("officer1")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Lập đề nghị" in page
    with driver.session_factory() as s:
        item = s.scalars(select(Notification).where(Notification.instance_id == instance_id)).one()
    response = auth.post(f"/notifications/{item.id}/open", page="/notifications")
    assert response.headers["Location"].endswith(f"/tasks/{item.human_task_id}")
    with driver.session_factory() as s:
        assert s.get(Notification, item.id).read_dt is not None


def test_someone_elses_notification_is_not_found(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    driver.start("sample_approval", as_user="personnel1", subject="CB0001")
    create_notifications(driver.session_factory)
    with driver.session_factory() as s:
        item = s.scalars(select(Notification)).first()
    auth.login("officer3")
    assert auth.post(f"/notifications/{item.id}/open", page="/notifications").status_code == 404


def test_email_opt_out_and_address(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("officer1")
    bad = auth.post("/auth/profile", {"email": "not-an-address"}, page="/auth/profile")
    assert bad.status_code == 422
    ok = auth.post("/auth/profile", {"email": "lan@xa-anphu.example.vn"}, page="/auth/profile")
    assert ok.status_code == 302
    with driver.session_factory() as s:
        user = s.scalars(select(User).where(User.username == "officer1")).one()
        assert user.email == "lan@xa-anphu.example.vn" and user.notify_by_email is False


def test_notices_by_email_without_an_address_are_refused_at_the_field(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("officer1")
    with driver.session_factory() as s:
        before = s.scalars(select(User).where(User.username == "officer1")).one()
        stored_before = (before.email, before.notify_by_email)
    for email in ("", "   "):
        refused = auth.post("/auth/profile", {"email": email, "notify_by_email": "y"}, page="/auth/profile")
        assert refused.status_code == 422, email
        page = lxml_html.fromstring(refused.get_data(as_text=True))
        (field,) = page.xpath('//input[@name="email"]')
        assert field.get("aria-invalid") == "true"
        (error,) = page.xpath(f'//*[@id="{field.get("aria-describedby")}"]')
        assert "Nhập địa chỉ thư điện tử" in error.text_content()
        assert page.xpath('//input[@name="notify_by_email"]/@checked')  # the tick stays as it was sent
    with driver.session_factory() as s:
        after = s.scalars(select(User).where(User.username == "officer1")).one()
        assert (after.email, after.notify_by_email) == stored_before
    ok = auth.post("/auth/profile", {"email": "lan@xa-anphu.example.vn", "notify_by_email": "y"}, page="/auth/profile")
    assert ok.status_code == 302


def test_api_token_is_shown_once_stored_hashed_and_revocable(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("officer1")
    page = auth.post(
        "/auth/profile", {"action": "create_token", "name": "Hệ thống văn bản"}, page="/auth/profile"
    ).get_data(as_text=True)
    token = re.search(r"<code>([^<]+)</code>", page).group(1)
    with driver.session_factory() as s:
        stored = s.scalars(select(ApiToken)).one()
        assert stored.token_hash != token and token not in stored.token_hash
        assert user_for_token(s, token).user.username == "officer1"
    auth.post("/auth/profile", {"action": "revoke_token", "token_id": str(stored.id)}, page="/auth/profile")
    with driver.session_factory() as s:
        assert user_for_token(s, token) is None
    other = AuthActions(client.application.test_client())
    other.login("officer2")
    assert (
        other.post(
            "/auth/profile", {"action": "revoke_token", "token_id": str(stored.id)}, page="/auth/profile"
        ).status_code
        == 404
    )


def test_a_page_number_past_any_page_or_not_a_number_shows_a_page(auth: AuthActions, client) -> None:
    auth.login("officer1")
    for page in ("99999999999999999999", "²", "١", "-1"):
        assert client.get(f"/notifications?page={page}").status_code == 200, page


def test_the_weekly_overdue_digest_reads_in_vietnamese_and_opens_the_report(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    clock.set_now(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    clock.set_now(datetime(2026, 11, 9, 0, 0, tzinfo=UTC))  # Monday 07:00 in Vietnam
    assert notify_overdue_weekly(driver.session_factory, zone=timezone(timedelta(hours=7))) == 2
    auth.login("supervisor1")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Việc quá hạn trong đơn vị tuần này: 1 việc" in page
    assert f"Xem xét, phê duyệt — chưa có người nhận — Phê duyệt đề nghị (mẫu), hồ sơ số {instance_id}" in page
    assert "quá hạn 3 ngày" in page
    with driver.session_factory() as s:
        item = s.scalars(
            select(Notification).join(User).where(User.username == "supervisor1", Notification.kind == OVERDUE_DIGEST)
        ).one()
    response = auth.post(f"/notifications/{item.id}/open", page="/notifications")
    assert response.headers["Location"].endswith("/reports/targets#overdue-by-unit")
    report = client.get("/reports/targets").get_data(as_text=True)
    assert 'id="overdue-by-unit"' in report


@pytest.mark.parametrize("base_url", ["https://canbo.example/", ""])
def test_the_digests_email_leads_to_the_overdue_report_or_names_it(
    app: Flask, runner: FlaskCliRunner, driver: WorkflowDriver, base_url: str
) -> None:
    """The worker's e-mail (decision 0068): a link under BASE_URL to where the in-app digest opens; without BASE_URL
    the page is named instead, since a link without the app's address leads nowhere."""
    clock.set_now(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    with driver.session_factory() as s, transaction(s):  # a first step late, with no timer to move it on
        s.get(HumanTask, driver.task(instance_id, "submit_request").id).due_dt = datetime(2026, 11, 3)
        s.execute(update(User).where(User.username == "supervisor1").values(email="supervisor1@sonha.example"))
    clock.set_now(datetime(2026, 11, 9, 0, 0, tzinfo=UTC))  # Monday 07:00 in Vietnam: the week's digest is due
    with smtp_inbox() as (inbox, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, BASE_URL=base_url, SMTP_TIMEOUT=5.0)
        result = runner.invoke(args=["worker", "--once"])
        assert result.exit_code == 0, result.output
        # The digest is written after this poll's e-mails went out: the next poll sends it.
        assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    [digest] = [m for _, m in inbox.messages() if m["Subject"].startswith("Việc quá hạn trong đơn vị")]
    body = digest.get_content()
    assert f"hồ sơ số {instance_id}" in body
    if base_url:
        assert "Xem việc quá hạn theo đơn vị: https://canbo.example/reports/targets#overdue-by-unit\n" in body
    else:
        assert (
            "Xem việc quá hạn theo đơn vị: đăng nhập hệ thống quản lý quy trình cán bộ, mở trang “Chỉ tiêu”, "
            "mục “Công việc đang mở và quá hạn theo đơn vị”." in body
        )
        assert "/reports/targets" not in body


@pytest.mark.parametrize("base_url", ["https://canbo.example", ""])
def test_a_grades_email_leads_to_the_cadres_own_results_or_names_them(
    app: Flask, runner: FlaskCliRunner, driver: WorkflowDriver, base_url: str
) -> None:
    """The e-mail telling a cadre her month's grade leads to "Kết quả đánh giá của tôi", where each month opens the
    evaluation that decided it (decision 0092); without BASE_URL the page is named."""
    with driver.session_factory() as s, transaction(s):
        s.execute(update(User).where(User.username == "officer1").values(email="officer1@sonha.example"))
        cadre_id = s.scalars(select(User.cadre_id).where(User.username == "officer1")).one()
        assert cadre_id is not None
        notify_cadre(s, cadre_id, kind=RESULT_NOTICE, instance_id=None, title="Kết quả đánh giá", body="Điểm: 81.")
    with smtp_inbox() as (inbox, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, BASE_URL=base_url, SMTP_TIMEOUT=5.0)
        result = runner.invoke(args=["worker", "--once"])
        assert result.exit_code == 0, result.output
    [message] = [m for to, m in inbox.messages() if to == ["officer1@sonha.example"]]
    body = message.get_content()
    if base_url:
        assert "Xem kết quả đánh giá của tôi: https://canbo.example/evaluation/mine\n" in body
    else:
        assert "mở trang “Đánh giá hằng tháng”, mục “Kết quả đánh giá của tôi”." in body
        assert "/evaluation/mine" not in body
