"""Language: Vietnamese by default, English on request (per user, or per browser session before sign-in)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from babel.dates import format_timedelta
from babel.numbers import format_decimal, get_decimal_symbol
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, session
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from webapp.data_labels import DATA_COLUMNS, DATA_LABELS, DATA_VALUES, EVENT_TYPE_NAMES, READ_KIND_NAMES
from webapp.http import located_problem_text, shown_args
from webapp.number_fields import format_amount
from webapp.planning import planning_policy
from workflows.audit import ChainBreak
from workflows.charts import ChartWords
from workflows.diagram import DiagramWords
from workflows.errors import N_
from workflows.evaluation.rollup import TASK_GROUP_NAMES
from workflows.instances import ATTACHMENT_PREFIX, DataItem
from workflows.rules.ballots import Outcome
from workflows.rules.evaluation import month_text
from workflows.rules.planning import structure_label
from workflows.rules.rotation_signals import SignalReason
from workflows.rules.targets import BY_YEAR, TargetDefinition


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    # While the database is away the user cannot be read; the browser session's choice still can.
    if not g.get("database_unavailable") and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def page_translations() -> Translations | NullTranslations:
    try:
        found: Translations | NullTranslations = g.page_translations
    except AttributeError:
        found = g.page_translations = get_translations()
    except RuntimeError:  # no app context: a page rendered by hand, outside a request
        return get_translations()
    return found


# Per catalogue, each string without variables as a page shows it: the same for every request in that language.
_SHOWN: WeakKeyDictionary[Translations | NullTranslations, dict[str, Markup]] = WeakKeyDictionary()


@pass_eval_context
def _page_gettext(eval_context: EvalContext, string: str, /, **variables: Any) -> str:
    """`_()` and `{% trans %}` in a template, as Jinja's "new style" gettext does it (the translation is trusted, its
    variables are escaped where the template autoescapes, `%%` is a percent sign) in one call instead of three."""
    translations = page_translations()
    if not eval_context.autoescape:
        return translations.ugettext(string) % variables
    if variables:
        return _trusted(translations.ugettext(string)) % variables
    shown = _SHOWN.get(translations)
    if shown is None:
        shown = _SHOWN.setdefault(translations, {})
    try:
        return shown[string]
    except KeyError:
        found = shown[string] = _trusted(translations.ugettext(string)) % {}
        return found


# Per catalogue, the diagram's own words: built once, and a value the drawings' cache is keyed by (decision 0103).
_DIAGRAM_WORDS: WeakKeyDictionary[Translations | NullTranslations, DiagramWords] = WeakKeyDictionary()


def diagram_words() -> DiagramWords:
    """The words `workflows.diagram` draws of its own (a step's state, a flow taken, an unnamed element's kind) in
    the reader's language; the model's names stay as its modeller wrote them."""
    translations = page_translations()
    words = _DIAGRAM_WORDS.get(translations)
    if words is None:
        words = _DIAGRAM_WORDS[translations] = DiagramWords.translated_by(translations.ugettext)
    return words


# Per catalogue (one catalogue is one language), the charts' own words and decimal mark (decision 0111).
_CHART_WORDS: WeakKeyDictionary[Translations | NullTranslations, ChartWords] = WeakKeyDictionary()


def chart_words() -> ChartWords:
    """The words `workflows.charts` draws of its own (no data, the target, the grades' names, "3 people") and its
    numbers' decimal mark, in the reader's language; labels and titles are the caller's."""
    translations = page_translations()
    words = _CHART_WORDS.get(translations)
    if words is None:
        words = _CHART_WORDS[translations] = ChartWords.translated_by(
            translations.ugettext, translations.ungettext, get_decimal_symbol(_locale())
        )
    return words


def target_text(definition: TargetDefinition) -> str:
    """A target as the reader writes it: "≥ 5% (đến năm 2030)" in Vietnamese, "≥ 5% (by 2030)" in English, its
    figures as the charts beside it write theirs."""
    return definition.target_words(chart_words().number, page_translations().ugettext(BY_YEAR))


def structure_name(key: str) -> str:
    """A planning structure figure's name in the reader's language ("Nữ", "Women"), the young's age the policy's."""
    return structure_label(key, planning_policy(), page_translations().ugettext)


def signal_reason(reason: SignalReason) -> str:
    """Why a cadre is signalled for rotation, in the reader's language, its numbers the reader's way (decision
    0118); the places and posts named as the registry writes them."""
    return reason.text(page_translations().ugettext, shown_args)


def _trusted(translated: str) -> Markup:
    # The catalogue is ours (webapp/translations, reviewed like code): its strings may carry markup.
    return Markup(translated)  # noqa: S704


def install_page_translations(app: Flask) -> None:
    """Templates find the reader's catalogue once per request. Flask-Babel's own template callables look it up for
    every string — its domain, the context, the locale: 5 µs each, 30 to 60 strings a page (issue #9). Jinja's
    `_` then reaches it through three context calls (its alias, its new-style wrapper, the callable): 12 µs a string
    in a slow hour, 90 strings on an inbox page; `_page_gettext` is one."""
    # Jinja's wrappers stay for the plural and context forms (rare); `_` and `gettext` are replaced just below.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(_=_page_gettext, gettext=_page_gettext)
    app.jinja_env.filters["detailed"] = translate_detailed
    app.jinja_env.filters["chain_break"] = translate_chain_break
    app.jinja_env.filters["problem"] = located_problem_text
    app.jinja_env.filters["data_label"] = data_label
    app.jinja_env.filters["data_value"] = data_value
    app.jinja_env.filters["data_column"] = data_column
    app.jinja_env.filters["data_text"] = data_text
    app.jinja_env.filters["summary_parts"] = summary_parts
    app.jinja_env.filters["attached_file"] = attached_file
    app.jinja_env.filters["split_technical"] = split_technical
    app.jinja_env.globals["case_reference"] = case_reference
    app.jinja_env.filters["fixed"] = format_fixed
    app.jinja_env.filters["share"] = format_share
    app.jinja_env.filters["file_size"] = format_file_size
    app.jinja_env.filters["tally_outcome"] = tally_outcome
    app.jinja_env.filters["tally_text"] = tally_text
    app.jinja_env.filters["tally_results"] = tally_results
    app.jinja_env.filters["amount"] = format_amount
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.filters["period_text"] = format_period
    app.jinja_env.filters["event_type"] = lambda code: _named(EVENT_TYPE_NAMES, code)
    app.jinja_env.filters["read_kind"] = lambda code: _named(READ_KIND_NAMES, code)
    app.jinja_env.filters["task_group"] = task_group_name
    app.jinja_env.filters["target_text"] = target_text
    app.jinja_env.filters["structure_name"] = structure_name
    app.jinja_env.filters["signal_reason"] = signal_reason


def translate_detailed(message: str | None) -> str:
    """Stored "fixed message: detail" parts joined by "; " (a task's assignment problems): each fixed part in the
    reader's language, each detail — a lane, a name, an expression, as the model wrote it — left as it is. A part
    without a translation stays whole, so older rows read as they were written."""
    if not message:
        return ""
    translations = page_translations()
    parts = []
    for part in message.split("; "):
        head, separator, detail = part.partition(": ")
        parts.append(translations.ugettext(head) + separator + detail)
    return "; ".join(parts)


_BREAK_AT_EVENT = N_("chain %(chain)s, event id %(event)s (#%(seq)s)")
_BREAK_AT = N_("chain %(chain)s, #%(seq)s")


def translate_chain_break(chain_break: ChainBreak) -> str:
    """Where a hash chain breaks and why, in the reader's language (the CLI and the API say it in English)."""
    translations = page_translations()
    reason = translations.ugettext(chain_break.reason) % chain_break.reason_args
    if chain_break.event_id is not None:
        where = translations.ugettext(_BREAK_AT_EVENT) % {
            "chain": chain_break.chain_key,
            "event": chain_break.event_id,
            "seq": chain_break.seq,
        }
    else:
        where = translations.ugettext(_BREAK_AT) % {"chain": chain_break.chain_key, "seq": chain_break.seq}
    return f"{where}: {reason}"


def _named(names: Mapping[str, str], code: Any) -> Any:
    """A code's name in the reader's language; a code without one (from a newer or older version, a form's title)
    as it is."""
    english = names.get(code) if isinstance(code, str) else None
    return page_translations().ugettext(english) if english is not None else code


def data_label(label: str) -> str:
    """A data item's label: a form's title as it is; a raw key of the shipped procedures' own data
    (webapp/data_labels.py) in the reader's language; any other key as it is."""
    return str(_named(DATA_LABELS, label))


def data_value(value: Any, key: str) -> Any:
    """A coded value of the procedures' own data (`source`: `external`) in the reader's language, a list of codes
    (`eligibility_failed`) as their names; any other as it is."""
    codes = DATA_VALUES.get(key, {})
    if isinstance(value, list) and value and all(isinstance(item, str) and item in codes for item in value):
        return "; ".join(_named(codes, item) for item in value)
    return _named(codes, value)


def summary_parts(summary: Any) -> list[tuple[str, Any]]:
    """A procedure's summary (decision 0144) as (label, value) in the reader's language: the shipped procedures'
    own keys by their names here, other fields by the title their form gave them, values as the instance page writes
    them. A malformed item is left out rather than shown raw."""
    parts: list[tuple[str, Any]] = []
    for item in summary if isinstance(summary, list) else ():
        if not isinstance(item, list) or len(item) < 2 or not isinstance(item[0], str):
            continue
        key, value = item[0], item[1]
        title = item[2] if len(item) > 2 and isinstance(item[2], str) else None
        label = data_label(key) if key in DATA_LABELS or not title else title
        if isinstance(value, bool):
            shown: Any = _("Yes") if value else _("No")
        else:
            shown = data_text(data_value(value, key), key, amounts=True)
        parts.append((label, shown))
    return parts


def task_group_name(key: str) -> str:
    """An evaluation quota's task group by its name (workflows.evaluation.rollup.TASK_GROUP_NAMES) in the reader's
    language; a group a configured policy names (EVALUATION_TASK_GROUPS) as it is written there."""
    return str(_named(TASK_GROUP_NAMES, key))


def data_column(label: str, table_key: str, column_key: str) -> str:
    """A column's heading in a list of rows: its meaning in that list (DATA_COLUMNS), else as any data label."""
    columns = DATA_COLUMNS.get(table_key, {})
    return str(_named(columns, column_key)) if column_key in columns else data_label(label)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def _locale() -> str:
    try:
        return str(get_locale() or "vi")
    except RuntimeError:  # outside a request
        return "vi"


def format_data_number(value: float, *, grouped: bool = False) -> str:
    """A number as the reader writes it: "26,5" and "9" in Vietnamese (not "26.5", "9.0"), no thousands separator
    (a year is 2027, a code stays one). `grouped`: an amount of the procedure's data, grouped by thousands from 10 000
    on as the app writes counts ("50.000.000"; "50,000,000" in English) — a four-digit figure, a year, stays whole."""
    if value == 0:  # 0.0 and -0.0 are one key of the cache below, and Babel writes "0" and "-0"
        return format_decimal(value, format="0.####", locale=_locale())
    return _number_text(value, _locale(), grouped and abs(value) >= _GROUPED_FROM)


_GROUPED_FROM = 10_000


# Babel parses the pattern and looks the locale's symbols up on every call (18 µs); a page of data repeats the same
# few numbers (scores, counts, amounts) in every event of its history (decision 0093). `typed`: 1 and 1.0 stay apart.
@functools.lru_cache(maxsize=4096, typed=True)
def _number_text(value: float, locale: str, grouped: bool = False) -> str:
    return format_decimal(value, format="#,##0.####" if grouped else "0.####", locale=locale)


def case_reference(procedure: str, number: int) -> str:
    """A procedure's case as people name it, "Bổ nhiệm cán bộ — hồ sơ số 7", rather than its internal reference
    "appointment#7"."""
    return _("%(procedure)s — case no. %(number)s", procedure=procedure, number=number)


def format_fixed(value: float, places: int = 1) -> str:
    """A measured figure with a fixed number of decimals, the reader's way: "76,0" and "33,33" in Vietnamese."""
    return format_decimal(value, format="0." + "0" * places if places else "0", locale=_locale())


def format_share(percent: float | None) -> str:
    """A target's figure as the targets pages show it, and their exports with them: one decimal the reader's way
    and the sign ("76,0%" in Vietnamese, "76.0%" in English; "—" when there is nobody to count)."""
    return "—" if percent is None else f"{format_fixed(percent)}%"


_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")


def format_period(period: str) -> str:
    """An evaluation period as people write it: a month "11/2026", a quarter "Quý 4/2026", a year as it is."""
    quarter = _QUARTER.fullmatch(period)
    if quarter:
        return _("Q%(quarter)s/%(year)s", quarter=quarter.group(2), year=quarter.group(1))
    return month_text(period)


# Data keys that hold an evaluation period ("2026-11", "2026-Q4", "2026").
PERIOD_KEYS = frozenset({"period"})
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def period_words(period: str) -> str:
    """An evaluation period in a sentence: "tháng 11/2026", "Quý 4/2026"; a year or anything else as written."""
    if _MONTH.fullmatch(period) and month_text(period) != period:
        return _("month %(month)s", month=month_text(period))
    return format_period(period)


def format_file_size(size: int) -> str:
    """A file's size as people read it, the reader's way: "640 byte", "1,5 KB", "2,3 MB" (a small file is not
    "0.0 KB")."""
    if size < 1024:
        return _("%(size)s bytes", size=size)
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(size / 1024, format="0.#", locale=_locale()))
    return _("%(size)s MB", size=format_decimal(size / (1024 * 1024), format="0.#", locale=_locale()))


