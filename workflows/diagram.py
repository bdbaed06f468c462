"""Server-side SVG rendering of a BPMN process diagram, highlighted with the runtime state of each element.

The drawing comes only from the model's own diagram interchange (BPMNDI): shapes are placed at their
`dc:Bounds`, flows follow their `di:waypoint`s. Nothing is laid out here, so the picture is the one the
modeller drew. The output is a self-contained SVG string (no scripts, no external references) meant to be
inlined in the instance page; its CSS is scoped under `.bpmn-diagram` so the page can restyle it.

Taken flows: SpiffWorkflow 3.2 keeps no sequence-flow ids on its task specs, so a workflow cannot name the flow
it travelled. Its task tree does say where each task came from, though: a task's parent (past the engine's own
helper tasks) is the element the token left to reach it. `element_states_from_workflow` reads these
(source, target) steps and `render_svg` marks the flows between them — exact across loops: a step's "not enough
members came, vote again" flow is taken only when a conference was repeated, although both of its ends were
reached by the forward path. Without a workflow (a diagram drawn from states alone) `render_svg` falls back to
inferring the flows whose two ends were both reached, which a loop can mislead.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from workflows.deployment.validation import parse_xml_safely
from workflows.errors import N_

__all__ = [
    "DIAGRAM_MSGIDS",
    "ENGLISH",
    "NO_DIAGRAM_MESSAGE",
    "STATE_LABELS",
    "DiagramWords",
    "ElementState",
    "TakenStep",
    "element_states_from_workflow",
    "render_svg",
]


class ElementState(StrEnum):
    COMPLETED = "completed"
    CURRENT = "current"
    # An event waiting for its moment (a deadline's timer): reached, but nobody's step to take (decision 0142).
    WAITING = "waiting"
    PENDING = "pending"
    CANCELLED = "cancelled"
    ERROR = "error"


# The diagram's own words are English msgids (`N_`), drawn in the reader's language through `DiagramWords`: the
# engine cannot translate (it knows neither Flask-Babel nor the reader), the web layer can (decision 0103). The
# model's names are drawn as its modeller wrote them.
STATE_LABELS: dict[ElementState, str] = {
    ElementState.COMPLETED: N_("Completed"),
    ElementState.CURRENT: N_("In progress"),
    ElementState.WAITING: N_("Waiting"),
    ElementState.PENDING: N_("Not started"),
    ElementState.CANCELLED: N_("Cancelled"),
    ElementState.ERROR: N_("Error"),
}
TAKEN_LABEL = N_("Taken")
# What an element without a name is called in its hover text: the model's ids (`Gateway_0x1`, `Flow_step1_done`)
# mean nothing to the people who read the diagram.
KIND_LABELS: dict[str, str] = {
    "startEvent": N_("Beginning"),
    "endEvent": N_("End"),
    "intermediateCatchEvent": N_("Awaited event"),
    "intermediateThrowEvent": N_("Raised event"),
    "boundaryEvent": N_("Event on a step"),
    "exclusiveGateway": N_("Branching point"),
    "inclusiveGateway": N_("Branching point"),
    "complexGateway": N_("Branching point"),
    "eventBasedGateway": N_("Event waiting point"),
    "parallelGateway": N_("Parallel point"),
    "callActivity": N_("Sub-process"),
    "subProcess": N_("Sub-process"),
    "transaction": N_("Sub-process"),
    "adHocSubProcess": N_("Sub-process"),
}
UNNAMED_STEP_LABEL = N_("Step")
NO_DIAGRAM_MESSAGE = N_("The model has no diagram information")
DIAGRAM_MSGIDS = frozenset(
    {*STATE_LABELS.values(), TAKEN_LABEL, *KIND_LABELS.values(), UNNAMED_STEP_LABEL, NO_DIAGRAM_MESSAGE}
)


@dataclass(frozen=True)
class DiagramWords:
    """The diagram's own words in one language: each of `DIAGRAM_MSGIDS` with its translation, the msgid itself
    (English) where none is given. A value, so that a drawing kept with the words it was drawn in
    (`workflows.instances.instance_diagram`) is found again only for a reader of that language."""

    translations: tuple[tuple[str, str], ...] = ()
    _table: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_table", dict(self.translations))

    @classmethod
    def translated_by(cls, translate: Callable[[str], str]) -> DiagramWords:
        """The words as `translate` (a catalog's gettext) gives them."""
        return cls(tuple((msgid, translate(msgid)) for msgid in sorted(DIAGRAM_MSGIDS)))

    def __getitem__(self, msgid: str) -> str:
        return self._table.get(msgid, msgid)


ENGLISH = DiagramWords()

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

TASKS = frozenset(
    {"task", "userTask", "scriptTask", "businessRuleTask", "serviceTask", "sendTask", "receiveTask", "manualTask"}
)
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = TASKS | SUBPROCESSES | {"callActivity"}
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"})
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS

_REACHED = frozenset({ElementState.COMPLETED, ElementState.CURRENT, ElementState.WAITING})
_ACTIVE_MASK = TaskState.READY | TaskState.STARTED | TaskState.WAITING
_RUNNING_MASK = TaskState.READY | TaskState.STARTED

_MARGIN = 20.0
_TASK_FONT = 12.0
_LABEL_FONT = 11.0
_POOL_FONT = 13.0
# Average advance of a glyph relative to the font size; Vietnamese text in a sans-serif face stays close to it,
# and a slight overestimate only wraps a word early instead of letting it overflow the shape.
_CHAR_WIDTH = 0.54
# The modeller measured its label boxes with its own font; this slack keeps a label it laid out on one line
# on one line here too, despite our rougher estimate.
_LABEL_SLACK = 1.2
_LINE_HEIGHT = 1.2
# Width of the header band of a pool or lane, where bpmn-js writes its name.
_HEADER = 30.0

_STYLE = (
    ".bpmn-diagram{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;"
    "font-size:12px;background:#fff}"
    ".bpmn-diagram text{fill:#111827;stroke:none}"
    ".bpmn-diagram .frame{fill:none;stroke:#94a3b8;stroke-width:1.2}"
    ".bpmn-diagram .pool-label,.bpmn-diagram .lane-label{font-size:13px;font-weight:600;fill:#334155}"
    ".bpmn-diagram .node{color:#475569}"
    ".bpmn-diagram .node .shape{fill:#fff;stroke:currentColor;stroke-width:1.5}"
    ".bpmn-diagram .node.completed{color:#15803d}"
    ".bpmn-diagram .node.completed .shape{fill:#dcfce7}"
    ".bpmn-diagram .node.current{color:#b45309}"
    ".bpmn-diagram .node.current .shape{fill:#fef3c7;stroke-width:3}"
    ".bpmn-diagram .node.waiting{color:#1d4ed8}"
    ".bpmn-diagram .node.waiting .shape{fill:#eff6ff;stroke-width:2}"
    ".bpmn-diagram .node.cancelled{color:#6b7280}"
    ".bpmn-diagram .node.cancelled .shape{fill:#f3f4f6;stroke-dasharray:4 3}"
    ".bpmn-diagram .node.error{color:#b91c1c}"
    ".bpmn-diagram .node.error .shape{fill:#fee2e2;stroke-width:3}"
    ".bpmn-diagram .node.endEvent .shape.outer,.bpmn-diagram .node.callActivity .shape.outer{stroke-width:4}"
    ".bpmn-diagram .node .shape.inner{fill:none}"
    ".bpmn-diagram .node.non-interrupting .shape{stroke-dasharray:5 3}"
    ".bpmn-diagram .node.subProcess.expanded .shape,.bpmn-diagram .node.transaction.expanded .shape"
    "{fill-opacity:.35}"
    ".bpmn-diagram .glyph{fill:none;stroke:currentColor;stroke-width:1.3;stroke-linecap:round;"
    "stroke-linejoin:round}"
    ".bpmn-diagram .glyph.filled{fill:currentColor}"
    ".bpmn-diagram .glyph.bold{stroke-width:3}"
    ".bpmn-diagram .flow .line{fill:none;stroke:#64748b;stroke-width:1.5;stroke-linejoin:round}"
    ".bpmn-diagram .flow.taken .line{stroke:#15803d;stroke-width:2.5}"
    ".bpmn-diagram .flow.messageFlow .line{stroke-dasharray:7 4}"
    ".bpmn-diagram .flow.association .line{stroke-dasharray:2 3}"
    ".bpmn-diagram .flow .default-mark{stroke:#64748b;stroke-width:1.5}"
    ".bpmn-diagram .flow.taken .default-mark{stroke:#15803d}"
    ".bpmn-diagram .arrowhead{fill:#64748b;stroke:none}"
    ".bpmn-diagram .arrowhead.taken{fill:#15803d}"
    ".bpmn-diagram .arrowhead.open{fill:#fff;stroke:#64748b;stroke-width:1}"
    ".bpmn-diagram .label,.bpmn-diagram .flow-label{font-size:11px}"
    ".bpmn-diagram .flow-label{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".bpmn-diagram .artifact .shape{fill:#fff;stroke:#64748b;stroke-width:1.2}"
    ".bpmn-diagram .artifact.group .shape{fill:none;stroke-dasharray:8 4 2 4}"
    ".bpmn-diagram .message{font-size:14px;fill:#475569}"
)


# ---------------------------------------------------------------------------------------------
# Runtime state
# ---------------------------------------------------------------------------------------------
TakenStep = tuple[str, str]  # (source element id, target element id): a token went from one to the other


def element_states_from_workflow(workflow: BpmnWorkflow) -> tuple[dict[str, ElementState], set[TakenStep]]:
    """The state of every BPMN element of `workflow` that has been reached, keyed by its BPMN id, and the steps
    its tokens took between elements.

    Returns `(states, steps)`. Elements never reached (no task, or only predicted ones) are left out, which
    `render_svg` draws as pending. `steps` are the (source, target) pairs of the flows travelled, read from
    the task tree (see the module docstring); `render_svg(..., taken_steps=steps)` marks those flows.

    Tasks of embedded sub-processes count (their elements live in the same model and diagram); tasks of
    called processes do not, since their ids belong to another model and could collide with this one's.
    """
    masks: dict[str, int] = {}
    events: set[str] = set()  # catching events: a timer, a message awaited
    arrivals: list[tuple[str, Task, Task]] = []  # (target id, the task there, the task the token came from)
    for task in _own_tasks(workflow, workflow):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        masks[bpmn_id] = masks.get(bpmn_id, 0) | task.state
        if isinstance(task.task_spec, CatchingEvent):
            events.add(bpmn_id)
        source = _element_before(task)
        if source is not None:
            arrivals.append((bpmn_id, task, source))
    states: dict[str, ElementState] = {}
    for bpmn_id, mask in masks.items():
        state = _state_of(mask, is_event=bpmn_id in events)
        if state is not None:
            states[bpmn_id] = state
    steps = {
        (source.task_spec.bpmn_id, target_id)
        for target_id, task, source in arrivals
        if _arrived(task, source, masks[target_id])
    }
    return states, steps


def _element_before(task: Task) -> Task | None:
    """The nearest ancestor that stands for a BPMN element, past the engine's helper tasks (a boundary event's
    split, the start task)."""
    parent = task.parent
    while parent is not None and getattr(parent.task_spec, "bpmn_id", None) is None:
        parent = parent.parent
    return parent


def _arrived(task: Task, source: Task, target_mask: int) -> bool:
    """Whether a token really reached `task` from `source`, rather than the engine predicting it would. A branch
    that reached a join which another branch's task then fired is left cancelled, so it counts when the join
    fired (some task of the element completed) after its own source completed."""
    if task.state & (_ACTIVE_MASK | TaskState.COMPLETED | TaskState.ERROR):
        return True
    return bool(
        task.state & TaskState.CANCELLED and source.state & TaskState.COMPLETED and target_mask & TaskState.COMPLETED
    )


def _own_tasks(top: BpmnWorkflow, workflow: object) -> Iterator[Task]:
    # Walk the task dictionaries rather than the task tree: the tree iterator stops at a fixed depth, which a
    # long-running loop can exceed.
    tasks: dict[object, Task] = getattr(workflow, "tasks", {})
    for task in list(tasks.values()):
        yield task
        subprocess = top.subprocesses.get(task.id)
        if subprocess is not None and not isinstance(task.task_spec, CallActivity):
            yield from _own_tasks(top, subprocess)


def _state_of(mask: int, *, is_event: bool = False) -> ElementState | None:
    # An error blocks the instance, so it outranks everything; a revisited element (a loop) is current even
    # though an earlier pass completed it. A catching event that only waits (a deadline's timer) is nobody's step.
    if mask & TaskState.ERROR:
        return ElementState.ERROR
    if mask & _ACTIVE_MASK:
        return ElementState.WAITING if is_event and not mask & _RUNNING_MASK else ElementState.CURRENT
    if mask & TaskState.COMPLETED:
        return ElementState.COMPLETED
    if mask & TaskState.CANCELLED:
        return ElementState.CANCELLED
    return None


def _normalise_states(states: Mapping[str, ElementState | str] | None) -> dict[str, ElementState]:
    result: dict[str, ElementState] = {}
    for element_id, value in (states or {}).items():
        try:
            result[element_id] = ElementState(str(value).lower())
        except ValueError:
            raise ValueError(f"unknown element state {value!r} for {element_id!r}") from None
    return result


# ---------------------------------------------------------------------------------------------
# Model reading
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True, slots=True)
class _Shape:
    element: etree._Element
    kind: str
    box: _Box
    label: _Box | None
    di: etree._Element


@dataclass(frozen=True, slots=True)
class _Edge:
    element: etree._Element
    kind: str
    points: tuple[tuple[float, float], ...]
    label: _Box | None


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _bounds(parent: etree._Element) -> _Box | None:
    node = parent.find(f"{{{DC_NS}}}Bounds")
    if node is None:
        return None
    x, y, w, h = (_number(node.get(name)) for name in ("x", "y", "width", "height"))
    if x is None or y is None or w is None or h is None or w < 0 or h < 0:
        return None
    return _Box(x, y, w, h)


def _label_bounds(di: etree._Element) -> _Box | None:
    label = di.find(f"{{{BPMNDI_NS}}}BPMNLabel")
    return None if label is None else _bounds(label)


def _name(element: etree._Element) -> str:
    # NFC so that length-based wrapping counts a Vietnamese letter with its diacritics as one character.
    return unicodedata.normalize("NFC", (element.get("name") or "").strip())


def _spoken_name(element: etree._Element | None, words: DiagramWords) -> str:
    """An element as its hover text names it: its name, else what kind of element it is — never its id."""
    if element is None:
        return words[UNNAMED_STEP_LABEL]
    return _name(element) or words[KIND_LABELS.get(_local(element), UNNAMED_STEP_LABEL)]


def _find_plane(root: etree._Element, process_id: str) -> etree._Element | None:
    targets = {process_id}
    for collaboration in root.iter(f"{{{BPMN_NS}}}collaboration"):
        for participant in collaboration.iter(f"{{{BPMN_NS}}}participant"):
            if participant.get("processRef") == process_id and collaboration.get("id"):
                targets.add(collaboration.get("id") or "")
    for plane in root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"):
        if plane.get("bpmnElement") in targets:
            return plane
    return None


def _collect(plane: etree._Element, index: Mapping[str, etree._Element]) -> tuple[list[_Shape], list[_Edge]]:
    shapes: list[_Shape] = []
    edges: list[_Edge] = []
    for di in plane:
        if not isinstance(di.tag, str):
            continue
        element = index.get(di.get("bpmnElement") or "")
        if element is None:
            continue
        kind = _local(element)
        if di.tag == f"{{{BPMNDI_NS}}}BPMNShape":
            box = _bounds(di)
            if box is not None:
                shapes.append(_Shape(element, kind, box, _label_bounds(di), di))
        elif di.tag == f"{{{BPMNDI_NS}}}BPMNEdge":
            points = []
            for waypoint in di.iter(f"{{{DI_NS}}}waypoint"):
                x, y = _number(waypoint.get("x")), _number(waypoint.get("y"))
                if x is not None and y is not None:
                    points.append((x, y))
            if len(points) >= 2:
                edges.append(_Edge(element, kind, tuple(points), _label_bounds(di)))
    return shapes, edges


def _flows_between(index: Mapping[str, etree._Element], is_taken: Callable[[str, str], bool]) -> set[str]:
    """The sequence flows whose (source, target) `is_taken` accepts."""
    return {
        flow_id
        for flow_id, element in index.items()
        if _local(element) == "sequenceFlow"
        and is_taken(element.get("sourceRef") or "", element.get("targetRef") or "")
    }


# ---------------------------------------------------------------------------------------------
# SVG helpers
# ---------------------------------------------------------------------------------------------
def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _wrap(text: str, width: float, font_size: float, max_lines: int) -> list[str]:
    max_chars = max(1, int(width / (font_size * _CHAR_WIDTH)))
    lines: list[str] = []
    for paragraph in text.splitlines():
        current = ""
        for raw in paragraph.split():
            word = raw
            while len(word) > max_chars:
                if current:
                    lines.append(current)
                    current = ""
                lines.append(word[:max_chars])
                word = word[max_chars:]
            if not word:
                continue
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= max_chars:
                current = candidate
            else:
                lines.append(current)
                current = word
        if current:
            lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, max_chars - 1)].rstrip() + "…"
    return lines


