"""The inspector's history states every eligibility check's verdict, a re-check that kept it too (read on the demo's
past appointment, decision 0127): a data change records only what changed, so the verdict a re-check did not change
is the one that stood (workflows.inspection.history.eligibility_snapshots)."""

from __future__ import annotations

import re

from flask import Flask
from lxml import html as lxml_html

from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_history_wording__ballot_result import _reader, _text
from tests.webapp.test_history_wording__ballot_result import appointment as appointment


def test_each_eligibility_check_says_its_verdict(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    """Checked when the dossier came in, checked again before the final vote: both eligible, both say so."""
    instance_id, _nominee, _other = appointment
    for language, verdict, checked in (
        ("vi", "đủ tiêu chuẩn, điều kiện", "kiểm tra ngày"),
        ("en", "eligible", "checked on"),
    ):
        page = _reader(app, driver, language).get(f"/audit/instances/{instance_id}")
        cards = lxml_html.fromstring(page.get_data(as_text=True)).xpath('//div[contains(@class, "eligibility")]/p')
        pattern = rf"\d\d/\d\d/\d{{4}} \d\d:\d\d — Đỗ Thị Hoa: {verdict} \({checked} (\d\d/\d\d/\d{{4}})\)"
        days = [re.fullmatch(pattern, _text(card)) for card in cards]
        assert len(days) == 2 and all(days), [_text(card) for card in cards]
        first, second = (day.group(1) for day in days if day)
        assert first != second  # the re-check, weeks later
