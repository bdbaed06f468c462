"""A unit's monthly results page (/evaluation/results): a page at a time, the units below included on request (for
those who oversee the unit), the export holding every row, bad filters refused with nothing written, and scope."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import vietnamese
from tests.fixtures.reads import logged_reads
from tests.webapp.test_evaluation import _self_assessment, _switch, _task
from tests.workflows.test_evaluation_rollup import DECEMBER, UNIT, seed_unit
from webapp.evaluation import POLICY_KEY, views
from workflows import clock
from workflows.db import transaction
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, EvaluationResult, User
from workflows.rules.evaluation import EvaluationPolicy

MONTH = "2026-11"
# X001-VP's November as seed_unit writes it: every cadre but RN01 (no month worked) has a decided result.
SUBUNIT_RESULTS = 16


@pytest.fixture(autouse=True)
def _december() -> Iterator[None]:
    clock.set_now(DECEMBER)
    yield
    clock.set_now(None)


@pytest.fixture
def seeded(app: Flask, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, transaction(session):
        seed_unit(session)


def _codes(html: str) -> list[str]:
    return re.findall(r"<tr(?: class=\"overdue\")?>\s*<td>([A-Z0-9]+)</td>", html)


def _counts(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as session:
        return (
            session.scalar(select(func.count(EvaluationResult.id))) or 0,
            session.scalar(select(func.count(ProcessInstance.id))) or 0,
        )


def _open_commune(auth: AuthActions) -> None:
    """X001's own cadres get November's evaluations, under way."""
    response = auth.post("/evaluation/open", {"month": MONTH, "unit": "X001", "confirm": "1"}, page="/evaluation/open")
    assert response.status_code == 302


def test_the_units_below_are_listed_only_when_asked(app: Flask, auth: AuthActions, client, seeded) -> None:
    auth.login("personnel1")
    _open_commune(auth)
    own = client.get(f"/evaluation/results?unit=X001&month={MONTH}").get_data(as_text=True)
    assert "CB0001" in _codes(own) and "RX01" not in _codes(own)
    assert 'name="subunits"' in own
    below = client.get(f"/evaluation/results?unit=X001&month={MONTH}&subunits=1").get_data(as_text=True)
    codes = _codes(below)
    assert "CB0001" in codes and "RX01" in codes and "RN01" not in codes  # RN01 has no November result
    assert "Văn phòng (thử)" in below  # the unit column
    title = "Grades of %(month)s: %(unit)s and the units below"
    assert vietnamese(app, title, month="11/2026", unit="Xã An Phú") in below  # the chart says what it counts
    assert codes == sorted(codes)


def test_the_heading_writes_the_month_as_vietnamese_pages_do(app: Flask, auth: AuthActions, client, seeded) -> None:
    """ "Kết quả hằng tháng: Xã An Phú, tháng 11/2026" — not the "2026-11" of the address and the filter's box."""
    auth.login("personnel1")
    html = client.get(f"/evaluation/results?unit=X001&month={MONTH}").get_data(as_text=True)
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert heading is not None
    title = "Monthly results: %(unit)s, month %(month)s"
    assert heading.group(1) == vietnamese(app, title, unit="Xã An Phú", month="11/2026")
    assert "tháng 11/2026" in heading.group(1) and MONTH not in heading.group(1)
    assert f'name="month" size="8" value="{MONTH}"' in html  # the filter keeps the form it is typed in