def _text_block(
    lines: list[str],
    x: float,
    cy: float,
    font_size: float,
    css_class: str,
    *,
    anchor: str = "middle",
    transform: str = "",
) -> str:
    if not lines:
        return ""
    line_height = font_size * _LINE_HEIGHT
    # 0.35em lowers a baseline so the glyphs, not the baseline, sit on the intended centre line.
    first = cy - (len(lines) - 1) * line_height / 2 + font_size * 0.35
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(first + i * line_height)}">{_esc(line)}</tspan>' for i, line in enumerate(lines)
    )
    extra = f' transform="{transform}"' if transform else ""
    return f'<text class="{css_class}" text-anchor="{anchor}"{extra}>{spans}</text>'


def _below(top: float, line_count: int) -> float:
    # Hang a label from the top of its box: should our wrapping need more lines than the modeller's box
    # holds, the extra lines go downwards, away from the shape the label belongs to.
    return top + line_count * _LABEL_FONT * _LINE_HEIGHT / 2


def _title(text: str) -> str:
    return f"<title>{_esc(text)}</title>"


def _path_midpoint(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    segments = list(itertools.pairwise(points))
    half = sum(math.dist(a, b) for a, b in segments) / 2
    for a, b in segments:
        length = math.dist(a, b)
        if length and half <= length:
            t = half / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        half -= length
    return points[0]


def _event_definition(element: etree._Element) -> str | None:
    for child in element:
        if isinstance(child.tag, str):
            local = _local(child)
            if local.endswith("EventDefinition"):
                return local.removesuffix("EventDefinition")
    return None


# ---------------------------------------------------------------------------------------------
# Glyphs: small markers drawn inside shapes, in a coordinate box given by its top-left corner or centre.
# ---------------------------------------------------------------------------------------------
def _task_glyph(kind: str, x: float, y: float) -> str:
    if kind == "userTask":
        return (
            f'<circle class="glyph" cx="{_n(x + 7)}" cy="{_n(y + 4.5)}" r="3"/>'
            f'<path class="glyph" d="M{_n(x + 1)},{_n(y + 14)}Q{_n(x + 1)},{_n(y + 8.5)} {_n(x + 7)},{_n(y + 8.5)}'
            f'Q{_n(x + 13)},{_n(y + 8.5)} {_n(x + 13)},{_n(y + 14)}Z"/>'
        )
    if kind == "scriptTask":
        return (
            f'<path class="glyph" d="M{_n(x + 3)},{_n(y + 1)}h10q-3,3 0,6q3,3 0,6h-10q3,-3 0,-6q-3,-3 0,-6Z"/>'
            f'<path class="glyph" d="M{_n(x + 5)},{_n(y + 5)}h5M{_n(x + 6)},{_n(y + 8)}h5M{_n(x + 5)},{_n(y + 11)}h5"/>'
        )
    if kind == "businessRuleTask":
        return (
            f'<rect class="glyph" x="{_n(x)}" y="{_n(y + 2)}" width="15" height="11"/>'
            f'<path class="glyph" d="M{_n(x)},{_n(y + 5.5)}h15M{_n(x)},{_n(y + 9.5)}h15'
            f'M{_n(x + 5)},{_n(y + 5.5)}v7.5"/>'
        )
    if kind == "serviceTask":
        cx, cy = x + 7.5, y + 7.5
        spokes = "".join(
            f"M{_n(cx + 4.5 * math.cos(a))},{_n(cy + 4.5 * math.sin(a))}"
            f"L{_n(cx + 7 * math.cos(a))},{_n(cy + 7 * math.sin(a))}"
            for a in (i * math.pi / 4 for i in range(8))
        )
        return (
            f'<circle class="glyph" cx="{_n(cx)}" cy="{_n(cy)}" r="4.5"/>'
            f'<circle class="glyph" cx="{_n(cx)}" cy="{_n(cy)}" r="1.8"/>'
            f'<path class="glyph bold" d="{spokes}" style="stroke-width:2.2"/>'
        )
    if kind in ("sendTask", "receiveTask"):
        return _envelope(x + 7.5, y + 7.5, 15, 10, filled=kind == "sendTask")
    if kind == "manualTask":
        return (
            f'<path class="glyph" d="M{_n(x + 1)},{_n(y + 6)}h5l2,-3h5M{_n(x + 1)},{_n(y + 6)}v6h10'
            f'M{_n(x + 7)},{_n(y + 6)}h7M{_n(x + 7)},{_n(y + 9)}h6"/>'
        )
    return ""


def _envelope(cx: float, cy: float, w: float, h: float, *, filled: bool) -> str:
    x, y = cx - w / 2, cy - h / 2
    body = (
        f'<rect class="glyph{" filled" if filled else ""}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"/>'
    )
    # On a filled envelope the flap must contrast with the body, whatever colour the state gives the glyph.
    flap_style = ' style="stroke:#fff"' if filled else ""
    flap = f'<path class="glyph"{flap_style} d="M{_n(x)},{_n(y)}L{_n(cx)},{_n(cy + 1)}L{_n(x + w)},{_n(y)}"/>'
    return body + flap


def _event_glyph(definition: str, cx: float, cy: float, r: float, *, throwing: bool) -> str:
    fill = " filled" if throwing else ""
    if definition == "timer":
        radius = r * 0.62
        ticks = "".join(
            f"M{_n(cx + radius * 0.75 * math.cos(a))},{_n(cy + radius * 0.75 * math.sin(a))}"
            f"L{_n(cx + radius * math.cos(a))},{_n(cy + radius * math.sin(a))}"
            for a in (i * math.pi / 6 for i in range(12))
        )
        hands = f"M{_n(cx)},{_n(cy - radius * 0.65)}L{_n(cx)},{_n(cy)}L{_n(cx + radius * 0.45)},{_n(cy + radius * 0.1)}"
        return (
            f'<circle class="glyph" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(radius)}"/>'
            f'<path class="glyph" d="{ticks}" style="stroke-width:1"/><path class="glyph" d="{hands}"/>'
        )
    if definition == "message":
        return _envelope(cx, cy, r * 1.05, r * 0.72, filled=throwing)
    if definition == "signal":
        s = r * 0.6
        return (
            f'<path class="glyph{fill}" d="M{_n(cx)},{_n(cy - s)}L{_n(cx + s * 0.9)},{_n(cy + s * 0.6)}'
            f'L{_n(cx - s * 0.9)},{_n(cy + s * 0.6)}Z"/>'
        )
    if definition == "error":
        s = r * 0.55
        return (
            f'<path class="glyph{fill}" d="M{_n(cx - s)},{_n(cy + s)}L{_n(cx - s * 0.4)},{_n(cy - s)}'
            f"L{_n(cx + s * 0.2)},{_n(cy + s * 0.2)}L{_n(cx + s)},{_n(cy - s)}L{_n(cx + s * 0.4)},{_n(cy + s)}"
            f'L{_n(cx - s * 0.2)},{_n(cy - s * 0.2)}Z"/>'
        )
    if definition == "escalation":
        s = r * 0.6
        return (
            f'<path class="glyph{fill}" d="M{_n(cx)},{_n(cy - s)}L{_n(cx + s * 0.7)},{_n(cy + s)}'
            f'L{_n(cx)},{_n(cy + s * 0.3)}L{_n(cx - s * 0.7)},{_n(cy + s)}Z"/>'
        )
    if definition == "terminate":
        return f'<circle class="glyph filled" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * 0.6)}"/>'
    if definition == "conditional":
        s = r * 0.5
        lines = "".join(f"M{_n(cx - s * 0.6)},{_n(cy + dy * s)}h{_n(s * 1.2)}" for dy in (-0.5, -0.1, 0.3, 0.7))
        return (
            f'<rect class="glyph" x="{_n(cx - s * 0.8)}" y="{_n(cy - s)}" width="{_n(s * 1.6)}" height="{_n(s * 2)}"/>'
            f'<path class="glyph" d="{lines}"/>'
        )
    if definition == "link":
        s = r * 0.55
        return (
            f'<path class="glyph{fill}" d="M{_n(cx - s)},{_n(cy - s * 0.3)}h{_n(s)}v{_n(-s * 0.4)}'
            f'l{_n(s)},{_n(s * 0.7)}l{_n(-s)},{_n(s * 0.7)}v{_n(-s * 0.4)}h{_n(-s)}Z"/>'
        )
    if definition == "compensate":
        s = r * 0.5
        return (
            f'<path class="glyph{fill}" d="M{_n(cx - s)},{_n(cy)}l{_n(s)},{_n(-s * 0.7)}v{_n(s * 1.4)}Z'
            f'M{_n(cx)},{_n(cy)}l{_n(s)},{_n(-s * 0.7)}v{_n(s * 1.4)}Z"/>'
        )
    return ""


# ---------------------------------------------------------------------------------------------
# Element drawing
# ---------------------------------------------------------------------------------------------
class _Renderer:
    def __init__(
        self,
        index: Mapping[str, etree._Element],
        states: Mapping[str, ElementState],
        taken: set[str],
        prefix: str,
        words: DiagramWords,
    ) -> None:
        self.index = index
        self.states = states
        self.taken = taken
        self.prefix = prefix
        self.words = words

    # -- containers -------------------------------------------------------------------------
    def container(self, shape: _Shape) -> str:
        element_id = shape.element.get("id") or ""
        name = _name(shape.element)
        box = shape.box
        css = "pool" if shape.kind == "participant" else "lane"
        frame = f'<rect class="frame" x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}"/>'
        horizontal = shape.di.get("isHorizontal") != "false"
        has_lanes = shape.kind == "participant" and self._participant_has_lanes(shape.element)
        if horizontal:
            band = f'<path class="frame" d="M{_n(box.x + _HEADER)},{_n(box.y)}v{_n(box.h)}"/>' if has_lanes else ""
            lines = _wrap(name, max(box.h - 10, 10), _POOL_FONT, 2)
            cx, cy = box.x + _HEADER / 2, box.cy
            text = _text_block(lines, cx, cy, _POOL_FONT, f"{css}-label", transform=f"rotate(-90 {_n(cx)} {_n(cy)})")
        else:
            band = f'<path class="frame" d="M{_n(box.x)},{_n(box.y + _HEADER)}h{_n(box.w)}"/>' if has_lanes else ""
            lines = _wrap(name, max(box.w - 10, 10), _POOL_FONT, 2)
            text = _text_block(lines, box.cx, box.y + _HEADER / 2, _POOL_FONT, f"{css}-label")
        hover = _title(name) if name else ""
        return f'<g class="{css}" data-element-id="{_esc(element_id)}">{hover}{frame}{band}{text}</g>'

    def _participant_has_lanes(self, participant: etree._Element) -> bool:
        process = self.index.get(participant.get("processRef") or "")
        return process is not None and process.find(f"{{{BPMN_NS}}}laneSet/{{{BPMN_NS}}}lane") is not None

    # -- flow nodes -------------------------------------------------------------------------
    def node(self, shape: _Shape) -> str:
        element_id = shape.element.get("id") or ""
        state = self.states.get(element_id, ElementState.PENDING)
        kind = shape.kind
        extra: list[str] = []
        if kind in EVENTS:
            family = "event"
            body = self._event(shape)
            interrupting = shape.element.get("cancelActivity", shape.element.get("isInterrupting", "true"))
            if interrupting == "false":
                extra.append("non-interrupting")
        elif kind in GATEWAYS:
            family = "gateway"
            body = self._gateway(shape)
        else:
            family = "activity"
            expanded = _is_expanded(shape)
            if expanded:
                extra.append("expanded")
            body = self._activity(shape, expanded=expanded)
        classes = " ".join(["node", family, kind, *extra, state.value])
        hover = _title(f"{_spoken_name(shape.element, self.words)} — {self.words[STATE_LABELS[state]]}")
        return f'<g class="{classes}" data-element-id="{_esc(element_id)}" data-state="{state.value}">{hover}{body}</g>'

    def _activity(self, shape: _Shape, *, expanded: bool) -> str:
        box, kind = shape.box, shape.kind
        name = _name(shape.element)
        parts = [
            f'<rect class="shape outer" x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
            f'height="{_n(box.h)}" rx="10" ry="10"/>'
        ]
        if kind == "transaction":
            parts.append(
                f'<rect class="shape inner" x="{_n(box.x + 3)}" y="{_n(box.y + 3)}" width="{_n(max(box.w - 6, 0))}" '
                f'height="{_n(max(box.h - 6, 0))}" rx="8" ry="8"/>'
            )
        if expanded:
            lines = _wrap(name, max(box.w - 20, 10), _TASK_FONT, 2)
            top = box.y + 10 + _TASK_FONT * _LINE_HEIGHT * (len(lines) - 1) / 2 + _TASK_FONT / 2
            parts.append(_text_block(lines, box.x + 10, top, _TASK_FONT, "name", anchor="start"))
            return "".join(parts)
        glyph = _task_glyph(kind, box.x + 6, box.y + 6)
        parts.append(glyph)
        collapsed = kind in SUBPROCESSES or kind == "callActivity"
        if collapsed:
            mx, my = box.cx - 7, box.y + box.h - 17
            parts.append(
                f'<rect class="glyph" x="{_n(mx)}" y="{_n(my)}" width="14" height="14"/>'
                f'<path class="glyph" d="M{_n(mx + 7)},{_n(my + 3)}v8M{_n(mx + 3)},{_n(my + 7)}h8"/>'
            )
        # Keep the name clear of the type glyph (top-left) and the collapsed marker (bottom centre).
        top = box.y + (22 if glyph else 4)
        bottom = box.y + box.h - (20 if collapsed else 4)
        line_height = _TASK_FONT * _LINE_HEIGHT
        max_lines = max(1, int((bottom - top) / line_height))
        lines = _wrap(name, max(box.w - 12, 10), _TASK_FONT, max_lines)
        half = len(lines) * line_height / 2
        # Centred like bpmn-js whenever that fits; otherwise pushed down just enough.
        centre = min(max(box.cy, top + half), max(bottom - half, top + half))
        parts.append(_text_block(lines, box.cx, centre, _TASK_FONT, "name"))
        return "".join(parts)

    def _event(self, shape: _Shape) -> str:
        box, kind = shape.box, shape.kind
        cx, cy, r = box.cx, box.cy, min(box.w, box.h) / 2
        parts = [f'<circle class="shape outer" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"/>']
        if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            parts.append(f'<circle class="shape inner" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(max(r - 3, 0))}"/>')
        definition = _event_definition(shape.element)
        if definition:
            throwing = kind in ("endEvent", "intermediateThrowEvent")
            parts.append(_event_glyph(definition, cx, cy, r, throwing=throwing))
        parts.append(self._outer_label(shape))
        return "".join(parts)

    def _gateway(self, shape: _Shape) -> str:
        box, kind = shape.box, shape.kind
        cx, cy = box.cx, box.cy
        hw, hh = box.w / 2, box.h / 2
        parts = [
            f'<polygon class="shape outer" points="{_n(cx)},{_n(box.y)} {_n(box.x + box.w)},{_n(cy)} '
            f'{_n(cx)},{_n(box.y + box.h)} {_n(box.x)},{_n(cy)}"/>'
        ]
        s = min(hw, hh) * 0.42
        cross = f"M{_n(cx - s)},{_n(cy)}H{_n(cx + s)}M{_n(cx)},{_n(cy - s)}V{_n(cy + s)}"
        d = s * 0.72
        saltire = (
            f"M{_n(cx - d)},{_n(cy - d)}L{_n(cx + d)},{_n(cy + d)}M{_n(cx + d)},{_n(cy - d)}L{_n(cx - d)},{_n(cy + d)}"
        )
        if kind == "exclusiveGateway":
            parts.append(f'<path class="glyph bold" d="{saltire}"/>')
        elif kind == "parallelGateway":
            parts.append(f'<path class="glyph bold" d="{cross}"/>')
        elif kind == "inclusiveGateway":
            parts.append(f'<circle class="glyph" style="stroke-width:2.5" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(s)}"/>')
        elif kind == "complexGateway":
            parts.append(f'<path class="glyph bold" d="{cross}{saltire}" style="stroke-width:2.5"/>')
        elif kind == "eventBasedGateway":
            p = s * 0.55
            pentagon = " ".join(
                f"{_n(cx + p * math.sin(a))},{_n(cy - p * math.cos(a))}"
                for a in (i * 2 * math.pi / 5 for i in range(5))
            )
            parts.append(
                f'<circle class="glyph" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(s)}"/>'
                f'<circle class="glyph" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(s * 0.8)}"/>'
                f'<polygon class="glyph" points="{pentagon}"/>'
            )
        parts.append(self._outer_label(shape))
        return "".join(parts)

    def _outer_label(self, shape: _Shape) -> str:
        name = _name(shape.element)
        if not name:
            return ""
        if shape.label is not None and shape.label.w > 0:
            label = shape.label
            lines = _wrap(name, max(label.w * _LABEL_SLACK, 60), _LABEL_FONT, 3)
            return _text_block(lines, label.cx, _below(label.y, len(lines)), _LABEL_FONT, "label")
        lines = _wrap(name, max(shape.box.w * 2.5, 90), _LABEL_FONT, 3)
        return _text_block(lines, shape.box.cx, _below(shape.box.y + shape.box.h + 5, len(lines)), _LABEL_FONT, "label")

    # -- artifacts --------------------------------------------------------------------------
    def artifact(self, shape: _Shape) -> str:
        element_id = shape.element.get("id") or ""
        box, kind = shape.box, shape.kind
        parts: list[str] = []
        if kind == "textAnnotation":
            text_node = shape.element.find(f"{{{BPMN_NS}}}text")
            text = unicodedata.normalize("NFC", (text_node.text or "") if text_node is not None else "").strip()
            parts.append(
                f'<path class="shape" style="fill:none" d="M{_n(box.x + 10)},{_n(box.y)}H{_n(box.x)}'
                f'V{_n(box.y + box.h)}H{_n(box.x + 10)}"/>'
            )
            max_lines = max(1, int(box.h / (_LABEL_FONT * _LINE_HEIGHT)))
            lines = _wrap(text, max(box.w - 10, 10), _LABEL_FONT, max_lines)
            parts.append(_text_block(lines, box.x + 5, box.cy, _LABEL_FONT, "label", anchor="start"))
            hover = text
        elif kind == "group":
            parts.append(
                f'<rect class="shape" x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" '
                'rx="10" ry="10"/>'
            )
            hover = _name(shape.element)
        elif kind == "dataStoreReference":
            ry = min(box.h / 6, 8)
            parts.append(
                f'<path class="shape" d="M{_n(box.x)},{_n(box.y + ry)}'
                f"A{_n(box.w / 2)},{_n(ry)} 0 0 1 {_n(box.x + box.w)},{_n(box.y + ry)}V{_n(box.y + box.h - ry)}"
                f"A{_n(box.w / 2)},{_n(ry)} 0 0 1 {_n(box.x)},{_n(box.y + box.h - ry)}Z"
                f'M{_n(box.x)},{_n(box.y + ry)}A{_n(box.w / 2)},{_n(ry)} 0 0 0 {_n(box.x + box.w)},{_n(box.y + ry)}"/>'
            )
            hover = _name(shape.element)
            parts.append(self._outer_label(shape))
        else:
            fold = min(box.w, box.h) / 4
            parts.append(
                f'<path class="shape" d="M{_n(box.x)},{_n(box.y)}H{_n(box.x + box.w - fold)}L{_n(box.x + box.w)},'
                f'{_n(box.y + fold)}V{_n(box.y + box.h)}H{_n(box.x)}Z"/>'
            )
            hover = _name(shape.element)
            parts.append(self._outer_label(shape))
        title = _title(hover) if hover else ""
        return f'<g class="artifact {kind}" data-element-id="{_esc(element_id)}">{title}{"".join(parts)}</g>'

    # -- connections ------------------------------------------------------------------------
    def edge(self, edge: _Edge) -> str:
        element_id = edge.element.get("id") or ""
        taken = edge.kind == "sequenceFlow" and element_id in self.taken
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in edge.points)
        markers = ""
        if edge.kind == "sequenceFlow":
            markers = f' marker-end="url(#{self.prefix}-arrow{"-taken" if taken else ""})"'
        elif edge.kind == "messageFlow":
            markers = f' marker-start="url(#{self.prefix}-message-start)" marker-end="url(#{self.prefix}-message-end)"'
        elif edge.kind in ("dataInputAssociation", "dataOutputAssociation") or (
            edge.kind == "association" and edge.element.get("associationDirection") in ("One", "Both")
        ):
            markers = f' marker-end="url(#{self.prefix}-open-arrow)"'
        parts = [f'<polyline class="line" points="{points}"{markers}/>']
        if edge.kind == "sequenceFlow" and self._is_default(edge.element):
            parts.append(self._default_mark(edge.points))
        name = _name(edge.element)
        if name:
            if edge.label is not None and edge.label.w > 0:
                lines = _wrap(name, max(edge.label.w * _LABEL_SLACK, 60), _LABEL_FONT, 3)
                centre = _below(edge.label.y, len(lines))
                parts.append(_text_block(lines, edge.label.cx, centre, _LABEL_FONT, "flow-label"))
            else:
                mx, my = _path_midpoint(edge.points)
                lines = _wrap(name, 90, _LABEL_FONT, 3)
                parts.append(_text_block(lines, mx, my - 8, _LABEL_FONT, "flow-label"))
        css = "flow " + edge.kind + (" association" if edge.kind.endswith("Association") else "")
        if taken:
            css += " taken"
        hover_text = self._edge_hover(edge, name) + (f" — {self.words[TAKEN_LABEL]}" if taken else "")
        hover = _title(hover_text) if hover_text else ""
        return f'<g class="{css}" data-element-id="{_esc(element_id)}">{hover}{"".join(parts)}</g>'

    def _edge_hover(self, edge: _Edge, name: str) -> str:
        """A flow by its name, else by the steps it joins ("Thẩm định hồ sơ → Quyết định bổ nhiệm"); an unnamed
        association (to a note or a data object) has no hover text of its own."""
        if name or edge.kind not in ("sequenceFlow", "messageFlow"):
            return name
        source = self.index.get(edge.element.get("sourceRef") or "")
        target = self.index.get(edge.element.get("targetRef") or "")
        return f"{_spoken_name(source, self.words)} → {_spoken_name(target, self.words)}"

    def _is_default(self, flow: etree._Element) -> bool:
        source = self.index.get(flow.get("sourceRef") or "")
        return source is not None and source.get("default") == flow.get("id")

    @staticmethod
    def _default_mark(points: tuple[tuple[float, float], ...]) -> str:
        (x0, y0), (x1, y1) = points[0], points[1]
        length = math.dist((x0, y0), (x1, y1)) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        qx, qy = x0 + ux * min(12, length / 2), y0 + uy * min(12, length / 2)
        nx, ny = -uy, ux
        return (
            f'<path class="default-mark" d="M{_n(qx + 5 * nx + 3 * ux)},{_n(qy + 5 * ny + 3 * uy)}'
            f'L{_n(qx - 5 * nx - 3 * ux)},{_n(qy - 5 * ny - 3 * uy)}"/>'
        )

    def defs(self) -> str:
        p = self.prefix
        arrow = "M0,0L10,5L0,10Z"
        return (
            "<defs>"
            f'<marker id="{p}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path class="arrowhead" d="{arrow}"/></marker>'
            f'<marker id="{p}-arrow-taken" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="11" markerHeight="11" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path class="arrowhead taken" d="{arrow}"/></marker>'
            f'<marker id="{p}-open-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path class="arrowhead open" style="fill:none" '
            'd="M0,0L10,5L0,10"/></marker>'
            f'<marker id="{p}-message-start" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="8" markerHeight="8" '
            f'markerUnits="userSpaceOnUse"><circle class="arrowhead open" cx="5" cy="5" r="4"/></marker>'
            f'<marker id="{p}-message-end" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path class="arrowhead open" d="{arrow}"/></marker>'
            "</defs>"
        )


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def render_svg(
    bpmn_xml: bytes | str,
    process_id: str,
    states: Mapping[str, ElementState | str] | None = None,
    taken_flows: Iterable[str] = (),
    title: str | None = None,
    *,
    taken_steps: Iterable[TakenStep] | None = None,
    infer_taken_flows: bool = True,
    words: DiagramWords = ENGLISH,
) -> str:
    """Render the diagram of `process_id` as an SVG document (a `str`, to be sent or inlined as UTF-8).

    `states` maps BPMN element ids to their state; elements not in it are pending. `taken_flows` are
    sequence-flow ids to highlight. `taken_steps`, the (source, target) pairs a workflow's tokens travelled
    (`element_states_from_workflow`), add the flows between them; without them, and unless `infer_taken_flows` is
    false, the flows whose source and target are both completed or current are added (see the module docstring for
    why that is approximate). `words`: the
    diagram's own words in the reader's language (the model's names are drawn as written); English by default.

    The diagram drawn is the BPMN plane of the process itself or of a collaboration in which it takes part
    (all pools of that collaboration are drawn). A model without such a plane, or whose plane holds nothing
    drawable, gives a small SVG saying so instead of an error. Malformed or unsafe XML still raises
    `workflows.errors.Invalid` (from `parse_xml_safely`); an unknown state value raises `ValueError`.
    """
    content = bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml
    root = parse_xml_safely(content, f"{process_id}.bpmn")
    index: dict[str, etree._Element] = {}
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        element_id = element.get("id")
        if element_id:
            index.setdefault(element_id, element)
    process = index.get(process_id)
    heading = title or (_name(process) if process is not None else "") or process_id

    plane = _find_plane(root, process_id)
    shapes, edges = _collect(plane, index) if plane is not None else ([], [])
    if not shapes and not edges:
        return _fallback_svg(heading, words[NO_DIAGRAM_MESSAGE])

    normalised = _normalise_states(states)
    taken = set(taken_flows)
    if taken_steps is not None:
        steps = set(taken_steps)
        taken |= _flows_between(index, lambda source, target: (source, target) in steps)
    elif infer_taken_flows:
        taken |= _flows_between(
            index, lambda source, target: normalised.get(source) in _REACHED and normalised.get(target) in _REACHED
        )
    prefix = "bpmn-" + re.sub(r"[^A-Za-z0-9_-]", "_", process_id)
    renderer = _Renderer(index, normalised, taken, prefix, words)

    pools = [s for s in shapes if s.kind == "participant"]
    lanes = [s for s in shapes if s.kind == "lane"]
    expanded = [s for s in shapes if _is_expanded(s)]
    groups = [s for s in shapes if s.kind == "group"]
    nodes = [s for s in shapes if s.kind in FLOW_NODES and s.kind != "boundaryEvent" and not _is_expanded(s)]
    boundaries = [s for s in shapes if s.kind == "boundaryEvent"]
    artifacts = [s for s in shapes if s.kind not in FLOW_NODES and s.kind not in ("participant", "lane", "group")]

    # Painter's order: containers first, then connections, then nodes over the ends of the connections,
    # and boundary events last so that they sit on top of the edge of their activity.
    body = "".join(
        [
            *(renderer.container(s) for s in pools),
            *(renderer.container(s) for s in lanes),
            *(renderer.artifact(s) for s in groups),
            *(renderer.node(s) for s in expanded),
            *(renderer.edge(e) for e in edges),
            *(renderer.artifact(s) for s in artifacts),
            *(renderer.node(s) for s in nodes),
            *(renderer.node(s) for s in boundaries),
        ]
    )

    min_x, min_y, max_x, max_y = _extent(shapes, edges)
    width, height = max_x - min_x + 2 * _MARGIN, max_y - min_y + 2 * _MARGIN
    view_box = f"{_n(min_x - _MARGIN)} {_n(min_y - _MARGIN)} {_n(width)} {_n(height)}"
    label = _esc(heading)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" viewBox="{view_box}" '
        f'width="{_n(width)}" height="{_n(height)}" role="img" aria-label="{label}" '
        f'data-process-id="{_esc(process_id)}">'
        f"<title>{label}</title><style>{_STYLE}</style>{renderer.defs()}{body}</svg>"
    )


