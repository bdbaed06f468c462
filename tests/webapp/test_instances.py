"""Instance pages through the real app: who sees which procedure, the page of one, its diagram, history,
comments and files, starting one from the UI and cancelling one.

Assertions read ids, data attributes and stored rows rather than wording, which the translators own.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import PRODUCTS, SELF_WITH_TWO_ROWS
from tests.fixtures.reads import logged_reads
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.instances.views import diagram_page_policy
from workflows import clock
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.models import Attachment, Comment, HumanTask, ProcessInstance
from workflows.registry.models import OrgUnit
from workflows.states import InstanceStatus, TaskStatus
from workflows.timers import run_due_timers

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _submitted(driver: WorkflowDriver, officer: str, cadre: str, text: str = "Đề nghị") -> int:
    instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
    driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": text})
    return instance_id


@pytest.fixture
def procedures(driver: WorkflowDriver) -> dict[str, int]:
    """A request under review in each commune, and one in X001 that its officer has not submitted yet."""
    clock.set_now(T0)
    return {
        "x001": _submitted(driver, "officer1", "CB0001"),
        "x002": _submitted(driver, "officer3", "CB0005"),
        "x001_draft": driver.start("sample_approval", as_user="officer2", subject="CB0002"),
    }


def _listed(client, query: str = "") -> set[int]:
    page = client.get(f"/instances{query}")
    assert page.status_code == 200
    return {int(n) for n in re.findall(r'data-instance-id="(\d+)"', page.get_data(as_text=True))}


def _doc(response: TestResponse) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _count(driver: WorkflowDriver, model: type) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# -- the list ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("officer1", {"x001"}),  # their own request only
        ("officer2", {"x001_draft"}),
        ("officer3", {"x002"}),
        ("supervisor1", {"x001", "x001_draft"}),  # their commune's, not the other commune's
        ("head1", {"x001", "x001_draft"}),
        ("personnel1", {"x001", "x002", "x001_draft"}),  # province-wide
        ("auditor1", {"x001", "x002", "x001_draft"}),
        ("admin", {"x001", "x002", "x001_draft"}),
    ],
)
def test_list_shows_the_instances_in_scope(
    auth: AuthActions, client, procedures: dict[str, int], username: str, expected: set[str]
) -> None:
    auth.login(username)
    assert _listed(client) == {procedures[key] for key in expected}


def test_list_columns(auth: AuthActions, client, procedures: dict[str, int]) -> None:
    auth.login("supervisor1")
    row = _doc(client.get("/instances")).xpath(f'//tr[@data-instance-id="{procedures["x001"]}"]')[0]
    text = row.text_content()
    assert f"#{procedures['x001']}" in text and "Phê duyệt đề nghị (mẫu)" in text
    assert "Nguyễn Thị Lan" in text and "Xã An Phú" in text
    assert "Xem xét, phê duyệt" in text  # the current step
    assert row.xpath('.//span[contains(@class, "status-running")]')
    assert "02/11/2026 15:00" in text  # 08:00 UTC, shown in Vietnam time


def test_filters(auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver) -> None:
    with driver.session_factory() as s:
        x002 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X002")).one()
    auth.login("personnel1")
    everything = set(procedures.values())
    assert _listed(client, "?status=running") == everything
    assert _listed(client, "?status=completed") == set()
    assert _listed(client, "?process=sample_approval") == everything
    assert _listed(client, f"?unit={x002}") == {procedures["x002"]}
    assert _listed(client, "?q=lan") == {procedures["x001"]}
    assert _listed(client, "?q=CB0005") == {procedures["x002"]}
    assert _listed(client, f"?q=%23{procedures['x001_draft']}") == {procedures["x001_draft"]}
    assert _listed(client, f"?q=sample_approval%23{procedures['x001_draft']}") == {procedures["x001_draft"]}
    # Digits int() refuses ('²'), "#0" and an id past any: no procedure, not a server error.
    assert _listed(client, "?q=%23%C2%B2") == _listed(client, "?q=%230") == set()
    assert _listed(client, "?q=%2399999999999999999999") == set()
    # 2 November in Vietnam, written either way; the 3rd is after every start.
    assert _listed(client, "?from=02/11/2026&to=02/11/2026") == everything
    assert _listed(client, "?from=2026-11-02") == everything
    assert _listed(client, "?from=03/11/2026") == set()
    assert _listed(client, "?to=01/11/2026") == set()


def test_sorting_and_pages(auth: AuthActions, client, procedures: dict[str, int]) -> None:
    auth.login("personnel1")
    newest = re.findall(r'data-instance-id="(\d+)"', client.get("/instances").get_data(as_text=True))
    oldest = re.findall(r'data-instance-id="(\d+)"', client.get("/instances?sort=oldest").get_data(as_text=True))
    assert newest == list(reversed(oldest))
    by_person = _doc(client.get("/instances?sort=subject")).xpath("//tr[@data-instance-id]/td[2]/text()")
    assert by_person == sorted(by_person)


def test_pagination_keeps_the_filters(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    started = [driver.start("sample_approval", as_user="personnel1", subject="CB0005") for _ in range(23)]
    auth.login("personnel1")  # 26 in all: one more than a page
    first = _doc(client.get("/instances?status=running&sort=oldest"))
    assert len(first.xpath("//tr[@data-instance-id]")) == 25
    (next_link,) = first.xpath('//a[@rel="next"]/@href')
    assert "status=running" in next_link and "sort=oldest" in next_link and "page=2" in next_link
    assert _listed(client, next_link.removeprefix("/instances")) == {started[-1]}


@pytest.mark.parametrize(
    ("query", "field_message"),
    [
        ("status=nope", "Không thuộc các giá trị cho phép"),
        ("process=unknown", "Không thuộc các giá trị cho phép"),
        ("unit=abc", "Đơn vị không tồn tại"),
        ("unit=99999", "Đơn vị không tồn tại"),  # outside one's scope: refused, not silently dropped
        ("sort=drop", "Không thuộc các giá trị cho phép"),
        ("version=-5", "nhập số phiên bản"),
        ("from=2026-13-45", "Nhập ngày theo định dạng"),
        ("from=2027-01-01&to=2026-01-01", "Ngày kết thúc không thể trước ngày bắt đầu"),
    ],
)
def test_filters_that_cannot_be_applied_are_refused_by_name(
    auth: AuthActions, client, procedures: dict[str, int], query: str, field_message: str
) -> None:
    auth.login("supervisor1")
    response = client.get(f"/instances?{query}&q=Nguyen")
    assert response.status_code == 400, query
    page = response.get_data(as_text=True)
    assert "Không áp dụng được điều kiện lọc" in page and field_message in page
    doc = _doc(response)
    assert not doc.xpath("//tr[@data-instance-id]")
    assert doc.xpath('//input[@name="q"]/@value') == ["Nguyen"]  # the form keeps what was typed


def test_odd_pages_and_searches_are_not_filters_to_refuse(
    auth: AuthActions, client, procedures: dict[str, int]
) -> None:
    auth.login("supervisor1")
    for query in ("page=-4", "page=abc", "page=" + "9" * 30, "q=" + "x" * 500, "q=%23" + "9" * 30, "from="):
        assert client.get(f"/instances?{query}").status_code == 200, query


@pytest.mark.parametrize("value", ["31/02/2026", "2026-13-01", "yesterday", "02/11/0001", "1/1/99999"])
def test_unreadable_dates_are_named(auth: AuthActions, client, procedures: dict[str, int], value: str) -> None:
    auth.login("supervisor1")
    response = client.get(f"/instances?from={value}")
    assert response.status_code == 400
    doc = _doc(response)
    assert doc.xpath('//label[@class="invalid"]/input[@name="from"]/@value') == [value]


# -- one instance -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "key"),
    [
        ("officer1", "x002"),
        ("officer1", "x001_draft"),
        ("officer3", "x001"),
        ("supervisor1", "x002"),
        ("officer2", "x001"),
    ],
)
def test_out_of_scope_instances_do_not_exist(
    auth: AuthActions, client, procedures: dict[str, int], username: str, key: str
) -> None:
    auth.login(username)
    instance_id = procedures[key]
    assert client.get(f"/instances/{instance_id}").status_code == 404
    assert client.get(f"/instances/{instance_id}/diagram.svg").status_code == 404


@pytest.mark.parametrize("forged", ["0", "999999", "2147483648", "9" * 30])
def test_forged_ids_are_404(auth: AuthActions, client, procedures: dict[str, int], forged: str) -> None:
    auth.login("admin")
    assert client.get(f"/instances/{forged}").status_code == 404
    assert client.get(f"/instances/{forged}/diagram.svg").status_code == 404
    assert client.get(f"/attachments/{forged}").status_code == 404


def test_instance_page(auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver) -> None:
    auth.login("supervisor1")
    response = client.get(f"/instances/{procedures['x001']}")
    assert response.status_code == 200
    doc = _doc(response)
    facts = doc.xpath('//dl[contains(@class, "facts")]')[0].text_content()
    assert "v1" in facts and "Nguyễn Thị Lan" in facts and "CB0001" in facts and "Xã An Phú" in facts
    assert doc.xpath('//span[@data-status="running"]')
    # The open task is a group task: the role and the unit, its deadline three days on, and a link to take it.
    row = doc.xpath('//tr[@data-task-key="review_request"]')[0]
    assert "Xã An Phú" in row.text_content() and "05/11/2026" in row.text_content()
    task = driver.task(procedures["x001"], "review_request")
    assert row.xpath(f'.//a[@href="/tasks/{task.id}"]')
    # Current data, without the model's bookkeeping keys.
    assert doc.xpath('//dd[@data-key="subject_line"]')[0].text_content().strip() == "Đề nghị"
    assert doc.xpath('//dd[@data-key="return_count"]')
    # A key of the procedure's own data that no form titles is named in the reader's language.
    assert doc.xpath('//dd[@data-key="return_count"]/preceding-sibling::dt[1]')[0].text_content() == "Số lần đã trả lại"
    # The procedure's own facts are not folded away with the model's working data (there is none here).
    assert not doc.xpath('//details[@class="technical-data"]')
    assert not doc.xpath('//dd[starts-with(@data-key, "_")]')
    # The diagram inline, with the current step highlighted, and its styles allowed by hash only.
    assert doc.xpath('//figure[@class="diagram"]//*[@data-element-id="review_request"]')
    policy = response.headers["Content-Security-Policy"]
    style = re.search(r"<style>(.*?)</style>", response.get_data(as_text=True), re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy and "unsafe-inline" not in policy
    # Apart from those hashes, the page keeps the policy every other page gets.
    assert (
        re.sub(r" '(sha256-[^']+|unsafe-hashes)'", "", policy)
        == client.get("/instances").headers["Content-Security-Policy"]
    )


def _style_policy(page: str) -> set[str]:
    """The CSP sources the page's inline diagram needs, worked out here from the page itself."""
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL) + re.findall(r'\sstyle="([^"]*)"', page)
    return {f"'sha256-{base64.b64encode(hashlib.sha256(html.unescape(s).encode()).digest()).decode()}'" for s in styles}


