"""Validation of an uploaded model bundle (BPMN + DMN files and the JSON Schema forms they reference).

Everything is checked before anything is stored, and every problem found is reported at once
(`Invalid.problems`), each located by file, element id and source line where we can.

Order of the checks:

1. file names, sizes and encoding;
2. safe XML parsing: a DOCTYPE or any entity declaration is refused outright (no external entities,
   no entity expansion), then lxml parses with entity resolution, DTD loading and network access off;
3. XSD validation of each .bpmn (BPMN 2.0 + SpiffWorkflow extensions) and .dmn, listing every schema error;
4. bundle semantics: at least one executable process, a start event in each, the forms referenced by
   user tasks exist and are valid JSON Schemas (draft 2020-12), the DMN decisions called exist,
   conditions/scripts are Python syntax, timer expressions are quoted;
5. only when 1-3 found nothing: SpiffWorkflow builds the spec of each executable process, and its
   `ValidationException`s become problems too.

SpiffWorkflow never sees raw bytes: `build_parser` hands it trees that went through `parse_xml_safely`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from workflows.errors import N_, Amount, Invalid, Problem
from workflows.scripting import SANDBOX_MESSAGES as _SANDBOX_MESSAGES
from workflows.scripting import refusals_in

__all__ = [
    "DOCTYPE_MESSAGE",
    "MAX_FILE_BYTES",
    "NO_EXECUTABLE_MESSAGE",
    "BundleFile",
    "ValidatedBundle",
    "build_parser",
    "bundles_from_directory",
    "parse_xml_safely",
    "sandbox_checked",
    "sandbox_problems",
    "validate_bundle",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_SCHEMA_ERRORS_PER_FILE = 100

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

FORM_PROPERTY = "formJsonSchemaFilename"

DOCTYPE_MESSAGE = N_(
    "XML with a DOCTYPE or entity declarations is not accepted (external entities and entity expansion are refused)"
)
NO_EXECUTABLE_MESSAGE = N_('no executable process: set isExecutable="true" on the process')

_FILENAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_FORM_FILENAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json")
_XML_DECL_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# An unquoted ISO 8601 duration/cycle: a valid Python name (or division), so it only fails at run time.
_BARE_ISO_TIMER_RE = re.compile(r"(R\d*/)?P(\d+[YMWD])*(T(\d+(\.\d+)?[HMS])+)?")
_CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
_NAMESPACE_ABBREVIATIONS = {
    BPMN_NS: "bpmn",
    BPMNDI_NS: "bpmndi",
    DC_NS: "dc",
    DI_NS: "di",
    SPIFF_NS: "spiffworkflow",
}

_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_ENCODINGS_TO_SCAN = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")

# One lxml XMLSchema object keeps its error log on itself: serialise its use between threads.
_schema_lock = threading.Lock()
_dmn_schemas: dict[str, etree.XMLSchema] = {}


# ---------------------------------------------------------------------------------------------
# Public data types
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BundleFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class ProcessContent:
    """What one process of a bundle runs from — its own file, the DMN files of the decisions it calls, the files of
    the processes it calls (and so on), the forms those files name — and the hash a deployed version is known by.
    Another process or an unused file in the same upload does not change it: deploying an unchanged process again,
    alone or with others, is a no-op (the start-up deployment bundles bpmn/ this way already)."""

    files: list[BundleFile]  # sorted by filename
    forms: dict[str, bytes]  # sorted by filename
    content_hash: str


@dataclass
class ValidatedBundle:
    files: list[BundleFile]  # the input, sorted by filename
    process_ids: list[str]  # executable processes (isExecutable="true"), in document order
    process_names: dict[str, str]  # process id -> name attribute (or the id)
    form_files: dict[str, bytes]  # every form referenced, filename -> content
    content_hash: str  # sha256 hex over the sorted files and the referenced forms: the upload as a whole
    processes: dict[str, ProcessContent]  # process id -> what it runs from: what a version stores


# ---------------------------------------------------------------------------------------------
# Safe XML
# ---------------------------------------------------------------------------------------------
def _safe_parser() -> etree.XMLParser:
    # A new parser per call: lxml parser objects must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
        dtd_validation=False,
    )


def _find_marker(content: bytes) -> int | None:
    """Offset of a DOCTYPE/ENTITY declaration in any of the encodings XML allows, or None."""
    for marker in _MARKERS:
        pos = content.find(marker)
        if pos >= 0:
            return pos
        for encoding in _ENCODINGS_TO_SCAN:
            if content.find(marker.decode("ascii").encode(encoding)) >= 0:
                return -1  # found, but the line cannot be computed by counting b"\n"
    return None


# A problem's message is its msgid: what varies (an id, a name, what a library said) goes in `message_args`.
# A file that is not XML: what is wrong in the reader's language, then what lxml said (in English, for whoever debugs
# the model) without its own ", line 34, column 13": where (the line and column lxml found it at) is the problem's
# place, said before it on the page, in the API's fields and by the CLI, as for any other problem.
_NOT_XML = N_("The %(kind)s file is not valid XML. Technical details: %(detail)s")
_LXML_PLACE_RE = re.compile(r",? ?line \d+, column \d+$")


def _not_xml(filename: str, detail: str, line: int | None = None, column: int | None = None) -> Problem:
    kind = "DMN" if filename.endswith(".dmn") else "BPMN"
    column = column if line else None
    detail = _LXML_PLACE_RE.sub("", detail).strip() or detail
    return Problem(_NOT_XML, filename=filename, line=line, column=column, message_args={"kind": kind, "detail": detail})


def parse_xml_safely(content: bytes, filename: str) -> etree._Element:
    """Parse untrusted XML: refuse any DTD outright, never resolve entities nor touch the network.

    Raises `Invalid` with one located `Problem` (the line and column come from lxml for malformed XML).
    """
    pos = _find_marker(content)
    if pos is not None:
        line = content.count(b"\n", 0, pos) + 1 if pos >= 0 else None
        raise Invalid(f"{filename}: {DOCTYPE_MESSAGE}", [Problem(DOCTYPE_MESSAGE, line=line, filename=filename)])
    try:
        root = etree.fromstring(content, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        position = getattr(exc, "position", None) or (exc.lineno, None)
        problem = _not_xml(filename, exc.msg, line=exc.lineno or None, column=position[1] or None)
        raise Invalid(f"{filename}: {problem.explained}", [problem]) from None
    except ValueError as exc:  # e.g. a str with an encoding declaration, or empty input
        problem = _not_xml(filename, str(exc))
        raise Invalid(f"{filename}: {problem.explained}", [problem]) from None
    if root is None:
        message = N_("malformed XML: empty document")
        raise Invalid(f"{filename}: {message}", [Problem(message, filename=filename)])
    # Second line of defence, should the byte scan ever be fooled.
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype or any(True for _ in root.iter(etree.Entity)):
        raise Invalid(f"{filename}: {DOCTYPE_MESSAGE}", [Problem(DOCTYPE_MESSAGE, filename=filename)])
    return root


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _localname(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _namespace(element: etree._Element) -> str | None:
    tag = element.tag
    return etree.QName(tag).namespace if isinstance(tag, str) else None


def _shorten(message: str) -> str:
    for uri, prefix in _NAMESPACE_ABBREVIATIONS.items():
        message = message.replace("{" + uri + "}", prefix + ":")
    return message


def _owner(element: etree._Element) -> etree._Element:
    """The flow element (task, event, gateway, flow...) an extension/expression belongs to."""
    current = element
    while True:
        parent = current.getparent()
        if parent is None or (_namespace(parent) == BPMN_NS and _localname(parent) in _CONTAINERS):
            return current
        if _namespace(parent) == BPMN_NS and _localname(parent) == "definitions":
            return current
        current = parent


def _at(message: str, owner: etree._Element, located: etree._Element, filename: str, **message_args: Any) -> Problem:
    return Problem(
        message, element_id=owner.get("id"), line=_line(located), filename=filename, message_args=message_args
    )


def _line(element: etree._Element | None) -> int | None:
    if element is None:
        return None
    line = element.sourceline
    return int(line) if line else None


def _executable_processes(root: etree._Element) -> list[etree._Element]:
    return [p for p in root.findall(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"]


def _referenced_decisions(root: etree._Element) -> list[tuple[str | None, etree._Element]]:
    refs: list[tuple[str | None, etree._Element]] = []
    for task in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        called = task.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}calledDecisionId")
        text = called.text.strip() if called is not None and called.text else None
        refs.append((text or None, task))
    return refs


def _decision_ids(root: etree._Element) -> list[tuple[str, etree._Element]]:
    ns = _namespace(root)
    return [(d.get("id") or "", d) for d in root.findall(f"{{{ns}}}decision")]


# A process's own property naming the data fields that say what a case is about, comma-separated ("subject_line,
# amount"): kept on the instance as its summary and shown in the inbox (decision 0144).
CASE_SUMMARY_PROPERTY = "caseSummary"
CASE_SUMMARY_LIMIT = 4  # fields: a list row has room for a line, not a form
_DATA_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


def _case_summary_property(process: etree._Element) -> etree._Element | None:
    for prop in process.findall(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"):
        if prop.get("name") == CASE_SUMMARY_PROPERTY:
            return prop
    return None


def _summary_names(prop: etree._Element) -> list[str]:
    return [name.strip() for name in (prop.get("value") or "").split(",") if name.strip()]


def case_summary_fields(root: etree._Element, process_id: str) -> tuple[str, ...]:
    """The data fields the process's `caseSummary` names, in its order; () when it names none. A deployed version
    passed `_case_summary_problems`, so every name is a field name."""
    for process in root.findall(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_id:
            prop = _case_summary_property(process)
            return tuple(_summary_names(prop)) if prop is not None else ()
    return ()


def _case_summary_problems(process: etree._Element, filename: str) -> Iterator[Problem]:
    prop = _case_summary_property(process)
    if prop is None:
        return
    names = _summary_names(prop)
    if not names:
        yield _at(N_("the caseSummary property names no data field"), process, prop, filename)
    for name in names:
        if not _DATA_FIELD_NAME.fullmatch(name):
            message = N_("the caseSummary property names %(field)s, which is not a data field name")
            yield _at(message, process, prop, filename, field=repr(name))
    if len(names) > CASE_SUMMARY_LIMIT:
        message = N_("the caseSummary property names %(count)d data fields; at most %(limit)d fit on a list row")
        yield _at(message, process, prop, filename, count=len(names), limit=CASE_SUMMARY_LIMIT)
    if len(set(names)) != len(names):
        yield _at(N_("the caseSummary property names a data field twice"), process, prop, filename)


def _form_references(root: etree._Element) -> list[tuple[str, etree._Element]]:
    refs = []
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == FORM_PROPERTY:
            refs.append(((prop.get("value") or "").strip(), prop))
    return refs


def _process_of(trees: dict[str, etree._Element], filename: str | None, element_id: str | None) -> str | None:
    """Id of the top-level process holding the element (or being it)."""
    root = trees.get(filename or "")
    element = _element_by_id(root, element_id or "") if root is not None else None
    while element is not None:
        if _namespace(element) == BPMN_NS and _localname(element) == "process":
            return element.get("id")
        element = element.getparent()
    return None


def _element_by_id(root: etree._Element, element_id: str) -> etree._Element | None:
    if not element_id:
        return None
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") == element_id:
            return element
    return None


def _xsd_problems(schema: etree.XMLSchema, root: etree._Element, filename: str) -> list[Problem]:
    with _schema_lock:
        valid = schema.validate(root)
        errors = list(schema.error_log)
    if valid:
        return []
    nsmap = {k: v for k, v in root.nsmap.items() if k}
    problems = []
    for error in errors[:MAX_SCHEMA_ERRORS_PER_FILE]:
        element_id = None
        try:
            found = root.getroottree().xpath(error.path, namespaces=nsmap) if error.path else []
        except etree.XPathError:
            found = []
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            element_id = found[0].get("id") or _owner(found[0]).get("id")
        problems.append(
            Problem(
                N_("does not conform to the schema. Technical details: %(detail)s"),
                element_id=element_id,
                line=error.line or None,
                filename=filename,
                message_args={"detail": _shorten(error.message)},
            )
        )
    if len(errors) > MAX_SCHEMA_ERRORS_PER_FILE:
        problems.append(
            Problem(
                N_("%(count)d more schema errors not listed"),
                filename=filename,
                message_args={"count": len(errors) - MAX_SCHEMA_ERRORS_PER_FILE},
            )
        )
    return problems


def _dmn_schema(namespace: str) -> etree.XMLSchema | None:
    path = DMN_SCHEMAS.get(namespace)
    if path is None:
        return None
    with _schema_lock:
        schema = _dmn_schemas.get(namespace)
        if schema is None:
            # Trusted files shipped with SpiffWorkflow (they import their DI/DC schemas by relative path).
            schema = etree.XMLSchema(etree.parse(path))
            _dmn_schemas[namespace] = schema
    return schema


def _bpmn_schema() -> etree.XMLSchema:
    return VALIDATOR.validator


def _check_encoding(file: BundleFile) -> Problem | None:
    """Stored versions are kept as UTF-8 text: refuse anything that would not survive that round trip."""
    try:
        file.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = file.content.count(b"\n", 0, exc.start) + 1
        return Problem("the file must be UTF-8 encoded", line=line, filename=file.filename)
    match = _XML_DECL_ENCODING_RE.match(file.content.removeprefix(b"\xef\xbb\xbf"))
    if match and match.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8", "utf8"):
        declared = match.group(1).decode("ascii")
        return Problem(
            N_('the XML declaration says encoding="%(encoding)s"; only UTF-8 is accepted'),
            line=1,
            filename=file.filename,
            message_args={"encoding": declared},
        )
    return None


# What is checked as Python, said of the kind of code it is when it is not even Python. What the sandbox refuses is
# said the same way for every kind (`workflows.scripting.refusals_in`): the element and line say where.
_NOT_PYTHON: dict[str, str] = {
    "condition": N_("the condition is not valid Python: %(detail)s"),
    "script": N_("the script is not valid Python: %(detail)s"),
    "timer": N_("the timer %(tag)s is not valid Python: %(detail)s"),
}


def _python_problems(
    source: str,
    mode: Literal["eval", "exec"],
    what: str,
    element: etree._Element,
    filename: str,
    tag: str = "",
    *,
    syntax: bool = True,
) -> list[Problem]:
    """Why the code would not run: it is not Python (one problem), or everything the sandbox refuses in it. `what`:
    "condition", "script" or "timer" (`tag`: the timer's timeDuration, timeDate or timeCycle). Without `syntax` only
    what the sandbox refuses is reported (text the engine rewrites before running it: DMN cells)."""
    owner = _owner(element)
    not_python = _NOT_PYTHON[what]
    base = _line(element) or 0
    try:
        ast.parse(source, mode=mode)
    except SyntaxError as exc:
        if not syntax:
            return []
        line = base + (exc.lineno or 1) - 1 if base else None
        return [
            Problem(
                not_python,
                element_id=owner.get("id"),
                line=line,
                filename=filename,
                message_args={"tag": tag, "detail": exc.msg},
            )
        ]
    except (ValueError, RecursionError, MemoryError) as exc:
        if not syntax:
            return []
        return [
            Problem(
                not_python,
                element_id=owner.get("id"),
                line=_line(element),
                filename=filename,
                message_args={"tag": tag, "detail": exc.__class__.__name__},
            )
        ]
    # Every refusal of the code, each on its own line: an administrator fixes them all before uploading again.
    return [
        Problem(
            refusal.message,
            element_id=owner.get("id"),
            line=base + refusal.line - 1 if base else None,
            filename=filename,
            message_args={"name": refusal.name, "detail": refusal.detail},
        )
        for refusal in refusals_in(mode, source)
    ]


def _dangling_flow_problems(process: etree._Element, filename: str) -> Iterator[Problem]:
    """A sequence flow from or to an element that is not beside it in its process or sub-process. The schema does
    not catch it (the references are plain ids there); SpiffWorkflow either ends the process at once (a missing
    source) or names the wrong thing (a missing target)."""
    containers = [process, *process.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction")]
    for container in containers:
        present = {child.get("id") for child in container if isinstance(child.tag, str)}
        for flow in container.findall(f"{{{BPMN_NS}}}sequenceFlow"):
            for end in ("sourceRef", "targetRef"):
                ref = flow.get(end)
                if ref is not None and ref not in present:  # a missing attribute is the schema's to report
                    yield Problem(
                        N_("the sequence flow's %(end)s %(ref)s is not an element of its process"),
                        element_id=flow.get("id"),
                        line=_line(flow),
                        filename=filename,
                        message_args={"end": end, "ref": repr(ref)},
                    )


_EVENTS_EVERY_PROCESS_NEEDS = (
    ("startEvent", N_("the process has no start event")),
    ("endEvent", N_("the process has no end event: draw where each path of the procedure ends")),
)
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway")


def _dead_end_gateways(process: etree._Element, filename: str) -> Iterator[Problem]:
    """A gateway that no sequence flow leaves: the path reaching it would end there silently, its decision unused
    (SpiffWorkflow ends the branch without a word)."""
    containers = [process, *process.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction")]
    for container in containers:
        sources = {flow.get("sourceRef") for flow in container.findall(f"{{{BPMN_NS}}}sequenceFlow")}
        for tag in _GATEWAYS:
            for gateway in container.findall(f"{{{BPMN_NS}}}{tag}"):
                if gateway.get("id") not in sources:
                    yield Problem(
                        N_("no sequence flow leaves this gateway: the path that reaches it ends there"),
                        element_id=gateway.get("id"),
                        line=_line(gateway),
                        filename=filename,
                    )


def _expression_problems(root: etree._Element, filename: str) -> Iterator[Problem]:
    # SpiffWorkflow hands the raw text to eval()/exec(): check it the same way (eval() itself only
    # skips leading spaces and tabs, so a condition starting with a newline and an indent fails).
    for condition in root.iter(f"{{{BPMN_NS}}}conditionExpression"):
        raw = condition.text or ""
        if raw.strip():
            yield from _python_problems(raw.lstrip(" \t"), "eval", "condition", condition, filename)
    # Every other expression the engine evaluates: a conditional event's or a loop's condition, a multi-instance
    # cardinality or completion condition, a message's correlation path.
    for tag in ("condition", "loopCondition", "loopCardinality", "completionCondition", "messagePath"):
        for expression in root.iter(f"{{{BPMN_NS}}}{tag}"):
            raw = expression.text or ""
            if raw.strip():
                yield from _python_problems(raw.strip(), "eval", "condition", expression, filename)
    # Script tasks, and the pre- and post-scripts SpiffWorkflow runs around any task.
    scripts = (f"{{{BPMN_NS}}}script", f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript")
    for script in root.iter(*scripts):
        text = script.text or ""
        if text.strip():
            yield from _python_problems(text, "exec", "script", script, filename)
    # The assignee and due-date expressions the application evaluates on a ready task (workflows/engine/runtime.py
    # `describe_user_task`): a failure there is only reported beside the task, so only the sandbox is checked.
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") in ("assignee", "dueDate") and (prop.get("value") or "").strip():
            yield from _python_problems(
                (prop.get("value") or "").strip(), "eval", "condition", prop, filename, syntax=False
            )
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        for attribute in ("assignee", "dueDate"):
            value = (task.get(f"{{{CAMUNDA_NS}}}{attribute}") or "").strip()
            if value.startswith("${") and value.endswith("}"):
                yield from _python_problems(value[2:-1], "eval", "condition", task, filename, syntax=False)
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for timer in root.iter(f"{{{BPMN_NS}}}{tag}"):
            raw = timer.text or ""
            text = raw.strip()
            owner = _owner(timer)
            if not text:
                yield Problem(
                    N_("the timer has an empty %(tag)s"),
                    element_id=owner.get("id"),
                    line=_line(timer),
                    filename=filename,
                    message_args={"tag": tag},
                )
            elif _BARE_ISO_TIMER_RE.fullmatch(text):
                yield Problem(
                    N_('timer expressions are Python expressions: write "%(text)s" with the quotes'),
                    element_id=owner.get("id"),
                    line=_line(timer),
                    filename=filename,
                    message_args={"text": text},
                )
            else:
                yield from _python_problems(raw.lstrip(" \t"), "eval", "timer", timer, filename, tag)


_DMN_EVALUATED = ("inputExpression", "inputEntry", "outputEntry")


def _dmn_expression_problems(root: etree._Element, filename: str) -> Iterator[Problem]:
    """DMN input expressions and rule cells are Python too (SpiffWorkflow rewrites cells such as `> 5` or
    `5 < ? < 40` before evaluating them, so only what the sandbox refuses is checked, never the syntax)."""
    ns = _namespace(root) or ""
    for text in root.iter(f"{{{ns}}}text"):
        raw = (text.text or "").strip()
        parent = text.getparent()
        if raw and raw != "-" and parent is not None and _localname(parent) in _DMN_EVALUATED:
            yield from _python_problems(raw, "eval", "condition", text, filename, syntax=False)


_sandbox_checked: dict[str, list[Problem]] = {}
_sandbox_lock = threading.Lock()


def sandbox_checked(content_hash: str) -> list[Problem] | None:
    """`sandbox_problems` of a content already checked, or None: lets a caller skip loading the files."""
    with _sandbox_lock:
        return _sandbox_checked.get(content_hash)


def sandbox_problems(files: dict[str, str], content_hash: str) -> list[Problem]:
    """What the script sandbox refuses in a stored version's scripts and expressions: the deploy-time check run
    again on a version deployed before it existed (or before it knew of a name). Kept per content hash, since a
    version never changes."""
    with _sandbox_lock:
        if content_hash in _sandbox_checked:
            return _sandbox_checked[content_hash]
    problems: list[Problem] = []
    for name, text in sorted(files.items()):
        try:
            root = parse_xml_safely(text.encode("utf-8"), name)
        except Invalid:
            continue
        found = _expression_problems(root, name) if name.endswith(".bpmn") else _dmn_expression_problems(root, name)
        problems.extend(p for p in found if p.message in _SANDBOX_MESSAGES)
    with _sandbox_lock:
        if len(_sandbox_checked) < 1024:
            _sandbox_checked[content_hash] = problems
    return problems


_FORM_NOT_FOUND = N_("form %(form)s is not found")
_FORM_TOO_LARGE = N_("form %(form)s is larger than %(megabytes)d MB")


def _load_form(name: str, forms_dir: Path | None, extra_forms: dict[str, bytes]) -> tuple[bytes | None, str | None]:
    """(content, None) or (None, the message saying why: its arguments are `form` and `megabytes`)."""
    if name in extra_forms:
        content = extra_forms[name]
    elif forms_dir is not None:
        path = forms_dir / name
        if not path.is_file():
            return None, _FORM_NOT_FOUND
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, _FORM_TOO_LARGE
        content = path.read_bytes()
    else:
        return None, N_("form %(form)s is not found (no forms were supplied)")
    if len(content) > MAX_FILE_BYTES:
        return None, _FORM_TOO_LARGE
    return content, None


def _form_content_problems(name: str, content: bytes, used_by: dict[str, str]) -> list[Problem]:
    """`used_by`: the model file and the element that name the form (`file`, `element`)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [
            Problem(N_("form (used by %(file)s element %(element)s) must be UTF-8 encoded"), **_form_at(name, used_by))
        ]
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return [
            Problem(
                N_("form (used by %(file)s element %(element)s) is not valid JSON: %(detail)s"),
                line=exc.lineno,
                **_form_at(name, used_by, detail=exc.msg),
            )
        ]
    except RecursionError:
        return [Problem(_FORM_TOO_DEEP, **_form_at(name, used_by))]
    if not isinstance(schema, dict):
        return [
            Problem(
                N_("form (used by %(file)s element %(element)s) must be a JSON object (a JSON Schema)"),
                **_form_at(name, used_by),
            )
        ]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return [
            Problem(
                N_(
                    "form (used by %(file)s element %(element)s) is not a valid JSON Schema (draft 2020-12): %(detail)s"
                ),
                field=where,
                **_form_at(name, used_by, detail=exc.message),
            )
        ]
    except RecursionError:
        return [Problem(_FORM_TOO_DEEP, **_form_at(name, used_by))]
    return []


_FORM_TOO_DEEP = N_("form (used by %(file)s element %(element)s) is nested too deeply")


def _form_at(name: str, used_by: dict[str, str], **more: str) -> dict[str, Any]:
    return {"filename": name, "message_args": {**used_by, **more}}


def _content_hash(files: Iterable[BundleFile], forms: dict[str, bytes]) -> str:
    """Length-prefixed so that no two different bundles can produce the same byte stream."""
    digest = hashlib.sha256(b"canbo-bundle-v1\n")
    for kind, items in (("file", [(f.filename, f.content) for f in files]), ("form", sorted(forms.items()))):
        for name, content in items:
            encoded = name.encode("utf-8")
            digest.update(f"{kind} {len(encoded)} {len(content)}\n".encode("ascii"))
            digest.update(encoded)
            digest.update(content)
    return digest.hexdigest()


def _spiff_problem(exc: ValidationException, trees: dict[str, etree._Element], process_file: str) -> Problem:
    element_id = str(getattr(exc, "id", "") or "") or None
    filename = str(getattr(exc, "file_name", "") or "") or None
    line_number = getattr(exc, "line_number", "")
    line = int(line_number) if isinstance(line_number, int) or str(line_number).isdigit() else None
    # SpiffWorkflow reads `node.line_number`, which lxml elements do not have: find the line ourselves.
    if element_id and (line is None or filename is None):
        candidates = [filename] if filename in trees else [process_file, *sorted(trees)]
        for name in candidates:
            found = _element_by_id(trees[name], element_id) if name in trees else None
            if found is not None:
                filename = filename or name
                line = line or _line(found)
                break
    message = exc.args[0] if exc.args else str(exc)
    notes = getattr(exc, "notes", None) or []
    if notes:
        message = f"{message}. " + ". ".join(str(n) for n in notes)
    # SpiffWorkflow's own words, in English: said as what the library refuses.
    return Problem(
        N_("SpiffWorkflow refuses the model: %(detail)s"),
        element_id=element_id,
        line=line,
        filename=filename or process_file,
        message_args={"detail": str(message)},
    )


def _add_to_parser(parser: SpiffBpmnParser, filename: str, root: etree._Element) -> None:
    if filename.endswith(".dmn"):
        parser.add_dmn_xml(root, filename=filename)
    else:
        parser.add_bpmn_xml(root, filename=filename)


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------
def build_parser(files: list[BundleFile]) -> SpiffBpmnParser:
    """A SpiffBpmnParser holding the bundle, every file parsed by `parse_xml_safely`.

    Used by the engine to rebuild specs from stored (already validated) XML, so no XSD validation
    is repeated here. Raises `Invalid` when a file cannot be read.
    """
    parser = SpiffBpmnParser()
    problems: list[Problem] = []
    for file in sorted(files, key=lambda f: f.filename):
        if not file.filename.endswith((".bpmn", ".dmn")):
            problems.append(Problem("only .bpmn and .dmn files can be parsed", filename=file.filename))
            continue
        try:
            root = parse_xml_safely(file.content, file.filename)
        except Invalid as exc:
            problems.extend(exc.problems)
            continue
        try:
            _add_to_parser(parser, file.filename, root)
        except ValidationException as exc:
            problems.append(_spiff_problem(exc, {file.filename: root}, file.filename))
    if problems:
        raise Invalid("the process model cannot be parsed", problems)
    return parser


def validate_bundle(
    files: list[BundleFile], forms_dir: Path | None, extra_forms: dict[str, bytes] | None = None
) -> ValidatedBundle:
    """Check a bundle completely; raise `Invalid` listing every problem, or return what to store."""
    extra_forms = dict(extra_forms or {})
    ordered = sorted(files, key=lambda f: f.filename)
    problems: list[Problem] = []
    fatal = False  # a problem that keeps SpiffWorkflow from being asked to build the specs

    # 1. names, sizes, encodings
    readable: list[BundleFile] = []
    seen: set[str] = set()
    for file in ordered:
        name = file.filename
        if name in seen:
            problems.append(Problem("the same file name appears twice in the bundle", filename=name))
            fatal = True
            continue
        seen.add(name)
        if not _FILENAME_RE.fullmatch(name) or name.startswith(".") or not name.endswith((".bpmn", ".dmn")):
            problems.append(
                Problem(
                    N_(
                        "invalid file name: upload .bpmn and .dmn model files, and the .json forms they name; a "
                        "model file's name uses only letters, digits, '_', '.' and '-'"
                    ),
                    filename=name,
                )
            )
            fatal = True
            continue
        if len(file.content) > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    N_("the file is too large (%(size)s bytes; the limit is %(limit)s bytes)"),
                    filename=name,
                    message_args={"size": Amount(len(file.content)), "limit": Amount(MAX_FILE_BYTES)},
                )
            )
            fatal = True
            continue
        encoding_problem = _check_encoding(file)
        if encoding_problem:
            problems.append(encoding_problem)
            fatal = True
            continue
        readable.append(file)

    if not any(f.filename.endswith(".bpmn") for f in ordered):
        problems.append(Problem("the bundle contains no .bpmn file"))
        fatal = True

    # 2. safe parsing, 3. schema validation
    trees: dict[str, etree._Element] = {}
    for file in readable:
        try:
            root = parse_xml_safely(file.content, file.filename)
        except Invalid as exc:
            problems.extend(exc.problems)
            fatal = True
            continue
        if file.filename.endswith(".bpmn"):
            if _namespace(root) != BPMN_NS or _localname(root) != "definitions":
                problems.append(
                    Problem(
                        N_("not a BPMN 2.0 document: the root element is %(root)s, expected bpmn:definitions"),
                        line=_line(root),
                        filename=file.filename,
                        message_args={"root": _shorten(str(root.tag))},
                    )
                )
                fatal = True
                continue
            VALIDATOR.preprocess(root)  # the same bpmn-js correlation work-around SpiffWorkflow applies
            schema_problems = _xsd_problems(_bpmn_schema(), root, file.filename)
        else:
            namespace = _namespace(root) or ""
            schema = _dmn_schema(namespace) if _localname(root) == "definitions" else None
            if schema is None:
                problems.append(
                    Problem(
                        N_("not a supported DMN document: root element %(root)s (supported namespaces: %(supported)s)"),
                        line=_line(root),
                        filename=file.filename,
                        message_args={"root": _shorten(str(root.tag)), "supported": ", ".join(sorted(DMN_SCHEMAS))},
                    )
                )
                fatal = True
                continue
            schema_problems = _xsd_problems(schema, root, file.filename)
        if schema_problems:
            problems.extend(schema_problems)
            fatal = True
        trees[file.filename] = root

    bpmn_trees = {name: root for name, root in trees.items() if name.endswith(".bpmn")}
    dmn_trees = {name: root for name, root in trees.items() if name.endswith(".dmn")}

    # 4. bundle semantics
    process_ids: list[str] = []
    process_names: dict[str, str] = {}
    process_files: dict[str, str] = {}
    all_processes: dict[str, str] = {}
    for name, root in bpmn_trees.items():
        for process in root.findall(f"{{{BPMN_NS}}}process"):
            pid = process.get("id") or ""
            if pid in all_processes:
                problems.append(
                    Problem(
                        N_("process id %(process)s is already defined in %(file)s"),
                        element_id=pid,
                        line=_line(process),
                        filename=name,
                        message_args={"process": repr(pid), "file": all_processes[pid]},
                    )
                )
                fatal = True
                continue
            all_processes[pid] = name
        for process in _executable_processes(root):
            pid = process.get("id") or ""
            if pid in process_files:
                continue
            process_ids.append(pid)
            process_names[pid] = process.get("name") or pid
            process_files[pid] = name
            problems.extend(
                Problem(message, element_id=pid, line=_line(process), filename=name)
                for tag, message in _EVENTS_EVERY_PROCESS_NEEDS
                if process.find(f"{{{BPMN_NS}}}{tag}") is None
            )
            problems.extend(_dead_end_gateways(process, name))
            problems.extend(_case_summary_problems(process, name))
            dangling = list(_dangling_flow_problems(process, name))
            problems.extend(dangling)
            fatal = fatal or bool(dangling)
    all_bpmn_read = bool(bpmn_trees) and len(bpmn_trees) == sum(f.filename.endswith(".bpmn") for f in ordered)
    if all_bpmn_read and not process_ids:
        first_file = sorted(bpmn_trees)[0]
        first_process = bpmn_trees[first_file].find(f"{{{BPMN_NS}}}process")
        problems.append(
            Problem(
                NO_EXECUTABLE_MESSAGE,
                element_id=first_process.get("id") if first_process is not None else None,
                line=_line(first_process),
                filename=first_file,
            )
        )

    # forms
    form_files: dict[str, bytes] = {}
    checked_forms: set[str] = set()
    for name, root in bpmn_trees.items():
        for form_name, prop in _form_references(root):
            owner = _owner(prop)
            if not form_name:
                problems.append(_at(N_("the formJsonSchemaFilename property is empty"), owner, prop, name))
                continue
            if not _FORM_FILENAME_RE.fullmatch(form_name):
                message = N_(
                    "invalid form file name %(form)s: use only letters, digits, '_', '.' and '-', ending in .json"
                )
                problems.append(_at(message, owner, prop, name, form=repr(form_name)))
                continue
            if form_name in form_files:
                continue
            content, reason = _load_form(form_name, forms_dir, extra_forms)
            if content is None:
                megabytes = MAX_FILE_BYTES // (1024 * 1024)
                problems.append(_at(reason or _FORM_NOT_FOUND, owner, prop, name, form=form_name, megabytes=megabytes))
                continue
            form_files[form_name] = content
            if form_name not in checked_forms:
                checked_forms.add(form_name)
                used_by = {"file": name, "element": str(owner.get("id"))}
                problems.extend(_form_content_problems(form_name, content, used_by))

    # decisions
    decisions: dict[str, str] = {}
    for name, root in dmn_trees.items():
        ids = _decision_ids(root)
        if len(ids) > 1:
            problems.append(
                Problem(
                    "SpiffWorkflow supports one decision per DMN file: put each decision in its own file",
                    element_id=ids[1][0],
                    line=_line(ids[1][1]),
                    filename=name,
                )
            )
            fatal = True
        for decision_id, element in ids[:1]:
            if decision_id in decisions:
                problems.append(
                    Problem(
                        N_("decision id %(decision)s is already defined in %(file)s"),
                        element_id=decision_id,
                        line=_line(element),
                        filename=name,
                        message_args={"decision": repr(decision_id), "file": decisions[decision_id]},
                    )
                )
                fatal = True
            else:
                decisions[decision_id] = name
    for name, root in bpmn_trees.items():
        for decision_ref, task in _referenced_decisions(root):
            task_id = task.get("id") or ""
            if decision_ref is None:
                problems.append(
                    Problem(
                        "the business rule task has no spiffworkflow:calledDecisionId",
                        element_id=task_id,
                        line=_line(task),
                        filename=name,
                    )
                )
            elif decision_ref not in decisions:
                message = (
                    N_(
                        "decision %(decision)s is not defined in any DMN file of the bundle "
                        "(decisions available: %(available)s)"
                    )
                    if decisions
                    else N_(
                        "decision %(decision)s is not defined in any DMN file of the bundle (decisions available: none)"
                    )
                )
                problems.append(
                    Problem(
                        message,
                        element_id=task_id,
                        line=_line(task),
                        filename=name,
                        message_args={"decision": repr(decision_ref), "available": ", ".join(sorted(decisions))},
                    )
                )

    # call activities
    for name, root in bpmn_trees.items():
        for call in root.iter(f"{{{BPMN_NS}}}callActivity"):
            called = call.get("calledElement")
            if not called:
                problems.append(_at(N_("the call activity has no calledElement"), call, call, name))
            elif called not in all_processes:
                message = N_("the call activity calls process %(process)s, which is not in the bundle")
                problems.append(_at(message, call, call, name, process=repr(called)))

    # Python syntax of conditions, scripts and timers
    for name, root in bpmn_trees.items():
        problems.extend(_expression_problems(root, name))
    for name, root in dmn_trees.items():
        problems.extend(_dmn_expression_problems(root, name))

    # 5. SpiffWorkflow's own checks, on the trees we parsed safely
    if not fatal and process_ids:
        parser = SpiffBpmnParser()
        added = True
        for name, root in sorted(trees.items()):
            try:
                _add_to_parser(parser, name, root)
            except ValidationException as exc:
                problems.append(_spiff_problem(exc, trees, name))
                added = False
            except Exception as exc:  # SpiffWorkflow raises assorted errors on odd models
                problems.append(
                    Problem(
                        N_("SpiffWorkflow cannot read the file: %(detail)s"),
                        filename=name,
                        message_args={"detail": f"{exc.__class__.__name__}: {exc}"},
                    )
                )
                added = False
        if added:
            located = {(p.filename, p.element_id) for p in problems if p.element_id}
            # A process with a problem already reported would only make SpiffWorkflow repeat it.
            troubled = {_process_of(trees, filename, element_id) for filename, element_id in located}
            for pid in process_ids:
                if pid in troubled:
                    continue
                try:
                    parser.get_spec(pid)
                    parser.get_subprocess_specs(pid)
                except ValidationException as exc:
                    problem = _spiff_problem(exc, trees, process_files[pid])
                    key = (problem.filename, problem.element_id)
                    if key not in located:
                        problems.append(problem)
                except Exception as exc:
                    problems.append(
                        Problem(
                            N_("SpiffWorkflow cannot build the process: %(detail)s"),
                            element_id=pid,
                            filename=process_files[pid],
                            message_args={"detail": f"{exc.__class__.__name__}: {exc}"},
                        )
                    )

    if problems:
        problems.sort(key=lambda p: (p.filename or "", p.line or 0))
        count = len(problems)
        message = (
            N_("the process model is not valid: %(count)d problems found")
            if count != 1
            else N_("the process model is not valid: 1 problem found")
        )
        raise Invalid(message, problems, message_args={"count": count})

    return ValidatedBundle(
        files=ordered,
        process_ids=process_ids,
        process_names=process_names,
        form_files=dict(sorted(form_files.items())),
        content_hash=_content_hash(ordered, form_files),
        processes=_process_contents(ordered, bpmn_trees, process_ids, all_processes, decisions, form_files),
    )


