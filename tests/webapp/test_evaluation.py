"""The monthly evaluation over HTTP: opening a month (page and CLI), the self-assessment → review → decision through
the task page, the results page with its chart and export, my history, the live-score panel and nested field errors,
and the refusals (bad input, outside scope) that write nothing."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from lxml import html as lxml_html
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import CRITERIA, MONTH, ROWS, vietnamese
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from webapp import create_app
from webapp.config import ConfigError
from webapp.evaluation import POLICY_KEY, evaluation_policy
from workflows import clock
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.evaluation import PROCESS_ID
from workflows.models import HumanTask, Notification, ProcessInstance
from workflows.registry.models import Cadre, EvaluationResult, OrgUnit, RoleAssignment, User
from workflows.rules.evaluation import EvaluationPolicy, month_text
from workflows.states import InstanceStatus, Role, TaskStatus

pytestmark = pytest.mark.usefixtures("in_november")


def _table(rows: list[dict[str, str]]) -> dict[str, str]:
    return {f"products-{i}-{key}": value for i, row in enumerate(rows) for key, value in row.items()}


def _self_assessment(rows: list[dict[str, str]] | None = None, **changes: str) -> dict[str, str]:
    return {
        **_table(ROWS if rows is None else rows),
        **CRITERIA,
        "self_report": "Hoàn thành đầy đủ",
        "proposed_grade": "HTXSNV",
        "action": "submit",
        **changes,
    }


def _open(
    auth: AuthActions, month: str = MONTH, unit: str = "X001", subunits: bool = False, without_account: str = "open"
) -> Any:
    """The preview's confirm button; cadres without a login opened too unless `without_account` is "skip"."""
    data = {"month": month, "unit": unit, "confirm": "1", "without_account": without_account}
    if subunits:
        data["include_subunits"] = "y"
    return auth.post("/evaluation/open", data, page="/evaluation/open")


def _instance_count(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == PROCESS_ID)) or 0


def _active_cadres(driver: WorkflowDriver, unit_code: str) -> int:
    with driver.session_factory() as s:
        return (
            s.scalar(
                select(func.count(Cadre.id))
                .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
                .where(OrgUnit.code == unit_code, Cadre.is_active)
            )
            or 0
        )


def _task(driver: WorkflowDriver, cadre_code: str, task_key: str) -> HumanTask:
    with driver.session_factory() as s:
        instance_id = s.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/{cadre_code}")
        )
    assert instance_id is not None, f"no evaluation for {cadre_code}"
    return driver.task(instance_id, task_key)


