"""The audit log page and its export: auditors and administrators only, in their scope, with filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_exports import csv_rows, filename, xlsx_rows
from workflows import clock
from workflows.db import transaction
from workflows.exports import AUDIT_COLUMNS
from workflows.registry import records
from workflows.registry.models import Cadre, OrgUnit, RoleAssignment, User
from workflows.registry.passwords import hash_password
from workflows.states import Role

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def history(driver: WorkflowDriver) -> dict[str, int]:
    """A request in each commune on 2 November, and a change to CB0005's record on 5 November."""
    clock.set_now(T0)
    x001 = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    x002 = driver.start("sample_approval", as_user="officer3", subject="CB0005")
    clock.set_now(T1)
    with driver.session_factory() as s, transaction(s):
        personnel = s.scalars(select(User).where(User.username == "personnel1")).one()
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0005")).one()
        records.update_cadre(s, personnel, cadre, {"ethnicity": "Tày"})
        cadre_id = cadre.id
    return {"x001": x001, "x002": x002, "cadre": cadre_id}


def chains(rows: list[list[str]]) -> set[str]:
    return {row[1] for row in rows[1:]}


@pytest.mark.parametrize("username", ["auditor1", "admin"])
def test_province_auditors_and_admins_read_the_whole_log(auth: AuthActions, client, history, username) -> None:
    auth.login(username)
    page = client.get("/audit/events")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"instance:{history['x001']}" in text and f"instance:{history['x002']}" in text
    assert f"cadre:{history['cadre']}" in text
    rows = csv_rows(client.get("/audit/events?format=csv"))
    assert rows[0] == [c.header for c in AUDIT_COLUMNS]
    assert rows[0][:3] == ["Mã sự kiện", "Chuỗi", "Thứ tự"]
    assert {"system", f"instance:{history['x001']}", f"cadre:{history['cadre']}"} <= chains(rows)


def test_the_log_names_people_and_procedures(auth: AuthActions, client, history, driver: WorkflowDriver) -> None:
    """Namesakes are told apart by their codes; who acted is shown by name; the filters' choices are words."""
    with driver.session_factory() as s:
        cadre = s.get(Cadre, history["cadre"])
        subject = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        personnel = s.scalars(select(User).where(User.username == "personnel1")).one()
        assert cadre is not None
        cadre_name, subject_name, personnel_name = cadre.full_name, subject.full_name, personnel.full_name
    auth.login("auditor1")
    page = lxml_html.fromstring(client.get("/audit/events").get_data(as_text=True))
    links = {a.get("title"): a.text_content() for a in page.xpath("//table//a[@title]")}
    assert links[f"cadre:{history['cadre']}"] == f"{cadre_name} (CB0005)"
    assert (
        links[f"instance:{history['x001']}"] == f"Phê duyệt đề nghị (mẫu) #{history['x001']} — {subject_name} (CB0001)"
    )
    # The full name, the user name beside it.
    assert f"{personnel_name} personnel1" in [td.text_content() for td in page.xpath("//td[@class='actor']")]
    outcomes = [o.text_content() for o in page.xpath("//select[@name='outcome']/option")][1:]
    assert outcomes and not {"running", "completed", "cancelled"} & set(outcomes)
    reads = lxml_html.fromstring(client.get("/audit/reads").get_data(as_text=True))
    kinds = [o.text_content() for o in reads.xpath("//select[@name='kind']/option")][1:]
    assert kinds and not any("_" in kind or kind in ("instance", "cadre") for kind in kinds)


def test_on_a_phone_each_cell_of_the_log_names_its_column(auth: AuthActions, client, history) -> None:
    """A narrow screen hides the header row (app.css): the chain's number, the person and the event would be bare."""
    auth.login("auditor1")
    page = lxml_html.fromstring(client.get("/audit/events").get_data(as_text=True))
    rows = page.xpath("//table[contains(@class, 'audit')]/tbody/tr")
    assert rows
    for row in rows:
        labels = row.xpath("./td/@data-label")
        assert labels == ["Chuỗi nhật ký", "Số thứ tự trong chuỗi", "Người thực hiện", "Sự kiện", "Nội dung"], labels