def test_a_page_at_a_time_with_the_whole_month_counted(
    app: Flask, auth: AuthActions, client, seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "RESULTS_PER_PAGE", 5)
    auth.login("personnel1")
    base = f"/evaluation/results?unit={UNIT}&month={MONTH}"
    first = client.get(base).get_data(as_text=True)
    assert len(_codes(first)) == 5 and 'rel="next"' in first and 'rel="prev"' not in first
    assert f"({SUBUNIT_RESULTS})" in first  # the total beside the page number
    seen = []
    for number in range(1, 5):
        seen += _codes(client.get(f"{base}&page={number}").get_data(as_text=True))
    assert len(seen) == SUBUNIT_RESULTS and len(set(seen)) == SUBUNIT_RESULTS and seen == sorted(seen)
    last = client.get(f"{base}&page=999").get_data(as_text=True)  # past the end: the last page
    assert _codes(last) == seen[-1:] and 'rel="next"' not in last
    assert _codes(client.get(f"{base}&page=x").get_data(as_text=True)) == seen[:5]
    # The summary counts the whole month, not the page.
    assert _progress(last)["decided"] == SUBUNIT_RESULTS and _progress(last)["self_assessment"] == 0


def test_the_export_holds_every_row_of_every_page(
    auth: AuthActions, client, seeded, monkeypatch: pytest.MonkeyPatch, session_factory
) -> None:
    monkeypatch.setattr(views, "RESULTS_PER_PAGE", 5)
    auth.login("personnel1")
    _open_commune(auth)
    response = client.get(f"/evaluation/results?unit=X001&month={MONTH}&subunits=1&page=2&format=csv")
    assert response.status_code == 200
    assert "ket-qua-danh-gia-X001-va-don-vi-truc-thuoc-2026-11" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    codes = [row["Mã cán bộ"] for row in rows]
    assert len([c for c in codes if c.startswith("R")]) == SUBUNIT_RESULTS and "CB0001" in codes
    (read,) = logged_reads(session_factory, "month_results_list")  # the page number is no part of the list
    assert (read[0], read[3]) == ("personnel1", f"unit=X001&month={MONTH}&subunits=1&format=csv")


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Write the month as month/year, for example 11/2026."),
        ("11-2026", "Write the month as month/year, for example 11/2026."),
        ("tháng 11", "Write the month as month/year, for example 11/2026."),
        ("", None),
    ],
)
def test_a_bad_month_is_refused_with_a_clear_message_and_nothing_written(
    app: Flask, auth: AuthActions, client, seeded, session_factory, month, message
) -> None:
    auth.login("personnel1")
    before = _counts(session_factory)
    response = client.get(f"/evaluation/results?unit={UNIT}&month={month}&subunits=1")
    if message is None:  # no month: the latest month with results
        assert response.status_code == 200 and "2026-12" in response.get_data(as_text=True)
        return
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert vietnamese(app, message) in html and 'aria-invalid="true"' in html and not _codes(html)
    assert "ví dụ 11/2026" in html and "YYYY-MM" not in html
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert heading is not None and month not in heading.group(1) and "tháng tháng" not in html
    assert client.get(f"/evaluation/results?unit={UNIT}&month={month}&format=csv").status_code == 400
    assert _counts(session_factory) == before


def test_scope_and_the_units_below_for_the_units_own_people(auth: AuthActions, client, seeded) -> None:
    auth.login("officer3")  # of Phường Bình Minh
    assert client.get(f"/evaluation/results?unit={UNIT}&month={MONTH}").status_code == 404
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}&subunits=1&format=csv").status_code == 404
    auth.logout()
    auth.login("officer1")  # of the commune: sees what is published in the commune, not the units below
    page = client.get(f"/evaluation/results?unit=X001&month={MONTH}&subunits=1").get_data(as_text=True)
    assert "RX01" not in _codes(page) and 'name="subunits"' not in page


def test_a_policy_that_keeps_results_inside_the_file_shows_the_unit_to_its_overseers_only(
    app: Flask, auth: AuthActions, client, seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """results_published_in_unit=false (the final rule on announcing results is [U]): the unit's own people no longer
    see each other's grades; their own stays on "my evaluations"; those who oversee the unit see every row."""
    auth.login("officer1")
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}").status_code == 200  # the default publishes
    monkeypatch.setitem(app.extensions, POLICY_KEY, EvaluationPolicy(results_published_in_unit=False))
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}").status_code == 404
    assert client.get(f"/evaluation/results?unit=X001&month={MONTH}&format=csv").status_code == 404
    landing = client.get("/evaluation/results")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/evaluation/mine")
    auth.logout()
    auth.login("personnel1")
    assert client.get(f"/evaluation/results?unit={UNIT}&month={MONTH}").status_code == 200
    assert len(_codes(client.get(f"/evaluation/results?unit={UNIT}&month={MONTH}").get_data(as_text=True))) > 0