def _switch(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


# -- the whole month over HTTP --------------------------------------------------------------------------------------


def test_a_month_from_opening_to_the_published_result(app: Flask, auth: AuthActions, client, driver) -> None:
    with driver.session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        s.add(Cadre(code="CB0100", full_name="Ngô Văn Tư", unit=x001))  # no user account
    auth.login("personnel1")
    form = client.get("/evaluation/open")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert f'value="{MONTH}"' in page  # the current month by default
    assert re.search(r'<option value="X001">(— )+Xã An Phú</option>', page)  # under its parent, indented

    response = _open(auth)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/evaluation/results?unit=X001&month={MONTH}"
    cadres = _active_cadres(driver, "X001")
    assert cadres >= 4 and _instance_count(driver) == cadres
    summary = client.get(response.headers["Location"]).get_data(as_text=True)
    flash = re.search(r'<div class="flash success"[^>]*>(.*?)</div>', summary, re.S)
    assert flash is not None and re.findall(r"\d+", flash.group(1))[-2:] == [str(cadres), "0"]
    # CB0100, opened on request without a login: said once, in its own message.
    warning = re.search(r'<div class="flash warning"[^>]*>(.*?)</div>', summary, re.S)
    assert warning is not None and "1 phiếu của cán bộ chưa có tài khoản" in warning.group(1)

    # officer1's inbox has the self-assessment, with the live score panel and the policy it was opened with.
    _switch(auth, "officer1")
    inbox = client.get("/inbox").get_data(as_text=True)
    row = re.search(r'>Tự đánh giá kết quả tháng <span class="period">\(([^)]*)\)</span></a>', inbox)
    assert row and row.group(1) == vietnamese(app, "month %(month)s", month=month_text(MONTH))  # which month
    task = _task(driver, "CB0001", "self_assessment")
    task_page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "data-live-score" in task_page and "evaluation_score.js" in task_page
    policy = re.search(r"data-policy='([^']*)'", task_page)
    assert policy is not None and '"criteria_max": [10, 10, 10]' in policy.group(1)
    submitted = auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}")
    assert submitted.status_code == 302

    # supervisor1 returns it once, with a comment. His inbox says which grade she proposed (decision 0144).
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    listed = client.get("/inbox?scope=group").get_data(as_text=True) + client.get("/inbox").get_data(as_text=True)
    (summary,) = [
        " ".join(row.xpath(".//div[@class='case-summary']")[0].text_content().split())
        for row in lxml_html.fromstring(listed).xpath(f"//tr[.//a[@href='/tasks/{review.id}']]")
        if row.xpath(".//div[@class='case-summary']")
    ][:1]
    assert summary == "Tự xếp loại: Hoàn thành xuất sắc nhiệm vụ"
    review_page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert 'name="decision" value="submit"' in review_page  # the process's own decision gets its button
    assert "Đồng ý, trình thủ trưởng quyết định" in review_page
    returned = auth.post(
        f"/tasks/{review.id}",
        {**_table(ROWS), **CRITERIA, "decision": "return", "comment_text": "Bổ sung minh chứng"},
        page=f"/tasks/{review.id}",
    )
    assert returned.status_code == 302
    assert "Đã trả lại hồ sơ từ bước" in client.get("/inbox").get_data(as_text=True)  # said as a return

    _switch(auth, "officer1")
    again = _task(driver, "CB0001", "self_assessment")
    assert "Tham mưu văn bản" in client.get(f"/tasks/{again.id}").get_data(as_text=True)  # what was sent comes back
    assert auth.post(f"/tasks/{again.id}", _self_assessment(), page=f"/tasks/{again.id}").status_code == 302

    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    agreed = auth.post(
        f"/tasks/{review.id}", {**_table(ROWS), **CRITERIA, "decision": "submit"}, page=f"/tasks/{review.id}"
    )
    assert agreed.status_code == 302

    _switch(auth, "head1")
    decision = _task(driver, "CB0001", "head_decision")
    decided = auth.post(f"/tasks/{decision.id}", {"grade": "HTXSNV", "action": "submit"}, page=f"/tasks/{decision.id}")
    assert decided.status_code == 302

    with driver.session_factory() as s:
        result = s.scalars(select(EvaluationResult).join(Cadre).where(Cadre.code == "CB0001")).one()
        assert (result.period, result.grade, result.score) == (MONTH, "HTXSNV", 98.0)
        officer1 = s.scalar(select(User.id).where(User.username == "officer1"))
        assert s.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == officer1, Notification.kind == "evaluation_result"
            )
        )
        assert verify_chains(s).ok

    # The head sees the month: the chart, the decided row with who decided, the others still under way.
    results = client.get(f"/evaluation/results?unit=X001&month={MONTH}")
    assert results.status_code == 200
    html = results.get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-stacked"' in html
    assert 'data-series="HTXSNV"' in html
    row = re.search(r"<tr[^>]*>\s*<td>CB0001</td>(.*?)</tr>", html, re.S)
    assert row is not None
    assert ">98<" in row.group(1) and "HTXSNV" in row.group(1) and "Phạm Quốc Dũng" in row.group(1)
    assert 'class="overdue"' not in row.group(0)  # every step within its deadline
    assert re.search(r"<td>CB0002</td>", html)  # still under way: listed for the head

    exported = client.get(f"/evaluation/results?unit=X001&month={MONTH}&format=csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert lines[0][:7] == ["Mã cán bộ", "Họ và tên", "Đơn vị", "Tháng", "Điểm", "Xếp loại", "Người quyết định"]
    cb1 = next(line for line in lines if line[0] == "CB0001")
    assert cb1[4:9] == ["98", "HTXSNV", "Phạm Quốc Dũng", "Không", "Đã xếp loại"]
    assert len(lines) == 1 + cadres

    workbook = client.get(f"/evaluation/results?unit=X001&month={MONTH}&format=xlsx")
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.get_data())).active
    assert sheet is not None
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert values[0][0] == "Mã cán bộ" and values[1][:2] == ["CB0001", "Nguyễn Thị Lan"]

    # officer1 sees the published result of the unit (only the decided one), and their own history.
    _switch(auth, "officer1")
    published = client.get(f"/evaluation/results?unit=X001&month={MONTH}").get_data(as_text=True)
    assert "<td>CB0001</td>" in published and "<td>CB0002</td>" not in published
    # Their own name links to their evaluation, which they may open (the instance page's rule decides links).
    own = re.search(r'<td>CB0001</td>\s*<td><a href="(/instances/\d+)">', published)
    assert own is not None and client.get(own.group(1)).status_code == 200
    mine = client.get("/evaluation/mine").get_data(as_text=True)
    with driver.session_factory() as s:
        instance_id = s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001"))
    # The month opens its evaluation, where she reads the comments and what was changed.
    assert "chart-bar" in mine and f'<td><a href="/instances/{instance_id}">11/2026</a></td>' in mine
    assert "<td>98</td>" in mine
    assert MONTH not in mine  # the month as people write it, in the table and the chart, not "2026-11"
    assert vietnamese(app, "Open a month to read its comments and the numbers your leaders changed.") in mine
    evaluation = client.get(f"/instances/{instance_id}")
    assert evaluation.status_code == 200 and "Bổ sung minh chứng" in evaluation.get_data(as_text=True)