def format_duration(value: timedelta) -> str:
    """How long something took, in words and rounded to its largest unit ("4 phút", "2 ngày"), as a report reads;
    under a minute: "dưới 1 phút" rather than seconds nobody acts on."""
    if value < timedelta(minutes=1):
        return _("under a minute")
    return format_timedelta(value, threshold=1, locale=_locale())


def _format_text(value: str) -> str:
    """An ISO day as dd/mm/yyyy; an ISO time as dd/mm/yyyy hh:mm in the display zone (naive: as written)."""
    if _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if _ISO_TIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            return moment.strftime("%d/%m/%Y %H:%M")
        localdatetime = current_app.jinja_env.filters["localdatetime"]
        return str(localdatetime(moment.astimezone(UTC).replace(tzinfo=None)))
    return value


def split_technical(items: list[DataItem]) -> tuple[list[DataItem], list[DataItem]]:
    """A procedure's facts and the model's working data (workflows.instances.is_technical), each in order. A structured
    value the pages word part by part (DATA_COLUMNS: a score in detail) is a fact whatever its shape: the working data
    is shown to administrators and auditors only (decision 0095)."""
    facts = [item for item in items if not item.technical or item.key in DATA_COLUMNS]
    return facts, [item for item in items if item.technical and item.key not in DATA_COLUMNS]


