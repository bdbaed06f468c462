"""The open page in two steps: a preview with the counts (nothing written), then the confirmation, which skips the
cadres without a login unless told to open theirs too; merged and dissolved units are neither offered nor opened."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import force_locale, ngettext
from lxml import html as lxml_html
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import MONTH, deploy_evaluation_version, open_steps, vietnamese
from tests.fixtures.planning import add_personnel_officer
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.engine.operations import START_NOT_ALLOWED
from workflows.evaluation import PROCESS_ID
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, User

Parent = aliased(OrgUnit)


def _post(auth: AuthActions, **data: str) -> Any:
    return auth.post("/evaluation/open", {"month": MONTH, "unit": "X001", **data}, page="/evaluation/open")


def _opened(driver: WorkflowDriver) -> set[str]:
    with driver.session_factory() as s:
        keys = s.scalars(select(ProcessInstance.business_key).where(ProcessInstance.process_id == PROCESS_ID))
        return {key.split("/", 1)[1] for key in keys if key}


def _counts(driver: WorkflowDriver) -> tuple[int, int]:
    """X001's active cadres, and how many of them have an active login."""
    with driver.session_factory() as s:
        x001 = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "X001"))
        cadres = s.scalar(select(func.count(Cadre.id)).where(Cadre.unit_id == x001, Cadre.is_active)) or 0
        with_login = (
            s.scalar(
                select(func.count(func.distinct(Cadre.id)))
                .join(User, User.cadre_id == Cadre.id)
                .where(Cadre.unit_id == x001, Cadre.is_active, User.is_active)
            )
            or 0
        )
    return cadres, with_login


