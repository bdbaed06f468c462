"""The charts' text stays inside the drawing in a real browser: titles and labels are wrapped on the server from an
estimated glyph width, and a title once ran past the edge and lost its last letter ("ngườ")."""

from __future__ import annotations

import pytest

from tests.browser.test_journeys import sign_in

pytestmark = pytest.mark.browser

# The longest indicator names: their titles wrap to three lines.
PAGES = ("/reports/targets", "/reports/targets/non_local_commune_pc_chair", "/reports/targets/women_party_committee")

_OVERFLOWING = """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const width = svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].filter(t => { const box = t.getBBox(); return box.x < -0.5 || box.x + box.width > width + 0.5; })
    .map(t => t.textContent);
})"""


@pytest.mark.parametrize("path", PAGES)
def test_no_chart_text_runs_past_the_drawing(live_server: str, page, path: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}{path}")
    assert page.locator("svg.chart").count() >= 1
    assert page.evaluate(_OVERFLOWING) == []