def test_the_pages_policy_follows_its_diagram_as_the_instance_moves_on(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    """The styles' hashes are kept per drawing (decision 0093): after a step the page draws another progress, and
    its policy is that drawing's, on the instance page and the inspector's history alike."""
    instance_id = procedures["x001"]
    auth.login("admin")
    before = client.get(f"/instances/{instance_id}")
    again = client.get(f"/instances/{instance_id}")
    assert before.headers["Content-Security-Policy"] == again.headers["Content-Security-Policy"]
    driver.complete(
        "supervisor1", driver.task(instance_id, "review_request").id, {"decision": "approve", "comment": "Đồng ý"}
    )
    after = client.get(f"/instances/{instance_id}")
    drawn = [
        re.search(r'<figure class="diagram">.*?</figure>', r.get_data(as_text=True), re.DOTALL) for r in (before, after)
    ]
    assert drawn[0] and drawn[1] and drawn[0].group(0) != drawn[1].group(0)
    for response in (before, after, client.get(f"/audit/instances/{instance_id}")):
        policy = response.headers["Content-Security-Policy"]
        found = set(re.findall(r"'sha256-[^']+'", policy))
        assert found == _style_policy(response.get_data(as_text=True)) and found


def test_a_drawing_with_other_styles_has_its_own_policy() -> None:
    """A new version's drawing is another text, and so another entry: nothing is answered for the wrong drawing."""
    first = '<svg><style>.a{fill:red}</style><rect style="stroke:blue"/></svg>'
    second = "<svg><style>.a{fill:green}</style></svg>"
    assert diagram_page_policy(first) == diagram_page_policy(first)
    assert diagram_page_policy(first) != diagram_page_policy(second)
    assert "'unsafe-hashes'" in diagram_page_policy(first) and "'unsafe-hashes'" not in diagram_page_policy(second)
    assert set(re.findall(r"'sha256-[^']+'", diagram_page_policy(second))) == _style_policy(second)


NOBODY_CAN_TAKE = (
    "Bước “Xem xét, phê duyệt” đang chờ người có vai trò Lãnh đạo trực tiếp tại Phường Bình Minh, nhưng chưa ai có vai "
    "trò này. Hãy đề nghị quản trị viên phân công."
)


def test_the_page_warns_of_a_step_whose_role_nobody_holds(
    auth: AuthActions, client, procedures: dict[str, int]
) -> None:
    """Phường Bình Minh has no direct supervisor in the small demo: its review waits for nobody, and the page says
    so instead of leaving the starter waiting (the administrator's list names the same tasks). Xã An Phú's review,
    which supervisor1 takes, carries no warning."""
    auth.login("personnel1")
    doc = _doc(client.get(f"/instances/{procedures['x002']}"))
    (warning,) = doc.xpath('//div[contains(@class, "untakeable")]')
    assert warning.text_content().strip() == NOBODY_CAN_TAKE
    assert warning.get("data-task-key") == "review_request"
    assert not _doc(client.get(f"/instances/{procedures['x001']}")).xpath('//div[contains(@class, "untakeable")]')


def test_a_start_whose_first_step_nobody_can_take_warns_in_the_flash(app, procedures: dict[str, int]) -> None:
    """What the start pages call after starting: one warning per step nobody can take, none when someone can."""
    from flask import get_flashed_messages

    from webapp.instances.views import warn_if_nobody_can_take

    with app.test_request_context(headers={"Accept-Language": "vi"}):
        warn_if_nobody_can_take(procedures["x001"])
        assert get_flashed_messages(with_categories=True) == []
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        warn_if_nobody_can_take(procedures["x002"])
        assert get_flashed_messages(with_categories=True) == [("warning", NOBODY_CAN_TAKE)]


def test_a_form_completion_that_opens_a_step_nobody_can_take_warns_in_the_flash(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """The advance itself says which of the steps it opened wait for nobody (on PostgreSQL its write answers it,
    no read of its own): officer3's request in Phường Bình Minh goes to a review nobody there can take; officer1's in
    Xã An Phú to supervisor1, without a warning."""
    clock.set_now(T0)
    for officer, cadre, warned in (("officer3", "CB0005", [NOBODY_CAN_TAKE]), ("officer1", "CB0001", [])):
        instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
        task_id = driver.task(instance_id, "submit_request").id
        auth.login(officer)
        csrf = auth.csrf_token(f"/tasks/{task_id}")
        response = client.post(f"/tasks/{task_id}", data={"subject_line": "Đề nghị", "csrf_token": csrf})
        assert response.status_code == 302
        assert driver.task(instance_id, "review_request").status == "open"
        inbox = _doc(client.get("/inbox"))
        shown = [" ".join(n.text_content().split()) for n in inbox.xpath('//div[@class="flash warning"]')]
        assert shown == warned
        auth.logout()


def test_after_a_deadline_in_a_parallel_branch_the_page_shows_every_branchs_data(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """tests/fixtures/bpmn/parallel_clearances.bpmn: two opinions given, then the deadline beside them fires and
    opens its escalation step. The page's data is still the procedure's — both opinions — and not the deadline
    branch's copy of the data from before they were given."""
    model = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "parallel_clearances.bpmn"
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(model.name, model.read_bytes())], actor=None, forms_dir=None)
    clock.set_now(T0)
    instance_id = driver.start("parallel_clearances", as_user="personnel1", subject="CB0002")
    driver.complete("personnel1", driver.task(instance_id, "dossier").id, {"dossier_checked_on": "2026-11-02"})
    driver.complete("personnel1", driver.task(instance_id, "political").id, {"political_result": "cleared"})
    clock.set_now(T0 + timedelta(days=4))
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 1
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"inspection", "escalate"}

    auth.login("personnel1")
    doc = _doc(client.get(f"/instances/{instance_id}"))
    shown = {dd.get("data-key"): dd.text_content().strip() for dd in doc.xpath("//dd[@data-key]")}
    assert shown == {"stage": "clearances", "dossier_checked_on": "02/11/2026", "political_result": "cleared"}