def _add_cadre_without_login(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        s.add(Cadre(code="CB0100", full_name="Ngô Văn Tư", unit=x001))


def _facts(page: str) -> dict[str, str]:
    doc = lxml_html.fromstring(page)
    terms = [dt.text_content().strip() for dt in doc.xpath('//dl[@class="facts"]/dt')]
    values = [dd.text_content().strip() for dd in doc.xpath('//dl[@class="facts"]/dd')]
    return dict(zip(terms, values, strict=True))


def _to_open(page: str) -> dict[str, str]:
    """The preview's "Evaluations to open", one figure per choice about cadres without a login, as worded."""
    doc = lxml_html.fromstring(page)
    return {
        span.get("data-without-account"): " ".join(span.text_content().split())
        for span in doc.xpath('//dl[@class="facts"]/dd/span[@data-without-account]')
    }


def _flashes(page: str) -> list[tuple[str, str]]:
    doc = lxml_html.fromstring(page)
    return [
        (div.get("class").split()[-1], " ".join(div.text_content().split()))
        for div in doc.xpath('//div[contains(concat(" ", @class, " "), " flash ")]')
    ]


def test_the_preview_counts_and_writes_nothing(auth: AuthActions, driver: WorkflowDriver) -> None:
    _add_cadre_without_login(driver)
    cadres, with_login = _counts(driver)
    assert cadres > with_login > 0
    auth.login("personnel1")
    response = _post(auth)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    facts = _facts(page)
    assert {term: facts[term] for term in facts if term != "Số phiếu sẽ mở"} == {
        "Cán bộ đã có tài khoản": str(with_login),
        "Cán bộ chưa có tài khoản": str(cadres - with_login),
        "Đã mở từ trước": "0",
    }
    # The count follows the choice: both figures are written, each worded for its option (right without a script).
    assert _to_open(page) == {
        "skip": f"{with_login} nếu tạm chưa mở cho cán bộ chưa có tài khoản",
        "open": f"{cadres} nếu mở cả cho cán bộ chưa có tài khoản",
    }
    doc = lxml_html.fromstring(page)
    assert doc.xpath('//fieldset[@data-opening-choice]//input[@type="radio"]/@value') == ["skip", "open"]
    assert doc.xpath('//script[contains(@src, "/static/opening_preview.js")]')  # shows only the chosen figure
    assert "tháng 11/2026" in doc.xpath('string(//h2[@id="preview-title"])')  # as Vietnamese pages write a month
    assert doc.xpath('//input[@name="without_account" and @value="skip"]/@checked')  # skipping is the default
    assert doc.xpath('//button[@name="confirm" and @value="1"]')
    assert _opened(driver) == set()  # nothing before the confirmation


def test_confirming_skips_cadres_without_a_login_by_default(auth: AuthActions, driver: WorkflowDriver) -> None:
    _add_cadre_without_login(driver)
    cadres, with_login = _counts(driver)
    auth.login("personnel1")
    response = _post(auth, confirm="1")
    assert response.status_code == 302
    opened = _opened(driver)
    assert len(opened) == with_login and "CB0100" not in opened
    # The flashes say the cadres without a login once: not opened, how many.
    assert _flashes(auth.client.get(response.headers["Location"]).get_data(as_text=True)) == [
        ("success", f"Tháng 11/2026, Xã An Phú: đã mở {with_login} phiếu đánh giá, 0 phiếu đã mở từ trước."),
        (
            "warning",
            f"{cadres - with_login} cán bộ chưa có tài khoản chưa được mở phiếu. Khi quản trị viên đã cấp tài khoản "
            "cho họ, hãy mở lại tháng này: chỉ phiếu của những cán bộ đó được mở thêm.",
        ),
    ]
    # Opening the month again would open only theirs (once they have a login, say).
    page = _post(auth).get_data(as_text=True)
    assert _to_open(page) == {
        "skip": "0 nếu tạm chưa mở cho cán bộ chưa có tài khoản",
        "open": f"{cadres - with_login} nếu mở cả cho cán bộ chưa có tài khoản",
    }
    assert _facts(page)["Đã mở từ trước"] == str(with_login)


def test_confirming_with_open_includes_cadres_without_a_login(auth: AuthActions, driver: WorkflowDriver) -> None:
    _add_cadre_without_login(driver)
    cadres, _with_login = _counts(driver)
    auth.login("personnel1")
    response = _post(auth, confirm="1", without_account="open")
    assert response.status_code == 302
    opened = _opened(driver)
    assert len(opened) == cadres and "CB0100" in opened
    assert _flashes(auth.client.get(response.headers["Location"]).get_data(as_text=True)) == [
        ("success", f"Tháng 11/2026, Xã An Phú: đã mở {cadres} phiếu đánh giá, 0 phiếu đã mở từ trước."),
        (
            "warning",
            f"Trong số phiếu đã mở, {cadres - _with_login} phiếu của cán bộ chưa có tài khoản: các phiếu này chưa "
            "đến hộp công việc của ai cho đến khi quản trị viên giao chúng từ danh sách công việc chưa giao được cho "
            "ai.",
        ),
    ]


def test_without_cadres_lacking_a_login_the_preview_has_one_figure_and_no_choice(
    auth: AuthActions, driver: WorkflowDriver
) -> None:
    cadres, with_login = _counts(driver)
    assert cadres == with_login  # the seeded commune: every cadre has a login
    auth.login("personnel1")
    page = _post(auth).get_data(as_text=True)
    assert _facts(page)["Số phiếu sẽ mở"] == str(cadres) and _to_open(page) == {}
    doc = lxml_html.fromstring(page)
    assert not doc.xpath("//fieldset[@data-opening-choice]") and not doc.xpath('//script[contains(@src, "opening")]')
    response = _post(auth, confirm="1")
    assert _flashes(auth.client.get(response.headers["Location"]).get_data(as_text=True)) == [
        ("success", f"Tháng 11/2026, Xã An Phú: đã mở {cadres} phiếu đánh giá, 0 phiếu đã mở từ trước.")
    ]


def test_a_merged_unit_is_not_offered_and_is_refused_naming_its_successor(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        x002 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X002")).one()
        x002.is_active = False
        x002.active_to = date(2025, 6, 30)
        x002.merged_into_id = x001.id
        x002.merged_on = date(2025, 7, 1)
        successor = x001.name
    auth.login("personnel1")
    page = client.get("/evaluation/open").get_data(as_text=True)
    assert '<option value="X002">' not in page and '<option value="X001">' in page
    for data in ({}, {"confirm": "1"}):
        response = _post(auth, unit="X002", **data)
        assert response.status_code == 422
        assert f"sáp nhập vào {successor}" in response.get_data(as_text=True)
    assert _opened(driver) == set()


def test_a_dissolved_unit_is_refused(auth: AuthActions, driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        s.scalars(select(OrgUnit).where(OrgUnit.code == "X002")).one().is_active = False
    auth.login("personnel1")
    response = _post(auth, unit="X002", confirm="1")
    assert response.status_code == 422
    assert "đã giải thể" in response.get_data(as_text=True)
    assert _opened(driver) == set()


def test_the_unit_list_is_the_tree_so_two_units_of_one_name_are_told_apart(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """Like every other unit picker (webapp.start_form.unit_tree): each unit right under its parent, indented."""
    auth.login("personnel1")
    page = lxml_html.fromstring(client.get("/evaluation/open").get_data(as_text=True))
    options = [(o.get("value"), o.text_content()) for o in page.xpath('//select[@name="unit"]/option')]
    depth = {code: label.count("— ") for code, label in options}
    codes = [code for code, _label in options]
    assert depth["T01"] == 0 and depth["X001"] >= 1
    with driver.session_factory() as s:
        parent_of = {
            code: parent
            for code, parent in s.execute(
                select(OrgUnit.code, Parent.code)
                .join(Parent, OrgUnit.parent_id == Parent.id)
                .where(OrgUnit.code.in_(codes))
            )
        }
    for code, parent in parent_of.items():  # a unit listed after its parent, one level deeper
        if parent in depth:
            assert codes.index(parent) < codes.index(code) and depth[code] == depth[parent] + 1


# -- a version that reads the cadre's data before the first step (workflows/engine/bulk.py, decision 0080) ----------


def _heads(driver: WorkflowDriver) -> set[str]:
    """X001's cadres who head it: their evaluation is decided at the level above (`evaluated_above`)."""
    from workflows.evaluation.opening import plan_month

    with driver.session_factory() as s:
        plan = plan_month(s, actor=None, month=MONTH, unit_code="X001")
        heads = {c.code for c in plan.to_open if c.is_unit_head}
    assert heads and plan.to_open[0].code not in heads  # the first cadre takes the ordinary path
    return heads


def test_the_page_gives_each_cadre_the_path_of_their_own_data(auth: AuthActions, driver: WorkflowDriver) -> None:
    deploy_evaluation_version(driver.session_factory, "evaluation_heads_apart.bpmn")
    heads = _heads(driver)
    auth.login("personnel1")
    assert _post(auth, confirm="1").status_code == 302
    steps = open_steps(driver.session_factory)
    assert {code for code, step in steps.items() if step == "head_self_assessment"} == heads
    assert {code for code, step in steps.items() if step == "self_assessment"} == set(steps) - heads


def test_the_page_opens_the_others_when_a_script_fails_for_one_cadre(
    app, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    from workflows.engine.operations import start_failures

    deploy_evaluation_version(driver.session_factory, "evaluation_share_above.bpmn")
    [head] = _heads(driver)
    _cadres, with_login = _counts(driver)
    auth.login("personnel1")
    response = _post(auth, confirm="1")
    assert response.status_code == 302
    assert set(open_steps(driver.session_factory)) == _opened(driver) and len(_opened(driver)) == with_login - 1
    assert head not in _opened(driver)
    with driver.session_factory() as s:
        [noted] = start_failures(s)
    assert noted.element_id == "share_unit_criterion"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    said = " ".join(lxml_html.fromstring(page).xpath('//*[contains(@class, "flash")]//text()'))
    assert head in said and "Chia tiêu chí kết quả đơn vị" in said and "quản trị" in said


def test_the_cli_gives_each_cadre_the_path_of_their_own_data(runner, driver: WorkflowDriver) -> None:
    deploy_evaluation_version(driver.session_factory, "evaluation_heads_apart.bpmn")
    heads = _heads(driver)
    result = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001", "--chunk", "2"])
    assert result.exit_code == 0, result.output
    steps = open_steps(driver.session_factory)
    assert {code for code, step in steps.items() if step == "head_self_assessment"} == heads


def test_the_cli_opens_the_others_when_a_script_fails_for_one_cadre(runner, driver: WorkflowDriver) -> None:
    from workflows.engine.operations import start_failures

    deploy_evaluation_version(driver.session_factory, "evaluation_share_above.bpmn")
    [head] = _heads(driver)
    _cadres, with_login = _counts(driver)
    result = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001"])
    assert result.exit_code != 0  # something needs the operator's attention
    assert f"đã mở {with_login - 1}," in result.stdout
    assert head in result.stderr and "Chia tiêu chí kết quả đơn vị" in result.stderr
    assert head not in _opened(driver) and len(_opened(driver)) == with_login - 1
    with driver.session_factory() as s:
        [noted] = start_failures(s)
    assert noted.element_id == "share_unit_criterion"


# -- cadres an ordinary start refuses (decision 0104) -------------------------------------------------------------


def test_the_page_says_whom_it_left_out_because_an_ordinary_start_refuses_them(
    app, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """The commune's own personnel officer opens X001: its head's evaluation is decided at the level above, which
    she does not cover, so it is left out — said with the reason a single start gives — and the others are opened."""
    add_personnel_officer(driver.session_factory, "personnelx1", "X001")
    [head] = _heads(driver)
    _cadres, with_login = _counts(driver)
    auth.login("personnelx1")
    response = _post(auth, confirm="1")
    assert response.status_code == 302
    assert len(_opened(driver)) == with_login - 1 and head not in _opened(driver)
    flashes = _flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    assert flashes[0] == (
        "success",
        f"Tháng 11/2026, Xã An Phú: đã mở {with_login - 1} phiếu đánh giá, 0 phiếu đã mở từ trước.",
    )
    reason = vietnamese(app, START_NOT_ALLOWED, html=False)
    assert (
        "warning",
        vietnamese(
            app,
            "%(count)s evaluations were not opened, as starting each of them on its own would be refused: "
            "“%(reason)s”. %(codes)s",
            html=False,
            count=1,
            reason=reason,
            codes=head,
        ),
    ) in flashes
    assert reason.startswith("Bạn không có quyền")  # translated, as the single start's refusal is


def test_the_preview_names_whom_the_opening_will_refuse_and_counts_them_out(
    app, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """Decision 0119: before the commune's own personnel officer confirms, the preview says that the head's
    evaluation will not be opened, naming the head and the single start's reason, and counts it out of the
    evaluations to open — the figure the opening then reports."""
    _add_cadre_without_login(driver)
    add_personnel_officer(driver.session_factory, "personnelx1", "X001")
    [head] = _heads(driver)
    cadres, with_login = _counts(driver)
    auth.login("personnelx1")
    page = _post(auth).get_data(as_text=True)
    assert _to_open(page) == {
        "skip": f"{with_login - 1} nếu tạm chưa mở cho cán bộ chưa có tài khoản",
        "open": f"{cadres - 1} nếu mở cả cho cán bộ chưa có tài khoản",
    }
    assert _facts(page)["Không mở được (bị từ chối)"] == "1"
    doc = lxml_html.fromstring(page)
    (warning,) = doc.xpath('//div[contains(@class, "refused-ahead")]')
    reason = vietnamese(app, START_NOT_ALLOWED, html=False)
    with app.test_request_context(), force_locale("vi"):
        said = ngettext(
            "%(num)d evaluation will not be opened, as starting it on its own would be refused: “%(reason)s”.",
            "%(num)d evaluations will not be opened, as starting each of them on its own would be refused: "
            "“%(reason)s”.",
            1,
            reason=reason,
        )
    assert " ".join(warning.xpath("string(p)").split()) == said
    assert said.startswith("1 ") and reason in said and "evaluation" not in said
    assert warning.xpath(".//li/@data-cadre") == [head]
    with driver.session_factory() as s:
        name = s.scalars(select(Cadre.full_name).where(Cadre.code == head)).one()
    assert f"{name} ({head}) — Xã An Phú" in warning.text_content()
    assert _opened(driver) == set()  # the preview opens nothing
    # The opening then does what the preview said.
    response = _post(auth, confirm="1", without_account="skip")
    assert response.status_code == 302
    assert len(_opened(driver)) == with_login - 1 and head not in _opened(driver)


def test_a_preview_nobody_is_refused_in_says_nothing_of_refusals(auth: AuthActions, driver: WorkflowDriver) -> None:
    auth.login("personnel1")  # covers the province: the head's evaluation at the level above is hers to open
    page = _post(auth).get_data(as_text=True)
    assert "Không mở được (bị từ chối)" not in _facts(page)
    assert not lxml_html.fromstring(page).xpath('//div[contains(@class, "refused-ahead")]')


def test_the_cli_says_whom_it_left_out_because_an_ordinary_start_refuses_them(
    app, runner, driver: WorkflowDriver
) -> None:
    add_personnel_officer(driver.session_factory, "personnelx1", "X001")
    [head] = _heads(driver)
    _cadres, with_login = _counts(driver)
    result = runner.invoke(args=["evaluation", "open", "--month", MONTH, "--unit", "X001", "--as", "personnelx1"])
    assert result.exit_code == 0, result.output  # all that this officer may open is open
    assert f"đã mở {with_login - 1}," in result.stdout and "bỏ qua 1 cán bộ bị từ chối khởi tạo" in result.stdout
    assert head in result.stderr and vietnamese(app, START_NOT_ALLOWED, html=False) in result.stderr
    assert head not in _opened(driver) and len(_opened(driver)) == with_login - 1
