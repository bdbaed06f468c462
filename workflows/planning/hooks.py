"""The server side of the planning review's forms, and what an approved review writes (decisions 0014, 0019).

Each hook gets the submitted values and the task's data, refuses what the rules refuse (`Invalid`, one Problem per
field, the table cell of the row it is about: `nominations.3.cadre_code`) and adds what only the server computes:
the screening's proposals, the checks of every nomination (`workflows.rules.planning`), the structure figures of the
list as it stands, the tally of a closed ballot box (never a ballot). The nomination rules run twice: when the list
is submitted, and again when the competent authority approves it, against the registry as it then is.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from workflows.access import in_subtree
from workflows.appointment.facts import position_label
from workflows.ballot_steps import USED_BOXES, closed_box
from workflows.db import folded
from workflows.errors import N_, Invalid, NotFound, Problem
from workflows.hooks import (
    ChecklistChoices,
    CompletionEffect,
    EntryChoices,
    InstanceLike,
    PlanningEntryChoices,
    PlanningEntrySearch,
    PositionChoices,
    TaskHook,
    is_refused,
    refused_within,
)
from workflows.models import Notification, ProcessInstance
from workflows.planning import PROCESS_ID
from workflows.planning.ballots import PLANNING_BALLOTS
from workflows.planning.facts import (
    discipline_records,
    list_facts,
    review_facts,
    screened_cadres,
    structure_members,
)
from workflows.planning.steps import after_ballot, nomination_key, tally_key
from workflows.query_args import parse_id
from workflows.registry.models import (
    Cadre,
    DisciplineRecord,
    OrgUnit,
    PlanningEntry,
    PlanningStatus,
    Position,
    User,
)
from workflows.registry.records import add_planning_entry, local_today, remove_planning_entry
from workflows.registry.units import in_tree_order
from workflows.rules.appointment import DISCIPLINE_LABELS
from workflows.rules.planning import (
    ConfidenceVote,
    PlanningPolicy,
    check_nomination,
    screen_for_review,
    structure_figures,
)
from workflows.text import comparable

__all__ = [
    "CHECKLIST_CHOICES",
    "COMPLETION_EFFECTS",
    "PLANNING_ENTRY_CHOICES",
    "PLANNING_ENTRY_SEARCH",
    "POSITION_CHOICES",
    "TASK_HOOKS",
    "count_plan_entries",
    "entry_labels",
    "framed_titles",
    "plan_cadre_ids",
    "plan_entries",
    "search_plan_entries",
    "unit_title_groups",
    "unit_titles",
]


def _instance(session: Session, data: Mapping[str, Any]) -> ProcessInstance:
    key = data.get("planning_key")
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.process_id == PROCESS_ID, ProcessInstance.business_key == key)
    )
    if instance is None:  # a model bug, not the person's: the start always sets the key
        raise LookupError(f"no planning review with the key {key!r}")
    return instance


def _policy(data: Mapping[str, Any]) -> PlanningPolicy:
    return PlanningPolicy.from_mapping(data.get("policy") or {})


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _leaving(data: Mapping[str, Any]) -> list[int]:
    """The entries this review takes off the plan (confirmed by the collective)."""
    return [int(r["entry_id"]) for r in data.get("removals_confirmed") or []]


def _titles(session: Session, position_ids: Sequence[int]) -> dict[int, tuple[Position, OrgUnit]]:
    rows = session.execute(
        select(Position, OrgUnit).join(OrgUnit, OrgUnit.id == Position.unit_id).where(Position.id.in_(position_ids))
    ).all()
    return {position.id: (position, unit) for position, unit in rows}


def unit_title_groups(session: Session, unit_id: int) -> list[tuple[OrgUnit, list[Position]]]:
    """The titles a review of the unit may plan for: those of the unit and of every unit below it, unit by unit in
    tree order (the unit's own first, each unit under its parent, siblings by name), each unit's by title. A unit
    without a title is left out."""
    units = list(session.scalars(select(OrgUnit).where(in_subtree(OrgUnit, unit_id))))
    titles: dict[int, list[Position]] = {}
    for position in session.scalars(
        select(Position)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(in_subtree(OrgUnit, unit_id))
        .order_by(Position.title, Position.id)
    ):
        titles.setdefault(position.unit_id, []).append(position)
    return [(unit, titles[unit.id]) for unit, _depth in in_tree_order(units) if unit.id in titles]


def unit_titles(session: Session, unit_id: int) -> dict[int, str]:
    """`unit_title_groups` as one list, each title labelled with its unit (a title is only readable with it)."""
    return {
        position.id: position_label(position, unit)
        for unit, positions in unit_title_groups(session, unit_id)
        for position in positions
    }


def framed_titles(data: Mapping[str, Any]) -> dict[int, str]:
    """The titles of the approved frame (the frame hook's list), in its order: all a nomination may be for."""
    return {int(f["position_id"]): str(f["title"]) for f in data.get("frame") or []}


def plan_cadre_ids(session: Session, unit_id: int, term: str, leaving: Sequence[int] = ()) -> list[int]:
    """The people on a unit's plan for a term (titles of the unit or below), the leaving entries left out."""
    query = (
        select(PlanningEntry.cadre_id)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(PlanningEntry.term == term, PlanningEntry.status == PlanningStatus.ACTIVE, in_subtree(OrgUnit, unit_id))
        .order_by(PlanningEntry.id)
    )
    if leaving:
        query = query.where(PlanningEntry.id.not_in(list(leaving)))
    return list(dict.fromkeys(session.scalars(query)))


def _structure(session: Session, cadre_ids: Sequence[int], policy: PlanningPolicy) -> list[str]:
    members = structure_members(session, cadre_ids)
    return [figure.message for figure in structure_figures(members, on=local_today(), policy=policy)]


# -- the annual review's screening and the collective's confirmation -------------------------------------------


def _cadres_by_code(session: Session, codes: Sequence[str]) -> dict[str, Cadre]:
    if not codes:
        return {}
    return {c.code: c for c in session.scalars(select(Cadre).where(Cadre.code.in_(list(codes))))}


def screening(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """QĐ 377 annual review: every planned cadre of the unit screened by the rules; each failed screening is a
    proposal to remove, with its reasons. The inputs the registry does not hold come with the form."""
    problems: list[Problem] = []
    votes = list(submitted.get("confidence_votes") or [])
    political = _codes(_text(submitted, "political_failed_codes"))
    known = _cadres_by_code(session, [str(v.get("cadre_code") or "").strip() for v in votes] + political)
    confidence: dict[int, ConfidenceVote] = {}
    for index, vote in enumerate(votes):
        cadre = known.get(str(vote.get("cadre_code") or "").strip())
        low, summoned = vote.get("low"), vote.get("summoned")
        if cadre is None:
            problems.append(Problem("No cadre has this code.", field=f"confidence_votes.{index}.cadre_code"))
        elif low is None or summoned is None:
            continue  # a count the form refused: the comparison cannot be made
        elif int(low) > int(summoned):
            problems.append(
                Problem("More low-confidence votes than people summoned.", field=f"confidence_votes.{index}.low")
            )
        else:
            confidence[cadre.id] = ConfidenceVote(int(low), int(summoned))
    # The form offers the screened cadres and their discipline records: anything else (a stale page, a hand-made
    # request, a code typed into an older version's text box) is refused, so a conclusion never lands on someone
    # the screening does not look at.
    screened = {c.id: c for c in screened_cadres(session, str(data["term"]), int(data["unit_id"]))}
    failed_ids = []
    for code in political:
        cadre = known.get(code)
        if cadre is not None and cadre.id in screened:
            failed_ids.append(cadre.id)
        elif cadre is not None:
            problems.append(
                Problem(
                    N_("%(name)s (%(code)s) is not among the cadres under this screening."),
                    field="political_failed_codes",
                    message_args={"name": cadre.full_name, "code": code},
                )
            )
        else:
            problems.append(
                Problem(
                    N_("No cadre has the code %(code)s."), field="political_failed_codes", message_args={"code": code}
                )
            )
    records = {record.id for record in discipline_records(session, list(screened))}
    waived = []
    for text in _codes(_text(submitted, "waived_discipline_ids")):
        record_id = parse_id(text)
        if record_id is not None and record_id in records:
            waived.append(record_id)
        else:
            problems.append(
                Problem(
                    N_("The discipline record %(id)s is not a record of a cadre under this screening."),
                    field="waived_discipline_ids",
                    message_args={"id": text},
                )
            )
    if problems:
        raise Invalid("the screening inputs are not valid", problems)
    if refused:
        return submitted  # refused anyway: the screening is run on inputs the form accepted whole

    today = local_today()
    policy = _policy(data)
    facts = review_facts(
        session,
        str(data["term"]),
        unit_id=int(data["unit_id"]),
        confidence=confidence,
        waived_discipline_ids=waived,
        political_standard_failed=failed_ids,
    )
    outcomes = [screen_for_review(fact, on=today, policy=policy) for fact in facts]
    proposed = [o for o in outcomes if o.proposed_for_removal]
    entry_ids = [entry for o in proposed for entry in o.entry_ids]
    entries = (
        {e.id: e for e in session.scalars(select(PlanningEntry).where(PlanningEntry.id.in_(entry_ids)))}
        if entry_ids
        else {}
    )
    titles = _titles(session, [e.position_id for e in entries.values()])
    codes = {c.id: c.code for c in session.scalars(select(Cadre).where(Cadre.id.in_([o.cadre_id for o in proposed])))}
    rows = []
    for outcome in proposed:
        for entry_id in outcome.entry_ids:
            position, unit = titles[entries[entry_id].position_id]
            rows.append(
                {
                    "entry_id": entry_id,
                    "cadre_code": codes.get(outcome.cadre_id, ""),
                    "cadre_name": outcome.cadre_name,
                    "title": position_label(position, unit),
                    # No decision: the collective makes it at its own step, and a choice made for it would be
                    # sent unread and shown as decided before it was.
                    "reason": outcome.grounded_reason,
                }
            )
    return {
        **submitted,
        "removals": rows,
        "_screening": rows,
        "screened_count": len(outcomes),
        "screened_on": today.isoformat(),
    }


def _entry_label(cadre: Cadre, position: Position, unit: OrgUnit) -> str:
    """A planning entry as a person knows it: "Phạm Văn Em (QH04) — Phó Chủ tịch UBND xã (Xã An Phú)"."""
    return f"{cadre.full_name} ({cadre.code}) — {position_label(position, unit)}"


def _joined(query: Any) -> Any:
    """An entry's query with what its label is made of: its cadre, its title and the title's unit."""
    return (
        query.join(Cadre, Cadre.id == PlanningEntry.cadre_id)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
    )


def _entry_rows(session: Session, query: Any) -> list[tuple[PlanningEntry, Cadre, Position, OrgUnit]]:
    return [(row[0], row[1], row[2], row[3]) for row in session.execute(_joined(query))]


def plan_entries(
    session: Session, unit_id: int, term: str, *, only: Collection[int] | None = None
) -> list[tuple[PlanningEntry, str, OrgUnit]]:
    """The entries on a unit's plan for a term (active, for a title of the unit or a unit below it) — the entries
    the annual review screens and the collective may take off —, each with its label, unit by unit in tree order,
    each unit's by the cadre's name and the title; given `only`, those of them with these ids."""
    query = select(PlanningEntry, Cadre, Position, OrgUnit).where(_plan_scope(unit_id, term))
    if only is not None:
        if not only:
            return []
        query = query.where(PlanningEntry.id.in_(sorted(only)))
    rows = _entry_rows(session, query)
    order = {
        unit.id: index
        for index, (unit, _depth) in enumerate(in_tree_order(list({r[3].id: r[3] for r in rows}.values())))
    }
    rows.sort(key=lambda r: (order[r[3].id], r[1].full_name, r[2].title, r[0].id))
    return [(entry, _entry_label(cadre, position, unit), unit) for entry, cadre, position, unit in rows]


def _plan_scope(unit_id: int, term: str) -> Any:
    """What `plan_entries` lists: active entries of the term for a title of the unit or a unit below it."""
    return and_(PlanningEntry.term == term, PlanningEntry.status == PlanningStatus.ACTIVE, in_subtree(OrgUnit, unit_id))


def count_plan_entries(session: Session, unit_id: int, term: str, *, leave_out: Collection[int] = ()) -> int:
    """How many entries `plan_entries` lists (less `leave_out`), counted in SQL: a province's plan is not read to
    know it is long (decision 0088)."""
    query = _joined(select(func.count()).select_from(PlanningEntry)).where(_plan_scope(unit_id, term))
    if leave_out:
        query = query.where(PlanningEntry.id.not_in(sorted(leave_out)))
    return int(session.scalar(query) or 0)


def search_plan_entries(
    session: Session, unit_id: int, term: str, text: str, *, leave_out: Collection[int] = (), limit: int = 20
) -> list[tuple[PlanningEntry, str, OrgUnit]]:
    """The entries of `plan_entries` (less `leave_out`) whose label — cadre's name and code, title, unit — holds
    every word typed, case and Vietnamese marks ignored ("pham em" finds "Phạm Văn Em (QH04) — …"), by name and
    title; at most `limit`. Nothing typed finds nothing: a province's plan is not listed whole."""
    words = comparable(text).split()
    if not words:
        return []
    label = Cadre.full_name + " " + Cadre.code + " " + Position.title + " " + OrgUnit.name
    folded_label = folded(label)
    query = select(PlanningEntry, Cadre, Position, OrgUnit).where(
        _plan_scope(unit_id, term), *(folded_label.contains(word, autoescape=True) for word in words)
    )
    if leave_out:
        query = query.where(PlanningEntry.id.not_in(sorted(leave_out)))
    query = query.order_by(Cadre.full_name, Position.title, PlanningEntry.id).limit(limit)
    return [
        (entry, _entry_label(cadre, position, unit), unit)
        for entry, cadre, position, unit in _entry_rows(session, query)
    ]


def entry_labels(session: Session, entry_ids: Collection[int]) -> dict[int, str]:
    """Each id's entry by name, whatever its status now (a completed task's page, where the entries it removed are
    off the plan since); ids no entry has are left out."""
    if not entry_ids:
        return {}
    rows = _entry_rows(
        session, select(PlanningEntry, Cadre, Position, OrgUnit).where(PlanningEntry.id.in_(sorted(entry_ids)))
    )
    return {entry.id: _entry_label(cadre, position, unit) for entry, cadre, position, unit in rows}


def _removable(
    session: Session, entry_id: int, data: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, Problem | None]:
    """An entry the collective takes off the plan besides the screening's proposals: it must exist, be on the plan
    of the review's unit (a title of the unit or below) for the review's term, and not be off it already. Its row as
    the proposals' (cadre, title from the registry), else why not."""
    found = _entry_rows(session, select(PlanningEntry, Cadre, Position, OrgUnit).where(PlanningEntry.id == entry_id))
    if not found:
        return None, Problem(N_("No planning entry has the id %(id)s."), message_args={"id": entry_id})
    entry, cadre, position, unit = found[0]
    in_scope = session.scalar(
        select(OrgUnit.id).where(OrgUnit.id == unit.id, in_subtree(OrgUnit, int(data["unit_id"])))
    )
    if in_scope is None or entry.term != str(data["term"]):
        # Said by its id only: whose entry it is is not the business of a review of another unit or term.
        message = N_("The planning entry %(id)s is not on the plan of %(unit)s for the term %(term)s.")
        args = {"id": entry_id, "unit": str(data.get("unit_name") or ""), "term": str(data["term"])}
        return None, Problem(message, message_args=args)
    if entry.status != PlanningStatus.ACTIVE:
        label = _entry_label(cadre, position, unit)
        return None, Problem(N_("%(entry)s has already been taken off the plan."), message_args={"entry": label})
    row = {
        "entry_id": entry.id,
        "cadre_code": cadre.code,
        "cadre_name": cadre.full_name,
        "title": position_label(position, unit),
    }
    return row, None


def removals(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The collective decides each proposed removal: remove, or keep with a reason; and may take off the plan
    other entries of it (QĐ 377: every year, those who no longer meet the standards, fail their duties or break the
    rules — a judgment the screening's rules do not make), each with its reason. Only the decisions (and an added
    entry's reason) are taken from the form; a proposal's cadre, title and reason are the screening's own, an added
    entry's cadre and title the registry's (a row edited in the browser changes nothing). An added entry must be on
    the plan of the review's unit for its term, and not off it already (decision 0081)."""
    proposals = {int(r["entry_id"]): r for r in data.get("_screening") or []}
    rows = list(submitted.get("removals") or [])
    problems: list[Problem] = []
    decided: dict[int, tuple[str, str]] = {}
    added: dict[int, dict[str, Any]] = {}
    for index, row in enumerate(rows):
        if row.get("entry_id") is None or is_refused(refused, f"removals.{index}.decision"):
            continue  # which entry, or what was decided on it, the form refused
        entry_id = int(row["entry_id"])
        if entry_id in decided or entry_id in added:
            problems.append(Problem("This entry is listed twice.", field=f"removals.{index}.entry_id"))
            continue
        if entry_id not in proposals:
            extra, problem = _removable(session, entry_id, data)
            if problem is not None:
                problems.append(replace(problem, field=f"removals.{index}.entry_id"))
                continue
            assert extra is not None
            reason = _text(row, "reason")
            if row.get("decision") != "remove":
                problems.append(
                    Problem(
                        "Only a removal the screening proposed can be kept: to keep this cadre, leave the row empty.",
                        field=f"removals.{index}.decision",
                    )
                )
            elif not reason and not is_refused(refused, f"removals.{index}.reason"):
                problems.append(
                    Problem("Write why the collective takes this cadre off the plan.", field=f"removals.{index}.reason")
                )
            added[entry_id] = {**extra, "reason": reason, "decision": "remove", "keep_reason": ""}
            continue
        keep_reason = _text(row, "keep_reason")
        if row.get("decision") == "keep" and not keep_reason:
            problems.append(Problem("Write the reason for keeping this cadre.", field=f"removals.{index}.keep_reason"))
        decided[entry_id] = (str(row.get("decision")), keep_reason)
    if not problems and not refused_within(refused, "removals") and set(decided) != set(proposals):
        problems.append(Problem("Decide on every proposed removal.", field="removals"))
    if problems:
        raise Invalid("the decisions on the removals are not complete", problems)
    if refused_within(refused, "removals"):
        return submitted  # refused anyway (a decision left unchosen): a row without one has nothing to build on
    final = [
        {**proposal, "decision": decided[entry_id][0], "keep_reason": decided[entry_id][1]}
        for entry_id, proposal in proposals.items()
    ] + list(added.values())
    return {
        **submitted,
        "removals": final,
        "removals_confirmed": [r for r in final if r["decision"] == "remove"],
        "removals_kept": [r for r in final if r["decision"] == "keep"],
    }


# -- the frame ----------------------------------------------------------------------------------------------------


def frame(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The titles of the plan: titles of the unit or of a unit below it, each once. The current plan (without the
    confirmed removals) and its structure are shown with the frame."""
    rows = list(submitted.get("frame_titles") or [])
    unit_id = int(data["unit_id"])
    titles = unit_titles(session, unit_id)  # what the form's select offers: one list for the page and for this rule
    problems: list[Problem] = []
    seen: set[int] = set()
    framed = []
    for index, row in enumerate(rows):
        if row.get("position_id") is None:
            continue  # the form refused it
        position_id = int(row["position_id"])
        title = titles.get(position_id)
        if title is None:
            problems.append(Problem("No such title in this unit.", field=f"frame_titles.{index}.position_id"))
        elif position_id in seen:
            problems.append(Problem("This title is listed twice.", field=f"frame_titles.{index}.position_id"))
        else:
            seen.add(position_id)
            framed.append(
                {
                    "position_id": position_id,
                    "title": title,
                    "planned_count": row.get("planned_count"),
                }
            )
    if problems:
        raise Invalid("the frame is not valid", problems)
    kept = plan_cadre_ids(session, unit_id, str(data["term"]), _leaving(data))
    return {
        **submitted,
        "frame": framed,
        "structure_current": _structure(session, kept, _policy(data)),
    }


def frame_approval(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    if submitted.get("frame_decision") == "return" and not _text(submitted, "frame_comment"):
        raise Invalid("a return needs a reason", [Problem("Write the reason.", field="frame_comment")])
    return submitted


# -- nominations ----------------------------------------------------------------------------------------------------


def _checked(
    session: Session, data: Mapping[str, Any], pairs: list[tuple[int, int]], fields: list[str]
) -> tuple[list[Problem], list[list[str]]]:
    """Every nomination checked by the rules, each seeing the ones before it; a Problem per refused nomination."""
    policy = _policy(data)
    today = local_today()
    facts = list_facts(session, pairs, str(data["term"]), on=today, policy=policy, leaving=_leaving(data))
    problems: list[Problem] = []
    lines: list[list[str]] = []
    for field, fact in zip(fields, facts, strict=True):
        results = check_nomination(fact, on=today, policy=policy)
        failed = [r.message for r in results if not r.passed]
        if failed:
            problems.append(Problem(f"{fact.cadre_name} — {fact.target_title}: " + "; ".join(failed), field=field))
        lines.append([r.message for r in results])
    return problems, lines


def nominations(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The list being built: each cadre for a title of the approved frame, checked by every nomination rule in
    order (the 4th nominee for a title is refused at its row); the structure of the plan with the list added."""
    rows = list(submitted.get("nominations") or [])
    framed = framed_titles(data)
    cadres = _cadres_by_code(session, [str(r.get("cadre_code") or "").strip() for r in rows])
    problems: list[Problem] = []
    pairs: list[tuple[int, int]] = []
    fields: list[str] = []
    for index, row in enumerate(rows):
        if row.get("cadre_code") is None or row.get("position_id") is None:
            continue  # who, or for which title, the form refused
        cadre = cadres.get(str(row["cadre_code"]).strip())
        position_id = int(row["position_id"])
        if cadre is None or not cadre.is_active:
            problems.append(Problem("No active cadre has this code.", field=f"nominations.{index}.cadre_code"))
        if position_id not in framed:
            problems.append(
                Problem("This title is not in the approved frame.", field=f"nominations.{index}.position_id")
            )
        if cadre is not None and position_id in framed:
            pairs.append((cadre.id, position_id))
            fields.append(f"nominations.{index}.cadre_code")
    # The rules run on the rows that name a cadre and a title of the frame, whatever is wrong with the others.
    try:
        failed, lines = _checked(session, data, pairs, fields)
    except NotFound as error:  # a title deleted since the frame: the person can only start the list again
        raise Invalid("the list of nominations is not valid", [Problem(str(error), field="nominations")]) from error
    if problems or failed:
        raise Invalid("the list of nominations is not valid", problems + failed)

    committee_codes = set(data.get("committee_title_codes") or [])
    titles = _titles(session, [p for _, p in pairs])
    by_id = {c.id: c for c in cadres.values()}
    nominees = []
    for (cadre_id, position_id), checks in zip(pairs, lines, strict=True):
        cadre = by_id[cadre_id]
        position, unit = titles[position_id]
        nominees.append(
            {
                "key": nomination_key(cadre.code, position_id),
                "cadre_code": cadre.code,
                "cadre_name": cadre.full_name,
                "position_id": position_id,
                "title": position_label(position, unit),
                "committee": position.title_code in committee_codes,
                "checks": checks,
            }
        )
    planned = plan_cadre_ids(session, int(data["unit_id"]), str(data["term"]), _leaving(data))
    return {
        **submitted,
        "nominees": nominees,
        "has_nominees": bool(nominees),
        "has_committee_nominees": any(n["committee"] for n in nominees),
        "structure": _structure(session, [*planned, *(c for c, _ in pairs)], _policy(data)),
    }


# -- ballots ----------------------------------------------------------------------------------------------------------


def ballot(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The step is done once its box is closed: its tally (only the tally, hidden: planning ballots are not
    announced) goes into the data, and the nominations that did not reach the threshold leave the list."""
    instance = _instance(session, data)
    step, box = closed_box(session, PLANNING_BALLOTS, instance.id, data)
    assert box.tally is not None
    after = after_ballot(step, box.tally, list(data.get("nominees") or []))
    nominees = list(after.nominees)
    return {
        **submitted,
        tally_key(step): dict(box.tally),
        "ballot_next": str(after.next),
        "nominees": nominees,
        "not_nominated": [*(data.get("not_nominated") or []), *after.dropped],
        "has_nominees": bool(nominees),
        "has_committee_nominees": any(n.get("committee") for n in nominees),
        USED_BOXES: [*(data.get(USED_BOXES) or []), box.id],
    }


# -- dossier and approval -----------------------------------------------------------------------------------------


def dossier(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    return {**submitted, "dossier_checked_on": local_today().isoformat()}


def approval(
    session: Session, submitted: dict[str, Any], data: Mapping[str, Any], refused: frozenset[str]
) -> dict[str, Any]:
    """The competent authority approves or not. On approval every nomination is checked again against the
    registry as it now stands (an appointment started meanwhile, a fourth person planned elsewhere) and refused with
    the same messages; the removals confirmed by the collective stand."""
    if is_refused(refused, "approval_decision"):
        return submitted  # approved or refused is not known: the rules of either cannot be checked
    if submitted.get("approval_decision") != "approve":
        if not _text(submitted, "decision_reason"):
            raise Invalid("a refusal needs a reason", [Problem("Write the reason.", field="decision_reason")])
        return submitted
    number = (
        []
        if _text(submitted, "decision_number")
        else [Problem("Enter the number of the decision.", field="decision_number")]
    )
    nominees = list(data.get("nominees") or [])
    cadres = _cadres_by_code(session, [str(n["cadre_code"]) for n in nominees])
    pairs = [(cadres[str(n["cadre_code"])].id, int(n["position_id"])) for n in nominees]
    failed, _lines = _checked(session, data, pairs, ["approval_decision"] * len(pairs))
    if failed:
        raise Invalid("the list can no longer be approved as it is", number + failed)
    if number:
        raise Invalid("the decision is not complete", number)
    return {**submitted, "approved_on": local_today().isoformat()}


# -- what an approved review writes -------------------------------------------------------------------------------


def record_plan(session: Session, instance: InstanceLike, data: Mapping[str, Any], actor: User | None) -> None:
    """Approved: the confirmed removals, then the new entries, on each cadre's record (title, term, status) through
    the records' write path, chained in each cadre's audit log with this procedure as their source; the unit's
    people are told. Not approved: nothing on the records, the unit's personnel and heads are told why."""
    approved = data.get("approval_decision") == "approve"
    term = str(data["term"])
    if approved:
        for row in data.get("removals_confirmed") or []:
            entry = session.get(PlanningEntry, int(row["entry_id"]))
            if entry is None or entry.status != PlanningStatus.ACTIVE:
                continue
            remove_planning_entry(
                session, actor, entry.cadre, entry.id, reason=str(row["reason"])[:2000], removal_instance_id=instance.id
            )
        for nominee in data.get("nominees") or []:
            cadre = session.scalar(select(Cadre).where(Cadre.code == str(nominee["cadre_code"])))
            assert cadre is not None
            add_planning_entry(
                session,
                actor,
                cadre,
                position_id=int(nominee["position_id"]),
                term=term,
                source_instance_id=instance.id,
            )
    unit_id = int(data["unit_id"])
    if approved:
        title = f"Quy hoạch {data.get('unit_name')} nhiệm kỳ {term} đã được phê duyệt"
        body = (
            f"Quyết định số {data.get('decision_number')}: bổ sung {len(data.get('nominees') or [])} người, "
            f"đưa ra {len(data.get('removals_confirmed') or [])} người."
        )
    else:
        title = f"Quy hoạch {data.get('unit_name')} nhiệm kỳ {term} không được phê duyệt"
        body = str(data.get("decision_reason") or "")
    users = session.scalars(
        select(User.id).join(OrgUnit, OrgUnit.id == User.unit_id).where(User.is_active, in_subtree(OrgUnit, unit_id))
    )
    for user_id in sorted(set(users)):
        session.add(
            Notification(user_id=user_id, kind="planning_result", instance_id=instance.id, title=title[:255], body=body)
        )


TASK_HOOKS: dict[str, TaskHook] = {
    "planning_screening": screening,
    "planning_removals": removals,
    "planning_frame": frame,
    "planning_frame_approval": frame_approval,
    "planning_nominations": nominations,
    "planning_ballot": ballot,
    "planning_dossier": dossier,
    "planning_approval": approval,
}
COMPLETION_EFFECTS: dict[str, CompletionEffect] = {PROCESS_ID: record_plan}


def _frame_choices(session: Session, data: Mapping[str, Any]) -> list[tuple[int, str, str | None]] | None:
    if data.get("unit_id") is None:
        return None
    return [
        (position.id, position_label(position, unit), unit.name)
        for unit, positions in unit_title_groups(session, int(data["unit_id"]))
        for position in positions
    ]


def _nomination_choices(session: Session, data: Mapping[str, Any]) -> list[tuple[int, str, str | None]] | None:
    return (
        [(position_id, title, None) for position_id, title in framed_titles(data).items()] if "frame" in data else None
    )


# The titles each form's "position" fields may take: the same lists the hooks above hold the ids to.
POSITION_CHOICES: dict[str, PositionChoices] = {
    "planning_frame": _frame_choices,
    "planning_nominations": _nomination_choices,
}


def _cadre_label(cadre: Cadre) -> str:
    return f"{cadre.full_name} ({cadre.code})"


def _discipline_label(record: DisciplineRecord, cadre: Cadre) -> str:
    """A discipline record as the registry holds it, with whose it is: "Lê Văn A (QH04) — Khiển trách, quyết định
    ngày 01/03/2026, hết hiệu lực ngày 01/03/2027: <note>"."""
    level = DISCIPLINE_LABELS.get(record.level, record.level)
    text = f"{_cadre_label(cadre)} — {level[:1].upper()}{level[1:]}, quyết định ngày {record.decided_on:%d/%m/%Y}"
    if record.expires_on is not None:
        text += f", hết hiệu lực ngày {record.expires_on:%d/%m/%Y}"
    note = " ".join((record.note or "").split())
    return f"{text}: {note}" if note else text


def _screening_choices(
    session: Session, data: Mapping[str, Any], held: Mapping[str, Collection[str]]
) -> dict[str, list[tuple[str, str]]]:
    """The screening's checklists: the discipline records of the cadres under screening, and those cadres (the
    lists the screening hook holds the ids and codes to). Without the task's data (a completed task) only the
    records and cadres the form holds, by name."""
    if data.get("unit_id") is not None and data.get("term") is not None:
        cadres = screened_cadres(session, str(data["term"]), int(data["unit_id"]))
        records = discipline_records(session, [c.id for c in cadres])
        failed = cadres
    else:
        ids = [i for i in map(parse_id, held.get("waived_discipline_ids") or ()) if i is not None]
        records = list(session.scalars(select(DisciplineRecord).where(DisciplineRecord.id.in_(ids)))) if ids else []
        codes = list(held.get("political_failed_codes") or ())
        failed = list(session.scalars(select(Cadre).where(Cadre.code.in_(codes)))) if codes else []
        cadres = [*failed, *session.scalars(select(Cadre).where(Cadre.id.in_({r.cadre_id for r in records})))]
    by_id = {c.id: c for c in cadres}
    order = {cadre_id: index for index, cadre_id in enumerate(by_id)}
    records = sorted(records, key=lambda r: (order.get(r.cadre_id, len(order)), r.decided_on, r.id))
    return {
        "waived_discipline_ids": [
            (str(r.id), _discipline_label(r, by_id[r.cadre_id])) for r in records if r.cadre_id in by_id
        ],
        "political_failed_codes": [(c.code, _cadre_label(c)) for c in failed],
    }


def _proposals(data: Mapping[str, Any]) -> list[int]:
    """The entries the screening proposed, each pinned to its row of the removals."""
    # The page's data hides "_screening"; "removals" holds the same rows until this task has run.
    screened = data["_screening"] if "_screening" in data else data.get("removals")
    return [int(r["entry_id"]) for r in screened or [] if r.get("entry_id") is not None]


def _removal_choices(session: Session, data: Mapping[str, Any], held: Collection[int], list_below: int) -> EntryChoices:
    """The removals' entries: each proposal stays in its own row (its select offers only it), any other row offers
    the plan's other entries of the review's unit and term by name, grouped by unit (what the hook above accepts) —
    if there are fewer than `list_below`; else they are counted, not read, and only those the form holds are listed,
    by name (a row added searches the rest: `_removal_search`). Without the task's data (a completed task) only the
    entries the form holds, by name, each in its row."""
    if data.get("unit_id") is None or data.get("term") is None:
        return EntryChoices([], entry_labels(session, held))
    unit_id, term, proposals = int(data["unit_id"]), str(data["term"]), _proposals(data)
    pinned = entry_labels(session, proposals)
    is_whole = count_plan_entries(session, unit_id, term, leave_out=proposals) < list_below
    listed = plan_entries(session, unit_id, term, only=None if is_whole else set(held) - set(proposals))
    offered: list[tuple[int, str, str | None]] = [
        (entry.id, label, unit.name) for entry, label, unit in listed if entry.id not in pinned
    ]
    return EntryChoices(offered, pinned, is_whole)


# The planning entries each form's "planning_entry" fields may take (the hook above refuses any other).
PLANNING_ENTRY_CHOICES: dict[str, PlanningEntryChoices] = {"planning_removals": _removal_choices}


def _removal_search(
    session: Session, data: Mapping[str, Any], text: str, limit: int
) -> list[tuple[int, str, str | None]]:
    """The entries a row added to the removals may take that `text` finds (`search_plan_entries`): the same list
    `_removal_choices` offers, searched, for a plan too long for one select (decision 0083)."""
    if data.get("unit_id") is None or data.get("term") is None:
        return []
    found = search_plan_entries(
        session, int(data["unit_id"]), str(data["term"]), text, leave_out=_proposals(data), limit=limit
    )
    return [(entry.id, label, unit.name) for entry, label, unit in found]


# What each form's "planning_entry" fields find when their list is searched instead of offered whole.
PLANNING_ENTRY_SEARCH: dict[str, PlanningEntrySearch] = {"planning_removals": _removal_search}


# What each form's "checklist" fields may hold: the same lists the hooks above hold the values to.
CHECKLIST_CHOICES: dict[str, ChecklistChoices] = {"planning_screening": _screening_choices}
