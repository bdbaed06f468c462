"""The audit log's content cell: single values first, long lists cut, and what no list may hide."""

from __future__ import annotations

import json

from webapp.audit.payloads import payload_summary


def _canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_a_rollback_of_a_procedure_with_many_forms_still_shows_its_reason_and_versions() -> None:
    forms = [f"appointment_step{i}.json" for i in range(30)]
    payload = _canonical(
        {"files": ["appointment.bpmn"], "forms": forms, "reason": "Sai bước duyệt", "version": 3, "withdrawn": False}
    )
    assert len(payload) > 300  # cut at 300 characters, the forms' names hid the rest
    assert payload_summary(payload) == (
        'reason: Sai bước duyệt; version: 3; withdrawn: false; files: ["appointment.bpmn"]; '
        "forms: appointment_step0.json, appointment_step1.json, appointment_step2.json (+27)"
    )


def test_objects_stay_whole_and_the_text_is_cut_only_past_the_limit() -> None:
    changes = {"changes": {"decision": {"from": None, "to": "approve"}}, "task": "review"}
    assert (
        payload_summary(_canonical(changes)) == 'task: review; changes: {"decision": {"from": null, "to": "approve"}}'
    )
    long = payload_summary(_canonical({"reason": "x" * 400}), limit=50)
    assert len(long) == 50 and long.endswith("…")


def test_content_that_is_no_object_is_shown_as_stored() -> None:
    assert payload_summary("[1, 2]") == "[1, 2]"
    assert payload_summary("not json") == "not json"
    assert payload_summary("y" * 400, limit=10) == "y" * 9 + "…"
