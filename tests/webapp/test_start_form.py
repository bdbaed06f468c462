"""The unit lists every page offers (filters, pickers): a tree, not a flat list."""

from __future__ import annotations

from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.registry.models import OrgUnit


def _options(page: str, name: str) -> list[str]:
    return [o.text_content() for o in lxml_html.fromstring(page).xpath(f"//select[@name='{name}']/option")][1:]


def test_unit_lists_are_trees_with_merged_units_marked(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        commune = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        office = OrgUnit(
            code="X001-VP",
            name="Văn phòng HĐND và UBND xã An Phú",
            unit_type="office",
            parent_id=commune.id,
            path=f"{commune.path}{commune.id}/",
        )
        gone = OrgUnit(
            code="X001-OLD",
            name="Ban cũ",
            unit_type="office",
            parent_id=commune.id,
            path=f"{commune.path}{commune.id}/",
            is_active=False,
        )
        s.add_all([office, gone])
        commune_name = commune.name
    auth.login("personnel1")
    for path, name in (("/inbox", "unit"), ("/instances", "unit"), ("/instances/start", "unit")):
        options = _options(client.get(path).get_data(as_text=True), name)
        at = next(i for i, label in enumerate(options) if label.strip("— ") == commune_name)
        depth = options[at].count("— ")
        below = options[at + 1 : at + 3]
        # The commune's own units come right after it, one step further in (tree order, siblings by name).
        assert "— " * (depth + 1) + "Ban cũ (đã sáp nhập)" in below or path == "/instances/start", (path, below)
        assert "— " * (depth + 1) + "Văn phòng HĐND và UBND xã An Phú" in below, (path, below)