@pytest.mark.parametrize("username", ["officer1", "supervisor1", "head1", "personnel1"])
def test_nobody_else_reads_the_log(auth: AuthActions, client, history, username: str) -> None:
    auth.login(username)
    assert client.get("/audit/events").status_code == 403
    assert client.get("/audit/events?format=csv").status_code == 403
    assert 'href="/audit/events"' not in client.get("/inbox").get_data(as_text=True)


def test_the_log_is_in_the_auditor_s_navigation(auth: AuthActions, client) -> None:
    auth.login("auditor1")
    assert 'href="/audit/events"' in client.get("/inbox").get_data(as_text=True)


def test_an_auditor_placed_in_a_commune_reads_only_its_chains(
    auth: AuthActions, client, history, driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s, transaction(s):
        x002 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X002")).one()
        user = User(username="auditor2", full_name="Kiểm tra Phường", password_hash=hash_password("demo"), unit=x002)
        s.add(user)
        s.flush()
        s.add(RoleAssignment(user_id=user.id, role=Role.AUDITOR, unit_id=x002.id))
    auth.login("auditor2")
    rows = csv_rows(client.get("/audit/events?format=csv"))
    assert chains(rows) == {f"instance:{history['x002']}", f"cadre:{history['cadre']}"}
    # Naming another commune's chain finds nothing rather than showing it.
    assert csv_rows(client.get(f"/audit/events?chain=%23{history['x001']}&format=csv"))[1:] == []


def test_filters_narrow_the_page_and_the_file_alike(auth: AuthActions, client, history) -> None:
    auth.login("auditor1")
    one = f"instance:{history['x001']}"
    rows = csv_rows(client.get(f"/audit/events?chain=%23{history['x001']}&format=csv"))
    assert chains(rows) == {one}
    assert [int(row[2]) for row in rows[1:]] == list(range(1, len(rows)))  # one chain reads in its own order
    started = csv_rows(client.get("/audit/events?event_type=instance_started&format=csv"))
    assert {row[5] for row in started[1:]} == {"instance_started"} and len(started) == 3
    by_personnel = csv_rows(client.get("/audit/events?actor=PERSONNEL1&format=csv"))
    assert [(row[1], row[5]) for row in by_personnel[1:]] == [(f"cadre:{history['cadre']}", "cadre_updated")]
    later = csv_rows(client.get("/audit/events?from=2026-11-03&to=2026-11-30&format=csv"))
    assert chains(later) == {f"cadre:{history['cadre']}"}
    earlier = csv_rows(client.get("/audit/events?from=01/11/2026&to=02/11/2026&format=csv"))
    assert f"cadre:{history['cadre']}" not in chains(earlier) and one in chains(earlier)

    page = client.get("/audit/events?event_type=instance_started").get_data(as_text=True)
    assert "format=csv" in page and "event_type=instance_started" in page  # the buttons carry the filters
    response = client.get("/audit/events?event_type=instance_started&format=xlsx")
    assert filename(response) == f"nhat-ky-{records.local_today():%Y%m%d}.xlsx"
    assert [row[5] for row in xlsx_rows(response)[1:]] == ["instance_started", "instance_started"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("chain=instance:abc", "chain"),
        ("chain=tasks", "chain"),
        ("event_type=deleted_everything", "event_type"),
        ("from=31/02/2026", "from"),
        ("from=2026-11-05&to=2026-11-01", "to"),
        ("actor=" + "x" * 81, "actor"),
        ("format=json", None),
    ],
)
def test_bad_filters_are_named_with_400(auth: AuthActions, client, history, query: str, field: str | None) -> None:
    auth.login("auditor1")
    for suffix in ("", "&format=csv"):
        response = client.get(f"/audit/events?{query}{suffix}")
        assert response.status_code == 400 and response.mimetype == "text/html"
        text = response.get_data(as_text=True)
        assert 'role="alert"' in text and "instance_started" not in text.split("</form>")[-1]
        marked = re.findall(r'<(?:input|select)[^>]*name="(\w+)"[^>]*aria-invalid="true"', text)
        assert marked == ([field] if field else [])
