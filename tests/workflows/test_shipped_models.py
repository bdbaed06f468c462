"""Every procedure shipped in bpmn/ is a model a personnel officer can open in a BPMN modeler and read: complete
diagram information, Vietnamese names on what people see, lanes named after roles the application resolves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from workflows.assignment import DEFAULT_LANE_RULES
from workflows.deployment.validation import bundles_from_directory, validate_bundle
from workflows.diagram import render_svg

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "bpmn").glob("*.bpmn"))
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
VISIBLE = {"userTask", "manualTask", "businessRuleTask", "callActivity", "subProcess"}
FLOW_NODES = VISIBLE | {
    "startEvent",
    "endEvent",
    "boundaryEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "task",
}
VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def _ids(root: etree._Element, tags: set[str]) -> set[str]:
    return {
        el.get("id", "")
        for process in root.iter(f"{{{BPMN}}}process")
        for el in process.iter()
        if isinstance(el.tag, str) and etree.QName(el).localname in tags
    }


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_every_element_has_its_place_in_the_diagram(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    shapes = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    lanes = {el.get("id") for el in root.iter(f"{{{BPMN}}}lane")}
    assert _ids(root, FLOW_NODES) | lanes <= shapes, sorted((_ids(root, FLOW_NODES) | lanes) - shapes)
    assert _ids(root, {"sequenceFlow"}) <= edges, sorted(_ids(root, {"sequenceFlow"}) - edges)


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_people_read_vietnamese_and_lanes_name_known_roles(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in VISIBLE:
            name = element.get("name") or ""
            assert name and set(name.lower()) & VIETNAMESE, f"{element.get('id')}: {name!r}"
    for lane in root.iter(f"{{{BPMN}}}lane"):
        assert lane.get("name") in DEFAULT_LANE_RULES, lane.get("name")


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_each_model_validates_and_draws(path: Path) -> None:
    [bundle] = [b for b in bundles_from_directory(path.parent) if b[0].filename == path.name]
    validate_bundle(bundle, ROOT / "forms", None)
    root = etree.parse(str(path)).getroot()
    for process in root.iter(f"{{{BPMN}}}process"):
        svg = render_svg(path.read_bytes(), process.get("id", ""), {})
        assert svg.startswith("<svg")


# A person's step that calls itself automatic misleads: the people on it decide (decision 0120). The system may mark
# proposals in advance, but the name says what the person does.
AUTOMATIC = ("tự động", "máy ")


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_a_persons_step_does_not_call_itself_automatic(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    for task in root.iter(f"{{{BPMN}}}userTask"):
        name = (task.get("name") or "").lower()
        assert not any(word in name for word in AUTOMATIC), f"{task.get('id')}: {task.get('name')!r}"


def test_each_forms_title_does_not_call_it_automatic() -> None:
    for form in sorted((ROOT / "forms").glob("*.json")):
        title = str(json.loads(form.read_text(encoding="utf-8")).get("title") or "").lower()
        assert "tự động" not in title, form.name