# -- the task page: server problems at their fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        # The form's own bound (JSON Schema minimum 0), in the form's Vietnamese.
        ({"products-0-completed": "-1"}, "products-0-completed", "Nhập số từ 0 đến 10.000."),
        # The server's rule, put on the table cell it names (products.0.completed).
        ({"products-0-completed": "11"}, "products-0-completed", "cannot exceed the amount assigned"),
        ({"products-1-completed_on_time": "21"}, "products-1-completed_on_time", "cannot exceed the amount completed"),
        # The walkthrough's 25, above the policy's 10 for criterion (a): the message names the range, the one the
        # policy sets (the form states no other, and accepted 25 under its old 30).
        ({"criteria_politics": "25"}, "criteria_politics", "Điểm phải từ 0 đến 10"),
    ],
)
def test_bad_self_assessments_are_refused_at_the_field(
    app: Flask, auth: AuthActions, client, driver, changes: dict[str, str], field_id: str, message: str
) -> None:
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    response = auth.post(f"/tasks/{task.id}", {**_self_assessment(), **changes}, page=f"/tasks/{task.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<div class="field-error" id="{field_id}-error" role="alert">(.*?)</div>', page, re.S)
    assert error is not None, f"no error at {field_id}"
    expected = vietnamese(app, message) if message.isascii() else message
    assert expected in error.group(1)
    assert 'class="flash error"' not in page  # at the field, not in a banner
    # Above the form, the summary links to the field, with the same message: the page opens at its top.
    summary = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', page, re.S)
    assert summary is not None and vietnamese(app, "Nothing was saved: correct what is marked below.") in page
    assert f'<a href="#{field_id}">' in summary.group(1) and expected in summary.group(1)
    assert _task(driver, "CB0001", "self_assessment").id == task.id  # still open: nothing advanced
    with driver.session_factory() as s:
        assert s.scalar(select(func.count(EvaluationResult.id))) == 0


def test_a_stale_tab_gives_numbers_back_as_they_were_typed(app: Flask, auth: AuthActions, client, driver) -> None:
    """The page of a self-assessment already sent: the numbers to copy read as written ("10", "9,5"), not as the
    form's fields hold them ("10.0", "9.5")."""
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    token = auth.csrf_token(f"/tasks/{task.id}")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302
    stale = client.post(f"/tasks/{task.id}", data={**_self_assessment(criteria_competence="9,5"), "csrf_token": token})
    assert stale.status_code == 409
    typed = lxml_html.fromstring(stale.get_data(as_text=True)).xpath('//section[@class="entered"]//textarea/text()')
    assert "10" in typed and "9,5" in typed
    assert not [text for text in typed if text.endswith(".0") or text == "9.5"], typed


def test_a_cell_error_lands_on_the_row_as_sent_when_blank_rows_are_skipped(
    app: Flask, auth: AuthActions, client, driver
) -> None:
    """Blank rows are left out of the data, so the server's products.0 is the form's second row here."""
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    blank = {key: "" for key in ROWS[0]}
    rows = [blank, dict(ROWS[0], completed="12")]
    response = auth.post(f"/tasks/{task.id}", _self_assessment(rows), page=f"/tasks/{task.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="products-1-completed-error"' in page and 'id="products-0-completed-error"' not in page
    assert vietnamese(app, "cannot exceed the amount assigned") in page


def _field_error(page: str, field_id: str) -> str:
    error = re.search(rf'<div class="field-error" id="{field_id}-error" role="alert">(.*?)</div>', page, re.S)
    assert error is not None, f"no error at {field_id}"
    return error.group(1)


def test_the_forms_own_refusals_and_the_servers_rules_show_at_once(
    app: Flask, auth: AuthActions, client, driver
) -> None:
    """A criterion typed as text (the form's own check), another above the policy's maximum and a count above its
    assigned one (the server's rules): one submission shows all three, each at its field, and saves nothing."""
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    before = everything_stored(driver.session_factory)
    changes = {"criteria_politics": "mười", "criteria_competence": "11", "products-0-completed": "11"}
    response = auth.post(f"/tasks/{task.id}", _self_assessment(**changes), page=f"/tasks/{task.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Phải là một số." in _field_error(page, "criteria_politics")
    criterion = vietnamese(app, "the score must be between 0 and %(maximum)s", maximum="10")
    assert criterion in _field_error(page, "criteria_competence")
    assert vietnamese(app, "cannot exceed the amount assigned") in _field_error(page, "products-0-completed")
    assert 'class="flash error"' not in page  # each at its field
    summary = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', page, re.S)
    assert summary is not None
    for field_id in ("criteria_politics", "criteria_competence", "products-0-completed"):
        assert f'<a href="#{field_id}">' in summary.group(1)
    assert 'value="mười"' in page  # what was typed is shown back
    assert everything_stored(driver.session_factory) == before


def test_a_criterions_range_on_the_page_is_the_instances_policy(
    app: Flask, auth: AuthActions, client, driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A province's split of the 30 points (7,5 / 12,5 / 10): the page states each criterion's maximum the
    Vietnamese way, the live check's message names it, and the server refuses by it, naming it, at the field."""
    monkeypatch.setitem(app.extensions, POLICY_KEY, EvaluationPolicy(criteria_max=(7.5, 12.5, 10)))
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert (
        vietnamese(app, "Most points per criterion: (a) %(a)s, (b) %(b)s, (c) %(c)s.", a="7,5", b="12,5", c="10")
        in page
    )
    messages = re.search(r"data-messages='([^']*)'", page)
    assert messages is not None
    live = json.loads(html.unescape(messages.group(1)))
    assert [live[f"criterion_{index}"] for index in range(3)] == [
        "Điểm phải từ 0 đến 7,5",
        "Điểm phải từ 0 đến 12,5",
        "Điểm phải từ 0 đến 10",
    ]
    before = everything_stored(driver.session_factory)
    changes = {"criteria_politics": "8", "criteria_competence": "12,5"}
    response = auth.post(f"/tasks/{task.id}", _self_assessment(**changes), page=f"/tasks/{task.id}")
    assert response.status_code == 422
    refused = response.get_data(as_text=True)
    assert "Điểm phải từ 0 đến 7,5" in _field_error(refused, "criteria_politics")
    assert 'id="criteria_competence-error"' not in refused  # 12,5 is within (b)'s 12,5
    assert everything_stored(driver.session_factory) == before


def test_the_page_takes_numbers_written_with_thousands_separators(app: Flask, auth: AuthActions, driver) -> None:
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    row = {
        "name": "Tiếp nhận hồ sơ",
        "assigned": "1.200",  # one group in a decimal field: a thousand or 1,2? asked, never guessed
        "completed": "1 200",
        "completed_quality": "1.100,5",
        "completed_on_time": "1\u00a0000",
        "delays": "1.5",  # a whole-number field: no 15
    }
    refused = auth.post(f"/tasks/{task.id}", _self_assessment([row]), page=f"/tasks/{task.id}")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "viết 1200 nếu là số hàng nghìn, hoặc 1,200 nếu là số thập phân" in _field_error(page, "products-0-assigned")
    assert "Phải là một số nguyên." in _field_error(page, "products-0-delays")
    assert 'id="products-0-completed-error"' not in page and 'id="products-0-completed_quality-error"' not in page
    row.update(assigned="1 200", delays="1.000")
    done = auth.post(f"/tasks/{task.id}", _self_assessment([row]), page=f"/tasks/{task.id}")
    assert done.status_code == 302
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, task.instance_id)
        assert instance is not None
        definition = driver.engine.definition(s, instance.process_version_id)
        data = driver.engine.load(definition, instance).last_task.data
    (product,) = data["products"]
    assert (product["assigned"], product["completed"], product["completed_quality"]) == (1200, 1200, 1100.5)
    assert (product["completed_on_time"], product["delays"]) == (1000, 1000)


def test_a_self_assessment_out_of_range_or_too_long_names_the_range_or_the_maximum(
    app: Flask, auth: AuthActions, driver
) -> None:
    """Decision 0118: "Giá trị phải nhỏ hơn hoặc bằng 10.000." named one end only, and a name too long for the
    record said only that it was too long; each now says what is allowed, and nothing is saved."""
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    before = everything_stored(driver.session_factory)
    row = {**ROWS[0], "assigned": "20000", "completed": "-1", "major_errors": "5000", "delays": "1"}
    refused = auth.post(f"/tasks/{task.id}", _self_assessment([row]), page=f"/tasks/{task.id}")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)

    def said(field_id: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", _field_error(page, field_id)).split())

    assert said("products-0-assigned") == "Nhập số từ 0 đến 10.000."
    assert said("products-0-completed") == "Nhập số từ 0 đến 10.000."
    assert said("products-0-major_errors") == "Nhập số nguyên từ 0 đến 1.000."
    # Knock-on: "completed" beyond "assigned" is not also said of a row whose figures are refused already.
    assert 'id="products-0-completed_quality-error"' not in page and 'id="delays-error"' not in page
    assert everything_stored(driver.session_factory) == before

    # The form lets 300 characters through; the record keeps 255, and the check says so.
    named = auth.post(f"/tasks/{task.id}", _self_assessment([{**ROWS[0], "name": "x" * 280}]), page=f"/tasks/{task.id}")
    assert named.status_code == 422
    assert "Tối đa 255 ký tự." in named.get_data(as_text=True)
    scored = auth.post(f"/tasks/{task.id}", _self_assessment(criteria_politics="11"), page=f"/tasks/{task.id}")
    assert scored.status_code == 422 and "Điểm phải từ 0 đến 10" in scored.get_data(as_text=True)
    assert everything_stored(driver.session_factory) == before


def test_the_page_takes_digits_only_not_what_int_or_float_would_also_read(
    app: Flask, auth: AuthActions, driver
) -> None:
    """An exponent, a hexadecimal number, Python's "1_000": each refused at its cell with the page's own words, and
    nothing saved — never read as 1000 or 16."""
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    before = everything_stored(driver.session_factory)
    row = {
        "name": "Tiếp nhận hồ sơ",
        "assigned": "1e3",  # a decimal field
        "completed": "1E3",
        "completed_quality": "0x10",
        "completed_on_time": "10",
        "delays": "1_000",  # a whole-number field
    }
    refused = auth.post(f"/tasks/{task.id}", _self_assessment([row]), page=f"/tasks/{task.id}")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    for cell in ("assigned", "completed", "completed_quality"):
        assert "Phải là một số." in _field_error(page, f"products-0-{cell}"), cell
    assert "Phải là một số nguyên." in _field_error(page, "products-0-delays")
    assert 'id="products-0-completed_on_time-error"' not in page
    assert 'value="1e3"' in page and 'value="1_000"' in page  # shown back as typed
    assert everything_stored(driver.session_factory) == before


# -- opening: refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "message"),
    [
        # Each says why, naming the months it compared (decision 0118).
        ("2026-12", "Tháng 12/2026 chưa bắt đầu: chỉ mở đánh giá cho tháng đã bắt đầu (tháng hiện tại là 11/2026)"),
        ("2026-13", "Ghi tháng theo dạng YYYY-MM, ví dụ 2026-11"),
        ("1999-12", "Tháng 12/1999 trước tháng 1/2000, tháng đầu tiên hệ thống đánh giá"),
    ],
)
def test_opening_a_bad_month_is_refused_on_the_form(app: Flask, auth: AuthActions, driver, month, message) -> None:
    auth.login("personnel1")
    response = _open(auth, month=month)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<div class="field-error" id="month-error" role="alert">(.*?)</div>', page, re.S)
    assert error is not None and " ".join(error.group(1).split()) == message
    assert f'value="{month}"' in page  # what was typed stays
    assert _instance_count(driver) == 0


def test_opening_outside_ones_scope_is_refused_and_writes_nothing(auth: AuthActions, client, driver) -> None:
    with driver.session_factory() as s, transaction(s):
        supervisor = s.scalars(select(User).where(User.username == "supervisor1")).one()
        x002 = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "X002"))
        s.add(RoleAssignment(user_id=supervisor.id, role=Role.PERSONNEL, unit_id=x002))
    auth.login("supervisor1")
    page = client.get("/evaluation/open").get_data(as_text=True)
    assert '<option value="X002">' in page and '<option value="X001">' not in page  # only the units in scope
    assert _open(auth, unit="X001").status_code == 403
    assert _open(auth, unit="NOPE").status_code == 404
    assert _instance_count(driver) == 0
    assert _open(auth, unit="X002").status_code == 302
    assert _instance_count(driver) == _active_cadres(driver, "X002")


