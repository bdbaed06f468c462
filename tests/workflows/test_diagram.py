"""The instance-page diagram: an SVG drawn from the model's BPMNDI, highlighted with runtime state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from workflows.diagram import (
    DIAGRAM_MSGIDS,
    ENGLISH,
    NO_DIAGRAM_MESSAGE,
    DiagramWords,
    ElementState,
    element_states_from_workflow,
    render_svg,
)
from workflows.errors import Invalid

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "bpmn" / "sample_approval.bpmn"
TEN_STEPS = ROOT / "bench" / "models" / "approval_10_steps.bpmn"
TIMER_FIXTURE = ROOT / "tests" / "fixtures" / "bpmn" / "timer_intermediate.bpmn"

SVG = "http://www.w3.org/2000/svg"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODE_TAGS = {
    "task",
    "userTask",
    "scriptTask",
    "businessRuleTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "manualTask",
    "subProcess",
    "callActivity",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
}
SAMPLE_STATES = {
    "start": ElementState.COMPLETED,
    "init": "completed",
    "submit_request": ElementState.COMPLETED,
    "review_request": ElementState.CURRENT,
}


def _parse(svg: str) -> etree._Element:
    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{{{SVG}}}svg"
    return root


def _flow_node_ids(path: Path, process_id: str) -> set[str]:
    model = etree.parse(str(path)).getroot()
    process = model.find(f"{{{BPMN}}}process[@id='{process_id}']")
    assert process is not None
    return {child.get("id") for child in process if etree.QName(child).localname in FLOW_NODE_TAGS}


def _nodes(svg_root: etree._Element) -> dict[str, etree._Element]:
    found = {}
    for element in svg_root.iter(f"{{{SVG}}}g"):
        if "node" in (element.get("class") or "").split():
            element_id = element.get("data-element-id")
            assert element_id not in found, f"{element_id} drawn twice"
            found[element_id] = element
    return found


def _by_id(svg_root: etree._Element, element_id: str) -> etree._Element:
    matches = [e for e in svg_root.iter() if e.get("data-element-id") == element_id]
    assert len(matches) == 1, element_id
    return matches[0]


def _classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


def _texts(svg_root: etree._Element) -> list[str]:
    return [" ".join(t.itertext()) for t in svg_root.iter(f"{{{SVG}}}text")]


def _model(name: str, *, with_di: bool = True) -> str:
    """A one-task process whose task, start event and flow all carry `name` (already XML-escaped)."""
    di = """
  <bpmndi:BPMNDiagram id="Diagram_1">
    <bpmndi:BPMNPlane id="Plane_1" bpmnElement="tiny">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="work_di" bpmnElement="work"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="done_di" bpmnElement="done"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs" targetNamespace="http://example.org">
  <bpmn:process id="tiny" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start" name="{name}"/>
    <bpmn:userTask id="work" name="{name}"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" name="{name}" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>
  </bpmn:process>{di if with_di else ""}
