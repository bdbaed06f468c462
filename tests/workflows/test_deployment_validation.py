"""Validation of deployable model bundles (workflows.deployment.validation) and the shipped models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

import workflows.deployment.validation as validation
from tests.fixtures.models import script_model
from workflows.deployment.validation import (
    DOCTYPE_MESSAGE,
    MAX_FILE_BYTES,
    NO_EXECUTABLE_MESSAGE,
    BundleFile,
    ValidatedBundle,
    build_parser,
    bundles_from_directory,
    parse_xml_safely,
    validate_bundle,
)
from workflows.errors import Invalid, Problem
from workflows.scripting import SANDBOX_MESSAGES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"
BENCH_MODEL = ROOT / "bench" / "models" / "approval_10_steps.bpmn"
SAMPLE = BPMN_DIR / "sample_approval.bpmn"

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'targetNamespace="http://example.org/test"'
)


def bundle_file(path: Path) -> BundleFile:
    return BundleFile(path.name, path.read_bytes())


def fixture(*names: str) -> list[BundleFile]:
    return [bundle_file(FIXTURES / name) for name in names]


def line_of(path: Path, marker: str) -> int:
    for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if marker in text:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def problems_of(files: list[BundleFile], forms_dir: Path | None = FORMS_DIR, **kwargs: object) -> list[Problem]:
    with pytest.raises(Invalid) as info:
        validate_bundle(files, forms_dir, **kwargs)  # type: ignore[arg-type]
    assert info.value.problems, "Invalid must list its problems"
    return info.value.problems


def inline_model(body: str, process_id: str = "p") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d">\n'
        f'  <bpmn:process id="{process_id}" isExecutable="true">\n{body}\n  </bpmn:process>\n</bpmn:definitions>\n'
    ).encode()


SIMPLE_BODY = """    <bpmn:startEvent id="start" />
    <bpmn:userTask id="task" name="Việc" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />"""


# ---------------------------------------------------------------------------------------------
# Fixtures: each invalid one refused with the right message and location
# ---------------------------------------------------------------------------------------------
# (files, message fragment, element id, text on the expected line or None)
REJECTED = {
    "not_executable": (["not_executable.bpmn"], NO_EXECUTABLE_MESSAGE, "not_executable", "<bpmn:process"),
    "no_start_event": (["no_start_event.bpmn"], "the process has no start event", "no_start_event", "<bpmn:process"),
    "xsd_error": (["xsd_error.bpmn"], "does not conform to the schema", "Flow_2", 'id="Flow_2"'),
    "malformed": (["malformed.bpmn"], "is not valid XML", None, None),
    "missing_form": (
        ["missing_form.bpmn"],
        "form does_not_exist.json is not found",
        "task_with_missing_form",
        "does_not_exist.json",
    ),
    "missing_dmn": (
        ["missing_dmn.bpmn"],
        "decision 'rating_decision' is not defined in any DMN file of the bundle",
        "decide_rating",
        '<bpmn:businessRuleTask id="decide_rating"',
    ),
    "dmn_not_supplied": (
        ["with_dmn.bpmn"],
        "decision 'grade_decision' is not defined in any DMN file of the bundle",
        "compute_grade",
        '<bpmn:businessRuleTask id="compute_grade"',
    ),
    "xxe": (["xxe.bpmn"], DOCTYPE_MESSAGE, None, "<!DOCTYPE"),
    # Not run at deploy, but compiled as the sandbox would: refused now rather than failing every start later.
    "bad_script": (["bad_script.bpmn"], "__import__: names starting with", "Flow_escape", "<bpmn:conditionExpression"),
    "billion_laughs": (["billion_laughs.bpmn"], DOCTYPE_MESSAGE, None, "<!DOCTYPE"),
}

ACCEPTED = {
    "timer_intermediate": (["timer_intermediate.bpmn"], ["timer_intermediate"]),
    "timer_start": (["timer_start.bpmn"], ["timer_start"]),
    "two_versions_v1": (["two_versions_v1.bpmn"], ["versioned"]),
    "two_versions_v2": (["two_versions_v2.bpmn"], ["versioned"]),
    "with_dmn": (["with_dmn.bpmn", "grade.dmn"], ["with_dmn"]),
}


CATALOG = ROOT / "webapp" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_every_problem_says_a_message_the_catalog_translates_with_its_variable_parts_apart(case: str) -> None:
    """The deploy page shows each problem in the administrator's language: its message is a msgid of the catalog,
    and what varies — an element id, a file name, what a library said — is filled in from `message_args`."""
    with CATALOG.open("rb") as f:
        catalog = read_po(f, locale="vi")
    names = REJECTED[case][0]
    problems = problems_of(fixture(*names)) + problems_of([BundleFile("bad name.txt", b""), *fixture(*names)])
    for problem in problems:
        entry = catalog.get(problem.message)
        assert entry is not None and entry.string and not entry.fuzzy, problem.message
        assert (entry.string % problem.message_args if problem.message_args else entry.string).strip()
        for value in problem.message_args.values():
            assert str(value) not in problem.message or not str(value).strip()


def test_fixtures_exist() -> None:
    used = {name for files, *_ in REJECTED.values() for name in files}
    used |= {name for files, _ in ACCEPTED.values() for name in files}
    # Every fixture this module relies on exists (other modules may add fixtures of their own).
    assert used <= {p.name for p in FIXTURES.iterdir()}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_invalid_fixture_is_rejected(case: str) -> None:
    names, fragment, element_id, line_marker = REJECTED[case]
    problems = problems_of(fixture(*names))
    matching = [p for p in problems if fragment in p.explained]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.filename == names[0]
    assert problem.element_id == element_id
    if line_marker is not None:
        assert problem.line == line_of(FIXTURES / names[0], line_marker)
    else:
        assert problem.line is not None


def test_malformed_fixture_reports_lxml_line() -> None:
    (problem,) = problems_of(fixture("malformed.bpmn"))
    last_line = len((FIXTURES / "malformed.bpmn").read_bytes().splitlines())
    assert problem.explained.startswith("The BPMN file is not valid XML. Technical details: ")
    assert problem.line in (last_line, last_line + 1) and problem.column == 1


@pytest.mark.parametrize(
    ("filename", "content", "located"),
    [
        (
            "tag.bpmn",
            b'<?xml version="1.0" encoding="UTF-8"?>\n<a>\n  <b>\n  </c>\n</a>\n',
            "tag.bpmn, line 4, column 7: The BPMN file is not valid XML. Technical details: "
            "Opening and ending tag mismatch: b line 3 and c",
        ),
        (
            "grade.dmn",
            b"",
            "grade.dmn, line 1, column 1: The DMN file is not valid XML. Technical details: Document is empty",
        ),
    ],
)
def test_malformed_xml_says_where_then_what_lxml_said(filename: str, content: bytes, located: str) -> None:
    """What is wrong and where (the line and column lxml found it at) in words the catalog translates; lxml's own
    text after it for whoever debugs the model, without its English ", line 4, column 7": the problem's place says where."""
    with pytest.raises(Invalid) as refused:
        parse_xml_safely(content, filename)
    (problem,) = refused.value.problems
    assert str(problem) == located