def data_text(value: Any, key: str | None = None, *, amounts: bool = False) -> Any:
    """A data value as a person reads it: numbers the reader's way, ISO days and times as the pages write them,
    a list as its items, a structured value (a score in detail) as "label: value" parts; None and booleans pass
    through for the page to word ("—", "Có"). Codes are named first (`data_value`). `amounts`: a procedure's data
    as its pages show it (its data and its history, instances/_history.html), where a large number is an amount and
    reads grouped by thousands ("50.000.000") — not under a key naming another row (`…_id`), whose number is a code."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format_data_number(value, grouped=amounts and not _names_a_row(key))
    if isinstance(value, str):
        return period_words(value) if key in PERIOD_KEYS else _format_text(value)
    if isinstance(value, Mapping):
        columns = DATA_COLUMNS.get(key or "", {})
        parts = []
        for part, item in value.items():
            label = _named(columns, part) if part in columns else data_label(str(part))
            text = data_text(data_value(item, str(part)), str(part), amounts=amounts)
            parts.append(f"{label}: {_word(text)}")
        return "; ".join(parts)
    if isinstance(value, list | tuple):
        return (" | " if any(isinstance(item, Mapping) for item in value) else "; ").join(
            _word(data_text(data_value(item, key or ""), key, amounts=amounts)) for item in value
        )
    return str(value)


def attached_file(value: Any, rows: Iterable[Any] | None) -> Any:
    """The stored file a data value refers to ("attachment:12") among a procedure's files (its `AttachmentRow`s,
    workflows.instances); None for any other value, or a file not among them."""
    if not rows or not isinstance(value, str) or not value.startswith(ATTACHMENT_PREFIX):
        return None
    return next((row.attachment for row in rows if f"{ATTACHMENT_PREFIX}{row.attachment.id}" == value), None)


def _names_a_row(key: str | None) -> bool:
    """A data key holding another row's id or key (as `workflows.instances.is_technical` tells them)."""
    return key is not None and key.endswith(("_id", "_ids", "_key"))