def _process_contents(
    ordered: list[BundleFile],
    bpmn_trees: dict[str, etree._Element],
    process_ids: list[str],
    all_processes: dict[str, str],
    decisions: dict[str, str],
    form_files: dict[str, bytes],
) -> dict[str, ProcessContent]:
    """Each executable process's files (the closure of its file over called decisions and called processes) and
    forms, with their hash. Run on a valid bundle: every reference resolves."""
    needs: dict[str, set[str]] = {}
    forms_of: dict[str, set[str]] = {}
    for name, root in bpmn_trees.items():
        wanted = {decisions[ref] for ref, _task in _referenced_decisions(root) if ref in decisions}
        for call in root.iter(f"{{{BPMN_NS}}}callActivity"):
            if call.get("calledElement") in all_processes:
                wanted.add(all_processes[call.get("calledElement") or ""])
        needs[name] = wanted
        forms_of[name] = {form for form, _prop in _form_references(root) if form in form_files}
    contents: dict[str, ProcessContent] = {}
    for pid in process_ids:
        closure: set[str] = set()
        pending = [all_processes[pid]]
        while pending:
            name = pending.pop()
            if name not in closure:
                closure.add(name)
                pending.extend(needs.get(name, ()))
        files = [file for file in ordered if file.filename in closure]
        forms = {form: form_files[form] for form in sorted(set().union(*(forms_of.get(n, set()) for n in closure)))}
        contents[pid] = ProcessContent(files, forms, _content_hash(files, forms))
    return contents