def test_each_evaluation_under_way_shows_the_step_it_waits_at(
    app: Flask, auth: AuthActions, client, seeded, driver
) -> None:
    """The personnel officer watches the month: who has submitted, who waits for the review or the decision, how
    many are late — not "under way" on every row."""
    auth.login("personnel1")
    _open_commune(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302
    _switch(auth, "personnel1")
    html = client.get(f"/evaluation/results?unit=X001&month={MONTH}").get_data(as_text=True)
    steps = re.findall(r'data-step="(\w+)"', html)
    under_way = len(_codes(html))
    assert steps.count("manager_review") == 1 and steps.count("self_assessment") == under_way - 1 >= 3
    assert vietnamese(app, "Awaiting the manager's review") in html
    assert _progress(html)["manager_review"] == 1
    assert _progress(html)["self_assessment"] == under_way - 1
    late = re.search(r'data-late="(\d+)"', html)
    assert (int(late.group(1)) if late else 0) == html.count('<tr class="overdue">')
    exported = client.get(f"/evaluation/results?unit=X001&month={MONTH}&format=csv").get_data(as_text=True)
    states = [row["Tình trạng"] for row in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))]
    assert states.count("Chờ lãnh đạo trực tiếp nhận xét") == 1
    assert states.count("Chờ cán bộ tự đánh giá") == under_way - 1


def _progress(html: str) -> dict[str, int]:
    """The progress summary's counts by stage."""
    return {stage: int(count) for stage, count in re.findall(r'data-stage="(\w+)" data-count="(\d+)"', html)}


def test_the_progress_summary_counts_each_stage_and_narrows_the_list(
    app: Flask, auth: AuthActions, client, seeded, driver
) -> None:
    """One aggregate: how many wait for the self-assessment, the review, the decision, are decided, are past due
    (December: November's self-assessments are overdue); each count links to the list narrowed to it."""
    auth.login("personnel1")
    _open_commune(auth)
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302
    _switch(auth, "personnel1")
    base = f"/evaluation/results?unit=X001&month={MONTH}"
    html = client.get(base).get_data(as_text=True)
    everyone = _codes(html)
    counts = _progress(html)
    assert counts["manager_review"] == 1 and counts["self_assessment"] == len(everyone) - 1 >= 3
    assert counts["head_decision"] == 0 and counts["decided"] == 0
    # Opened in December: every step's deadline had passed (the reminders went up at once), CB0001's review too.
    assert counts["overdue"] == len(everyone)
    assert vietnamese(app, "Progress of the month: %(total)s evaluations", total=len(everyone)) in html
    assert f'href="/evaluation/results?unit=X001&amp;month={MONTH}&amp;stage=manager_review"' in html
    narrowed = client.get(base + "&stage=manager_review").get_data(as_text=True)
    assert _codes(narrowed) == ["CB0001"]
    assert _progress(narrowed) == counts  # the counts stay the month's
    overdue = client.get(base + "&stage=overdue").get_data(as_text=True)
    assert _codes(overdue) == everyone
    nothing = client.get(base + "&stage=decided").get_data(as_text=True)
    assert _codes(nothing) == [] and vietnamese(app, "No evaluations at this stage.") in nothing
    assert _codes(client.get(base + "&stage=nonsense").get_data(as_text=True)) == everyone  # unknown: every row
    below = client.get(base + "&subunits=1").get_data(as_text=True)
    assert _progress(below)["decided"] == SUBUNIT_RESULTS  # X001-VP's decided November


