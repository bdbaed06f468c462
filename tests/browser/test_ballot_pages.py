"""The ballot pages on a phone: the tally minutes, the secretary's page and the voting page fit a 400 px screen."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_journeys import sign_in
from tests.fixtures.ballots import collective, open_test_box, user
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import ballots
from workflows.db import transaction
from workflows.models import BallotMode
from workflows.rules.ballots import BallotRules

pytestmark = pytest.mark.browser

PHONE = {"width": 400, "height": 800}
# The page does not scroll sideways, and nothing of its content reaches past the right edge of the page's content (a
# table that only fits by scrolling in its own box is cut off there: its last column out of sight).
PAST_THE_EDGE = """() => {
  const main = document.querySelector('main');
  const edge = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
  const past = [...main.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > edge + 0.5);
  return {scrollWidth: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
          past: past.map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)};
}"""


def _boxes(session_factory: sessionmaker[Session], driver: WorkflowDriver) -> dict[str, int]:
    """An online ballot being voted, a paper one waiting for its counts, and a counted one whose result is announced;
    seven summoned members of X001, all present."""
    instance_id = driver.start("sample_approval", as_user="personnel1", subject="CB0006")
    members = list(collective(session_factory).values())
    boxes = {
        "online": open_test_box(session_factory, instance_id, members),
        "paper": open_test_box(session_factory, instance_id, members, mode=BallotMode.PAPER),
        "counted": open_test_box(session_factory, instance_id, members, rules=BallotRules(announce=True)),
    }
    with session_factory() as s, transaction(s):
        for box in boxes.values():
            ballots.mark_attendance(s, actor=user(s, "personnel1"), box_id=box, present_ids=members)
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=boxes["counted"])
    return boxes


def test_phone_sized_ballot_pages_do_not_scroll_sideways(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """The tally minutes scrolled sideways at 400 px (their six-column results table), and the paper counts' page by
    380 px (three count boxes of twenty characters in a row)."""
    boxes = _boxes(session_factory, driver)
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True)
    page = context.new_page()
    measured = {}
    for username, paths in (
        (
            "personnel1",
            (
                f"/ballots/{boxes['counted']}/minutes",
                f"/ballots/{boxes['online']}/manage",
                f"/ballots/{boxes['paper']}/manage",
                f"/ballots/{boxes['counted']}/manage",
            ),
        ),
        ("officer1", (f"/ballots/{boxes['online']}/vote", f"/ballots/{boxes['counted']}/vote")),
    ):
        sign_in(page, live_server, username)
        for path in paths:
            response = page.goto(f"{live_server}{path}")
            assert response is not None and response.status == 200, path  # the page itself, not an error page
            measured[path] = page.evaluate(PAST_THE_EDGE)
            if path.endswith("/minutes"):
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "phone-ballot-minutes.png"), full_page=True)
        page.context.clear_cookies()
    context.close()
    assert all(m["scrollWidth"] <= m["width"] and not m["past"] for m in measured.values()), measured


def test_a_conference_nobody_attended_is_closed_only_once_ticked(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """Decision 0102 on a phone: with nobody present the secretary's page offers "Không ai có mặt — kết thúc vì không
    đủ số lượng"; the button alone closes nothing (the box must be ticked), ticked it leads to minutes of a conference
    that missed its quorum; the page does not scroll sideways."""
    instance_id = driver.start("sample_approval", as_user="personnel1", subject="CB0006")
    box = open_test_box(session_factory, instance_id, list(collective(session_factory).values()))
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server, "personnel1")
    manage = f"{live_server}/ballots/{box}/manage"
    page.goto(manage)
    measured = page.evaluate(PAST_THE_EDGE)
    assert measured["scrollWidth"] <= measured["width"] and not measured["past"], measured
    form = page.locator(f"form[action='/ballots/{box}/nobody-attended']")
    button = form.get_by_role("button", name="Không ai có mặt — kết thúc vì không đủ số lượng")
    button.click()  # unticked: the server refuses it and says why, the box still open
    assert "Hãy đánh dấu ô xác nhận không ai có mặt." in page.locator("main").inner_text()
    form.locator("input[name='confirm_nobody']").check()
    button.click()
    page.wait_for_url(f"{live_server}/ballots/{box}/minutes")
    assert "Không đủ số người có mặt: hội nghị không hợp lệ" in page.locator("main").inner_text()
    context.close()


def test_a_ballot_is_sent_only_once_ticked_and_the_inbox_keeps_it_apart_from_the_filters(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """On a laptop screen (1366 px) the inbox's ballots stand apart from the task filters below them; on the vote
    page the button alone sends nothing (the box "I have checked my ballot" must be ticked), ticked it sends."""
    boxes = _boxes(session_factory, driver)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/inbox")
    gap = page.evaluate(
        """() => document.querySelector('form.filters').getBoundingClientRect().top
                 - document.querySelector('section.ballots-to-cast table').getBoundingClientRect().bottom"""
    )
    assert gap >= 12, gap
    page.goto(f"{live_server}/ballots/{boxes['online']}/vote")
    marks = {"Nguyễn Văn An": "Đồng ý", "Trần Thị Bình": "Không đồng ý"}  # one seat: one name agreed
    for fieldset in page.locator("fieldset").all():
        fieldset.get_by_label(marks[fieldset.locator("legend").inner_text()], exact=True).check()
    button = page.get_by_role("button", name="Bỏ phiếu", exact=True)
    button.click()  # unticked: refused, nothing sent
    assert "Đánh dấu ô để xác nhận bạn đã kiểm tra phiếu." in page.locator("main").inner_text()
    page.get_by_label("Tôi đã kiểm tra phiếu và muốn gửi", exact=False).check()
    button.click()
    assert "Bạn đã bỏ phiếu." in page.locator("main").inner_text()
    context.close()