def test_only_personnel_and_administrators_open_months(auth: AuthActions, client, driver) -> None:
    auth.login("officer1")
    assert client.get("/evaluation/open").status_code == 403
    token = auth.csrf_token("/inbox")
    refused = client.post("/evaluation/open", data={"month": MONTH, "unit": "X001", "csrf_token": token})
    assert refused.status_code == 403
    _switch(auth, "personnel1")
    without_token = client.post("/evaluation/open", data={"month": MONTH, "unit": "X001"})
    assert without_token.status_code == 400  # CSRF
    assert _instance_count(driver) == 0


def test_opening_again_opens_nobody_twice_and_subunits_are_optional(auth: AuthActions, client, driver) -> None:
    auth.login("personnel1")
    _open(auth, unit="T01")  # the province alone: its own cadres only
    only_province = _active_cadres(driver, "T01")
    assert _instance_count(driver) == only_province
    response = _open(auth, unit="T01", subunits=True)
    with driver.session_factory() as s:
        everyone = s.scalar(select(func.count(Cadre.id)).where(Cadre.is_active)) or 0
    assert _instance_count(driver) == everyone
    flash = re.search(
        r'<div class="flash success"[^>]*>(.*?)</div>', client.get(response.headers["Location"]).get_data(as_text=True)
    )
    assert flash is not None
    assert re.findall(r"\d+", flash.group(1))[-2:] == [str(everyone - only_province), str(only_province)]
    # The page it lands on lists what was just opened: the units below included, as chosen.
    assert response.headers["Location"] == f"/evaluation/results?unit=T01&month={MONTH}&subunits=1"


