"""The cadre box of the start pages in a real browser (static/cadre_search.js, under the CSP): typing an unmarked name
fragment or a code prefix lists the cadres the page's JSON endpoint finds; one is picked with the mouse or with the
keyboard (arrows, Enter, Escape) and its code lands in the box."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import pytest

from tests.browser.test_journeys import sign_in

pytestmark = pytest.mark.browser


def _unmarked(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Script errors, CSP refusals and any other console error of the page."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type == "error" or "Content Security" in message.text else None
        ),
    )
    return problems


def _type(page, box, text: str, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    """Type `text` key by key, as a person does, and wait for the search the script sends for all of it."""
    with page.expect_response(lambda response: endpoint in response.url and response.url.endswith(_query(text))):
        box.press_sequentially(text)


def _query(text: str) -> str:
    return "q=" + quote(text, safe="")


def test_rotation_start_finds_cadres_by_unmarked_name_and_code(live_server: str, page, shoot) -> None:  # type: ignore[no-untyped-def]
    problems = _watch(page)
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/rotations/start")
    box = page.locator("#cadre")
    results = page.locator("#cadre-results")
    assert box.get_attribute("list") is None  # the script ran: the browser's own list is off
    assert box.get_attribute("aria-controls") == "cadre-results"
    assert results.is_hidden()

    # An unmarked name fragment finds "Nguyễn Thị Lan"; everything listed holds it, marks and case aside.
    _type(page, box, "nguyen thi", "/rotations/cadres")
    lan = results.get_by_role("button", name="CB0001 — Nguyễn Thị Lan", exact=False)
    lan.wait_for()
    labels = results.locator("button").all_inner_texts()
    assert labels and all("nguyen thi" in _unmarked(label) for label in labels), labels
    assert not any(label.startswith("CB0005") for label in labels)  # Hoàng Thị Mai: "thi", not "nguyen thi"
    shoot("cadre-search-by-name")

    # Picked with the mouse: the code lands in the box, the list closes, the box keeps the focus.
    lan.click()
    assert box.input_value() == "CB0001"
    assert results.is_hidden()
    assert results.locator("li").count() == 0
    assert page.evaluate("document.activeElement.id") == "cadre"

    # A code prefix lists codes first, in code order; the keyboard walks the list and Enter picks.
    box.fill("")
    _type(page, box, "cb000", "/rotations/cadres")
    results.locator("button").first.wait_for()
    codes = [label.split(" — ")[0] for label in results.locator("button").all_inner_texts()]
    assert codes[:2] == ["CB0001", "CB0002"], codes
    assert codes == sorted(codes)
    shoot("cadre-search-by-code")
    box.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent").startswith("CB0001")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent").startswith("CB0002")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # above the first: back in the box
    assert page.evaluate("document.activeElement.id") == "cadre"
    box.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert box.input_value() == "CB0002"
    assert results.is_hidden()
    assert page.evaluate("document.activeElement.id") == "cadre"

    # Escape closes the list and leaves what was typed.
    box.fill("")
    _type(page, box, "CB0003", "/rotations/cadres")
    results.locator("button").first.wait_for()
    box.press("Escape")
    assert results.is_hidden()
    assert box.input_value() == "CB0003"

    # Nothing found: said so. One character: no search, no list.
    box.fill("")
    _type(page, box, "khong co ai", "/rotations/cadres")
    results.get_by_text("No cadre", exact=False).or_(results.locator("li")).first.wait_for()
    assert results.locator("button").count() == 0
    assert results.locator("li").inner_text() == results.get_attribute("data-none")
    box.fill("")
    box.press_sequentially("n")
    page.wait_for_timeout(400)  # past the script's delay
    assert results.is_hidden()

    assert problems == []


@pytest.mark.parametrize(
    ("path", "box_id", "endpoint"),
    [("/appointments/start", "cadre", "/appointments/cadres"), ("/instances/start", "subject", "/start/cadres")],
)
def test_the_other_start_pages_search_too(live_server: str, page, path: str, box_id: str, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    problems = _watch(page)
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}{path}")
    box = page.locator(f"#{box_id}")
    _type(page, box, "nguyen thi", endpoint)
    lan = page.locator(f"#{box_id}-results").get_by_role("button", name="CB0001 — Nguyễn Thị Lan", exact=False)
    lan.click()
    assert box.input_value() == "CB0001"
    assert problems == []


def test_a_pick_is_not_undone_by_a_search_still_pending(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    """Picked (or the list closed with Escape) while the search for the last keys is still waiting (the script's
    delay, or the answer on its way): that search's answer must not list the cadres again."""
    problems = _watch(page)
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/rotations/start")
    box, results = page.locator("#cadre"), page.locator("#cadre-results")
    _type(page, box, "nguyen", "/rotations/cadres")
    lan = results.get_by_role("button", name="CB0001 — Nguyễn Thị Lan", exact=False)
    lan.wait_for()
    box.press_sequentially(" thi")  # a new search is due in 200 ms
    lan.click()  # picked from the list still shown
    assert box.input_value() == "CB0001"
    page.wait_for_timeout(800)  # past the delay and the answer
    assert results.is_hidden()
    assert results.locator("li").count() == 0

    # Closed with Escape while the search for the last keys is still due: it stays closed.
    box.fill("")
    _type(page, box, "nguyen", "/rotations/cadres")
    lan.wait_for()
    box.press_sequentially(" thi")
    box.press("Escape")
    page.wait_for_timeout(800)
    assert results.is_hidden()
    assert box.input_value() == "nguyen thi"
    assert problems == []
