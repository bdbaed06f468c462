"""Where a table's cells sit (decision 0091): in a wide table, files and long texts go to each row's second line,
labelled there, so the columns of numbers fit the page; a column may say where it goes; and a form may name its own
comment field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from tests.webapp.test_schema_forms import render, shown
from webapp.tasks.schema_forms import UnsupportedSchema, build_form_class, own_comment_field

FORMS = Path(__file__).resolve().parents[2] / "forms"


def _form(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((FORMS / name).read_text(encoding="utf-8"))
    return schema


def _page(schema: dict[str, Any], data: dict[str, Any]) -> Any:
    with shown(data, schema) as form:
        return lxml_html.fromstring(f"<div>{render(form, schema)}</div>")


ROW = {"name": "Tham mưu văn bản", "assigned": 10, "completed": 10, "completed_quality": 10, "completed_on_time": 10}


def test_the_reviews_reason_and_evidence_sit_under_their_row_with_a_label() -> None:
    page = _page(_form("evaluation_review.json"), {"products": [ROW]})
    headers = [th.get("id") for th in page.xpath("//thead//th")]
    assert "products-col-reason" not in headers and "products-col-evidence" not in headers
    assert "products-col-delays" in headers  # the counts keep their columns
    line = page.xpath('//tbody[@class="table-row"]/tr[@class="row-line"]/td')[0]
    assert line.get("colspan") == str(len(headers))
    assert line.xpath('.//label[@for="products-0-reason"]')[0].text_content().strip() == "Lý do điều chỉnh"
    assert line.xpath('.//input[@id="products-0-reason"][@name="products-0-reason"]')
    assert line.xpath('.//label[@for="products-0-evidence"]') and line.xpath('.//input[@type="file"]')


def test_a_small_table_keeps_its_long_texts_in_columns() -> None:
    schema = _form("annual_confirm.json")
    page = _page(schema, {})
    assert not page.xpath('//tr[@class="row-line"]')
    assert page.xpath('//th[@id="resolutions-col-reason"]')


def test_the_collectives_removals_give_both_reasons_the_rows_width() -> None:
    """Four columns, but a reason for removal squeezed between the entry's long name and the decision was cut off at
    1366 px: the removals place both reasons on the row's second line themselves."""
    page = _page(_form("planning_removals.json"), {"removals": [{"entry_id": 7, "reason": "Quá tuổi quy hoạch"}]})
    headers = [th.get("id") for th in page.xpath("//thead//th")]
    assert "removals-col-reason" not in headers and "removals-col-keep_reason" not in headers
    assert "removals-col-decision" in headers
    line = page.xpath('//tbody[@class="table-row"]/tr[@class="row-line"]/td')[0]
    assert line.xpath('.//label[@for="removals-0-reason"]')[0].text_content().strip() == "Lý do đưa ra"
    assert line.xpath('.//input[@id="removals-0-reason"]')[0].get("value") == "Quá tuổi quy hoạch"
    assert line.xpath('.//label[@for="removals-0-keep_reason"]')


def test_a_column_says_where_it_goes() -> None:
    schema = copy.deepcopy(_form("evaluation_review.json"))
    schema["properties"]["products"]["items"]["x-ui"]["reason"]["placement"] = "column"
    schema["properties"]["products"]["items"]["x-ui"]["name"]["placement"] = "below"  # the first never goes
    page = _page(schema, {"products": [ROW]})
    assert page.xpath('//th[@id="products-col-reason"]') and page.xpath('//th[@id="products-col-name"]')
    assert not page.xpath('//tr[@class="row-line"]//input[@id="products-0-reason"]')
    assert page.xpath('//tr[@class="row-line"]//input[@id="products-0-evidence"]')


def test_an_unknown_placement_is_refused() -> None:
    schema = copy.deepcopy(_form("evaluation_review.json"))
    schema["properties"]["products"]["items"]["x-ui"]["reason"]["placement"] = "aside"
    with pytest.raises(UnsupportedSchema, match="placement"):
        build_form_class(schema)


def test_a_form_names_its_own_comment_field() -> None:
    assert own_comment_field(_form("evaluation_decision.json")) == "decision_comment"
    assert own_comment_field(_form("evaluation_review.json")) is None


@pytest.mark.parametrize("named", ["missing", "grade", 3])
def test_the_comment_field_must_be_a_text_field_of_the_form(named: object) -> None:
    schema = {**_form("evaluation_decision.json"), "x-comment-field": named}
    with pytest.raises(UnsupportedSchema, match="x-comment-field"):
        build_form_class(schema)