# -- results and history: scope -------------------------------------------------------------------------------------


def test_results_are_scoped(auth: AuthActions, client, driver) -> None:
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "auditor1")
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}").status_code == 200
    _switch(auth, "officer3")  # of Phường Bình Minh
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}").status_code == 404
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}&format=csv").status_code == 404
    own = client.get("/evaluation/results")  # defaults to one's own unit
    assert own.status_code == 200 and "Phường Bình Minh" in own.get_data(as_text=True)
    assert client.get("/evaluation/results?unit=NOPE").status_code == 404
    bad = client.get("/evaluation/results?unit=X002&month=11-2026")
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_late_means_a_step_past_its_deadline(auth: AuthActions, client, driver) -> None:
    auth.login("personnel1")
    _open(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}")
    clock.set_now(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # past the 25th in Vietnam
    _switch(auth, "personnel1")
    html = client.get(f"/evaluation/results?unit=X001&month={MONTH}").get_data(as_text=True)
    late = re.search(r'<tr class="overdue">\s*<td>CB0002</td>', html)
    on_time = re.search(r"<tr>\s*<td>CB0001</td>", html)
    assert late is not None and on_time is not None  # officer2 never submitted; officer1 did in time


def test_my_history_without_results_or_without_a_cadre(auth: AuthActions, client) -> None:
    auth.login("officer1")
    page = client.get("/evaluation/mine")
    assert page.status_code == 200 and "<svg" not in page.get_data(as_text=True)
    _switch(auth, "admin")
    assert client.get("/evaluation/mine").status_code == 200


def test_my_quarter_and_year_read_as_people_write_them(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    from workflows.registry.records import record_evaluation

    clock.set_now(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    with driver.session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        record_evaluation(s, None, cadre, period_kind="quarter", period="2026-Q3", grade="HTTNV", score=85)
        record_evaluation(s, None, cadre, period_kind="year", period="2025", grade="HTTNV", score=84)
        record_evaluation(s, None, cadre, period_kind="month", period="2026-10", grade="HTTNV", score=85)
    auth.login("officer1")
    mine = client.get("/evaluation/mine").get_data(as_text=True)
    assert "<td>Quý 3/2026</td>" in mine and "<td>2025</td>" in mine and "2026-Q3" not in mine
    assert "<td>10/2026</td>" in mine  # an imported month: no evaluation behind it to open
    assert not re.search(r'href="/instances/\d', mine)
    assert vietnamese(app, "Open a month to read its comments and the numbers your leaders changed.") not in mine


def test_the_menu_and_tabs_follow_the_role(auth: AuthActions, client) -> None:
    auth.login("officer1")
    page = client.get("/evaluation/results").get_data(as_text=True)
    assert 'href="/evaluation/results"' in page and 'href="/evaluation/mine"' in page
    assert 'href="/evaluation/open"' not in page
    _switch(auth, "personnel1")
    assert 'href="/evaluation/open"' in client.get("/evaluation/results").get_data(as_text=True)


# -- the CLI --------------------------------------------------------------------------------------------------------


def test_cli_opens_a_month_with_progress_and_is_idempotent(runner, driver) -> None:
    result = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001", "--chunk", "2"])
    assert result.exit_code == 0, result.output
    cadres = _active_cadres(driver, "X001")
    assert f"đã mở {cadres}, đã mở từ trước 0" in result.stdout
    assert "Mở kỳ đánh giá" in result.stderr  # the progress bar
    assert _instance_count(driver) == cadres
    again = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001"])
    assert again.exit_code == 0 and f"đã mở 0, đã mở từ trước {cadres}" in again.stdout


def _add_cadre_without_login(driver: WorkflowDriver, code: str = "CB0100") -> None:
    with driver.session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        s.add(Cadre(code=code, full_name="Ngô Văn Tư", unit=x001))


def _opened_for(driver: WorkflowDriver, cadre_code: str) -> bool:
    with driver.session_factory() as s:
        key = f"{MONTH}/{cadre_code}"
        return s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.business_key == key)) == 1


def test_cli_skips_cadres_without_a_login_unless_told_and_says_how_many(runner, driver) -> None:
    """Decision 0068: as the page (0065), a self-assessment nobody can receive is not opened by default."""
    _add_cadre_without_login(driver)
    cadres = _active_cadres(driver, "X001")
    result = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001", "--chunk", "2"])
    assert result.exit_code == 0, result.output
    assert f"đã mở {cadres - 1}, đã mở từ trước 0, bỏ qua 1 cán bộ chưa có tài khoản (" in result.stdout
    assert "--include-without-account" in result.stderr
    assert not _opened_for(driver, "CB0100") and _instance_count(driver) == cadres - 1

    included = runner.invoke(
        args=["evaluation", "open", "--month", MONTH, "--unit", "X001", "--include-without-account"]
    )
    assert included.exit_code == 0, included.output
    # Said once: opened on request, not also "0 skipped".
    assert f"đã mở 1, đã mở từ trước {cadres - 1}, đã mở cả cho 1 cán bộ chưa có tài khoản (" in included.stdout
    assert "bỏ qua" not in included.stdout
    assert "--include-without-account" not in included.stderr
    assert _opened_for(driver, "CB0100") and _instance_count(driver) == cadres


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-12", "--unit", "X001"], "month 12/2026 has not begun yet"),
        (["--month", "tháng 11", "--unit", "X001"], "write the month as YYYY-MM"),
        (["--month", MONTH, "--unit", "NOPE"], "no unit with the code"),
        (["--month", MONTH, "--unit", "X001", "--as", "officer1"], "may not open evaluations"),
    ],
)
def test_cli_refuses_bad_input_and_writes_nothing(runner, driver, args, message) -> None:
    result = runner.invoke(args=["evaluation", "open", *args])
    assert result.exit_code != 0
    assert message in result.stderr
    assert _instance_count(driver) == 0


