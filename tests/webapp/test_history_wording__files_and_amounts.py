"""A data change's before → after names a stored file by its name, a link to download it, not its internal
reference ("attachment:12"), and writes a large amount grouped by thousands as the app writes counts ("50.000.000";
a four-digit figure, a year, stays whole) — on the instance page, the inspector's history and the exported file
(instances/_history.html, decision 0135)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from tests.fixtures.app import AuthActions
from tests.fixtures.ballots import user
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import PendingEvent, instance_audit_rows
from workflows.db import transaction
from workflows.engine.store import lock_instance, save_instance
from workflows.models import Attachment

CONTENT = b"%PDF-1.4 bien ban"


def _changed(app: Flask, driver: WorkflowDriver) -> tuple[int, int]:
    """A sample approval whose data then changed: a file attached (top-level and in a row), amounts, a year."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete(
        "officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Xin nghỉ", "amount": 3}
    )
    digest = hashlib.sha256(CONTENT).hexdigest()
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(CONTENT)
    with driver.session_factory() as s, transaction(s):
        attachment = Attachment(
            instance_id=instance_id,
            field_name="evidence",
            filename="ok.pdf",
            content_type="application/pdf",
            size=len(CONTENT),
            sha256=digest,
            uploaded_by_id=user(s, "officer1").id,
        )
        s.add(attachment)
        s.flush()
        reference = f"attachment:{attachment.id}"
        changes = {
            "evidence": {"from": None, "to": reference},
            "amount": {"from": 3, "to": 50000000},
            "budget": {"from": 12345.5, "to": 9999},
            "products": {"from": [{"name": "Báo cáo"}], "to": [{"name": "Báo cáo", "evidence": reference}]},
            "unknown_file": {"from": None, "to": "attachment:999999"},
        }
        instance = lock_instance(s, instance_id)
        rows, seq, head = instance_audit_rows(
            instance, [PendingEvent("data_changed", {"changes": changes})], actor=user(s, "personnel1")
        )
        save_instance(s, instance, audit_rows=rows, audit_seq=seq, audit_head=head)
        return instance_id, attachment.id


def _reader(app: Flask, driver: WorkflowDriver, username: str, language: str) -> FlaskClient:
    with driver.session_factory() as s, transaction(s):
        user(s, username).locale = language
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return client


def _change(page: str, key: str) -> lxml_html.HtmlElement:
    """The item of the last data change (the one appended), on the instance page or the inspector's history."""
    changed = lxml_html.fromstring(page).xpath('//*[@data-event="data_changed"]')
    (item,) = changed[-1].xpath(f'.//li[@data-key="{key}"]')
    return item


def _after(item: lxml_html.HtmlElement) -> str:
    return " ".join(item.text_content().split()).split(": ", 1)[1]


def test_the_instance_page_names_the_file_and_groups_the_amounts(app: Flask, driver: WorkflowDriver) -> None:
    instance_id, attachment_id = _changed(app, driver)
    client = _reader(app, driver, "supervisor1", "vi")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f"attachment:{attachment_id}" not in page.split('id="history-heading"')[-1]

    evidence = _change(page, "evidence")
    assert _after(evidence) == "— → ok.pdf"
    assert evidence.xpath(".//ins/a/@href") == [f"/attachments/{attachment_id}"]
    row = _change(page, "products")
    assert row.xpath('.//span[@data-column="evidence"]//ins/a/@href') == [f"/attachments/{attachment_id}"]
    assert _after(_change(page, "amount")) == "3 → 50.000.000"
    assert _after(_change(page, "budget")) == "12.345,5 → 9999"  # four digits stay whole, as a year does
    assert _after(_change(page, "unknown_file")) == "— → attachment:999999"  # no such file of this procedure

    download = client.get(f"/attachments/{attachment_id}")
    assert download.status_code == 200 and download.get_data() == CONTENT
    download.close()

    english = _reader(app, driver, "supervisor1", "en").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert _after(_change(english, "amount")) == "3 → 50,000,000"


def test_the_inspectors_history_and_its_export_say_the_same(app: Flask, driver: WorkflowDriver) -> None:
    instance_id, attachment_id = _changed(app, driver)
    client = _reader(app, driver, "auditor1", "vi")
    page = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    evidence = _change(page, "evidence")
    assert _after(evidence) == "— → ok.pdf"
    assert evidence.xpath(".//ins/a/@href") == [f"/attachments/{attachment_id}"]
    assert _after(_change(page, "amount")) == "3 → 50.000.000"

    document = json.loads(client.get(f"/audit/instances/{instance_id}/export?format=json").get_data())
    changes = [text for event in document["readable"]["events"] for text in event["changes"]]
    assert any(text.endswith("— → ok.pdf") for text in changes), changes
    assert any(text.endswith("3 → 50.000.000") for text in changes), changes
    assert not any(f"attachment:{attachment_id}" in text for text in changes)
