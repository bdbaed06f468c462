"""The monthly evaluation on a phone (400 px): the self-assessment's table of work products scrolls sideways with
each row's name kept in view, and the charts of the evaluation pages print their words at a readable size."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_journeys import sign_in
from tests.fixtures.evaluation import MONTH, SELF_WITH_TWO_ROWS
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, User
from workflows.registry.records import record_evaluation
from workflows.rules.evaluation import DEFAULT_POLICY

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("in_november")]

PHONE = {"width": 400, "height": 800}
# Where the table's first cell of each row sits against the box the table scrolls in, after scrolling it to the end.
FIRST_COLUMN_AFTER_SCROLLING = """(id) => {
  const box = document.getElementById(id);
  box.scrollIntoView({block: 'center'});
  box.scrollLeft = box.scrollWidth;
  const frame = box.getBoundingClientRect();
  // A row's second line (its evidence, decision 0091) spans the table: what it holds stays in view instead.
  const cells = [...box.querySelectorAll('tr:not(.row-line) > :first-child, tr.row-line .row-line-cells')];
  return {scrolled: box.scrollLeft, overflow: box.scrollWidth - box.clientWidth, frame_left: frame.left,
          frame_right: frame.right, caption_left: box.querySelector('caption > *').getBoundingClientRect().left,
          cells: cells.map(c => {
            const r = c.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return {left: r.left, right: r.right, on_top: !!hit && c.contains(hit)};
          })};
}"""
# The size each text of the page's charts prints at, in CSS pixels: its font size times the drawing's scale.
CHART_TEXT_SIZES = """() => [...document.querySelectorAll('svg.chart text')].map(t =>
  ({text: t.textContent, px: parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a}))"""


def _open_month(driver: WorkflowDriver) -> int:
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001", include_subunits=False)
        open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=plan.to_open, policy=DEFAULT_POLICY)
    with driver.session_factory() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        )
        assert instance_id is not None
        return instance_id


def _phone(browser):  # type: ignore[no-untyped-def]
    return browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True).new_page()


def test_the_product_column_stays_in_view_when_the_table_scrolls(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    """The table of work products is wider than a phone and scrolls in its own box: scrolled to its last column
    (the evidence), each row's name is still there at the box's left edge, on top of the counts that scrolled
    under it — a person sees which product they fill. The table's title stays in view with it."""
    instance_id = _open_month(driver)
    page = _phone(browser)
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{driver.task(instance_id, 'self_assessment').id}")
    page.fill("#products-0-name", "Tham mưu văn bản")
    measured = page.evaluate(FIRST_COLUMN_AFTER_SCROLLING, "products")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-self-assessment-scrolled.png"), full_page=True)
    page.context.close()

    assert measured["overflow"] > 100 and measured["scrolled"] == measured["overflow"], measured  # it did scroll
    assert len(measured["cells"]) == 3, measured  # the heading, the row and the row's second line (its evidence)
    for cell in measured["cells"]:
        assert abs(cell["left"] - measured["frame_left"]) < 1 and cell["right"] < measured["frame_right"], measured
        assert cell["on_top"], measured
    assert abs(measured["caption_left"] - measured["frame_left"]) < 1, measured  # and so does the table's title


def test_the_evaluation_charts_print_readable_words_on_a_phone(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    """A chart is drawn to a fixed width and scaled to the page: on a phone its labels must not shrink below a
    readable size (12 px) — the unit's name, the legend, the counts."""
    instance_id = _open_month(driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_WITH_TWO_ROWS)
    review = {key: value for key, value in SELF_WITH_TWO_ROWS.items() if key != "proposed_grade"}
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**review, "decision": "submit"})
    driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})
    page = _phone(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for username, path in (
        ("personnel1", f"/evaluation/results?unit=X001&month={MONTH}"),
        ("officer1", "/evaluation/mine"),
    ):
        sign_in(page, live_server, username)
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        sizes[path] = page.evaluate(CHART_TEXT_SIZES)
        page.locator(".chart").first.screenshot(path=str(ARTIFACTS / f"phone-chart-{username}.png"))
        page.context.clear_cookies()
    page.context.close()
    assert all(sizes.values()), sizes  # each page drew its chart
    small = {path: [t for t in texts if t["px"] < 12] for path, texts in sizes.items()}
    assert not any(small.values()), small


# Each value label's painted extent against the target line's x, both in the drawing's units (what the browser laid
# out, not the chart's own width estimate).
VALUE_LABELS_AGAINST_THE_LINE = """() => {
  const svg = document.querySelector('svg.chart-bar');
  const line = svg.querySelector('.target-line');
  const x = parseFloat(line.getAttribute('d').match(/^M([\\d.]+) /)[1]);
  return {line_x: x, labels: [...svg.querySelectorAll('text.bar-value')].map(t => {
    const box = t.getBBox();
    return {text: t.textContent, left: box.x, right: box.x + box.width};
  })};
}"""


def test_my_months_keep_their_numbers_off_the_line_and_open_their_evaluation(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    """Lan's history on her phone: no score is printed across the dashed 90-point line (her "79,6 điểm" was), and
    the month decided by a procedure opens it, where she reads the comments and the adjustments."""
    instance_id = _open_month(driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_WITH_TWO_ROWS)
    review = {key: value for key, value in SELF_WITH_TWO_ROWS.items() if key != "proposed_grade"}
    driver.complete(
        "supervisor1",
        driver.task(instance_id, "manager_review").id,
        {**review, "decision": "submit", "comment": "Đồng ý trình"},
    )
    driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})
    with driver.session_factory() as session, transaction(session):
        cadre = session.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        for period, score, grade in (
            ("2026-08", 79.62, "HTTNV"),
            ("2026-09", 88.0, "HTTNV"),
            ("2026-10", 6.0, "KHTNV"),
        ):
            record_evaluation(session, None, cadre, period_kind="month", period=period, grade=grade, score=score)
    page = _phone(browser)
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/evaluation/mine")
    measured = page.evaluate(VALUE_LABELS_AGAINST_THE_LINE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".chart").first.screenshot(path=str(ARTIFACTS / "phone-chart-my-months.png"))
    assert {label["text"] for label in measured["labels"]} >= {"79,6 điểm", "88 điểm", "6 điểm"}, measured
    crossed = [label for label in measured["labels"] if label["left"] - 2 < measured["line_x"] < label["right"] + 2]
    assert not crossed, measured

    page.get_by_role("link", name="11/2026").click()
    page.wait_for_url(f"{live_server}/instances/{instance_id}")
    assert "Đồng ý trình" in page.locator("main").inner_text()
    page.context.close()