_YES, _NO = N_("Yes"), N_("No")

# A ballot's outcome in a sentence of the history ("kết quả: trúng cử"), by the stored code (workflows.rules.ballots).
TALLY_OUTCOMES = {
    Outcome.ELECTED: N_("elected"),
    Outcome.NOT_ELECTED: N_("not elected"),
    Outcome.OPINION: N_("opinion recorded"),
    Outcome.HEAD_DECIDES: N_("at the threshold: the head decides"),
    Outcome.RUNOFF: N_("nobody passed: the leading candidates go on"),
    Outcome.QUORUM_FAILED: N_("quorum not reached"),
}


def tally_outcome(code: Any) -> str:
    """A stored tally outcome in words; an unknown code as it is."""
    return _(TALLY_OUTCOMES[code]) if isinstance(code, str) and code in TALLY_OUTCOMES else str(code or "—")


# A candidate's own result in a closed ballot ("Nguyễn Văn An: 2/3 đồng ý (66,67%) — trúng cử"), by where the tally
# record puts them: each candidate is said to be elected or not, so that a result after the last of several candidates
# is never read as that candidate's (decision 0135).
_ELECTED, _NOT_ELECTED = TALLY_OUTCOMES[Outcome.ELECTED], TALLY_OUTCOMES[Outcome.NOT_ELECTED]
_AT_THRESHOLD = TALLY_OUTCOMES[Outcome.HEAD_DECIDES]
_TIED = N_("tied for the last seat: the head decides")
_GOES_ON = N_("goes on to the next round")
# Outcomes whose record says which candidates were chosen (`elected`, `head_decides`, `runoff`).
_CHOOSING = frozenset({Outcome.ELECTED, Outcome.NOT_ELECTED, Outcome.HEAD_DECIDES, Outcome.RUNOFF})