</bpmn:definitions>"""


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def test_sample_approval_renders_every_flow_node_with_its_state() -> None:
    svg = render_svg(SAMPLE.read_bytes(), "sample_approval", SAMPLE_STATES)
    root = _parse(svg)

    view_box = [float(v) for v in root.get("viewBox").split()]
    assert len(view_box) == 4 and view_box[2] > 0 and view_box[3] > 0
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Phê duyệt đề nghị (mẫu)"
    assert root[0].tag == f"{{{SVG}}}title" and root[0].text == "Phê duyệt đề nghị (mẫu)"

    nodes = _nodes(root)
    assert set(nodes) == _flow_node_ids(SAMPLE, "sample_approval")
    assert "current" in _classes(nodes["review_request"])
    assert "completed" in _classes(nodes["submit_request"])
    assert "pending" in _classes(nodes["end_approved"])
    assert {"node", "userTask", "current"} <= _classes(nodes["review_request"])
    assert {"exclusiveGateway", "pending"} <= _classes(nodes["review_outcome"])
    assert "boundaryEvent" in _classes(nodes["review_deadline"])

    texts = _texts(root)
    for lane in ("Cán bộ", "Lãnh đạo trực tiếp", "Thủ trưởng đơn vị"):
        assert lane in texts
    assert "Phê duyệt đề nghị (mẫu)" in texts
    assert "Đồng ý" in texts

    assert "taken" in _classes(_by_id(root, "Flow_submit_review"))
    assert "taken" in _classes(_by_id(root, "Flow_start_init"))
    assert "taken" not in _classes(_by_id(root, "Flow_approve"))
    assert "taken" not in _classes(_by_id(root, "Flow_review_outcome"))

    hover = {t.text for t in root.iter(f"{{{SVG}}}title")}
    assert "Xem xét, phê duyệt — In progress" in hover
    assert "Lập đề nghị — Completed" in hover
    assert "Đã phê duyệt — Not started" in hover


def test_output_is_self_contained() -> None:
    svg = render_svg(SAMPLE.read_text(encoding="utf-8"), "sample_approval", SAMPLE_STATES)
    root = _parse(svg)
    assert not list(root.iter(f"{{{SVG}}}script", f"{{{SVG}}}image", f"{{{SVG}}}foreignObject"))
    for element in root.iter():
        for name, value in element.attrib.items():
            assert not name.startswith("on"), name
            assert "href" not in name, name
            # Only references to the diagram's own markers.
            if "url(" in value:
                assert value.startswith("url(#bpmn-sample_approval-"), value
    style = root.find(f"{{{SVG}}}style")
    assert style is not None and "@import" not in style.text and "url(" not in style.text
    assert ".node.current" in style.text and ".flow.taken" in style.text


def test_state_strings_and_explicit_flows() -> None:
    svg = render_svg(
        SAMPLE.read_bytes(),
        "sample_approval",
        {"review_request": "ERROR", "escalated_review": "cancelled"},
        taken_flows=["Flow_reject"],
        infer_taken_flows=False,
        title="Hồ sơ CB0001",
    )
    root = _parse(svg)
    nodes = _nodes(root)
    assert "error" in _classes(nodes["review_request"])
    assert "cancelled" in _classes(nodes["escalated_review"])
    assert root.get("aria-label") == "Hồ sơ CB0001"
    assert "taken" in _classes(_by_id(root, "Flow_reject"))
    assert "taken" not in _classes(_by_id(root, "Flow_submit_review"))
    with pytest.raises(ValueError, match="unknown element state"):
        render_svg(SAMPLE.read_bytes(), "sample_approval", {"init": "done"})


def test_ten_step_model_has_ten_task_nodes() -> None:
    root = _parse(render_svg(TEN_STEPS.read_bytes(), "approval_10_steps"))
    tasks = [e for e in _nodes(root).values() if "userTask" in _classes(e)]
    assert len(tasks) == 10
    assert all("pending" in _classes(e) for e in _nodes(root).values())
    assert set(_nodes(root)) == _flow_node_ids(TEN_STEPS, "approval_10_steps")


def test_model_without_diagram_information_gives_a_message() -> None:
    content = TIMER_FIXTURE.read_bytes()
    assert b"BPMNDiagram" not in content
    root = _parse(render_svg(content, "timer_intermediate", {"start": "completed"}))
    assert NO_DIAGRAM_MESSAGE in _texts(root)
    assert root.get("viewBox") and root.get("role") == "img"
    assert not _nodes(root)

    root = _parse(render_svg(_model("Việc", with_di=False), "tiny"))
    assert NO_DIAGRAM_MESSAGE in _texts(root)


def test_unknown_process_gives_a_message() -> None:
    root = _parse(render_svg(SAMPLE.read_bytes(), "no_such_process"))
    assert NO_DIAGRAM_MESSAGE in _texts(root)


def test_names_are_escaped() -> None:
    raw = "Ký <b>&amp; \"duyệt\" 'nhanh'"
    escaped = "Ký &lt;b&gt;&amp;amp; &quot;duyệt&quot; &apos;nhanh&apos;"
    svg = render_svg(_model(escaped), "tiny", {"start": "completed", "work": "current"})
    assert "<b>" not in svg
    root = _parse(svg)
    assert root.get("aria-label") == raw
    assert {t.text for t in root.iter(f"{{{SVG}}}title")} >= {raw, f"{raw} — In progress", f"{raw} — Completed"}
    # Wrapping may split the name over several lines; it must come back whole.
    joined = "".join("".join(t.itertext()) for t in _by_id(root, "work").iter(f"{{{SVG}}}text"))
    assert joined.replace(" ", "") == raw.replace(" ", "")
    assert "taken" in _classes(_by_id(root, "f1"))
    assert "taken" not in _classes(_by_id(root, "f2"))


def test_a_flows_hover_names_the_steps_it_joins_never_an_id() -> None:
    """Decision 0095: a flow without a name reads "<source> → <target>", then its state; an element without a name
    is called by its kind ("End"), never by the model's id."""
    svg = render_svg(SAMPLE.read_bytes(), "sample_approval", SAMPLE_STATES)
    root = _parse(svg)
    hover = {t.text for t in root.iter(f"{{{SVG}}}title")}
    assert "Lập đề nghị → Xem xét, phê duyệt — Taken" in hover
    assert "Bắt đầu → Khởi tạo — Taken" in hover
    assert "Đồng ý" in hover  # a named flow, not taken: its name alone
    ids = _flow_node_ids(SAMPLE, "sample_approval") | {
        e.get("id") for e in etree.parse(SAMPLE).iter(f"{{{BPMN}}}sequenceFlow")
    }
    # Whole words: the English "Not started" is not the start event's id `start`.
    shown = [text for text in hover if any(re.search(rf"\b{re.escape(element_id)}\b", text) for element_id in ids)]
    assert shown == [], shown

    tiny = _parse(render_svg(_model("Xử lý"), "tiny", {"start": "completed", "work": "completed", "done": "completed"}))
    tiny_hover = {t.text for t in tiny.iter(f"{{{SVG}}}title")}
    assert "Xử lý → End — Taken" in tiny_hover and "End — Completed" in tiny_hover
    assert not any("f2" in text or "done" in text for text in tiny_hover)


