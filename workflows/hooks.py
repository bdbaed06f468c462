"""Server-side work a procedure needs beyond what BPMN and JSON Schema can say.

Two kinds, both run inside the advance's transaction, so they succeed or fail with it:

* a **task hook**, named by a form's top-level ``"x-server-hook"``, sees the submitted values together with the
  task's current data. It refuses what the schema cannot express (a changed count needs a reason, completed cannot
  exceed assigned) with `Invalid`, and adds the values only the server may compute (a score): whatever a browser or
  an API client sends, the server's number is the one the process carries on with.
  It also runs when the form refused some values (decision 0054), so that a submission learns every problem at
  once: those values are absent from the submitted ones and named in `refused` ("criteria_politics",
  "products.2.completed"). A rule that needs one of them is skipped (`is_refused`, `refused_within`); whatever
  the hook returns then is discarded, the submission being refused anyway.
* a **position list**, named by the same hook name, says which titles a form's "position" fields may take, from
  the task's data (the approved frame, the unit's titles): the page offers them as a select by name, while the hook
  stays the one that refuses any other id (decision 0071); each title may come with a group (its unit's name), drawn
  as the select's <optgroup>.
* a **checklist**, named by the same hook name, says what a form's "checklist" fields (a comma-separated text of
  ids or codes) may hold, by name: the screening's discipline records and cadres, offered as checkboxes; here too
  the hook refuses anything else (decision 0072).
* a **planning entry list**, named by the same hook name, says which entries of the plan a form's "planning_entry"
  fields may take, by name: the collective's removals, each proposal pinned to its row and any other row offering
  the plan's other entries of the review's unit and term; the hook refuses any other id (decision 0081). A plan
  too long for one select is counted, not read, and searched instead (`search_planning_entries`, same list;
  decisions 0083, 0088).
* a **completion effect**, keyed by process id, writes what a finished instance decided into the records (a grade on
  the cadre's record, a notification).

The procedures register theirs in their own package; this module only looks them up, so the engine stays generic.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from sqlalchemy.orm import Session

from workflows.errors import N_, Problem
from workflows.registry.models import User

HOOK_KEY = "x-server-hook"


class InstanceLike(Protocol):
    id: int
    process_id: str
    subject_cadre_id: int | None
    unit_id: int | None


# (session, submitted values, the task's data before it runs, the fields the form refused) -> the values to store;
# raises Invalid.
TaskHook = Callable[[Session, dict[str, Any], Mapping[str, Any], frozenset[str]], dict[str, Any]]
# (session, the task's data) -> the (position id, label, group or None) its "position" fields may take, in the order
# offered; None when the data cannot tell (a review started without a unit).
PositionChoices = Callable[[Session, Mapping[str, Any]], list[tuple[int, str, str | None]] | None]
# (session, the task's data, the values each "checklist" field holds) -> for each such field, the (value, label) it may
# take, in the order offered. Without the task's data (a completed task's page) only the values held, by name.
ChecklistChoices = Callable[
    [Session, Mapping[str, Any], Mapping[str, Collection[str]]], dict[str, list[tuple[str, str]]]
]


@dataclass(frozen=True)
class EntryChoices:
    """What a form's "planning_entry" fields may take at a task. `offered`: the (entry id, label, group or None) a
    free row may take, in the order offered — the whole list when `is_whole`, else (a list of `list_below` entries or
    more, counted and not read: decision 0088) only those of it the form holds, each still by its name. `pinned`: the
    entries pinned to the rows holding them, id -> label."""

    offered: list[tuple[int, str, str | None]]
    pinned: dict[int, str]
    is_whole: bool = True


# (session, the task's data, the ids its "planning_entry" fields hold, from how many entries the list is too long to
# read whole) -> EntryChoices. Without the task's data (a completed task's page) nothing offered, the ids held pinned
# by name.
PlanningEntryChoices = Callable[[Session, Mapping[str, Any], Collection[int], int], EntryChoices]
# (session, the task's data, the text typed, at most how many) -> the (entry id, label, group or None) a free row may
# take that the text finds, from the same list the choices above offer (decision 0083).
PlanningEntrySearch = Callable[[Session, Mapping[str, Any], str, int], list[tuple[int, str, str | None]]]
# (session, the finished instance, its final data, who finished it)
CompletionEffect = Callable[[Session, InstanceLike, Mapping[str, Any], User | None], None]


@cache
def _registry() -> tuple[
    dict[str, TaskHook],
    dict[str, CompletionEffect],
    dict[str, PositionChoices],
    dict[str, ChecklistChoices],
    dict[str, PlanningEntryChoices],
    dict[str, PlanningEntrySearch],
]:
    from workflows.appointment import hooks as appointment
    from workflows.evaluation import hooks as evaluation
    from workflows.planning import hooks as planning
    from workflows.rotation import hooks as rotation

    return (
        {**evaluation.TASK_HOOKS, **appointment.TASK_HOOKS, **planning.TASK_HOOKS, **rotation.TASK_HOOKS},
        {
            **evaluation.COMPLETION_EFFECTS,
            **appointment.COMPLETION_EFFECTS,
            **planning.COMPLETION_EFFECTS,
            **rotation.COMPLETION_EFFECTS,
        },
        {**planning.POSITION_CHOICES},
        {**planning.CHECKLIST_CHOICES, **appointment.CHECKLIST_CHOICES},
        {**planning.PLANNING_ENTRY_CHOICES},
        {**planning.PLANNING_ENTRY_SEARCH},
    )


def task_hook_names() -> frozenset[str]:
    return frozenset(_registry()[0])


def hook_problems(schema: Mapping[str, Any] | None, filename: str) -> list[Problem]:
    """Deployment check: a form may only name a hook that exists."""
    name = (schema or {}).get(HOOK_KEY)
    if name is None or name in _registry()[0]:
        return []
    message = N_("the form names an unknown server hook %(hook)s")
    return [Problem(message, filename=filename, message_args={"hook": repr(name)})]


def apply_task_hook(
    session: Session,
    schema: Mapping[str, Any] | None,
    submitted: dict[str, Any],
    task_data: Mapping[str, Any],
    refused: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    name = (schema or {}).get(HOOK_KEY)
    if name is None:
        return submitted
    hook = _registry()[0].get(name)
    if hook is None:
        raise LookupError(f"the form names an unknown server hook {name!r}")
    return hook(session, submitted, task_data, refused)


def position_choices(
    session: Session, schema: Mapping[str, Any] | None, task_data: Mapping[str, Any]
) -> list[tuple[int, str, str | None]] | None:
    """The titles the form's "position" fields may take at this task, as its hook's procedure lists them; None when
    the form's hook lists none (or the data cannot tell): the page then shows the ids it holds by their titles only."""
    provider = _registry()[2].get(str((schema or {}).get(HOOK_KEY)))
    return provider(session, task_data) if provider is not None else None