def tally_results(tally: Any) -> dict[str, str]:
    """Each candidate's own result in a tally record, by candidate key, in the reader's language: elected, not
    elected, for the head to decide (at the threshold, or tied for the last seat), going on to the next round; an
    advisory ballot's "opinion recorded" for each. Empty where the record says no candidate's own result: a missed
    quorum (nobody was chosen, the conference is held again), an unknown outcome, or a record without the lists of
    those chosen — the ballot's outcome is then said once, for the whole."""
    if not isinstance(tally, Mapping):
        return {}
    outcome = tally.get("outcome")
    rows = [row for row in tally.get("candidates") or [] if isinstance(row, Mapping)]
    if outcome == Outcome.OPINION:
        return {str(row.get("key")): _(TALLY_OUTCOMES[Outcome.OPINION]) for row in rows}
    lists = ("elected", "head_decides", "runoff")
    if outcome not in _CHOOSING or not any(isinstance(tally.get(name), list) for name in lists):
        return {}
    elected, head, runoff = ({str(key) for key in tally.get(name) or ()} for name in lists)
    results = {}
    for row in rows:
        key = str(row.get("key"))
        if key in elected:
            results[key] = _(_ELECTED)
        elif key in head:
            results[key] = _(_AT_THRESHOLD if row.get("at_threshold") else _TIED)
        elif key in runoff:
            results[key] = _(_GOES_ON)
        else:
            results[key] = _(_NOT_ELECTED)
    return results


def tally_text(tally: Any, names: Mapping[str, str] | None = None) -> str:
    """A ballot's tally record (as the data and the chain keep it) in words: each candidate's votes in favour of the
    denominator with the percentage and their own result — "Nguyễn Văn An: 2/3 đồng ý (66,67%) — trúng cử; Trần Thị
    Bình: 0/3 đồng ý (0,00%) — không trúng cử" —, or, when the record gives none per candidate (`tally_results`), the
    ballot's outcome once after them ("… — không đủ số người dự"). Worded when read, so a tally recorded before reads
    the same way."""
    if not isinstance(tally, Mapping):
        return str(data_text(tally))
    names = names or {}
    results = tally_results(tally)
    parts = []
    for row in tally.get("candidates") or []:
        if not isinstance(row, Mapping):
            continue
        key = str(row.get("key"))
        percent = row.get("percent")
        share = _(
            "%(name)s: %(yes)s/%(of)s in favour (%(percent)s%%)",
            name=names.get(key, key),
            yes=row.get("yes", 0),
            of=tally.get("denominator", "—"),
            percent=format_fixed(percent, 2) if isinstance(percent, int | float) else "—",
        )
        parts.append(f"{share} — {results[key]}" if key in results else share)
    if results:
        return "; ".join(parts)
    outcome = tally_outcome(tally.get("outcome"))
    return f"{'; '.join(parts)} — {outcome}" if parts else outcome


def _word(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(page_translations().ugettext(_YES if value else _NO))
    return str(value)
