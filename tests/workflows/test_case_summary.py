"""The case summary (decision 0144): the fields a model's `caseSummary` names are kept on the instance row by each
advance that changes them, and a model naming them badly is refused at deployment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.workflows.test_deployment_validation import FORMS_DIR, SAMPLE, problems_of
from workflows.deployment.validation import BundleFile, bundles_from_directory, validate_bundle
from workflows.engine.runtime import SUMMARY_TEXT_LIMIT, case_summary
from workflows.models import ProcessInstance

REQUEST = {"subject_line": "Mua máy tính cho bộ phận một cửa", "amount": 35000000, "needed_by": "2026-12-20"}


def _summary(driver: WorkflowDriver, instance_id: int) -> list[list[object]] | None:
    with driver.session_factory() as s:
        return s.scalar(select(ProcessInstance.summary).where(ProcessInstance.id == instance_id))


def test_the_summary_follows_the_request_through_a_return(driver: WorkflowDriver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    assert _summary(driver, instance_id) is None  # nothing asked yet
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    assert _summary(driver, instance_id) == [
        ["subject_line", "Mua máy tính cho bộ phận một cửa", "Nội dung đề nghị"],
        ["amount", 35000000, "Số lượng"],
    ]
    review = driver.task(instance_id, "review_request")
    driver.complete("supervisor1", review.id, {"decision": "return", "comment": "Giảm số lượng"})
    resubmitted = {**REQUEST, "amount": 20000000}
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, resubmitted)
    assert _summary(driver, instance_id)[1] == ["amount", 20000000, "Số lượng"]  # type: ignore[index]
    driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "approve"})
    with driver.session_factory() as s:
        ended = s.get(ProcessInstance, instance_id)
        assert ended is not None and ended.status == "completed"
        assert ended.summary is not None and ended.summary[0][1] == "Mua máy tính cho bộ phận một cửa"


def test_a_summary_keeps_plain_values_cut_to_a_line_and_is_none_without_them() -> None:
    fields = ("subject_line", "amount", "urgent", "products")
    long_text = "x" * (SUMMARY_TEXT_LIMIT + 40)
    data = {"subject_line": f"  {long_text} ", "amount": 0, "urgent": False, "products": [{"name": "a"}]}
    summary = case_summary(fields, data, {"amount": "Số tiền"})
    assert summary is not None
    assert [item[0] for item in summary] == ["subject_line", "amount", "urgent"]  # a table is no summary
    text = summary[0][1]
    assert len(text) == SUMMARY_TEXT_LIMIT and text.endswith("…")
    assert summary[1] == ["amount", 0, "Số tiền"] and summary[2] == ["urgent", False, None]  # zero and no are values
    assert case_summary(fields, {"subject_line": "  ", "amount": None}) is None
    assert case_summary(fields, {"other": 1}) is None


def _with_summary(value: str) -> list[BundleFile]:
    text = SAMPLE.read_text(encoding="utf-8")
    shipped = '<spiffworkflow:property name="caseSummary" value="subject_line, amount" />'
    assert shipped in text
    return [BundleFile(SAMPLE.name, text.replace(shipped, shipped.replace("subject_line, amount", value)).encode())]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("subject_line, amount; needed_by", "the caseSummary property names 'amount; needed_by', which is not a data"),
        (" , ", "the caseSummary property names no data field"),
        ("a, b, c, d, e", "the caseSummary property names 5 data fields; at most 4 fit on a list row"),
        ("amount, amount", "the caseSummary property names a data field twice"),
    ],
)
def test_a_model_naming_its_summary_badly_is_refused_where_it_says_so(value: str, message: str) -> None:
    problems = problems_of(_with_summary(value))
    assert [str(p) for p in problems if "caseSummary" in str(p)] == [
        next(str(p) for p in problems if message in str(p))
    ]
    (problem,) = [p for p in problems if "caseSummary" in str(p)]
    assert problem.element_id == "sample_approval" and problem.filename == SAMPLE.name and problem.line


def test_the_shipped_models_name_their_summaries() -> None:
    named = set()
    for bundle in bundles_from_directory(SAMPLE.parent):
        validate_bundle(bundle, FORMS_DIR)
        named |= {f.filename for f in bundle if b'name="caseSummary"' in f.content}
    assert named == {path.name for path in SAMPLE.parent.glob("*.bpmn")}