def _is_expanded(shape: _Shape) -> bool:
    return shape.kind in SUBPROCESSES and shape.di.get("isExpanded") == "true"


def _extent(shapes: list[_Shape], edges: list[_Edge]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    label_room = 3 * _LABEL_FONT * _LINE_HEIGHT
    for shape in shapes:
        xs += [shape.box.x, shape.box.x + shape.box.w]
        ys += [shape.box.y, shape.box.y + shape.box.h]
        if shape.label is not None:
            xs += [shape.label.x, shape.label.x + shape.label.w]
            ys += [shape.label.y, shape.label.y + max(shape.label.h, label_room)]
        if shape.label is None and shape.kind in EVENTS | GATEWAYS and shape.element.get("name"):
            # Room for the default label placed under the shape.
            half = max(shape.box.w * 2.5, 90) / 2
            xs += [shape.box.cx - half, shape.box.cx + half]
            ys.append(shape.box.y + shape.box.h + 5 + label_room)
    for edge in edges:
        xs += [x for x, _ in edge.points]
        ys += [y for _, y in edge.points]
        if edge.label is not None:
            xs += [edge.label.x, edge.label.x + edge.label.w]
            ys += [edge.label.y, edge.label.y + edge.label.h]
    return min(xs), min(ys), max(xs), max(ys)


def _fallback_svg(heading: str, message: str) -> str:
    label = _esc(heading)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram no-diagram" viewBox="0 0 400 60" '
        f'width="400" height="60" role="img" aria-label="{label}: {_esc(message)}">'
        f"<title>{label}</title><style>{_STYLE}</style>"
        '<rect x="0.5" y="0.5" width="399" height="59" rx="6" style="fill:#f8fafc;stroke:#cbd5e1"/>'
        f'<text class="message" x="200" y="35" text-anchor="middle">{_esc(message)}</text></svg>'
    )