def test_diagram_svg(auth: AuthActions, client, procedures: dict[str, int]) -> None:
    auth.login("officer1")
    response = client.get(f"/instances/{procedures['x001']}/diagram.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = etree.fromstring(response.get_data())
    current = svg.xpath('//*[@data-element-id="review_request"]')[0]
    assert "current" in current.get("class").split()
    done = svg.xpath('//*[@data-element-id="submit_request"]')[0]
    assert "completed" in done.get("class").split()
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none' covers it


@pytest.mark.parametrize(
    ("decision", "outcome", "shown"),
    [
        ("approve", "achieved", "Đã hoàn thành — Đã phê duyệt"),
        ("reject", "stopped", "Đã kết thúc, không đạt kết quả — Bị từ chối"),
    ],
)
def test_a_completed_instance_shows_how_it_ended(
    auth: AuthActions,
    client,
    procedures: dict[str, int],
    driver: WorkflowDriver,
    decision: str,
    outcome: str,
    shown: str,
) -> None:
    """A request refused is completed for the engine, not a success: the page says how it ended (decision 0064),
    from the end event its completion recorded, not a green "Đã hoàn thành" for every ending."""
    instance_id = procedures["x001"]
    driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": decision})
    auth.login("officer1")
    (badge,) = _doc(client.get(f"/instances/{instance_id}")).xpath('//span[@data-status="completed"]')
    assert badge.get("data-outcome") == outcome and f"status-{outcome}" in badge.get("class")
    assert badge.text_content().strip() == shown


def test_the_list_shows_how_each_completed_instance_ended(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    """The list says what the instance page says (decision 0064): a refused request is not a green "Đã hoàn thành"
    next to an approved one; the short outcome in the badge, the end event's name under it and in its title."""
    approved, refused = procedures["x001"], _submitted(driver, "officer1", "CB0001")
    driver.complete("supervisor1", driver.task(approved, "review_request").id, {"decision": "approve"})
    driver.complete("supervisor1", driver.task(refused, "review_request").id, {"decision": "reject"})
    auth.login("personnel1")
    doc = _doc(client.get("/instances"))

    def status_cell(instance_id: int) -> Any:
        (cell,) = doc.xpath(f'//tr[@data-instance-id="{instance_id}"]/td[span[@data-status]]')
        return cell

    shown = {}
    for instance_id in (approved, refused):
        (badge,) = status_cell(instance_id).xpath('.//span[@data-status="completed"]')
        (reason,) = status_cell(instance_id).xpath('.//span[@class="outcome-reason"]')
        shown[instance_id] = (badge.get("data-outcome"), badge.text_content().strip(), reason.text_content().strip())
        assert badge.get("title") == f"{shown[instance_id][1]} — {shown[instance_id][2]}"
        assert f"status-{badge.get('data-outcome')}" in badge.get("class")
    assert shown[approved] == ("achieved", "Đã hoàn thành", "Đã phê duyệt")
    assert shown[refused] == ("stopped", "Đã kết thúc, không đạt kết quả", "Bị từ chối")
    # A running instance keeps its plain status badge.
    (running,) = status_cell(procedures["x001_draft"]).xpath(".//span[@data-status]")
    assert running.get("data-status") == "running" and running.get("data-outcome") is None


def test_timeline_shows_completion_with_data_before_and_after(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    instance_id = procedures["x001"]
    driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "return"})
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị đã sửa"})
    auth.login("officer1")
    doc = _doc(client.get(f"/instances/{instance_id}"))
    completions = doc.xpath('//li[@data-event="task_completed"][@data-task-key="submit_request"]')
    assert len(completions) == 2
    first, second = (c.xpath('.//li[@data-key="subject_line"]')[0] for c in completions)
    assert first.xpath("string(.//ins)").strip() == "Đề nghị"
    assert second.xpath("string(.//del)").strip() == "Đề nghị"
    assert second.xpath("string(.//ins)").strip() == "Đề nghị đã sửa"
    assert (
        "Lê Văn Minh"
        in doc.xpath('//li[@data-event="task_completed"][@data-task-key="review_request"]')[0].text_content()
    )
    assert doc.xpath('//li[@data-event="instance_started"]')
    assert not doc.xpath('//li[@data-event="data_changed"]')  # folded into the completions


def test_last_error_is_shown_to_administrators_only(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, procedures["x001"])
        assert instance is not None
        instance.last_error = "NameError: boom (element review_outcome)"
        s.commit()
    auth.login("supervisor1")
    assert "NameError: boom" not in client.get(f"/instances/{procedures['x001']}").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    assert "NameError: boom" in client.get(f"/instances/{procedures['x001']}").get_data(as_text=True)


# -- comments -------------------------------------------------------------------------------------------------


def test_add_a_comment(auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver) -> None:
    instance_id = procedures["x001"]
    auth.login("officer1")
    response = auth.post(f"/instances/{instance_id}/comments", {"body": "  Tôi đã bổ sung hồ sơ.  "})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/instances/{instance_id}#comments")
    with driver.session_factory() as s:
        stored = s.scalars(select(Comment).where(Comment.instance_id == instance_id)).one()
        assert stored.body == "Tôi đã bổ sung hồ sơ."
    assert "Tôi đã bổ sung hồ sơ." in client.get(f"/instances/{instance_id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Vui lòng ghi ý kiến."),
        ("   ", "Vui lòng ghi ý kiến."),
        ("\x00\x07", "Vui lòng ghi ý kiến."),  # PostgreSQL cannot store NUL: such text counts as none
        (" \x1b\t\x7f\n", "Vui lòng ghi ý kiến."),
        ("x" * 2001, "Tối đa 2.000 ký tự."),
    ],
)
def test_invalid_comments_are_refused(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver, body: str, message: str
) -> None:
    auth.login("supervisor1")
    response = auth.post(f"/instances/{procedures['x001']}/comments", {"body": body})
    assert response.status_code == 422
    errors = _doc(response).xpath('//*[@id="comment-body-error"]')
    assert errors and message in errors[0].text_content()
    assert _count(driver, Comment) == 0


