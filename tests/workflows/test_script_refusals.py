"""The deploy-time check reads the sandbox's own lists (decision 0073): whatever the sandbox refuses for what the code
is, the check refuses too, in every place the engine evaluates code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.models import script_model
from workflows.deployment.validation import BundleFile, upload_key, validate_bundle
from workflows.errors import Invalid
from workflows.scripting import (
    FORBIDDEN_BUILTINS,
    REFUSED_BUILTIN,
    REFUSED_IMPORT,
    REFUSED_OTHER,
    REFUSED_PRIVATE_NAME,
    RestrictedEnvironment,
    ScriptViolation,
    refusal_in,
    refusals_in,
)


@pytest.mark.parametrize("name", sorted(FORBIDDEN_BUILTINS))
def test_every_built_in_the_sandbox_forbids_is_refused_before_running(name: str) -> None:
    script = f"result = {name}()"
    with pytest.raises(ScriptViolation):
        RestrictedEnvironment().execute(script, {})
    refusal = refusal_in("exec", script)
    assert refusal is not None and refusal.message == REFUSED_BUILTIN and refusal.name == name


def test_a_name_read_as_data_or_defined_by_the_code_is_not_refused() -> None:
    assert refusal_in("eval", "type == 'A' and input") is None  # task data may hold a field called "type"
    assert refusal_in("exec", "def dir(x):\n    return x\nresult = dir(1)") is None
    refusal = refusal_in("exec", "a = 1\nb = 2\nc = vars()")
    assert refusal is not None and refusal.line == 3


def test_every_refusal_of_a_script_is_listed_in_the_codes_order() -> None:
    """Not only the first: an administrator fixes them all before uploading again (README: every problem listed)."""
    script = 'import os\nx = open("/etc/passwd").read()\ny = __import__("sys")\nz = vars()'
    refusals = [(r.message, r.name, r.line) for r in refusals_in("exec", script)]
    assert refusals == [
        (REFUSED_IMPORT, "os", 1),
        (REFUSED_BUILTIN, "open", 2),
        (REFUSED_PRIVATE_NAME, "__import__", 3),  # once, though it is also a forbidden call
        (REFUSED_BUILTIN, "vars", 4),
    ]
    # What follows a refused attribute is read from it: the first one says it (not each link of the chain), while
    # two things of their own on one line are both said.
    chained = refusals_in("exec", "classes = ().__class__.__base__.__subclasses__()\nv = vars(open('x'))")
    assert [(r.name, r.line) for r in chained] == [("__class__", 1), ("open", 2), ("vars", 2)]
    first = refusal_in("exec", script)
    assert first is not None and (first.message, first.name, first.line) == (REFUSED_IMPORT, "os", 1)
    assert refusals_in("exec", "x = 1") == [] and refusals_in("exec", "x = (") == []


def test_what_only_restrictedpython_refuses_is_listed_entry_by_entry() -> None:
    refusals = refusals_in("exec", "x = 1\nasync def f():\n    pass\nasync def g():\n    pass")
    assert [r.message for r in refusals] == [REFUSED_OTHER] * len(refusals) and refusals
    assert all(r.detail.startswith(f"Line {r.line}:") for r in refusals)


def test_a_model_script_with_an_import_and_open_is_refused_with_both() -> None:
    bundle = [BundleFile("p.bpmn", script_model("p", 'import os\nx = open("/etc/passwd").read()').content)]
    with pytest.raises(Invalid) as info:
        validate_bundle(bundle, None)
    (first, second) = info.value.problems
    assert (first.element_id, first.explained) == (
        "compute",
        "the code imports os: importing modules is not allowed in a procedure",
    )
    assert (second.element_id, second.explained) == (
        "compute",
        "the code uses open(), which is not allowed in a procedure",
    )
    assert first.line is not None and second.line == first.line + 1


def _refused(bundle: list[BundleFile]) -> list[tuple[str | None, str]]:
    with pytest.raises(Invalid) as info:
        validate_bundle(bundle, None)
    return [(p.element_id, p.explained) for p in info.value.problems]


PRE_POST = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org/x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="task" name="Việc">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>seen = globals()</spiffworkflow:preScript>
        <spiffworkflow:postScript>kind = type(seen)</spiffworkflow:postScript>
        <spiffworkflow:properties><spiffworkflow:property name="assignee" value="open('x')" /></spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_pre_and_post_scripts_and_assignee_expressions_are_checked() -> None:
    refused = _refused([BundleFile("p.bpmn", PRE_POST.encode())])
    named = sorted(text.split(",")[0] for element, text in refused if element == "task")
    assert named == ["the code uses globals()", "the code uses open()", "the code uses type()"]


def test_a_dmn_rule_cell_is_checked() -> None:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
    dmn = (fixtures / "grade.dmn").read_text(encoding="utf-8")
    first_output = dmn.index("<outputEntry")
    text_start = dmn.index("<text>", first_output) + len("<text>")
    text_end = dmn.index("</text>", text_start)
    unsafe = dmn[:text_start] + "open('/etc/passwd').read()" + dmn[text_end:]
    bundle = [
        BundleFile("with_dmn.bpmn", (fixtures / "with_dmn.bpmn").read_bytes()),
        BundleFile("grade.dmn", unsafe.encode()),
    ]
    refused = _refused(bundle)
    assert any("open()" in text for _element, text in refused), refused


def test_a_clean_script_model_deploys() -> None:
    assert validate_bundle([script_model("ok", "total = sum([1, 2])\nlabel = f'{total}'")], None).process_ids == ["ok"]


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        ("Bổ nhiệm (1).bpmn", "Bo_nhiem.bpmn"),
        ("appointment_form (2).json", "appointment_form.json"),
        ("../../etc/escape.bpmn", "escape.bpmn"),
        ("C:\\Users\\a\\Đánh giá.dmn", "Danh_gia.dmn"),
        ("simple.bpmn", "simple.bpmn"),
        (".bpmn", ".bpmn"),  # left for validate_bundle to refuse
    ],
)
def test_an_upload_is_kept_under_a_safe_key(uploaded: str, kept: str) -> None:
    assert upload_key(uploaded) == kept
