"""Every kind of text box the pages use gets the form's box style: an e-mail field once drew as a bare 1-px line
under the browser's default style, beside full-height text boxes."""

from __future__ import annotations

import pytest

from tests.browser.test_journeys import sign_in

pytestmark = pytest.mark.browser


def test_the_email_box_is_drawn_like_the_other_text_boxes(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/auth/profile")
    email = page.locator('input[type="email"]').first.bounding_box()
    text = page.locator('input[type="text"]').first.bounding_box()
    assert email is not None and text is not None
    assert abs(email["height"] - text["height"]) <= 2
    padding = page.locator('input[type="email"]').first.evaluate("box => getComputedStyle(box).paddingLeft")
    assert padding == "9px"