@pytest.mark.parametrize("typed", ["11/2026", "tháng 11/2026", "Tháng 11/2026", "2026-11"])
def test_the_month_is_taken_as_people_write_it(app: Flask, auth: AuthActions, client, seeded, typed: str) -> None:
    """ "11/2026" and "tháng 11/2026" name November 2026 as "2026-11" does; the box keeps what was typed."""
    auth.login("personnel1")
    response = client.get("/evaluation/results", query_string={"unit": "X001", "month": typed})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    title = "Monthly results: %(unit)s, month %(month)s"
    assert heading is not None and heading.group(1) == vietnamese(app, title, unit="Xã An Phú", month="11/2026")
    assert f'name="month" size="8" value="{typed}"' in html and "Cần một tháng" not in html


def test_without_a_month_the_box_shows_the_month_as_its_example_writes_it(auth: AuthActions, client, seeded) -> None:
    """The page opened from the menu names its month in the box as "11/2026", the form of the box's own example
    (it showed the stored "2026-11" beside a placeholder reading "11/2026")."""
    auth.login("personnel1")
    html = client.get("/evaluation/results?unit=X001").get_data(as_text=True)
    box = re.search(r'<input type="text" name="month" size="8" value="([^"]*)" placeholder="([^"]*)"', html)
    assert box is not None and box.group(2) == "11/2026"
    assert re.fullmatch(r"1?\d/2026", box.group(1)) and f"tháng {box.group(1)}</h1>" in html


def test_a_row_names_the_values_that_do_not_say_what_they_are(auth: AuthActions, client, seeded) -> None:
    """On a phone the header row is hidden and each row stacks its cells: a score, a name or "—" is labelled."""
    auth.login("personnel1")
    html = client.get(f"/evaluation/results?unit=X001-VP&month={MONTH}").get_data(as_text=True)
    rows = len(_codes(html))
    assert rows > 0
    for label in ("Điểm", "Người quyết định", "Tiến độ"):
        assert html.count(f'<td data-label="{label}">') == rows, label


def _linked(html: str) -> dict[str, str]:
    """{cadre code: the href of its name} for the rows whose name is a link."""
    return dict(re.findall(r"<td>([A-Z0-9]+)</td>\s*<td><a href=\"([^\"]+)\">", html))


def _cadre_code(session_factory: sessionmaker[Session], username: str) -> str:
    with session_factory() as session:
        code = session.scalar(select(Cadre.code).join(User, User.cadre_id == Cadre.id).where(User.username == username))
    assert code is not None
    return code


@pytest.mark.parametrize(("reader", "sees_the_heads"), [("supervisor1", False), ("head1", True)])
def test_a_name_links_to_its_evaluation_only_when_the_reader_may_open_it(
    auth: AuthActions, client, seeded, session_factory: sessionmaker[Session], reader: str, sees_the_heads: bool
) -> None:
    """The unit head's evaluation runs in the unit above (its decision is the superior's): the unit's supervisor sees
    the row, but its name is plain text, since the instance page would answer 404; every link drawn opens."""
    auth.login("personnel1")
    _open_commune(auth)
    auth.logout()
    auth.login(reader)
    html = client.get(f"/evaluation/results?unit=X001&month={MONTH}").get_data(as_text=True)
    head = _cadre_code(session_factory, "head1")
    rows, linked = _codes(html), _linked(html)
    assert head in rows and len(rows) >= 4
    assert (head in linked) is sees_the_heads
    assert set(linked) == (set(rows) if sees_the_heads else set(rows) - {head})
    for code, href in linked.items():
        assert href.startswith("/instances/")
        assert client.get(href).status_code == 200, code
    if not sees_the_heads:
        row = re.search(rf"<td>{head}</td>\s*<td>([^<]*)</td>", html)
        assert row is not None and row.group(1).strip()  # the name, as text
