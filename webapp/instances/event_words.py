"""What an event of a procedure's history says, and who did it: the sentence of each kind of event, shared by the
instance page, the inspector's history, the audit log and the export's readable part (decision 0100).

Each sentence is built here, once per row, rather than by nested template macros: the history page words every
event of a chain on every view, and the macros' calls, attribute look-ups and translations were most of its
rendering (issue #9). The result is markup: the catalogue's words are trusted (as `_()` in a template trusts them),
everything taken from an event — a step's name, a reason, a note, a person's name — is escaped by `Markup`'s `%`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from babel.support import NullTranslations, Translations
from flask import current_app
from markupsafe import Markup, escape

from webapp.ballots.wording import DENOMINATOR_WORDS
from webapp.data_labels import EVENT_TYPE_NAMES
from webapp.i18n import page_translations, tally_text, translate_detailed
from workflows.engine.runtime import Definition
from workflows.errors import N_
from workflows.instances import TimelineEntry
from workflows.states import EventType

# The catalogue's words as markup, per catalogue: a history repeats the same few sentences on every row.
_WORDS: WeakKeyDictionary[Translations | NullTranslations, dict[str, Markup]] = WeakKeyDictionary()

_SYSTEM = N_("System")


class EventWords:
    """The wording of one page's events, in its reader's language. `definition`: the instance's model, which names a
    ballot's step (the audit log, wording events of many instances, has none: the step as its event recorded it);
    `sees_errors`: whether the reader is shown the model's internals (a script's error, an assignment problem)."""

    def __init__(
        self,
        *,
        role_labels: Mapping[str, Any],
        sees_errors: bool,
        definition: Definition | None,
        localdatetime: Callable[[datetime], str],
    ) -> None:
        self.role_labels = role_labels
        self.sees_errors = sees_errors
        self.definition = definition
        self.localdatetime = localdatetime
        translations = page_translations()
        words = _WORDS.get(translations)
        if words is None:
            words = _WORDS.setdefault(translations, {})
        self._words = words
        self._translations = translations

    @classmethod
    def for_page(cls, detail: Any, role_labels: Mapping[str, Any]) -> EventWords:
        """From what a page knows of its instance (`detail`: an InstanceDetail, or the log's stand-in)."""
        return cls(
            role_labels=role_labels,
            sees_errors=bool(getattr(detail, "sees_errors", False)),
            definition=getattr(detail, "definition", None),
            localdatetime=current_app.jinja_env.filters["localdatetime"],
        )

    def _(self, msgid: str, **variables: Any) -> Markup:
        """As `_()` in an autoescaped template: the translation trusted, its variables escaped, `%%` a percent sign."""
        try:
            found = self._words[msgid]
        except KeyError:
            found = self._words[msgid] = Markup(self._translations.ugettext(msgid))  # noqa: S704 (our catalogue)
        return found % variables

    def who(self, entry: TimelineEntry) -> Markup:
        if entry.actor_full_name:
            return escape(entry.actor_full_name)
        if entry.event.actor_id is None:
            return self._(_SYSTEM)
        return escape(entry.event.actor_name)

    def what(self, entry: TimelineEntry) -> Markup:
        """The event's sentence; a kind this version does not know by its name, or its code."""
        sentence = _SENTENCES.get(entry.event.event_type)
        if sentence is None:
            code = entry.event.event_type
            english = EVENT_TYPE_NAMES.get(code)
            return escape(self._translations.ugettext(english) if english is not None else code)
        return sentence(self, entry, _Payload(entry.payload))


class _Payload:
    """An event's payload read as the templates read it: a key it lacks is empty text (Jinja's undefined), a key it
    holds as its value, None included."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key, "")


def _task_opened(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    text = words._(N_("Step “%(name)s” opened"), name=p["name"])
    if entry.assignee_name:
        text += Markup(" — ") + words._(N_("assigned to %(name)s"), name=entry.assignee_name)
    elif p["candidate_role"]:
        role = p["candidate_role"]
        text += Markup(" — ") + words._(
            N_("for the %(role)s of %(unit)s"),
            role=words.role_labels.get(role, role),
            unit=entry.candidate_unit_name or "—",
        )
    if entry.due_dt:
        text += Markup(", ") + words._(N_("due %(date)s"), date=words.localdatetime(entry.due_dt))
    text += Markup(".")
    if p["assignment_problem"] and words.sees_errors:
        problem = words._(
            N_("Nobody could be assigned: %(problem)s"), problem=translate_detailed(p["assignment_problem"])
        )
        text += Markup(' <strong class="field-error">') + problem + Markup("</strong>")
    return text


def _task_reassigned(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    to = entry.assignee_name or p["assignee"] or "—"
    if entry.previous_assignee_name or p["from_assignee_id"]:
        text = words._(
            N_("Handed the step “%(name)s” from %(previous)s to %(to)s. Reason: %(reason)s"),
            name=p["name"],
            previous=entry.previous_assignee_name or "—",
            to=to,
            reason=p["reason"],
        )
    else:
        text = words._(
            N_("Gave the step “%(name)s”, waiting for its group, to %(to)s. Reason: %(reason)s"),
            name=p["name"],
            to=to,
            reason=p["reason"],
        )
    if p["draft_moved"]:
        moved = words._(N_("The draft %(name)s had saved went with it."), name=entry.draft_saved_by_name or "—")
        text += Markup(" ") + moved
    return text


def _ballot_opened(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    if p["step_key"] and words.definition:
        step = words.definition.step_name(p["step_key"])
    else:
        step = p["step"] or p["step_key"] or "—"
    return words._(N_("Ballot opened for the step “%(step)s”."), step=step)


def _ballot_attendance(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    if p["nobody_attended"]:
        return words._(N_("Recorded that nobody attended the conference."))
    return words._(N_("Attendance recorded: %(count)s present."), count=p["count"])


def _ballot_closed(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    """The count with the basis it was decided on — who came against the quorum, what a candidate needed — and each
    candidate's share: an inspector reads why "3/4" passed without opening the minutes. A closing recorded before
    the chain kept the tally says only that it closed."""
    tally = p["tally"]
    rules = tally.get("rules") if isinstance(tally, Mapping) else None
    if not isinstance(tally, Mapping) or not isinstance(rules, Mapping):
        return words._(N_("Ballot closed and counted."))
    denominator = str(rules.get("denominator") or "")
    basis = words._(
        N_(
            "Ballot closed and counted: %(present)s of the %(summoned)s summoned were present (a quorum of "
            "%(quorum)s of those summoned: %(quorum_result)s); an opinion that goes with the dossier and chooses "
            "nobody, each share of %(who)s (%(count)s)."
        )
        if rules.get("advisory")
        else N_(
            "Ballot closed and counted: %(present)s of the %(summoned)s summoned were present (a quorum of "
            "%(quorum)s of those summoned: %(quorum_result)s); a candidate passes with more than %(threshold)s of "
            "%(who)s (%(count)s)."
        ),
        present=tally.get("present", "—"),
        summoned=tally.get("summoned", "—"),
        quorum=rules.get("quorum", "—"),
        quorum_result=words._(N_("reached") if tally.get("quorum_met") else N_("not reached")),
        threshold=rules.get("threshold", "—"),
        who=words._(DENOMINATOR_WORDS[denominator]) if denominator in DENOMINATOR_WORDS else denominator,
        count=tally.get("denominator", "—"),
    )
    candidates = p["candidates"] if isinstance(p["candidates"], list) else []
    names = {str(c.get("key")): str(c.get("name")) for c in candidates if isinstance(c, Mapping)}
    return basis + Markup(" ") + escape(tally_text(tally, names)) + Markup(".")


def _error(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    text = words._(N_("A step of the procedure model failed; nothing was saved."))
    if not words.sees_errors:
        return text
    where = Markup("")
    if p["element_id"]:
        line = Markup(", ") + words._(N_("line")) + Markup(" %s") % p["line"] if p["line"] else Markup("")
        where = Markup(" (%s") % p["element_id"] + line + Markup(")")
    return text + Markup(" <code>%s") % p["message"] + where + Markup("</code>")


def _inspection_note(words: EventWords, entry: TimelineEntry, p: _Payload) -> Markup:
    return words._(N_("Inspection note:")) + Markup(' <q class="inspection-note">%s</q>') % p["note"]


def _named_step(msgid: str) -> Callable[[EventWords, TimelineEntry, _Payload], Markup]:
    return lambda words, entry, p: words._(msgid, name=p["name"])


def _fixed(msgid: str) -> Callable[[EventWords, TimelineEntry, _Payload], Markup]:
    return lambda words, entry, p: words._(msgid)


# The sentence of each kind of event; a kind without one is shown by its name (EVENT_TYPE_NAMES), else its code.
_SENTENCES: dict[str, Callable[[EventWords, TimelineEntry, _Payload], Markup]] = {
    EventType.INSTANCE_STARTED: lambda words, entry, p: words._(
        N_("Procedure started (version %(version)s)."), version=p["version"]
    ),
    EventType.TASK_OPENED: _task_opened,
    EventType.TASK_CLAIMED: _named_step(N_("Took the step “%(name)s”.")),
    EventType.TASK_RELEASED: _named_step(N_("Returned the step “%(name)s” to the group.")),
    EventType.TASK_REASSIGNED: _task_reassigned,
    EventType.TASK_COMPLETED: _named_step(N_("Completed the step “%(name)s”.")),
    EventType.TASK_CANCELLED: _named_step(N_("The step “%(name)s” was closed without being completed.")),
    EventType.DATA_CHANGED: _fixed(N_("The procedure's data changed.")),
    EventType.TIMER_FIRED: lambda words, entry, p: words._(
        N_("Deadline reached: %(name)s."), name=p["name"] or p["element_id"]
    ),
    EventType.INSTANCE_COMPLETED: lambda words, entry, p: words._(
        N_("Procedure ended: %(end)s."), end=p["end_name"] or p["end_event"] or "—"
    ),
    EventType.INSTANCE_CANCELLED: lambda words, entry, p: words._(
        N_("Procedure cancelled. Reason: %(reason)s"), reason=p["reason"]
    ),
    "inspection_note": _inspection_note,
    "ballot_opened": _ballot_opened,
    "ballot_attendance": _ballot_attendance,
    "ballot_cast": _fixed(N_("A ballot was cast (the ballot itself is secret).")),
    "ballot_closed": _ballot_closed,
    EventType.ERROR: _error,
}