def _products_csv(tmp_path: Path, rows: str) -> Path:
    products = tmp_path / "san-pham.csv"
    products.write_text('Mã cán bộ,"Tên sản phẩm, công việc",Số sản phẩm quy đổi được giao\n' + rows, encoding="utf-8")
    return products


def _open_with_products_cli(runner: Any, products: Path) -> Any:
    return runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001", "--products", str(products)])


def test_cli_opens_with_the_assigned_products_filled_in(runner, driver, tmp_path) -> None:
    products = _products_csv(tmp_path, 'CB0001,Tham mưu văn bản,12\nCB0001,Giải quyết hồ sơ,"2,5"\n')
    result = _open_with_products_cli(runner, products)
    assert result.exit_code == 0, result.output
    with driver.session_factory() as s:
        instance = s.scalars(select(ProcessInstance).where(ProcessInstance.business_key == f"{MONTH}/CB0001")).one()
        definition = driver.engine.definition(s, instance.process_version_id)
        data = driver.engine.load(definition, instance).last_task.data
    assert [(p["name"], p["assigned"]) for p in data["products"]] == [
        ("Tham mưu văn bản", 12.0),
        ("Giải quyết hồ sơ", 2.5),
    ]


def test_cli_names_the_products_rows_it_did_not_use(runner, driver, tmp_path) -> None:
    products = _products_csv(tmp_path, "CB0001,Tham mưu văn bản,12\nCB9999,Giải quyết hồ sơ,3\n")
    result = _open_with_products_cli(runner, products)
    assert result.exit_code == 0, result.output
    assert "1 cán bộ không được mở" in result.stderr and "CB9999" in result.stderr
    assert "CB0001" not in result.stderr
    # Opened again: CB0001 is already open now, so its rows are not used either.
    again = _open_with_products_cli(runner, products)
    assert again.exit_code == 0 and "CB0001, CB9999" in again.stderr