def bundles_from_directory(path: Path) -> list[list[BundleFile]]:
    """One bundle per .bpmn file of `path` (not recursive), each with the .dmn files of the same
    directory that define a decision it calls. Unreadable files are still returned, so that
    `validate_bundle` reports them."""
    dmn_files: dict[str, BundleFile] = {}
    decision_files: dict[str, list[str]] = {}
    for dmn_path in sorted(path.glob("*.dmn")):
        if not dmn_path.is_file():
            continue
        dmn = BundleFile(dmn_path.name, _read_limited(dmn_path))
        dmn_files[dmn.filename] = dmn
        try:
            root = parse_xml_safely(dmn.content, dmn.filename)
        except Invalid:
            continue
        for decision_id, _element in _decision_ids(root):
            decision_files.setdefault(decision_id, []).append(dmn.filename)

    bundles: list[list[BundleFile]] = []
    for bpmn_path in sorted(path.glob("*.bpmn")):
        if not bpmn_path.is_file():
            continue
        bpmn = BundleFile(bpmn_path.name, _read_limited(bpmn_path))
        wanted: set[str] = set()
        try:
            root = parse_xml_safely(bpmn.content, bpmn.filename)
        except Invalid:
            root = None
        if root is not None:
            for decision_ref, _task in _referenced_decisions(root):
                if decision_ref:
                    wanted.update(decision_files.get(decision_ref, []))
        bundles.append([bpmn, *(dmn_files[name] for name in sorted(wanted))])
    return bundles


