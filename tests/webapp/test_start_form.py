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


SEARCHES = {
    "/instances/start": "/instances/start/cadres",
    "/rotations/start": "/rotations/cadres",
    "/appointments/start": "/appointments/cadres",
}


def test_each_start_page_searches_cadres_where_the_script_asks(auth: AuthActions, client) -> None:
    auth.login("personnel1")
    for page_path, search_path in SEARCHES.items():
        page = lxml_html.fromstring(client.get(page_path).get_data(as_text=True))
        box = page.xpath("//input[@data-cadre-search]")
        assert [b.get("data-cadre-search") for b in box] == [search_path], page_path
        # Without the script a typed code is still sent: the box is a plain text field with the browser's list.
        assert box[0].get("type") == "text" and box[0].get("list") == "cadre-codes"
        assert page.xpath(f"//ul[@id='{box[0].get('id')}-results'][@hidden]")
        assert page.xpath("//script[contains(@src, 'cadre_search.js')]")
        found = client.get(f"{search_path}?q=nguyen+thi+lan").get_json()
        assert [c["code"] for c in found["cadres"]] == ["CB0001"], search_path
        assert found["cadres"][0]["label"].startswith("CB0001 — Nguyễn Thị Lan — ")


def test_the_cadre_search_is_the_start_pages_scope(auth: AuthActions, client) -> None:
    auth.login("officer1")
    assert client.get("/rotations/cadres?q=cb").status_code == 403
    assert client.get("/appointments/cadres?q=cb").status_code == 403
    found = client.get("/instances/start/cadres?q=cb000").get_json()
    assert [c["code"] for c in found["cadres"]] == ["CB0001"]  # themself only
    auth.logout()
    assert client.get("/instances/start/cadres?q=cb").status_code in (302, 401)


def test_the_cadre_search_finds_by_code_prefix_and_unmarked_name(auth: AuthActions, client) -> None:
    auth.login("personnel1")

    def codes(text: str) -> list[str]:
        response = client.get("/rotations/cadres", query_string={"q": text})
        assert response.status_code == 200 and response.mimetype == "application/json"
        return [c["code"] for c in response.get_json()["cadres"]]

    assert codes("cb000")[:2] == ["CB0001", "CB0002"]
    assert codes("do thi hoa") == codes("ĐỖ THỊ HOA") == ["CB0006"]
    assert codes("%") == codes("") == []
    assert codes("x" * 5000) == []
