"""The add-unit page in a real browser: the type list follows the unit chosen above through the page's script
(under the CSP: no inline script), offering only the types that unit may hold, and the unit is created."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.test_journeys import sign_in
from workflows.registry.models import OrgUnit

pytestmark = pytest.mark.browser

BODIES = ["party_committee", "peoples_committee", "department", "mass_organisation", "party_body"]


def test_the_type_list_follows_the_unit_above(
    live_server: str, page, shoot, session_factory: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        province, ward = (s.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).one() for code in ("T01", "X002"))
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)

    def offered() -> list[str]:
        return page.eval_on_selector_all("select#unit_type option", "options => options.map(o => o.value)")

    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/units/new")
    assert len(offered()) == 9  # no unit above chosen yet: every type
    page.select_option("select#unit_type", "department")

    page.select_option("select#parent_id", str(ward))
    assert offered() == BODIES
    assert page.input_value("select#unit_type") == "department"  # still allowed: still chosen
    assert page.locator("#unit_type-none").is_hidden()
    page.select_option("select#parent_id", str(province))
    assert "province" not in offered() and "commune" in offered() and len(offered()) == 8
    page.select_option("select#unit_type", "commune")
    page.select_option("select#parent_id", str(ward))
    assert offered() == BODIES and page.input_value("select#unit_type") == BODIES[0]  # a commune may not: the first
    page.select_option("select#parent_id", "")
    assert len(offered()) == 9

    page.select_option("select#parent_id", str(ward))
    page.fill("#code", "X002-VP")
    page.fill("#name", "Văn phòng Đảng ủy phường")
    page.select_option("select#unit_type", "party_body")
    shoot("unit-new-type-follows-parent")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server}/units/*")
    with session_factory() as s:
        created = s.scalars(select(OrgUnit).where(OrgUnit.code == "X002-VP")).one()
        assert (created.parent_id, created.unit_type) == (ward, "party_body")
    assert problems == []