def _read_limited(path: Path) -> bytes:
    """Read at most one byte more than the size limit: enough for validation to refuse the file."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


# A browser saving a file it already has adds " (1)", " (2)"... before the extension.
_DOWNLOAD_COPY_RE = re.compile(r"\s*\(\d+\)$")


def upload_key(raw_name: str) -> str:
    """The name an uploaded file is kept under. An upload's name is only a label of the version (a key of its files,
    part of its content hash, never a path): "Bổ nhiệm (1).bpmn", as a browser downloads it a second time, is kept
    as "Bo_nhiem.bpmn" — diacritics dropped, the copy number gone (the same content under its usual name is then the
    same version, not a new one), anything else but letters, digits, '_', '.' and '-' made '_'. The extension is
    left for `validate_bundle` to judge."""
    name = PurePath(raw_name.replace("\\", "/")).name
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = _DOWNLOAD_COPY_RE.sub("", stem)
    plain = unicodedata.normalize("NFKD", stem.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    plain = re.sub(r"[^A-Za-z0-9_.-]+", "_", plain).strip("_")
    if not plain:
        return name
    return f"{plain}.{extension}" if dot else plain


def split_uploads(named: Iterable[tuple[str, bytes]]) -> tuple[list[BundleFile], dict[str, bytes], list[Problem]]:
    """Files uploaded together (web form, API, command line) as one bundle: `.json` files are the forms it names,
    every other file is a model file that `validate_bundle` judges. Each is kept under its `upload_key`. Two forms
    with one name is a problem."""
    files: list[BundleFile] = []
    forms: dict[str, bytes] = {}
    problems: list[Problem] = []
    for raw_name, content in named:
        name = upload_key(raw_name)
        if not name.endswith(".json"):
            files.append(BundleFile(name, content))
        elif name in forms:
            problems.append(Problem("the same file name appears twice in the bundle", filename=name))
        else:
            forms[name] = content
    return files, forms, problems