def checklist_choices(
    session: Session,
    schema: Mapping[str, Any] | None,
    task_data: Mapping[str, Any],
    held: Mapping[str, Collection[str]],
) -> dict[str, list[tuple[str, str]]]:
    """What the form's "checklist" fields may hold at this task, by field, as its hook's procedure lists it (with
    the task's data), else the values held by name; {} when the form's hook lists none: the fields stay text boxes."""
    provider = _registry()[3].get(str((schema or {}).get(HOOK_KEY)))
    return provider(session, task_data, held) if provider is not None else {}


def planning_entry_choices(
    session: Session,
    schema: Mapping[str, Any] | None,
    task_data: Mapping[str, Any],
    held: Collection[int],
    list_below: int,
) -> EntryChoices | None:
    """The planning entries the form's "planning_entry" fields may take at this task (offered to a free row, pinned
    to the rows holding them), as its hook's procedure lists them — whole if fewer than `list_below`, else only those
    held (the rest is searched); None when the form's hook lists none: the fields stay number boxes."""
    provider = _registry()[4].get(str((schema or {}).get(HOOK_KEY)))
    return provider(session, task_data, held, list_below) if provider is not None else None


def search_planning_entries(
    session: Session, schema: Mapping[str, Any] | None, task_data: Mapping[str, Any], text: str, limit: int
) -> list[tuple[int, str, str | None]] | None:
    """The planning entries a free row of the form's "planning_entry" fields may take that `text` finds (at most
    `limit`), from the list `planning_entry_choices` offers; None when the form's hook lists none."""
    provider = _registry()[5].get(str((schema or {}).get(HOOK_KEY)))
    return provider(session, task_data, text, limit) if provider is not None else None


def is_refused(refused: Collection[str], field: str) -> bool:
    """Whether the form refused the value at `field`, or a value it lies in (the whole table of a cell)."""
    return any(field == where or field.startswith(f"{where}.") for where in refused)


def refused_within(refused: Collection[str], field: str) -> bool:
    """Whether the form refused `field` or anything in it (a cell of the table `field`)."""
    return any(where == field or where.startswith(f"{field}.") for where in refused)


def run_completion_effect(
    session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None
) -> None:
    effect = _registry()[1].get(instance.process_id)
    if effect is not None:
        effect(session, instance, data, actor)