def test_the_diagrams_own_words_are_drawn_in_the_words_it_is_given() -> None:
    """Decision 0103: the engine draws its own words through `words` (the web layer gives them in the reader's
    language), and the model's names as they are written."""
    marked = DiagramWords.translated_by(lambda msgid: f"«{msgid}»")
    states = {"start": "completed", "work": "current", "done": "error"}
    hover = [t.text for t in _parse(render_svg(_model("Xử lý"), "tiny", states, words=marked)).iter(f"{{{SVG}}}title")]
    assert hover == [
        "Xử lý",
        "Xử lý — «Taken»",
        "Xử lý → «End»",
        "Xử lý — «Completed»",
        "Xử lý — «In progress»",
        "«End» — «Error»",
    ]
    no_diagram = _parse(render_svg(_model("Việc", with_di=False), "tiny", words=marked))
    assert "«The model has no diagram information»" in _texts(no_diagram)
    assert no_diagram.get("aria-label") == "Việc: «The model has no diagram information»"
    # A word without a translation is drawn as its msgid, which is English.
    assert render_svg(_model("Việc"), "tiny", states) == render_svg(_model("Việc"), "tiny", states, words=ENGLISH)
    assert DiagramWords()[NO_DIAGRAM_MESSAGE] == NO_DIAGRAM_MESSAGE == "The model has no diagram information"


def test_words_are_a_value_keyed_by_what_they_say() -> None:
    """The drawings' cache is keyed by the words (workflows.instances.instance_diagram): the same words are one key,
    other words another."""
    upper = DiagramWords.translated_by(str.upper)
    assert upper == DiagramWords.translated_by(str.upper) and hash(upper) == hash(DiagramWords.translated_by(str.upper))
    assert upper != ENGLISH and upper != DiagramWords.translated_by(str.lower)
    assert {msgid for msgid, _word in upper.translations} == DIAGRAM_MSGIDS
    assert upper["Taken"] == "TAKEN" and upper["not one of the words"] == "not one of the words"


def test_unsafe_xml_is_refused() -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    with pytest.raises(Invalid):
        render_svg(hostile, "x")


def test_shapes_follow_the_diagram_bounds() -> None:
    root = _parse(render_svg(_model("Việc"), "tiny"))
    rect = _by_id(root, "work").find(f"{{{SVG}}}rect")
    assert (rect.get("x"), rect.get("y"), rect.get("width"), rect.get("height")) == ("200", "78", "100", "80")
    circle = _by_id(root, "start").find(f"{{{SVG}}}circle")
    assert (circle.get("cx"), circle.get("cy"), circle.get("r")) == ("118", "118", "18")
    line = _by_id(root, "f2").find(f"{{{SVG}}}polyline")
    assert line.get("points") == "300,118 360,118"
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    assert x <= 100 and y <= 78 and x + w >= 396 and y + h >= 158