def test_cli_refuses_a_bad_products_file_and_opens_nothing(runner, driver, tmp_path) -> None:
    products = _products_csv(tmp_path, "CB0001,Tham mưu,-3\nCB0002,,4\n")
    result = _open_with_products_cli(runner, products)
    assert result.exit_code != 0
    assert "Dòng 2" in result.stderr and "Dòng 3" in result.stderr
    assert _instance_count(driver) == 0


def test_cli_without_subunits(runner, driver) -> None:
    result = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "T01", "--no-subunits"])
    assert result.exit_code == 0, result.output
    assert _instance_count(driver) == _active_cadres(driver, "T01")


# -- configuration --------------------------------------------------------------------------------------------------


def test_the_policy_comes_from_the_configuration(database_url: str, tmp_path, demo_users, driver) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DEPLOY_ON_STARTUP": False,
            "UPLOAD_DIR": str(tmp_path),
            "EVALUATION_POLICY": '{"criteria_max": [8, 12, 10], "max_returns": 1}',
        }
    )
    assert evaluation_policy(app).criteria_max == (8, 12, 10)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001"]).exit_code == 0
    with driver.session_factory() as s:
        instance_id = s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001"))
    with app.app_context():
        from webapp.extensions import db

        instance = db.session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.RUNNING
        engine = app.extensions["canbo_engine"]
        workflow = engine.load(engine.definition(db.session, instance.process_version_id), instance)
        assert workflow.last_task.data["policy"]["criteria_max"] == [8, 12, 10]
        db.session.remove()
        db.engine.dispose()
    with driver.session_factory() as s:
        assert s.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == TaskStatus.OPEN))


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"criteria_max": [10, 10, 5]}, "criteria_max"),
        ({"max_return": 1}, "max_return"),
        ('{"combine": ', "not valid JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_a_bad_policy_stops_the_start_with_a_clear_error(tmp_path, setting, named) -> None:
    with pytest.raises(ConfigError) as refused:
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                "DEPLOY_ON_STARTUP": False,
                "EVALUATION_POLICY": setting,
            }
        )
    assert "EVALUATION_POLICY" in str(refused.value) and named in str(refused.value)


# -- the annual grading run -----------------------------------------------------------------------------------------


def _annual_runs(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return (
            s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == "annual_grading")) or 0
        )


def test_personnel_start_the_annual_run_from_its_page(auth: AuthActions, client, driver) -> None:
    auth.login("personnel1")
    page = client.get("/evaluation/annual")
    assert page.status_code == 200 and 'name="year"' in page.get_data(as_text=True)
    started = auth.post("/evaluation/annual", {"year": "2026", "unit": "X001"}, page="/evaluation/annual")
    assert started.status_code == 302 and "/instances/" in started.headers["Location"]
    assert _annual_runs(driver) == 1
    again = auth.post("/evaluation/annual", {"year": "2026", "unit": "X001"}, page="/evaluation/annual")
    assert again.headers["Location"] == started.headers["Location"] and _annual_runs(driver) == 1


@pytest.mark.parametrize(("year", "status"), [("2027", 422), ("20x6", 422), ("", 422)])
def test_the_annual_page_refuses_a_bad_year_and_starts_nothing(auth: AuthActions, driver, year, status) -> None:
    auth.login("personnel1")
    response = auth.post("/evaluation/annual", {"year": year, "unit": "X001"}, page="/evaluation/annual")
    assert response.status_code == status
    assert _annual_runs(driver) == 0