def test_xsd_error_lists_every_schema_error() -> None:
    problems = problems_of(fixture("xsd_error.bpmn"))
    path = FIXTURES / "xsd_error.bpmn"
    located = {(p.element_id, p.line) for p in problems}
    assert ("Flow_2", line_of(path, 'id="Flow_2"')) in located
    assert ("not_a_bpmn_element", line_of(path, "<bpmn:approvalTask")) in located
    assert all(p.explained.startswith("does not conform to the schema") for p in problems)
    assert any("sourceRef" in p.explained for p in problems)
    assert any("bpmn:approvalTask" in p.explained for p in problems)  # namespaces shortened


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_valid_fixture_is_accepted(case: str) -> None:
    names, process_ids = ACCEPTED[case]
    bundle = validate_bundle(fixture(*names), FORMS_DIR)
    assert bundle.process_ids == process_ids
    assert [f.filename for f in bundle.files] == sorted(names)


def test_two_versions_in_one_bundle_is_a_duplicate_process() -> None:
    problems = problems_of(fixture("two_versions_v1.bpmn", "two_versions_v2.bpmn"))
    assert [(p.filename, p.element_id) for p in problems] == [("two_versions_v2.bpmn", "versioned")]
    assert "already defined in two_versions_v1.bpmn" in problems[0].explained


# ---------------------------------------------------------------------------------------------
# Hostile XML
# ---------------------------------------------------------------------------------------------
def _entity_in_content() -> bytes:
    text = (FIXTURES / "xxe.bpmn").read_text(encoding="utf-8")
    return (
        text.replace('name="&secret;"', 'name="x"')
        .replace(
            '<bpmn:startEvent id="start">',
            '<bpmn:startEvent id="start"><bpmn:documentation>&secret;</bpmn:documentation>',
        )
        .encode()
    )