# ---------------------------------------------------------------------------------------------
# Runtime state from a workflow
# ---------------------------------------------------------------------------------------------
def _sample_workflow() -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(SAMPLE))
    workflow = BpmnWorkflow(parser.get_spec("sample_approval"), parser.get_subprocess_specs("sample_approval"))
    workflow.do_engine_steps()
    return workflow


def _ready(workflow: BpmnWorkflow, bpmn_id: str):
    tasks = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == bpmn_id]
    assert len(tasks) == 1, bpmn_id
    return tasks[0]


def test_states_from_a_running_workflow() -> None:
    workflow = _sample_workflow()
    states, steps = element_states_from_workflow(workflow)
    assert states["submit_request"] == ElementState.CURRENT
    assert states["start"] == states["init"] == ElementState.COMPLETED
    assert steps == {("start", "init"), ("init", "submit_request")}

    task = _ready(workflow, "submit_request")
    task.data.update({"subject_line": "Đề nghị"})
    task.run()
    workflow.do_engine_steps()

    states, steps = element_states_from_workflow(workflow)
    assert states["submit_request"] == ElementState.COMPLETED
    assert states["review_request"] == ElementState.CURRENT
    # The deadline's timer is reached but is nobody's step: waiting, not in progress (decision 0142).
    assert states["review_deadline"] == ElementState.WAITING
    # The review is waiting: the flow into it is taken, none out of it.
    assert ("submit_request", "review_request") in steps
    assert not any(source == "review_request" for source, _target in steps)
    assert "end_approved" not in states
    assert "escalated_review" not in states
    assert all(isinstance(key, str) for key in states)

    root = _parse(render_svg(SAMPLE.read_bytes(), "sample_approval", states))
    nodes = _nodes(root)
    assert "current" in _classes(nodes["review_request"])
    assert "waiting" in _classes(nodes["review_deadline"]) and "current" not in _classes(nodes["review_deadline"])
    deadline_hover = nodes["review_deadline"].find(f"{{{SVG}}}title")
    assert deadline_hover is not None and (deadline_hover.text or "").endswith("— Waiting")
    assert "pending" in _classes(nodes["end_approved"])
    assert "taken" in _classes(_by_id(root, "Flow_submit_review"))


def test_states_after_a_loop_and_a_finished_run() -> None:
    workflow = _sample_workflow()
    for decision in ("return", "approve"):
        submit = _ready(workflow, "submit_request")
        submit.data.update({"subject_line": "Đề nghị"})
        submit.run()
        workflow.do_engine_steps()
        review = _ready(workflow, "review_request")
        review.data.update({"decision": decision})
        review.run()
        workflow.do_engine_steps()
        if decision == "return":
            states, _ = element_states_from_workflow(workflow)
            # Back at the first step: revisited, so current although it completed once.
            assert states["submit_request"] == ElementState.CURRENT
            assert states["count_return"] == ElementState.COMPLETED
            assert states["review_request"] == ElementState.COMPLETED

    assert workflow.completed
    states, _ = element_states_from_workflow(workflow)
    assert states["end_approved"] == ElementState.COMPLETED
    assert states["review_deadline"] == ElementState.CANCELLED
    assert "end_rejected" not in states
    assert ElementState.CURRENT not in states.values()


MAIN_WITH_SUBPROCESSES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D1" targetNamespace="x">
  <bpmn:process id="main" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="sub_start"/>
      <bpmn:userTask id="inner"/>
      <bpmn:endEvent id="sub_end"/>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner"/>
      <bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end"/>
    </bpmn:subProcess>
    <bpmn:callActivity id="call" calledElement="callee"/>
    <bpmn:userTask id="review"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="call"/>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
# Deliberately reuses the ids `review` and `end` of the calling model.
CALLEE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D2" targetNamespace="x">
  <bpmn:process id="callee" isExecutable="true">
    <bpmn:startEvent id="callee_start"/>
    <bpmn:userTask id="review"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="c1" sourceRef="callee_start" targetRef="review"/>
    <bpmn:sequenceFlow id="c2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_embedded_subprocess_counts_but_called_process_does_not(tmp_path: Path) -> None:
    (tmp_path / "main.bpmn").write_text(MAIN_WITH_SUBPROCESSES, encoding="utf-8")
    (tmp_path / "callee.bpmn").write_text(CALLEE, encoding="utf-8")
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(tmp_path / "main.bpmn"), str(tmp_path / "callee.bpmn")])
    workflow = BpmnWorkflow(parser.get_spec("main"), parser.get_subprocess_specs("main"))
    workflow.do_engine_steps()

    states, _ = element_states_from_workflow(workflow)
    assert states["sub"] == states["inner"] == ElementState.CURRENT
    assert states["sub_start"] == ElementState.COMPLETED

    _ready(workflow, "inner").run()
    workflow.do_engine_steps()
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)] == ["review"]  # in the callee

    states, _ = element_states_from_workflow(workflow)
    assert states["sub"] == states["inner"] == states["sub_end"] == ElementState.COMPLETED
    assert states["call"] == ElementState.CURRENT
    assert "review" not in states and "end" not in states and "callee_start" not in states