def test_only_personnel_and_admins_reach_the_annual_page(auth: AuthActions, client, driver) -> None:
    auth.login("officer1")
    assert client.get("/evaluation/annual").status_code == 403
    _switch(auth, "head1")
    assert client.get("/evaluation/annual").status_code == 403


# -- the open page with the month's assigned work products ----------------------------------------------------------

PRODUCTS_HEADER = 'Mã cán bộ,"Tên sản phẩm, công việc",Số sản phẩm quy đổi được giao\n'


def _open_with_products(auth: AuthActions, content: str) -> Any:
    data = {
        "month": MONTH,
        "unit": "X001",
        "confirm": "1",
        "products": (io.BytesIO(content.encode("utf-8")), "san-pham.csv"),
    }
    return auth.post("/evaluation/open", data, page="/evaluation/open", content_type="multipart/form-data")


def test_the_open_page_fills_in_the_assigned_products_from_a_file(auth: AuthActions, client, driver) -> None:
    auth.login("personnel1")
    preview = auth.post("/evaluation/open", {"month": MONTH, "unit": "X001"}, page="/evaluation/open")
    assert 'name="products"' in preview.get_data(as_text=True)  # asked for with the preview, before confirming
    response = _open_with_products(
        auth, PRODUCTS_HEADER + 'CB0001,Tham mưu văn bản,12\nCB0001,Giải quyết hồ sơ,"2,5"\n'
    )
    assert response.status_code == 302
    with driver.session_factory() as s:
        instance = s.scalars(select(ProcessInstance).where(ProcessInstance.business_key == f"{MONTH}/CB0001")).one()
        data = driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance).last_task.data
    assert [(p["name"], p["assigned"]) for p in data["products"]] == [
        ("Tham mưu văn bản", 12.0),
        ("Giải quyết hồ sơ", 2.5),
    ]


def test_the_open_page_warns_of_products_rows_it_did_not_use(app: Flask, auth: AuthActions, client, driver) -> None:
    auth.login("personnel1")
    rows = "".join(f"CB9{n:03d},Việc,1\n" for n in range(25))  # 25 codes nobody has: 20 shown, "5 more"
    response = _open_with_products(auth, PRODUCTS_HEADER + "CB0001,Tham mưu văn bản,12\n" + rows)
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash warning"' in html and "các dòng đó không được dùng" in html
    assert "CB9000, CB9001" in html and "CB9019" in html and "CB9020" not in html
    assert vietnamese(app, "%(codes)s and %(more)s more").replace("%(codes)s", "").replace("%(more)s", "5") in html


def test_a_bad_products_file_is_refused_on_the_page_and_opens_nothing(
    app: Flask, auth: AuthActions, client, driver
) -> None:
    auth.login("personnel1")
    response = _open_with_products(auth, PRODUCTS_HEADER + "CB0001,Tham mưu văn bản,mười\n")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert vietnamese(app, "the file of assigned work products cannot be used") in html
    assert "phải là một số không âm" in html and 'aria-invalid="true"' in html
    assert _instance_count(driver) == 0


def test_the_worker_reminds_the_policys_days_before_the_deadline(auth: AuthActions, runner, driver) -> None:
    """`canbo worker --once` reminds evaluation tasks EVALUATION_POLICY.reminder_days_before (2) days ahead."""
    auth.login("personnel1")
    _open(auth)
    clock.set_now(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # 1.6 days before the end of the 25th in Vietnam
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    with driver.session_factory() as s:
        reminded = s.scalar(
            select(func.count(Notification.id))
            .join(User, User.id == Notification.user_id)
            .where(Notification.kind == "due_soon", User.username == "officer1")
        )
    assert reminded == 1


def test_the_heads_page_shows_the_latest_reviews_comment(auth: AuthActions, client, driver) -> None:
    """Returned with a comment, then agreed without one: the head's page does not show the return's comment as the
    direct leader's comment of the review that sent the evaluation to him."""
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    returned = {**_table(ROWS), **CRITERIA, "decision": "return", "comment_text": "Bổ sung minh chứng tháng 10"}
    assert auth.post(f"/tasks/{review.id}", returned, page=f"/tasks/{review.id}").status_code == 302
    _switch(auth, "officer1")
    again = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{again.id}", _self_assessment(), page=f"/tasks/{again.id}").status_code == 302
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    agreed = {**_table(ROWS), **CRITERIA, "decision": "submit"}
    assert auth.post(f"/tasks/{review.id}", agreed, page=f"/tasks/{review.id}").status_code == 302

    _switch(auth, "head1")
    decision = _task(driver, "CB0001", "head_decision")
    page = client.get(f"/tasks/{decision.id}").get_data(as_text=True)
    context = re.search(r'<details class="context".*?</details>', page, re.S)
    assert context is not None
    assert "Bổ sung minh chứng tháng 10" not in context.group(0)
    assert '<dd data-key="comment">—</dd>' in context.group(0)  # this review wrote none