def test_control_characters_inside_a_comment_are_dropped(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    auth.login("officer1")
    response = auth.post(f"/instances/{procedures['x001']}/comments", {"body": "\x00 Đã\x07 bổ sung\r\nhồ sơ\x00 "})
    assert response.status_code == 302
    with driver.session_factory() as s:
        assert s.scalars(select(Comment)).one().body == "Đã bổ sung\r\nhồ sơ"


def test_a_lone_surrogate_counts_as_no_text(app) -> None:  # type: ignore[no-untyped-def]
    # A browser cannot send one (Werkzeug decodes bad UTF-8 to U+FFFD), but no database driver could encode it.
    from werkzeug.datastructures import MultiDict

    from webapp.instances.forms import CommentForm

    with app.test_request_context("/", method="POST"):
        form = CommentForm(formdata=MultiDict({"body": "\ud800"}), meta={"csrf": False})
        assert not form.validate()
        assert form.body.data == "" and form.body.errors == ["Vui lòng ghi ý kiến."]
        kept = CommentForm(formdata=MultiDict({"body": "a\udfffb 😀"}), meta={"csrf": False})
        assert kept.validate() and kept.body.data == "ab 😀"


def test_auditors_cannot_comment(auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver) -> None:
    auth.login("auditor1")
    page = _doc(client.get(f"/instances/{procedures['x001']}"))
    assert not page.xpath('//textarea[@name="body"]')
    assert auth.post(f"/instances/{procedures['x001']}/comments", {"body": "Ý kiến"}).status_code == 403
    assert _count(driver, Comment) == 0


def test_comments_need_scope_and_a_csrf_token(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    auth.login("officer3")
    assert auth.post(f"/instances/{procedures['x001']}/comments", {"body": "Xin chào"}).status_code == 404
    assert client.post(f"/instances/{procedures['x002']}/comments", data={"body": "Xin chào"}).status_code == 400
    assert _count(driver, Comment) == 0


# -- attachments --------------------------------------------------------------------------------------------


@pytest.fixture
def attachment(app, procedures: dict[str, int], driver: WorkflowDriver, demo_users: dict) -> int:
    content = b"%PDF-1.4 quyet dinh"
    digest = hashlib.sha256(content).hexdigest()
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(content)
    with driver.session_factory() as s:
        row = Attachment(
            instance_id=procedures["x001"],
            filename="quyet_dinh.pdf",
            content_type="application/pdf",
            size=len(content),
            sha256=digest,
            uploaded_by_id=demo_users["officer1"].id,
        )
        s.add(row)
        s.commit()
        return row.id


@pytest.mark.parametrize(
    ("username", "status"),
    [("officer1", 200), ("supervisor1", 200), ("auditor1", 200), ("officer3", 404), ("officer2", 404)],
)
def test_attachment_download_scope(auth: AuthActions, client, attachment: int, username: str, status: int) -> None:
    auth.login(username)
    response = client.get(f"/attachments/{attachment}")
    assert response.status_code == status
    if status == 200:
        assert response.get_data() == b"%PDF-1.4 quyet dinh"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "quyet_dinh.pdf" in response.headers["Content-Disposition"]
        assert "sandbox" in response.headers["Content-Security-Policy"]
    response.close()  # the file is streamed from disk


def test_a_dossier_file_downloaded_is_a_logged_read(
    auth: AuthActions, client, attachment: int, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    """The file leaves the server: who took it is logged against the procedure, with the file's name (decision 0143).
    A download refused leaves no read."""
    instance_id = procedures["x001"]
    with driver.session_factory() as s:
        unit_id = s.get(ProcessInstance, instance_id).unit_id  # type: ignore[union-attr]
    auth.login("officer3")
    assert client.get(f"/attachments/{attachment}").status_code == 404
    auth.logout()
    auth.login("supervisor1")
    client.get(f"/attachments/{attachment}").close()
    assert logged_reads(driver.session_factory, "instance_file") == [
        ("supervisor1", instance_id, unit_id, "quyet_dinh.pdf")
    ]


def test_the_diagram_opened_on_its_own_is_a_logged_read(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    instance_id = procedures["x001"]
    auth.login("officer3")
    assert client.get(f"/instances/{instance_id}/diagram.svg").status_code == 404
    auth.logout()
    auth.login("supervisor1")
    assert client.get(f"/instances/{instance_id}/diagram.svg").status_code == 200
    assert [read[:2] for read in logged_reads(driver.session_factory, "instance_diagram")] == [
        ("supervisor1", instance_id)
    ]


def test_attachment_is_listed_and_a_missing_file_is_404(
    auth: AuthActions, client, app, attachment: int, procedures: dict[str, int]
) -> None:
    auth.login("officer1")
    assert _doc(client.get(f"/instances/{procedures['x001']}")).xpath(f'//a[@href="/attachments/{attachment}"]')
    for stored in Path(app.config["UPLOAD_DIR"]).iterdir():
        stored.unlink()
    assert client.get(f"/attachments/{attachment}").status_code == 404


# -- starting -----------------------------------------------------------------------------------------------


def test_personnel_starts_a_procedure(auth: AuthActions, client, driver: WorkflowDriver, demo_users: dict) -> None:
    auth.login("personnel1")
    assert client.get("/instances/start").status_code == 200
    response = auth.post(
        "/instances/start", {"process_id": "sample_approval", "subject": "CB0001", "unit": ""}, page="/instances/start"
    )
    assert response.status_code == 302
    instance_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.RUNNING
        assert instance.subject is not None and instance.subject.code == "CB0001"
        assert instance.started_by_id == demo_users["personnel1"].id
        assert instance.unit_id == instance.subject.unit_id  # the subject's unit by default
    task = driver.task(instance_id, "submit_request")
    assert task.assignee_id == demo_users["officer1"].id
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_officer_starts_for_themself_with_the_code_prefilled(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("officer2")
    form = _doc(client.get("/instances/start"))
    assert form.xpath('//input[@name="subject"]/@value') == ["CB0002"]
    response = auth.post(
        "/instances/start", {"process_id": "sample_approval", "subject": "CB0002"}, page="/instances/start"
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("username", "data"),
    [
        ("officer2", {"process_id": "sample_approval", "subject": "CB0001"}),  # someone else: not theirs to start
        ("officer3", {"process_id": "sample_approval", "subject": "CB0001"}),  # another commune: reads as unknown
        ("personnel1", {"process_id": "sample_approval", "subject": "XX9999"}),
        ("personnel1", {"process_id": "sample_approval", "subject": ""}),
        ("personnel1", {"process_id": "no_such_process", "subject": "CB0001"}),
        ("personnel1", {"process_id": "", "subject": "CB0001"}),
        ("personnel1", {"process_id": "sample_approval", "subject": "CB0001", "unit": "abc"}),
        ("personnel1", {"process_id": "sample_approval", "subject": "CB0001", "unit": "99999"}),
    ],
)
def test_refused_starts_write_nothing(
    auth: AuthActions, client, driver: WorkflowDriver, username: str, data: dict[str, str]
) -> None:
    before = (_count(driver, ProcessInstance), _count(driver, HumanTask))
    auth.login(username)
    response = auth.post("/instances/start", data, page="/instances/start")
    assert response.status_code == 422
    doc = _doc(response)
    assert doc.xpath('//*[@role="alert"]')
    assert (_count(driver, ProcessInstance), _count(driver, HumanTask)) == before


def test_auditors_cannot_start(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("auditor1")
    assert client.get("/instances/start").status_code == 403
    response = auth.post("/instances/start", {"process_id": "sample_approval", "subject": "CB0007"})
    assert response.status_code == 403
    assert _count(driver, ProcessInstance) == 0


def test_start_suggests_only_people_one_may_start_for(auth: AuthActions, client) -> None:
    auth.login("officer1")
    assert _doc(client.get("/instances/start")).xpath("//datalist/option/@value") == ["CB0001"]
    auth.logout()
    auth.login("personnel1")
    suggested = _doc(client.get("/instances/start")).xpath("//datalist/option/@value")
    assert {"CB0001", "CB0005", "CB0007"} <= set(suggested)


OWN_PAGES = {
    "appointment": "/appointments/start",
    "planning_review": "/planning/start",
    "rotation": "/rotations/start",
    "monthly_evaluation": "/evaluation/open",
    "annual_grading": "/evaluation/annual",
}


def test_procedures_with_their_own_page_are_linked_not_offered(auth: AuthActions, client) -> None:
    auth.login("personnel1")
    page = _doc(client.get("/instances/start"))
    offered = set(page.xpath('//select[@name="process_id"]/option/@value'))
    assert "sample_approval" in offered and not offered & set(OWN_PAGES)
    assert set(page.xpath('//section[@class="own-start-pages"]//a/@href')) == set(OWN_PAGES.values())
    auth.logout()
    auth.login("officer1")  # may start for themself, but none of those pages is theirs
    page = _doc(client.get("/instances/start"))
    assert "sample_approval" in page.xpath('//select[@name="process_id"]/option/@value')
    assert not page.xpath('//section[@class="own-start-pages"]')


@pytest.mark.parametrize(("process_id", "url"), sorted(OWN_PAGES.items()))
def test_starting_a_procedure_with_its_own_page_here_is_refused(
    auth: AuthActions, client, driver: WorkflowDriver, process_id: str, url: str
) -> None:
    before = (_count(driver, ProcessInstance), _count(driver, HumanTask))
    auth.login("personnel1")
    response = auth.post("/instances/start", {"process_id": process_id, "subject": "CB0001"}, page="/instances/start")
    assert response.status_code == 422
    [message] = _doc(response).xpath('//*[@id="process_id-error"]/text()')
    assert url in message
    assert (_count(driver, ProcessInstance), _count(driver, HumanTask)) == before


def test_the_own_pages_let_in_exactly_whom_the_links_are_shown_to(auth: AuthActions, client) -> None:
    """webapp/own_start_pages.py's roles agree with each page's own check."""
    auth.login("personnel1")
    assert {url: client.get(url).status_code for url in OWN_PAGES.values()} == dict.fromkeys(OWN_PAGES.values(), 200)
    auth.logout()
    auth.login("officer1")
    assert {url: client.get(url).status_code for url in OWN_PAGES.values()} == dict.fromkeys(OWN_PAGES.values(), 403)


# -- cancelling -----------------------------------------------------------------------------------------------


def test_admin_cancels_with_a_reason(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver
) -> None:
    instance_id = procedures["x001"]
    auth.login("admin")
    assert _doc(client.get(f"/instances/{instance_id}")).xpath('//textarea[@name="reason"]')
    response = auth.post(f"/instances/{instance_id}/cancel", {"reason": "Nộp trùng hồ sơ"})
    assert response.status_code == 302
    instance = driver.instance(instance_id)
    assert instance.status == InstanceStatus.CANCELLED and instance.cancel_reason == "Nộp trùng hồ sơ"
    assert driver.open_tasks(instance_id) == []
    doc = _doc(client.get(f"/instances/{instance_id}"))
    assert doc.xpath('//li[@data-event="instance_cancelled"]') and not doc.xpath('//textarea[@name="reason"]')
    again = auth.post(f"/instances/{instance_id}/cancel", {"reason": "Lần nữa"})
    assert again.status_code == 302  # already ended: said on the page, nothing changes
    assert driver.instance(instance_id).cancel_reason == "Nộp trùng hồ sơ"


@pytest.mark.parametrize("reason", ["   ", "\x00", "\x00\x01 \x1f"])
def test_cancel_needs_a_reason(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver, reason: str
) -> None:
    auth.login("admin")
    response = auth.post(f"/instances/{procedures['x001']}/cancel", {"reason": reason})
    assert response.status_code == 422
    errors = _doc(response).xpath('//*[@id="cancel-reason-error"]')
    assert errors and "Vui lòng nêu lý do hủy" in errors[0].text_content()
    instance = driver.instance(procedures["x001"])
    assert instance.status == InstanceStatus.RUNNING and not instance.cancel_reason


@pytest.mark.parametrize("username", ["supervisor1", "head1", "personnel1", "auditor1"])
def test_only_administrators_cancel(
    auth: AuthActions, client, procedures: dict[str, int], driver: WorkflowDriver, username: str
) -> None:
    auth.login(username)
    assert not _doc(client.get(f"/instances/{procedures['x001']}")).xpath('//textarea[@name="reason"]')
    assert auth.post(f"/instances/{procedures['x001']}/cancel", {"reason": "Không cần nữa"}).status_code == 403
    assert driver.instance(procedures["x001"]).status == InstanceStatus.RUNNING
    with driver.session_factory() as s:
        assert (
            s.scalar(
                select(func.count()).where(
                    HumanTask.instance_id == procedures["x001"], HumanTask.status == TaskStatus.OPEN
                )
            )
            == 1
        )


def test_cancel_of_an_invisible_instance_is_404(auth: AuthActions, client, procedures: dict[str, int]) -> None:
    auth.login("supervisor1")
    assert auth.post(f"/instances/{procedures['x002']}/cancel", {"reason": "x"}).status_code == 404


def _merged_commune(driver: WorkflowDriver) -> int:
    """A commune merged into X001 in the 2025 reform, beside it under the same parent."""
    with driver.session_factory() as s, s.begin():
        x001 = s.scalar(select(OrgUnit).where(OrgUnit.code == "X001"))
        former = OrgUnit(
            code="XC01",
            name="Xã Kim Bình",
            unit_type=x001.unit_type,
            parent_id=x001.parent_id,
            path=x001.path,
            is_active=False,
            merged_into_id=x001.id,
        )
        s.add(former)
        s.flush()
        return former.id


def test_merged_communes_are_offered_for_filtering_history_but_not_for_starting(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _merged_commune(driver)
    auth.login("personnel1")
    with_former = _doc(client.get("/instances")).xpath('//select[@name="unit"]/option/text()')
    offered = _doc(client.get("/instances/start")).xpath('//select[@name="unit"]/option/text()')
    # Merged into another commune in 2025: its history stays searchable, the unit marked as merged.
    assert "— Xã Kim Bình (đã sáp nhập)" in with_former
    assert not any("Kim Bình" in label for label in offered) and offered


def test_a_start_in_a_merged_commune_is_refused_and_writes_nothing(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    former = _merged_commune(driver)
    auth.login("personnel1")
    response = auth.post(
        "/instances/start", {"process_id": "sample_approval", "subject": "CB0001", "unit": str(former)}
    )
    assert response.status_code == 422
    assert _count(driver, ProcessInstance) == 0


# -- a monthly evaluation's data and history as a cadre reads them ------------------------------------------------


def evaluated_month(driver: WorkflowDriver) -> int:
    """A month of CB0001 worked through by officer1 → supervisor1 (who changes a product row) → head1."""
    from tests.fixtures.evaluation import OPENED_AT
    from workflows.evaluation.opening import open_for_cadres, plan_month
    from workflows.registry.models import User
    from workflows.rules.evaluation import DEFAULT_POLICY

    clock.set_now(OPENED_AT)
    try:
        with driver.session_factory() as session, transaction(session):
            actor = session.scalar(select(User).where(User.username == "personnel1"))
            plan = plan_month(session, actor=actor, month="2026-11", unit_code="X001")
            cadres = [c for c in plan.to_open if c.code == "CB0001"]
            assert cadres
            open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=cadres, policy=DEFAULT_POLICY)
        with driver.session_factory() as session:
            instance_id = session.scalar(
                select(ProcessInstance.id).where(ProcessInstance.business_key == "2026-11/CB0001")
            )
        assert instance_id is not None
        driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_WITH_TWO_ROWS)
        changed = [dict(PRODUCTS[0]), dict(PRODUCTS[1], completed_on_time=15, reason="5 hồ sơ trễ hạn")]
        review = {**SELF_WITH_TWO_ROWS, "products": changed, "decision": "submit"}
        driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, review)
        driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})
    finally:
        clock.set_now(None)
    return instance_id


def _data_items(tree: Any) -> dict[str, tuple[str, str]]:
    """key → (label, value) of the page's data, in the page's order."""
    return {
        dd.get("data-key"): (
            " ".join(dd.getprevious().text_content().split()),
            " ".join(dd.text_content().split()),
        )
        for dd in tree.xpath("//section[@aria-labelledby='data-heading']//dd[@data-key]")
    }


def test_an_evaluations_data_reads_as_words_numbers_and_dates_in_the_forms_order(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id = evaluated_month(driver)
    auth.login("head1")
    page = client.get(f"/instances/{instance_id}")
    assert page.status_code == 200
    items = _data_items(lxml_html.fromstring(page.get_data(as_text=True)))
    # the procedure's own values have names, no raw key is shown as a label
    for key in ("self_score", "score", "computed_grade", "final_grade", "disciplined", "score_breakdown"):
        assert key in items, key
        assert items[key][0] != key, key
    # a grade code reads as its name, a number the Vietnamese way, an ISO day as dd/mm/yyyy
    assert items["final_grade"][1] == "Hoàn thành xuất sắc nhiệm vụ"
    assert items["computed_grade"][1] == "Hoàn thành xuất sắc nhiệm vụ"
    assert items["self_score"][1] == "98"
    assert "," in items["score"][1] and "." not in items["score"][1]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", items["deadline_review"][1]), items["deadline_review"]
    assert "{" not in items["score_breakdown"][1] and "Điểm" in items["score_breakdown"][1]
    # the forms' order: the self-assessment's fields first, the criteria (a), (b), (c) in turn, computed values after
    keys = list(items)
    assert keys.index("products") < keys.index("criteria_politics") < keys.index("criteria_competence")
    assert keys.index("criteria_competence") < keys.index("criteria_innovation") < keys.index("grade")
    assert keys.index("grade") < keys.index("self_score")
    # the products are titled by the step that first asks for them, not by the review's hint
    assert items["products"][0] == "Sản phẩm, công việc trong tháng"


def test_an_evaluations_history_shows_a_tables_changed_cells_and_no_noop_change(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id = evaluated_month(driver)
    auth.login("head1")
    tree = lxml_html.fromstring(client.get(f"/instances/{instance_id}").get_data(as_text=True))
    changed = tree.xpath("//ol[@class='timeline']/li[@data-task-key='manager_review']//li[@data-key='products']")
    assert len(changed) == 1
    products = changed[0]
    rows = products.xpath(".//li[@data-row]")
    assert [row.get("data-row") for row in rows] == ["2"]  # only the second row changed
    cells = {cell.get("data-column"): " ".join(cell.text_content().split()) for cell in rows[0].xpath(".//span")}
    assert set(cells) == {"completed_on_time", "reason"}
    assert cells["completed_on_time"].endswith("20 → 15")
    assert "[" not in products.text_content() and "{" not in products.text_content()
    # a cadre who leads nobody: `leader_unit_factor` recorded as None → None is not shown
    assert not tree.xpath("//li[@data-key='leader_unit_factor']")
    # the inspector's history reads the same
    auth.logout()
    auth.login("auditor1")
    audit = lxml_html.fromstring(client.get(f"/audit/instances/{instance_id}").get_data(as_text=True))
    assert audit.xpath("//li[@data-key='products']//li[@data-row='2']")
    assert not audit.xpath("//li[@data-key='leader_unit_factor']")
