"""Org units through the real app: the tree in scope, and an administrator creating, renaming and merging units
(the 2025 two-level reform), each refusal with its message and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions, configured_app
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.extensions import db
from workflows.audit import verify_chains
from workflows.models import AuditEvent
from workflows.registry.models import OrgUnit


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _unit(driver: WorkflowDriver, code: str) -> OrgUnit:
    with driver.session_factory() as s:
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == code))
        assert unit is not None
        s.expunge(unit)
        return unit


def _unit_events(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).where(AuditEvent.chain_key.like("unit:%"))) or 0


def test_the_tree_shows_the_units_in_scope(auth: AuthActions, client) -> None:
    auth.login("officer3")
    listed = set(_doc(client.get("/units")).xpath("//tr/@data-unit"))
    assert "X002" in listed and "X001" not in listed and "T01" not in listed
    auth.logout()
    auth.login("admin")
    listed = set(_doc(client.get("/units")).xpath("//tr/@data-unit"))
    assert {"T01", "X001", "X002"} <= listed


def test_a_unit_outside_scope_is_404(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("officer3")
    x001 = _unit(driver, "X001")
    assert client.get(f"/units/{x001.id}").status_code == 404
    assert auth.post(f"/units/{x001.id}", {"unit-name": "X", "unit-unit_type": "commune"}).status_code == 404


def test_only_administrators_change_units(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    x002 = _unit(driver, "X002")
    auth.login("personnel1")
    page = _doc(client.get(f"/units/{x002.id}"))
    assert not page.xpath('//input[@name="unit-name"]')
    response = auth.post(f"/units/{x002.id}", {"unit-name": "Đổi tên", "unit-unit_type": "ward"})
    assert response.status_code == 403
    assert (
        auth.post("/units/new", {"parent_id": "1", "code": "X9", "name": "Xã", "unit_type": "commune"}).status_code
        == 403
    )
    assert _unit(driver, "X002").name == x002.name and _unit_events(driver) == 0


def test_an_administrator_renames_a_unit_with_before_and_after_in_its_history(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    x002 = _unit(driver, "X002")
    auth.login("admin")
    response = auth.post(f"/units/{x002.id}", {"unit-name": "  Phường  Bình Minh mới ", "unit-unit_type": "ward"})
    assert response.status_code == 302
    assert _unit(driver, "X002").name == "Phường Bình Minh mới"
    history = _doc(client.get(f"/units/{x002.id}")).xpath('//ol[@id="unit-history"]/li')
    assert [li.get("data-event") for li in history] == ["unit_updated"]
    assert "Phường Bình Minh → Phường Bình Minh mới" in history[0].text_content()


def test_a_blank_name_or_unknown_type_is_refused_on_its_field(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    x002 = _unit(driver, "X002")
    auth.login("admin")
    response = auth.post(f"/units/{x002.id}", {"unit-name": "   ", "unit-unit_type": "kingdom"})
    assert response.status_code == 422
    page = _doc(response)
    assert page.xpath('//*[@id="unit-name-error"]') and page.xpath('//*[@id="unit-unit_type-error"]')
    assert _unit(driver, "X002").name == x002.name and _unit_events(driver) == 0


@pytest.mark.parametrize("name", ["\x00", "\x00\x07 \x1f"])
def test_a_name_of_control_characters_only_is_no_name(
    auth: AuthActions, client, driver: WorkflowDriver, name: str
) -> None:
    x002, province = _unit(driver, "X002"), _unit(driver, "T01")
    auth.login("admin")
    renamed = auth.post(f"/units/{x002.id}", {"unit-name": name, "unit-unit_type": "ward"})
    assert renamed.status_code == 422
    assert "Phải có tên" in _doc(renamed).xpath('//*[@id="unit-name-error"]')[0].text_content()
    created = auth.post(
        "/units/new", {"parent_id": str(province.id), "code": "X009", "name": name, "unit_type": "commune"}
    )
    assert created.status_code == 422
    assert "Phải có tên" in _doc(created).xpath('//*[@id="name-error"]')[0].text_content()
    with driver.session_factory() as s:
        assert s.scalar(select(OrgUnit).where(OrgUnit.code == "X009")) is None
    assert _unit(driver, "X002").name == x002.name and _unit_events(driver) == 0


@pytest.mark.parametrize("code", ["²", "٣", "１", "-1", "_X", "X 1", "X.1", "ß", "\x00"])
def test_a_code_is_ascii_letters_digits_and_separators(
    auth: AuthActions, client, driver: WorkflowDriver, code: str
) -> None:
    parent = _unit(driver, "X001")
    auth.login("admin")
    before = _unit_events(driver)
    response = auth.post(
        "/units/new", {"parent_id": str(parent.id), "code": code, "name": "Thôn", "unit_type": "commune"}
    )
    assert response.status_code == 422
    errors = _doc(response).xpath('//*[@id="code-error"]')
    expected = "Phải có mã" if code == "\x00" else "Mã chỉ được gồm chữ cái Latinh A-Z, chữ số 0-9"
    assert errors and expected in errors[0].text_content()
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).where(OrgUnit.parent_id == parent.id)) == 0
    assert _unit_events(driver) == before


def test_an_administrator_adds_a_unit_under_another(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    province = _unit(driver, "T01")
    auth.login("admin")
    response = auth.post(
        "/units/new", {"parent_id": str(province.id), "code": "x003", "name": "Xã Tân Lập", "unit_type": "commune"}
    )
    assert response.status_code == 302
    created = _unit(driver, "X003")
    assert created.parent_id == province.id and created.path == f"{province.path}{province.id}/"
    again = auth.post(
        "/units/new", {"parent_id": str(province.id), "code": "X003", "name": "Trùng", "unit_type": "commune"}
    )
    assert again.status_code == 422 and _doc(again).xpath('//*[@id="code-error"]')


def test_a_unit_with_people_cannot_be_merged(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    x002, x001 = _unit(driver, "X002"), _unit(driver, "X001")
    auth.login("admin")
    response = auth.post(
        f"/units/{x002.id}/merge",
        {"merge-confirm": "y", "merge-into_id": str(x001.id), "merge-merged_on": "2025-07-01"},
    )
    assert response.status_code == 422
    assert _doc(response).xpath('//*[@role="alert"]')
    assert _unit(driver, "X002").is_active and _unit_events(driver) == 0


def test_merging_an_empty_commune_keeps_it_readable_and_no_longer_offered(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    province, x001 = _unit(driver, "T01"), _unit(driver, "X001")
    auth.login("admin")
    auth.post(
        "/units/new", {"parent_id": str(province.id), "code": "X009", "name": "Xã Kim Bình", "unit_type": "commune"}
    )
    former = _unit(driver, "X009")
    bad_date = auth.post(
        f"/units/{former.id}/merge", {"merge-confirm": "y", "merge-into_id": str(x001.id), "merge-merged_on": "01/07"}
    )
    assert bad_date.status_code == 422 and _doc(bad_date).xpath('//*[@id="merge-merged_on-error"]')
    into_itself = auth.post(
        f"/units/{former.id}/merge",
        {"merge-confirm": "y", "merge-into_id": str(former.id), "merge-merged_on": "2025-07-01"},
    )
    assert into_itself.status_code == 422 and _doc(into_itself).xpath('//*[@id="merge-into_id-error"]')
    # A date nobody meant: the unit would have stopped today for a merger in 2099, or "since" 1800.
    for slip in ("2099-01-01", "1800-01-01"):
        refused = auth.post(
            f"/units/{former.id}/merge", {"merge-confirm": "y", "merge-into_id": str(x001.id), "merge-merged_on": slip}
        )
        assert refused.status_code == 422 and _doc(refused).xpath('//*[@id="merge-merged_on-error"]'), slip
    assert _unit(driver, "X009").is_active

    response = auth.post(
        f"/units/{former.id}/merge",
        {"merge-confirm": "y", "merge-into_id": str(x001.id), "merge-merged_on": "2025-07-01"},
    )
    assert response.status_code == 302
    merged = _unit(driver, "X009")
    assert not merged.is_active and merged.merged_into_id == x001.id
    assert merged.active_to is not None and merged.active_to.isoformat() == "2025-06-30"
    page = _doc(client.get(f"/units/{former.id}"))
    assert [li.get("data-event") for li in page.xpath('//ol[@id="unit-history"]/li')] == ["unit_created", "unit_merged"]
    assert not page.xpath('//form[contains(@action, "/merge")]')  # already merged: nothing more to do
    start_units = _doc(client.get("/instances/start")).xpath('//select[@name="unit"]/option/text()')
    assert "Xã Kim Bình" not in start_units
    with driver.session_factory() as s:
        assert verify_chains(s, f"unit:{former.id}").ok


def test_search_finds_units_at_any_depth_and_a_unit_lists_the_units_below(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("admin")
    assert set(_doc(client.get("/units?q=ubkt")).xpath('//table[@id="units"]//tr/@data-unit')) == {"T01-UBKT"}
    province = _unit(driver, "T01")
    below = set(_doc(client.get(f"/units/{province.id}")).xpath('//table[@id="children"]//tr/@data-unit'))
    assert {"X001", "X002", "T01-BTC", "T01-UBKT"} <= below and "T01" not in below


def test_inspectors_find_a_units_changes_in_the_audit_log(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    x002 = _unit(driver, "X002")
    auth.login("admin")
    auth.post(f"/units/{x002.id}", {"unit-name": "Phường Bình Minh mới", "unit-unit_type": "ward"})
    auth.logout()
    auth.login("auditor1")
    page = client.get(f"/audit/events?chain=unit:{x002.id}")
    assert page.status_code == 200
    assert _doc(page).xpath(f'//a[@href="/units/{x002.id}"]')
    assert "unit_updated" in page.get_data(as_text=True)
    assert client.get("/audit/events?chain=unit:x").status_code == 400  # a bad filter, as elsewhere


@pytest.mark.parametrize("into", ["²", "99999999999999999999", "１"])
def test_a_merge_target_that_is_not_an_id_is_refused(
    auth: AuthActions, client, driver: WorkflowDriver, into: str
) -> None:
    x002 = _unit(driver, "X002")
    auth.login("admin")
    response = auth.post(
        f"/units/{x002.id}/merge", {"merge-confirm": "y", "merge-into_id": into, "merge-merged_on": "2025-07-01"}
    )
    assert response.status_code == 422
    assert _unit(driver, "X002").is_active and _unit_events(driver) == 0


def _unit_count(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(OrgUnit)) or 0


def test_a_second_unit_of_one_name_under_one_parent_is_refused_naming_the_first(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    province, x002 = _unit(driver, "T01"), _unit(driver, "X002")
    auth.login("admin")
    units, events = _unit_count(driver), _unit_events(driver)
    added = auth.post(
        "/units/new", {"parent_id": str(province.id), "code": "X050", "name": " xã  an phu ", "unit_type": "commune"}
    )
    assert added.status_code == 422
    error = _doc(added).xpath('//*[@id="name-error"]')[0].text_content()
    assert 'Đơn vị cấp trên đã có đơn vị tên "Xã An Phú" (mã X001)' in error
    renamed = auth.post(f"/units/{x002.id}", {"unit-name": "XÃ AN PHÚ", "unit-unit_type": "ward"})
    assert renamed.status_code == 422
    assert "(mã X001)" in _doc(renamed).xpath('//*[@id="unit-name-error"]')[0].text_content()
    assert _unit_count(driver) == units and _unit_events(driver) == events
    assert _unit(driver, "X002").name == x002.name
    # Under another parent the name is free.
    elsewhere = auth.post(
        "/units/new", {"parent_id": str(x002.id), "code": "X050", "name": "Xã An Phú", "unit_type": "department"}
    )
    assert elsewhere.status_code == 302 and _unit(driver, "X050").parent_id == x002.id


def test_the_add_form_shows_every_problem_beside_its_field_at_once(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("admin")
    units, events = _unit_count(driver), _unit_events(driver)
    response = auth.post("/units/new", {"parent_id": "999999", "code": "X.1", "name": "  ", "unit_type": "kingdom"})
    assert response.status_code == 422
    page = _doc(response)
    for field, expected in [
        ("parent_id", "Vui lòng chọn đơn vị cấp trên"),
        ("code", "Mã chỉ được gồm chữ cái Latinh"),
        ("name", "Phải có tên"),
        ("unit_type", ""),
    ]:
        errors = page.xpath(f'//*[@id="{field}-error"]')
        assert errors and expected in errors[0].text_content(), field
    # What was typed stays in the form.
    assert page.xpath('//input[@name="code"]/@value') == ["X.1"]
    assert _unit_count(driver) == units and _unit_events(driver) == events


def test_the_add_form_offers_the_parent_asked_for(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    x001 = _unit(driver, "X001")
    auth.login("admin")
    page = _doc(client.get(f"/units/new?parent_id={x001.id}"))
    assert page.xpath('//select[@name="parent_id"]/option[@selected]/@value') == [str(x001.id)]


BODIES = ["party_committee", "peoples_committee", "department", "mass_organisation", "party_body"]
EVERY_TYPE = ["province", "commune", "ward", "special_zone", *BODIES]


def _types_offered(page: Any) -> list[str]:
    return page.xpath('//select[@name="unit_type"]/option/@value')


def test_the_add_form_offers_the_types_the_unit_above_may_hold(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """Opened from a unit (or posted with one), the type list holds only what that unit may hold; with none chosen
    yet, every type (the page's script narrows it as one is chosen)."""
    province, ward = _unit(driver, "T01"), _unit(driver, "X002")
    auth.login("admin")
    assert _types_offered(_doc(client.get("/units/new"))) == EVERY_TYPE
    assert _types_offered(_doc(client.get(f"/units/new?parent_id={province.id}"))) == EVERY_TYPE[1:]
    under_ward = _doc(client.get(f"/units/new?parent_id={ward.id}"))
    assert _types_offered(under_ward) == BODIES
    assert under_ward.xpath('//*[@id="unit_type-none"]/@hidden')  # the ward holds units: no note
    # Refused for another reason: the type chosen stays chosen among those offered.
    refused = auth.post(
        "/units/new", {"parent_id": str(ward.id), "code": "X.1", "name": "Văn phòng", "unit_type": "department"}
    )
    assert refused.status_code == 422
    page = _doc(refused)
    assert _types_offered(page) == BODIES
    assert page.xpath('//select[@name="unit_type"]/option[@selected]/@value') == ["department"]


def test_a_refused_type_leaves_the_types_the_unit_above_may_hold(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """The server still refuses a pair the tree does not allow (a form from before, or no script), beside the type
    list, which then offers what the unit above may hold."""
    ward = _unit(driver, "X002")
    auth.login("admin")
    refused = auth.post(
        "/units/new", {"parent_id": str(ward.id), "code": "X091", "name": "Xã Tân Hòa", "unit_type": "commune"}
    )
    assert refused.status_code == 422
    page = _doc(refused)
    assert "không được trực thuộc trực tiếp" in page.xpath('//*[@id="unit_type-error"]')[0].text_content()
    assert _types_offered(page) == BODIES
    assert not page.xpath('//select[@name="unit_type"]/option[@selected]')


def test_the_add_form_carries_the_tree_for_its_script(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """The type select holds what static/unit_type_picker.js needs: each unit above's type, the policy's tree and
    the type names in the reader's language; the page loads the script from the app (no inline script)."""
    province, ward = _unit(driver, "T01"), _unit(driver, "X002")
    auth.login("admin")
    page = _doc(client.get("/units/new"))
    [select] = page.xpath('//select[@name="unit_type"]')
    assert select.get("data-parent-select") == "parent_id" and page.xpath('//select[@id="parent_id"]')
    rules = json.loads(select.get("data-type-rules"))
    offered = [value for value in page.xpath('//select[@name="parent_id"]/option/@value') if value]
    assert sorted(rules["parents"]) == sorted(offered)
    assert rules["parents"][str(province.id)] == "province" and rules["parents"][str(ward.id)] == "ward"
    assert rules["allowed"]["province"] == EVERY_TYPE[1:] and rules["allowed"]["ward"] == BODIES
    assert rules["labels"][:2] == [["province", "Tỉnh"], ["commune", "Xã"]]
    assert [value for value, _label in rules["labels"]] == EVERY_TYPE
    assert page.xpath("//script/@src") == [
        "/static/stacked_tables.js",
        "/static/json_get.js",
        "/static/upload_limits.js",
        "/static/unit_type_picker.js",
    ] and not page.xpath("//script[not(@src)]")


def test_a_unit_the_tree_lets_hold_nothing_offers_no_type(database_url: str, demo_users: dict, tmp_path: Any) -> None:
    app = configured_app(database_url, tmp_path, UNIT_POLICY='{"allowed_children": {"ward": []}}')
    auth = AuthActions(app.test_client())
    auth.login("admin")
    with app.app_context():
        ward = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "X002"))
        db.session.remove()
    page = _doc(auth.client.get(f"/units/new?parent_id={ward}"))
    assert _types_offered(page) == []
    assert not page.xpath('//*[@id="unit_type-none"]/@hidden')
    assert "không được có đơn vị trực thuộc" in page.xpath('//*[@id="unit_type-none"]')[0].text_content()
    assert json.loads(page.xpath('//select[@name="unit_type"]/@data-type-rules')[0])["allowed"]["ward"] == []
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_merger_is_confirmed_not_one_click(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """A merger closes the unit at once: without the box ticked nothing happens and the page asks for it."""
    x001, x002 = _unit(driver, "X001"), _unit(driver, "X002")
    auth.login("admin")
    response = auth.post(f"/units/{x002.id}/merge", {"merge-into_id": str(x001.id), "merge-merged_on": "2025-07-01"})
    assert response.status_code == 422 and _doc(response).xpath('//*[@id="merge-confirm-error"]')
    assert "xác nhận sáp nhập" in response.get_data(as_text=True)
    assert _unit(driver, "X002").is_active


def test_a_province_under_a_province_is_refused_naming_both_types(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    province, x002 = _unit(driver, "T01"), _unit(driver, "X002")
    auth.login("admin")
    units, events = _unit_count(driver), _unit_events(driver)
    added = auth.post(
        "/units/new", {"parent_id": str(province.id), "code": "T02", "name": "Tỉnh Hà Sơn", "unit_type": "province"}
    )
    assert added.status_code == 422
    error = _doc(added).xpath('//*[@id="unit_type-error"]')[0].text_content()
    assert "Đơn vị loại “Tỉnh” không được trực thuộc trực tiếp đơn vị loại “Tỉnh”" in error
    retyped = auth.post(f"/units/{x002.id}", {"unit-name": x002.name, "unit-unit_type": "province"})
    assert retyped.status_code == 422
    error = _doc(retyped).xpath('//*[@id="unit-unit_type-error"]')[0].text_content()
    assert "“Tỉnh” không được trực thuộc trực tiếp đơn vị loại “Tỉnh”" in error
    under_commune = auth.post(
        "/units/new", {"parent_id": str(x002.id), "code": "X090", "name": "Xã Tân An", "unit_type": "commune"}
    )
    assert under_commune.status_code == 422
    error = _doc(under_commune).xpath('//*[@id="unit_type-error"]')[0].text_content()
    assert "Đơn vị loại “Xã” không được trực thuộc trực tiếp đơn vị loại “Phường”" in error
    assert _unit_count(driver) == units and _unit_events(driver) == events
    assert _unit(driver, "X002").unit_type == "ward"


def test_the_tree_comes_from_the_configuration(database_url: str, demo_users: dict, tmp_path: Any) -> None:
    app = configured_app(database_url, tmp_path, UNIT_POLICY='{"allowed_children": {"province": ["province"]}}')
    auth = AuthActions(app.test_client())
    auth.login("admin")
    with app.app_context():
        province = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "T01"))
        db.session.remove()
    added = auth.post(
        "/units/new", {"parent_id": str(province), "code": "T02", "name": "Tỉnh Hà Sơn", "unit_type": "province"}
    )
    assert added.status_code == 302
    refused = auth.post(
        "/units/new", {"parent_id": str(province), "code": "X090", "name": "Xã Tân An", "unit_type": "commune"}
    )
    assert refused.status_code == 422
    assert _types_offered(_doc(refused)) == ["province"]  # what the configured tree lets a province hold
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_command_line_lists_the_units_and_keeps_the_one_top_unit(runner, driver: WorkflowDriver) -> None:
    listed = runner.invoke(args=["units", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0] == "T01\tprovince\tTỉnh Sơn Hà (demo)" and "  T01-BTC\tparty_body\tBan Tổ chức Tỉnh ủy" in lines
    before = _unit_events(driver)
    refused = runner.invoke(args=["units", "create-root", "T09", "Tỉnh mới"])
    assert refused.exit_code == 1
    assert "Tổ chức đã có đơn vị cao nhất T01 (Tỉnh Sơn Hà (demo))" in refused.stderr
    assert _unit_events(driver) == before