# A conference that is held again when too few members came: the loop-back flow's two ends are both reached by the
# forward path, so only the task tree can say whether it was travelled.
CONFERENCE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="D3" targetNamespace="x">
  <bpmn:process id="conference" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="vote"/>
    <bpmn:exclusiveGateway id="quorum" default="enough"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="to_vote" sourceRef="start" targetRef="vote"/>
    <bpmn:sequenceFlow id="to_quorum" sourceRef="vote" targetRef="quorum"/>
    <bpmn:sequenceFlow id="again" sourceRef="quorum" targetRef="vote">
      <bpmn:conditionExpression>too_few</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="enough" sourceRef="quorum" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="DI3">
    <bpmndi:BPMNPlane id="P3" bpmnElement="conference">
      <bpmndi:BPMNShape id="s_start" bpmnElement="start"><dc:Bounds x="0" y="20" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s_vote" bpmnElement="vote"><dc:Bounds x="80" y="0" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s_quorum" bpmnElement="quorum"><dc:Bounds x="220" y="15" width="50" height="50"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s_end" bpmnElement="end"><dc:Bounds x="320" y="20" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="e_to_vote" bpmnElement="to_vote"><di:waypoint x="36" y="38"/><di:waypoint x="80" y="40"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="e_to_quorum" bpmnElement="to_quorum"><di:waypoint x="180" y="40"/><di:waypoint x="220" y="40"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="e_again" bpmnElement="again"><di:waypoint x="245" y="15"/><di:waypoint x="245" y="-20"/><di:waypoint x="130" y="-20"/><di:waypoint x="130" y="0"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="e_enough" bpmnElement="enough"><di:waypoint x="270" y="40"/><di:waypoint x="320" y="38"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def _conference(tmp_path: Path, too_few: list[bool]) -> BpmnWorkflow:
    """The conference model run through one vote per entry of `too_few` (whether too few came to that one)."""
    (tmp_path / "conference.bpmn").write_text(CONFERENCE, encoding="utf-8")
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(tmp_path / "conference.bpmn")])
    workflow = BpmnWorkflow(parser.get_spec("conference"))
    workflow.do_engine_steps()
    for again in too_few:
        vote = _ready(workflow, "vote")
        vote.data["too_few"] = again
        vote.run()
        workflow.do_engine_steps()
    return workflow


def _taken_in(svg: str) -> set[str]:
    root = _parse(svg)
    return {
        element.get("data-element-id") or ""
        for element in root.iter(f"{{{SVG}}}g")
        if "flow" in _classes(element) and "taken" in _classes(element)
    }


def test_a_loop_back_flow_is_taken_only_when_it_was_travelled(tmp_path: Path) -> None:
    held_once = _conference(tmp_path, [False])
    assert held_once.completed
    states, steps = element_states_from_workflow(held_once)
    assert steps == {("start", "vote"), ("vote", "quorum"), ("quorum", "end")}
    assert states["vote"] == states["quorum"] == ElementState.COMPLETED
    drawn = _taken_in(render_svg(CONFERENCE, "conference", states, taken_steps=steps))
    assert drawn == {"to_vote", "to_quorum", "enough"}
    # From the states alone (no task tree) the loop-back flow looks taken: both of its ends were reached.
    assert "again" in _taken_in(render_svg(CONFERENCE, "conference", states))

    held_again = _conference(tmp_path, [True, False])
    states, steps = element_states_from_workflow(held_again)
    assert ("quorum", "vote") in steps
    assert _taken_in(render_svg(CONFERENCE, "conference", states, taken_steps=steps)) == {
        "to_vote",
        "to_quorum",
        "again",
        "enough",
    }