HOSTILE = {
    "xxe": lambda: (FIXTURES / "xxe.bpmn").read_bytes(),
    "billion_laughs": lambda: (FIXTURES / "billion_laughs.bpmn").read_bytes(),
    "xxe_utf16": lambda: (FIXTURES / "xxe.bpmn").read_text(encoding="utf-8").encode("utf-16"),
    "billion_laughs_utf16": lambda: (FIXTURES / "billion_laughs.bpmn").read_text(encoding="utf-8").encode("utf-16"),
    "entity_in_content": _entity_in_content,
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_xml_is_refused_quickly_without_reading_files(case: str) -> None:
    content = HOSTILE[case]()
    started = time.perf_counter()
    with pytest.raises(Invalid) as info:
        parse_xml_safely(content, f"{case}.bpmn")
    assert time.perf_counter() - started < 1.0
    assert info.value.problems[0].explained == DOCTYPE_MESSAGE
    assert "root:" not in str(info.value)
    assert "lollollol" not in str(info.value)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_lxml_settings_alone_never_resolve_entities(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Second line of defence: even if the DOCTYPE scan were fooled, nothing is read or expanded."""
    monkeypatch.setattr(validation, "_find_marker", lambda content: None)
    content = HOSTILE[case]()
    started = time.perf_counter()
    with pytest.raises(Invalid) as info:
        parse_xml_safely(content, f"{case}.bpmn")
    assert time.perf_counter() - started < 1.0
    assert "root:" not in str(info.value)
    assert "lollollol" not in str(info.value)


def test_validate_bundle_refuses_hostile_files_quickly() -> None:
    started = time.perf_counter()
    problems = problems_of(fixture("xxe.bpmn", "billion_laughs.bpmn"))
    assert time.perf_counter() - started < 1.0
    assert [(p.filename, p.explained) for p in problems] == [
        ("billion_laughs.bpmn", DOCTYPE_MESSAGE),
        ("xxe.bpmn", DOCTYPE_MESSAGE),
    ]


# ---------------------------------------------------------------------------------------------
# File names, sizes, encodings
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filename", "content", "fragment"),
    [
        ("../escape.bpmn", inline_model(SIMPLE_BODY), "invalid file name"),
        ("with space.bpmn", inline_model(SIMPLE_BODY), "invalid file name"),
        ("model.xml", inline_model(SIMPLE_BODY), "invalid file name"),
        ("mô_hình.bpmn", inline_model(SIMPLE_BODY), "invalid file name"),
        (".bpmn", inline_model(SIMPLE_BODY), "invalid file name"),
        ("huge.bpmn", b" " * (MAX_FILE_BYTES + 1), "too large"),
        ("latin1.bpmn", inline_model(SIMPLE_BODY).decode().encode("utf-16"), "UTF-8"),
        (
            "declared.bpmn",
            inline_model(SIMPLE_BODY).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
            "only UTF-8 is accepted",
        ),
        ("empty.bpmn", b"", "not valid XML"),
        ("not_bpmn.bpmn", b"<html><body/></html>", "not a BPMN 2.0 document"),
    ],
)
def test_bad_files_are_refused(filename: str, content: bytes, fragment: str) -> None:
    files = [BundleFile("ok.bpmn", inline_model(SIMPLE_BODY, "ok")), BundleFile(filename, content)]
    problems = problems_of(files)
    assert any(fragment in p.explained and p.filename == filename for p in problems), [str(p) for p in problems]


def test_file_at_the_size_limit_is_only_refused_for_being_malformed() -> None:
    content = inline_model(SIMPLE_BODY)
    content += b" " * (MAX_FILE_BYTES - len(content))
    assert validate_bundle([BundleFile("exact.bpmn", content)], None).process_ids == ["p"]


def test_bundle_without_bpmn_and_duplicate_names() -> None:
    grade = bundle_file(FIXTURES / "grade.dmn")
    problems = problems_of([grade, grade])
    messages = {p.explained for p in problems}
    assert "the bundle contains no .bpmn file" in messages
    assert "the same file name appears twice in the bundle" in messages


def test_every_problem_is_listed_at_once() -> None:
    problems = problems_of(fixture("missing_form.bpmn", "missing_dmn.bpmn", "not_executable.bpmn", "malformed.bpmn"))
    assert {p.filename for p in problems} == {"missing_form.bpmn", "missing_dmn.bpmn", "malformed.bpmn"}
    with pytest.raises(Invalid) as info:
        validate_bundle(fixture("missing_form.bpmn", "missing_dmn.bpmn"), FORMS_DIR)
    assert info.value.explained == "the process model is not valid: 2 problems found"
    assert "missing_form.bpmn, line" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Semantics: forms, decisions, expressions, SpiffWorkflow's own checks
# ---------------------------------------------------------------------------------------------
def form_model(form: str) -> bytes:
    return inline_model(
        SIMPLE_BODY.replace(
            '<bpmn:userTask id="task" name="Việc" />',
            '<bpmn:userTask id="task" name="Việc"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />'
            "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>",
        )
    )


@pytest.mark.parametrize(
    ("form_content", "fragment"),
    [
        (b"{not json", "is not valid JSON"),
        (b'{"type": 5}', "is not a valid JSON Schema (draft 2020-12)"),
        (b'{"properties": {"a": {"minimum": "zero"}}}', "is not a valid JSON Schema (draft 2020-12)"),
        (b"[]", "must be a JSON object"),
        ("{}".encode("utf-16"), "must be UTF-8 encoded"),
        (b" " * (MAX_FILE_BYTES + 1), "larger than 5 MB"),
    ],
)
def test_invalid_form_content(form_content: bytes, fragment: str) -> None:
    problems = problems_of(
        [BundleFile("f.bpmn", form_model("my_form.json"))], None, extra_forms={"my_form.json": form_content}
    )
    assert any(fragment in p.explained for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize("form", ["../secret.json", "forms/x.json", "x.yaml", ""])
def test_form_names_cannot_escape_the_forms_directory(form: str, tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text("{}")
    problems = problems_of([BundleFile("f.bpmn", form_model(form))], tmp_path / "forms")
    assert problems[0].element_id == "task"
    assert "invalid form file name" in problems[0].explained or "property is empty" in problems[0].explained


def test_extra_forms_take_precedence_over_forms_dir() -> None:
    files = [bundle_file(SAMPLE)]
    uploaded = {
        "sample_request.json": b'{"type": "object"}',
        "sample_review.json": (FORMS_DIR / "sample_review.json").read_bytes(),
    }
    bundle = validate_bundle(files, FORMS_DIR, extra_forms=uploaded)
    assert bundle.form_files["sample_request.json"] == b'{"type": "object"}'
    assert validate_bundle(files, None, extra_forms=uploaded).form_files == bundle.form_files


def test_forms_missing_without_forms_dir_are_each_located() -> None:
    problems = problems_of([bundle_file(SAMPLE)], None)
    assert {p.element_id for p in problems} == {"submit_request", "review_request", "escalated_review"}
    assert all("not found" in p.explained and p.line for p in problems)


def test_spiffworkflow_validation_exception_becomes_located_problem() -> None:
    body = SIMPLE_BODY.replace('<bpmn:userTask id="task" name="Việc" />', '<bpmn:serviceTask id="task" name="Gọi" />')
    content = inline_model(body)
    (problem,) = problems_of([BundleFile("svc.bpmn", content)])
    assert problem.message_args["detail"].startswith("A Service Task must have an operator")
    assert problem.explained.startswith("SpiffWorkflow refuses the model: A Service Task must have an operator")
    assert (problem.filename, problem.element_id) == ("svc.bpmn", "task")
    assert problem.line == content.decode().splitlines().index('    <bpmn:serviceTask id="task" name="Gọi" />') + 1


def test_call_activity_to_a_process_outside_the_bundle() -> None:
    body = SIMPLE_BODY.replace(
        '<bpmn:userTask id="task" name="Việc" />', '<bpmn:callActivity id="task" calledElement="elsewhere" />'
    )
    (problem,) = problems_of([BundleFile("call.bpmn", inline_model(body))])
    assert problem.element_id == "task"
    assert "'elsewhere', which is not in the bundle" in problem.explained


@pytest.mark.parametrize(
    ("snippet", "element_id", "fragment"),
    [
        (
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P3D</bpmn:timeDuration>'
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            "wait",
            'write "P3D" with the quotes',
        ),
        (
            '<bpmn:intermediateCatchEvent id="cycle"><bpmn:timerEventDefinition>'
            '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R3/PT10M</bpmn:timeCycle>'
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            "cycle",
            'write "R3/PT10M" with the quotes',
        ),
        ('<bpmn:scriptTask id="calc"><bpmn:script>x = = 1</bpmn:script></bpmn:scriptTask>', "calc", "not valid Python"),
    ],
)
def test_expression_problems(snippet: str, element_id: str, fragment: str) -> None:
    body = SIMPLE_BODY.replace('<bpmn:userTask id="task" name="Việc" />', snippet)
    body = body.replace('targetRef="task"', f'targetRef="{element_id}"').replace(
        'sourceRef="task"', f'sourceRef="{element_id}"'
    )
    problems = problems_of([BundleFile("expr.bpmn", inline_model(body))])
    assert any(p.element_id == element_id and fragment in p.explained and p.line for p in problems), [
        str(p) for p in problems
    ]


def test_condition_syntax_error_is_located() -> None:
    body = SIMPLE_BODY.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end">\n'
        '      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision ==</bpmn:conditionExpression>\n'
        "    </bpmn:sequenceFlow>",
    )
    content = inline_model(body)
    (problem,) = problems_of([BundleFile("cond.bpmn", content)])
    assert problem.element_id == "f2"
    assert "condition is not valid Python" in problem.explained
    assert problem.line == next(i for i, t in enumerate(content.decode().splitlines(), 1) if "decision ==" in t)


# ---------------------------------------------------------------------------------------------
# The shipped models
# ---------------------------------------------------------------------------------------------
def validated_sample() -> ValidatedBundle:
    return validate_bundle([bundle_file(SAMPLE)], FORMS_DIR)


def test_sample_approval_validates_with_its_forms() -> None:
    bundle = validated_sample()
    assert bundle.process_ids == ["sample_approval"]
    assert bundle.process_names == {"sample_approval": "Phê duyệt đề nghị (mẫu)"}
    assert bundle.form_files == {
        "sample_request.json": (FORMS_DIR / "sample_request.json").read_bytes(),
        "sample_review.json": (FORMS_DIR / "sample_review.json").read_bytes(),
    }
    assert len(bundle.content_hash) == 64


@pytest.mark.parametrize("form", ["sample_request.json", "sample_review.json"])
def test_sample_forms_are_draft_2020_12_schemas_with_ui_hints(form: str) -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((FORMS_DIR / form).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert isinstance(schema["x-ui"], dict)


def test_sample_forms_accept_and_refuse() -> None:
    from jsonschema import Draft202012Validator, FormatChecker

    request = Draft202012Validator(
        json.loads((FORMS_DIR / "sample_request.json").read_text(encoding="utf-8")), format_checker=FormatChecker()
    )
    assert request.is_valid({"subject_line": "Mua máy tính", "amount": 2, "needed_by": "2025-01-31"})
    assert not request.is_valid({"amount": 2})
    assert not request.is_valid({"subject_line": "x" * 501})
    assert not request.is_valid({"subject_line": "x", "amount": -1})
    assert not request.is_valid({"subject_line": "x", "needed_by": "31/01/2025"})
    review = Draft202012Validator(json.loads((FORMS_DIR / "sample_review.json").read_text(encoding="utf-8")))
    for decision in ("approve", "return", "reject"):
        assert review.is_valid({"decision": decision, "comment": "ok"})
    assert not review.is_valid({"decision": "maybe"})
    assert not review.is_valid({"comment": "no decision"})


def test_ten_step_model_validates() -> None:
    bundle = validate_bundle([bundle_file(BENCH_MODEL)], None)
    assert bundle.process_ids == ["approval_10_steps"]
    assert bundle.form_files == {}
    spec = build_parser(bundle.files).get_spec("approval_10_steps")
    steps = [spec.task_specs[f"step_{i}"] for i in range(1, 11)]
    assert [s.bpmn_name for s in steps] == [f"Bước {i}" for i in range(1, 11)]
    assert [s.lane for s in steps] == ["Cán bộ", "Lãnh đạo trực tiếp"] * 5


@pytest.mark.parametrize("path", [SAMPLE, BENCH_MODEL], ids=lambda p: p.name)
def test_shipped_models_have_complete_diagrams(path: Path) -> None:
    root = parse_xml_safely(path.read_bytes(), path.name)
    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
        "dc": "http://www.omg.org/spec/DD/20100524/DC",
        "di": "http://www.omg.org/spec/DD/20100524/DI",
    }
    process = root.find("bpmn:process", ns)
    assert process is not None and process.get("isExecutable") == "true"
    (participant,) = root.findall("bpmn:collaboration/bpmn:participant", ns)
    assert participant.get("processRef") == process.get("id")
    not_drawn = ("laneSet", "sequenceFlow", "documentation", "extensionElements")  # the process's own, not its nodes
    nodes = [e for e in process if e.tag.split("}")[1] not in not_drawn]
    flows = process.findall("bpmn:sequenceFlow", ns)
    lanes = process.findall("bpmn:laneSet/bpmn:lane", ns)
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    for element in [*nodes, *lanes, participant]:
        shape = shapes[element.get("id")]
        assert shape.find("dc:Bounds", ns) is not None
    for flow in flows:
        assert len(edges[flow.get("id")].findall("di:waypoint", ns)) >= 2
    # every flow node sits in exactly one lane, and inside that lane's shape
    lane_of = {ref.text: lane for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", ns)}
    assert set(lane_of) == {n.get("id") for n in nodes}

    def bounds(element_id: str) -> tuple[float, float, float, float]:
        b = shapes[element_id].find("dc:Bounds", ns)
        assert b is not None
        return tuple(float(b.get(k, "0")) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]

    for node_id, lane in lane_of.items():
        x, y, w, h = bounds(node_id)
        lx, ly, lw, lh = bounds(lane.get("id", ""))
        assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, node_id
    # edges start on their source's border and end on their target's border (left-to-right layout)
    for flow in flows:
        points = [
            (float(p.get("x", "0")), float(p.get("y", "0"))) for p in edges[flow.get("id")].findall("di:waypoint", ns)
        ]
        for (px, py), ref in ((points[0], flow.get("sourceRef")), (points[-1], flow.get("targetRef"))):
            x, y, w, h = bounds(ref or "")
            on_border = (px in (x, x + w) and y <= py <= y + h) or (py in (y, y + h) and x <= px <= x + w)
            assert on_border, (flow.get("id"), ref, (px, py))


# ---------------------------------------------------------------------------------------------
# build_parser: the specs the engine gets
# ---------------------------------------------------------------------------------------------
def test_build_parser_gives_lanes_and_form_extensions() -> None:
    parser = build_parser(validated_sample().files)
    spec = parser.get_spec("sample_approval")
    user_tasks = {name: ts for name, ts in spec.task_specs.items() if ts.__class__.__name__ == "UserTask"}
    assert {name: ts.lane for name, ts in user_tasks.items()} == {
        "submit_request": "Cán bộ",
        "review_request": "Lãnh đạo trực tiếp",
        "escalated_review": "Thủ trưởng đơn vị",
    }
    review = spec.task_specs["review_request"]
    assert review.extensions["properties"]["formJsonSchemaFilename"] == "sample_review.json"
    assert review.extensions["instructionsForEndUser"].startswith("Xem xét đề nghị")
    assert review.bpmn_name == "Xem xét, phê duyệt"
    assert spec.task_specs["submit_request"].extensions["properties"] == {
        "formJsonSchemaFilename": "sample_request.json"
    }
    assert spec.task_specs["review_deadline"].event_definition.expression == '"P3D"'
    assert parser.get_subprocess_specs("sample_approval") == {}


def test_build_parser_handles_dmn_and_refuses_hostile_xml() -> None:
    parser = build_parser(fixture("with_dmn.bpmn", "grade.dmn"))
    workflow = BpmnWorkflow(parser.get_spec("with_dmn"), parser.get_subprocess_specs("with_dmn"))
    start = workflow.get_next_task(state=TaskState.READY)
    assert start is not None
    start.data["score"] = 92
    workflow.do_engine_steps()
    (ready,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ready.task_spec.name == "confirm_grade"
    assert ready.data["grade"] == "Xuất sắc"
    with pytest.raises(Invalid) as info:
        build_parser(fixture("xxe.bpmn", "malformed.bpmn"))
    assert {p.filename for p in info.value.problems} == {"xxe.bpmn", "malformed.bpmn"}


def _round_trip(workflow: BpmnWorkflow) -> BpmnWorkflow:
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    state = serializer.serialize_json(workflow)
    assert isinstance(json.loads(state), dict)
    return serializer.deserialize_json(state)


def _complete(workflow: BpmnWorkflow, spec_name: str, data: dict[str, object]) -> BpmnWorkflow:
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.name for t in ready] == [spec_name]
    ready[0].data.update(data)
    ready[0].run()
    workflow.do_engine_steps()
    return _round_trip(workflow)


def test_sample_approval_runs_in_spiffworkflow() -> None:
    parser = build_parser(validated_sample().files)
    workflow = BpmnWorkflow(parser.get_spec("sample_approval"), parser.get_subprocess_specs("sample_approval"))
    workflow.do_engine_steps()
    workflow = _round_trip(workflow)

    workflow = _complete(workflow, "submit_request", {"subject_line": "Mua máy tính", "amount": 2})
    workflow = _complete(workflow, "review_request", {"decision": "return", "comment": "Bổ sung báo giá"})
    (again,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert again.task_spec.name == "submit_request"
    assert again.data["return_count"] == 1
    assert again.task_spec.lane == "Cán bộ"

    workflow = _complete(workflow, "submit_request", {"details": "Đã bổ sung báo giá"})
    workflow = _complete(workflow, "review_request", {"decision": "approve", "comment": "Đồng ý"})
    assert workflow.completed
    ends = {t.task_spec.name: t.state for t in workflow.get_tasks() if t.task_spec.name.startswith("end_")}
    assert ends["end_approved"] == TaskState.COMPLETED
    assert all(state != TaskState.COMPLETED for name, state in ends.items() if name != "end_approved")
    assert workflow.data["decision"] == "approve"
    assert workflow.data["return_count"] == 1


@pytest.mark.parametrize(("returns", "end"), [(4, "end_too_many_returns"), (0, "end_rejected")])
def test_sample_approval_other_endings(returns: int, end: str) -> None:
    parser = build_parser(validated_sample().files)
    workflow = BpmnWorkflow(parser.get_spec("sample_approval"), parser.get_subprocess_specs("sample_approval"))
    workflow.do_engine_steps()
    for _ in range(returns):
        workflow = _complete(workflow, "submit_request", {"subject_line": "x"})
        workflow = _complete(workflow, "review_request", {"decision": "return"})
    if returns == 0:
        workflow = _complete(workflow, "submit_request", {"subject_line": "x"})
        workflow = _complete(workflow, "review_request", {"decision": "reject"})
    assert workflow.completed
    completed_ends = [
        t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name.startswith("end_")
    ]
    assert completed_ends == [end]


# ---------------------------------------------------------------------------------------------
# Content hash
# ---------------------------------------------------------------------------------------------
def test_content_hash_is_stable_across_runs_and_orderings() -> None:
    files = fixture("with_dmn.bpmn", "grade.dmn")
    first = validate_bundle(files, FORMS_DIR).content_hash
    assert validate_bundle(list(reversed(files)), FORMS_DIR).content_hash == first
    script = (
        "from pathlib import Path\n"
        "from workflows.deployment.validation import BundleFile, validate_bundle\n"
        f"d = Path({str(FIXTURES)!r})\n"
        "files = [BundleFile(n, (d / n).read_bytes()) for n in ('grade.dmn', 'with_dmn.bpmn')]\n"
        "print(validate_bundle(files, None).content_hash)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == first


def _flip_one_byte(content: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and content.count(old) == 1
    return content.replace(old, new)


def test_content_hash_changes_with_one_byte_of_a_file_or_a_form() -> None:
    sample = SAMPLE.read_bytes()
    forms = {name: (FORMS_DIR / name).read_bytes() for name in ("sample_request.json", "sample_review.json")}
    base = validate_bundle([BundleFile(SAMPLE.name, sample)], None, extra_forms=forms).content_hash

    changed_model = _flip_one_byte(sample, b'exporterVersion="0.1.0"', b'exporterVersion="0.1.1"')
    assert validate_bundle([BundleFile(SAMPLE.name, changed_model)], None, extra_forms=forms).content_hash != base

    changed_forms = dict(forms)
    changed_forms["sample_review.json"] = _flip_one_byte(forms["sample_review.json"], b'"rows": 4', b'"rows": 5')
    assert validate_bundle([BundleFile(SAMPLE.name, sample)], None, extra_forms=changed_forms).content_hash != base

    renamed = [BundleFile("sample_approval2.bpmn", sample)]
    assert validate_bundle(renamed, None, extra_forms=forms).content_hash != base

    # a form that is offered but not referenced is not part of the bundle
    extra = {**forms, "unused.json": b"{}"}
    bundle = validate_bundle([BundleFile(SAMPLE.name, sample)], None, extra_forms=extra)
    assert bundle.content_hash == base
    assert "unused.json" not in bundle.form_files


# ---------------------------------------------------------------------------------------------
# What each process runs from: its files, forms and hash
# ---------------------------------------------------------------------------------------------
def test_each_process_is_hashed_over_the_files_it_runs_from() -> None:
    caller = inline_model(
        SIMPLE_BODY.replace(
            '<bpmn:userTask id="task" name="Việc" />', '<bpmn:callActivity id="task" calledElement="q" />'
        ),
        process_id="p",
    )
    callee = inline_model(SIMPLE_BODY, process_id="q")
    files = [
        BundleFile("caller.bpmn", caller),
        BundleFile("callee.bpmn", callee),
        *fixture("with_dmn.bpmn", "grade.dmn"),
    ]
    bundle = validate_bundle(files, FORMS_DIR)
    runs_from = {pid: [f.filename for f in content.files] for pid, content in bundle.processes.items()}
    assert runs_from["p"] == ["callee.bpmn", "caller.bpmn"]  # the called process's file comes along
    assert runs_from["q"] == ["callee.bpmn"]
    with_dmn = next(pid for pid, names in runs_from.items() if "with_dmn.bpmn" in names)
    assert runs_from[with_dmn] == ["grade.dmn", "with_dmn.bpmn"]
    # The same process uploaded alone is the same content: its hash does not depend on its neighbours.
    alone = validate_bundle([BundleFile("callee.bpmn", callee)], FORMS_DIR)
    assert alone.processes["q"].content_hash == bundle.processes["q"].content_hash
    assert alone.processes["q"].content_hash != bundle.processes["p"].content_hash


def test_a_start_up_bundle_hashes_as_before_so_an_upgrade_makes_no_new_versions() -> None:
    # bpmn/ is deployed one .bpmn file at a time with the .dmn it calls: there the process's content is the
    # whole bundle, and its hash the bundle's: the hash its versions were stored under before (decision 0044).
    for files in bundles_from_directory(ROOT / "bpmn"):
        bundle = validate_bundle(files, FORMS_DIR)
        for pid in bundle.process_ids:
            assert bundle.processes[pid].content_hash == bundle.content_hash, pid
            assert bundle.processes[pid].forms == bundle.form_files


# ---------------------------------------------------------------------------------------------
# bundles_from_directory
# ---------------------------------------------------------------------------------------------
def test_bundles_from_directory_groups_bpmn_with_the_dmn_it_calls(tmp_path: Path) -> None:
    for name in ("with_dmn.bpmn", "grade.dmn", "timer_start.bpmn", "malformed.bpmn"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    other_dmn = (FIXTURES / "grade.dmn").read_text(encoding="utf-8").replace("grade_decision", "other_decision")
    (tmp_path / "other.dmn").write_text(other_dmn, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored")

    bundles = bundles_from_directory(tmp_path)
    assert [[f.filename for f in bundle] for bundle in bundles] == [
        ["malformed.bpmn"],
        ["timer_start.bpmn"],
        ["with_dmn.bpmn", "grade.dmn"],
    ]
    assert bundles[2][1].content == (FIXTURES / "grade.dmn").read_bytes()
    assert validate_bundle(bundles[2], None).process_ids == ["with_dmn"]


def test_bundles_from_directory_on_the_shipped_models() -> None:
    (bundle,) = [b for b in bundles_from_directory(BPMN_DIR) if b[0].filename == "sample_approval.bpmn"]
    assert [f.filename for f in bundle] == ["sample_approval.bpmn"]
    assert validate_bundle(bundle, FORMS_DIR).process_ids == ["sample_approval"]


def test_sample_approval_escalates_after_three_days(monkeypatch: pytest.MonkeyPatch) -> None:
    import SpiffWorkflow.bpmn.specs.event_definitions.timer as timer_module

    real_datetime = timer_module.datetime
    shift = {"by": timedelta(0)}

    class ShiftedDatetime(real_datetime):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz=None):
            return real_datetime.now(tz) + shift["by"]

    monkeypatch.setattr(timer_module, "datetime", ShiftedDatetime)
    parser = build_parser(validated_sample().files)
    workflow = BpmnWorkflow(parser.get_spec("sample_approval"), parser.get_subprocess_specs("sample_approval"))
    workflow.do_engine_steps()
    workflow = _complete(workflow, "submit_request", {"subject_line": "x"})
    ((name, kind, due),) = [(e.name, e.event_type, e.value) for e in workflow.waiting_events()]
    assert (name, kind) == ("Quá hạn 3 ngày", "DurationTimerEventDefinition")
    assert isinstance(due, str)

    shift["by"] = timedelta(days=2, hours=23)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["review_request"]

    shift["by"] = timedelta(days=3, minutes=1)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    (escalated,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert escalated.task_spec.name == "escalated_review"
    assert escalated.task_spec.lane == "Thủ trưởng đơn vị"
    workflow = _round_trip(workflow)
    workflow = _complete(workflow, "escalated_review", {"decision": "approve"})
    assert workflow.completed
    assert [
        t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name.startswith("end_")
    ] == ["end_approved"]


@pytest.mark.parametrize(
    ("script", "refused"),
    [
        ("import os\nos.system('touch /tmp/canbo-pwned')", "import"),
        ("classes = ().__class__.__base__.__subclasses__()", "__class__"),
        ("result = __import__('os')", "_"),
    ],
)
def test_a_script_the_sandbox_refuses_is_refused_at_deploy(script: str, refused: str) -> None:
    """The administrator hears it when deploying, not the officer completing the step before the script."""
    problems = problems_of([script_model("escape", script)])
    (problem,) = [p for p in problems if p.message in SANDBOX_MESSAGES]
    assert problem.element_id == "compute" and refused in problem.explained and problem.line is not None


def test_a_script_the_sandbox_stops_only_while_running_is_deployed() -> None:
    """A loop that never ends, a number too large: only running finds them (the time limit, the guards)."""
    for script in ("n = 0\nwhile True:\n    n = n + 1", "result = 9 ** 9 ** 7", "total = value * 2"):
        assert validate_bundle([script_model("p", script)], None).process_ids == ["p"]


@pytest.mark.parametrize(
    ("flow", "end", "named"),
    [
        ('<bpmn:sequenceFlow id="f2" sourceRef="nope" targetRef="end" />', "sourceRef", "nope"),
        ('<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="does_not_exist" />', "targetRef", "does_not_exist"),
    ],
)
def test_a_sequence_flow_to_or_from_nothing_is_refused_and_named(flow: str, end: str, named: str) -> None:
    """Before, a missing source was deployed and its procedure ended at once; a missing target was refused with
    SpiffWorkflow's "we found two items, perhaps a form has the same ID?"."""
    body = SIMPLE_BODY.replace('<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />', flow)
    problems = problems_of([BundleFile("dangling.bpmn", inline_model(body, "dangling"))])
    assert [(p.element_id, p.explained) for p in problems][:1] == [
        ("f2", f"the sequence flow's {end} {named!r} is not an element of its process")
    ], [str(p) for p in problems]


def test_a_process_without_an_end_event_is_refused() -> None:
    """A model whose end events were deleted deployed and went into use: a path that reached nowhere ended the
    procedure without a word."""
    body = SIMPLE_BODY.replace('    <bpmn:endEvent id="end" />\n', "").replace(
        '    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />', ""
    )
    problems = problems_of([BundleFile("endless.bpmn", inline_model(body, "endless"))])
    assert [(p.element_id, p.explained) for p in problems] == [
        ("endless", "the process has no end event: draw where each path of the procedure ends")
    ]


def test_a_gateway_no_flow_leaves_is_refused_and_named() -> None:
    body = SIMPLE_BODY.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />',
        '<bpmn:exclusiveGateway id="decide" />\n'
        '    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="decide" />\n'
        '    <bpmn:parallelGateway id="split" />',
    )
    problems = problems_of([BundleFile("dead_end.bpmn", inline_model(body, "dead_end"))])
    assert {(p.element_id, p.explained) for p in problems} == {
        ("decide", "no sequence flow leaves this gateway: the path that reaches it ends there"),
        ("split", "no sequence flow leaves this gateway: the path that reaches it ends there"),
    }
