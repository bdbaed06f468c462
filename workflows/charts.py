"""Server-side SVG charts for the targets dashboard: horizontal bars against a target, and stacked grade bars.

The output is a self-contained SVG string meant to be inlined in a page: no script, no external reference, and
no <style> element (inline SVG styles are not scoped, and would leak into the page), only presentation
attributes. The drawing scales to its container (`width="100%"` with a viewBox), so its font sizes are in units of
the drawing, not pixels: it is 320 units wide, about the width a 400 px phone gives it (350 px inside the page's
margins), so that there the smallest text (12 units) prints at 13 px; drawn 400 wide, the legend's 11 units printed
at 9.6 px (tests/browser/test_evaluation_phone.py). A wide screen caps it at 1.6 times that (app.css, `.chart svg`).
Labels sit above their bar rather than beside it, which keeps the whole width for the bar on a narrow screen.

Accessibility: the root has role="img", its aria-label and <title> are the chart title, and a <desc> lists every
value, which assistive technology reads as the description. Each row and segment also carries a <title> with its
full, untruncated text, shown on hover or long press.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from workflows.errors import N_, NN_
from workflows.rules.targets import GRADES, format_number

__all__ = [
    "CHART_MSGIDS",
    "CHART_PLURALS",
    "ENGLISH",
    "GRADE_SERIES",
    "ChartWords",
    "Series",
    "bar_chart",
    "stacked_bar",
]

_WIDTH = 320.0
_PAD = 12.0
_TITLE_FONT = 15.0
_LABEL_FONT = 13.0
_VALUE_FONT = 12.0
_SMALL_FONT = 12.0
_LINE_HEIGHT = 1.25
# Glyph advance relative to the font size for Vietnamese in a sans-serif face, on the wide side: measured in
# Chromium with DejaVu Sans, names run to 0.58 and the semibold title to 0.65 (at 0.55 a title line ran past the
# chart's edge and lost its last letter). Erring wide only wraps a label a word early.
_CHAR_WIDTH = 0.6
_TITLE_CHAR_WIDTH = 0.66
_BAR_HEIGHT = 16.0
_ROW_GAP = 10.0
_VALUE_ROOM = 64.0  # right of the longest bar, so that its value label is never clipped
_LINE_CLEARANCE = 4.0  # between a value label and the target line it is kept off
_LABEL_LINES = 2

_TEXT = "#1f2937"
_MUTED = "#6b7280"
_BAR = "#2563eb"
_TARGET = "#b91c1c"
_TRACK = "#e5e7eb"
# A white outline painted under the glyphs keeps a label legible where it crosses a line or a bar.
_HALO = {"stroke": "#ffffff", "stroke_width": "3", "stroke_linejoin": "round", "paint_order": "stroke"}
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', Arial, sans-serif"

# The charts' own words are English msgids (`N_`), drawn in the reader's language through `ChartWords`, as the
# diagram's are (decisions 0103, 0111): the engine cannot translate, the web layer can.
NO_DATA = N_("No data")
NO_RESULTS = N_("No results yet")
TARGET_IS = N_("Target: %(target)s")
EACH_TARGET = N_("Dashed line: each figure's target")
OWN_TARGET = N_("(target %(target)s)")
TOTAL = N_("(total %(total)s)")
PEOPLE = NN_("%(count)s person", "%(count)s people")

# Characters XML 1.0 forbids even when escaped; a stray one in a name would make the whole page fail to parse.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Series(NamedTuple):
    key: str
    label: str
    full_label: str
    color: str


# A series' `full_label` is drawn through the words too: the grades' names are msgids; a caller's own series, whose
# names have no translation, are drawn as given.
GRADE_SERIES: tuple[Series, ...] = (
    Series("HTXSNV", "HTXSNV", N_("Completed duties excellently"), "#1a7f37"),
    Series("HTTNV", "HTTNV", N_("Completed duties well"), "#74c476"),
    Series("HTNV", "HTNV", N_("Completed duties"), "#fdd049"),
    Series("KHTNV", "KHTNV", N_("Did not complete duties"), "#c0392b"),
)
assert tuple(s.key for s in GRADE_SERIES) == GRADES
CHART_MSGIDS = frozenset(
    {NO_DATA, NO_RESULTS, TARGET_IS, EACH_TARGET, OWN_TARGET, TOTAL, *(s.full_label for s in GRADE_SERIES)}
)
CHART_PLURALS = (PEOPLE,)


@dataclass(frozen=True)
class ChartWords:
    """The charts' own words and numbers in one language: each of `CHART_MSGIDS` with its translation (the msgid,
    English, where none is given), each plural of `CHART_PLURALS` as said of one and of several, and the decimal
    mark ("12.5" in English, "12,5" in Vietnamese). The two languages the product speaks have at most these two plural
    forms."""

    translations: tuple[tuple[str, str], ...] = ()
    plurals: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()
    decimal_mark: str = "."
    _table: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)
    _plural_table: dict[tuple[str, str], tuple[str, str]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_table", dict(self.translations))
        object.__setattr__(self, "_plural_table", dict(self.plurals))

    @classmethod
    def translated_by(
        cls,
        translate: Callable[[str], str],
        translate_plural: Callable[[str, str, int], str],
        decimal_mark: str,
    ) -> ChartWords:
        """The words as a catalog's gettext and ngettext give them, numbers with `decimal_mark`."""
        return cls(
            tuple((msgid, translate(msgid)) for msgid in sorted(CHART_MSGIDS)),
            tuple(
                ((one, many), (translate_plural(one, many, 1), translate_plural(one, many, 2)))
                for one, many in CHART_PLURALS
            ),
            decimal_mark,
        )

    def __getitem__(self, msgid: str) -> str:
        return self._table.get(msgid, msgid)

    def plural(self, forms: tuple[str, str], count: int) -> str:
        one, many = self._plural_table.get(forms, forms)
        return (one if count == 1 else many) % {"count": count}

    def number(self, value: float | None) -> str:
        # `format_number` writes no thousands separator: its only comma is the decimal one.
        return format_number(value).replace(",", self.decimal_mark)


ENGLISH = ChartWords()


# ---------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------
def _esc(text: str) -> str:
    return html.escape(_XML_INVALID.sub("", text), quote=True)


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _wrap(text: str, width: float, font_size: float, max_lines: int, *, char_width: float = _CHAR_WIDTH) -> list[str]:
    """Greedy word wrap into at most `max_lines`; a word longer than a line is cut, and the last line ends with
    "…" when text was dropped."""
    max_chars = max(1, int(width / (font_size * char_width)))
    lines: list[str] = []
    current = ""
    for raw in _XML_INVALID.sub("", text).split():
        word = raw
        while len(word) > max_chars:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:max_chars])
            word = word[max_chars:]
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
        lines[-1] = lines[-1][: max_chars - 1].rstrip() + "…"
    return lines


def _text(lines: Sequence[str], x: float, top: float, font_size: float, *, fill: str = _TEXT, **attrs: str) -> str:
    """Lines hung from `top`: the first baseline sits one font size down."""
    # `class_` because `class` is a keyword; other underscores stand for the hyphens of SVG attribute names.
    extra = "".join(f' {name.rstrip("_").replace("_", "-")}="{_esc(value)}"' for name, value in attrs.items())
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(top + font_size + i * font_size * _LINE_HEIGHT)}">{_esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text font-size="{_n(font_size)}" fill="{fill}"{extra}>{spans}</text>'


def _block_height(line_count: int, font_size: float) -> float:
    return line_count * font_size * _LINE_HEIGHT


def _value_text(value: float | None, unit: str, words: ChartWords) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{words.number(value)}%"
    return f"{words.number(value)} {unit}" if unit else words.number(value)


def _svg(kind: str, title: str, description: str, height: float, body: str) -> str:
    label = _esc(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {_n(_WIDTH)} {_n(height)}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}" font-family="{_FONT}">'
        f"<title>{label}</title><desc>{_esc(description)}</desc>{body}</svg>"
    )


def _text_width(text: str, font_size: float) -> float:
    return len(text) * font_size * _CHAR_WIDTH


def _value_label(shown: str, end: float, top: float, target_x: float | None) -> str:
    """A bar's value, just right of the bar's end. A value short of the target whose number the target's dashed
    line would cross (`target_x`, None otherwise) goes inside its bar, white and right-aligned, where the bar is long
    enough for it, else just past the line: a halo kept it legible, but a dash through "79,6" still read as a
    strike-through."""
    beside = end + 4
    width = _text_width(shown, _VALUE_FONT)
    if target_x is None or beside + width + _LINE_CLEARANCE <= target_x:
        return _text([shown], beside, top, _VALUE_FONT, class_="bar-value", **_HALO)
    if end - _PAD >= width + 8:
        return _text([shown], end - 4, top, _VALUE_FONT, fill="#ffffff", class_="bar-value inside", text_anchor="end")
    return _text([shown], target_x + _LINE_CLEARANCE, top, _VALUE_FONT, class_="bar-value", **_HALO)


def _heading(title: str) -> tuple[str, float]:
    lines = _wrap(title, _WIDTH - 2 * _PAD, _TITLE_FONT, 3, char_width=_TITLE_CHAR_WIDTH)
    markup = _text(lines, _PAD, _PAD, _TITLE_FONT, font_weight="600", class_="chart-title")
    return markup, _PAD + _block_height(len(lines), _TITLE_FONT) + 4


# ---------------------------------------------------------------------------------------------
# Horizontal bars against a target
# ---------------------------------------------------------------------------------------------
def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "%",
    target: float | None = None,
    target_label: str | None = None,
    max_value: float | None = None,
    targets: Sequence[float | None] | None = None,
    words: ChartWords = ENGLISH,
) -> str:
    """One horizontal bar per (label, value); a None value (e.g. an empty denominator) draws no bar and says so.

    The scale runs from 0 to `max_value`, by default 100 for percentages and otherwise the largest value or
    target. A target draws a dashed line across every bar, explained in a legend line under the title.
    `targets` (one per item, None for none) marks each bar at its own target instead, as the overview of figures
    with different targets needs; each bar's <title> then names its target too. The chart's own words and its
    numbers are `words`' (the reader's language, decision 0111); labels and titles are drawn as given.
    """
    if targets is not None:
        if len(targets) != len(items):
            raise ValueError("targets must have one entry per item")
        if target is not None:
            raise ValueError("give either one target or one per item, not both")
    row_targets = list(targets) if targets is not None else [target] * len(items)
    values = [v for _, v in items if v is not None]
    if max_value is None:
        candidates = [*values, *(t for t in row_targets if t is not None)]
        max_value = 100.0 if unit == "%" and all(v <= 100 for v in candidates) else max(candidates, default=0.0)
    if max_value <= 0:
        max_value = 1.0
    track = _WIDTH - 2 * _PAD - _VALUE_ROOM

    def x_of(value: float) -> float:
        return _PAD + track * min(max(value, 0.0), max_value) / max_value

    parts, y = _heading(title)
    body = [parts]
    if targets is not None:
        marked = any(t is not None for t in targets)
        target_text = target_label or (words[EACH_TARGET] if marked else "")
    else:
        target_text = target_label or (
            words[TARGET_IS] % {"target": _value_text(target, unit, words)} if target is not None else ""
        )
    if target_text and any(t is not None for t in row_targets):
        legend_lines = _wrap(target_text, track, _SMALL_FONT, 2)
        legend_y = y + _SMALL_FONT / 2 + 2
        body.append(
            f'<g class="target-legend"><path d="M{_n(_PAD)} {_n(legend_y)}h22" stroke="{_TARGET}" stroke-width="2" '
            f'stroke-dasharray="5 3"/>' + _text(legend_lines, _PAD + 28, y, _SMALL_FONT, fill=_TARGET) + "</g>"
        )
        y += _block_height(len(legend_lines), _SMALL_FONT) + 6
    y += 4

    if not items:
        body.append(_text([words[NO_DATA]], _PAD, y, _LABEL_FONT, fill=_MUTED, class_="no-data"))
        y += _block_height(1, _LABEL_FONT)
    target_segments: list[str] = []
    value_labels: list[str] = []
    for (label, value), row_target in zip(items, row_targets, strict=True):
        lines = _wrap(label, _WIDTH - 2 * _PAD, _LABEL_FONT, _LABEL_LINES)
        shown = _value_text(value, unit, words)
        own_target = ""
        if targets is not None and row_target is not None:
            own_target = " " + words[OWN_TARGET] % {"target": _value_text(row_target, unit, words)}
        row = [
            f'<g class="bar-row"><title>{_esc(label)}: {_esc(shown if value is not None else words[NO_DATA])}'
            f"{_esc(own_target)}</title>",
            _text(lines, _PAD, y, _LABEL_FONT, class_="bar-label"),
        ]
        bar_y = y + _block_height(len(lines), _LABEL_FONT) + 2
        row.append(
            f'<rect class="bar-track" x="{_n(_PAD)}" y="{_n(bar_y)}" width="{_n(track)}" '
            f'height="{_n(_BAR_HEIGHT)}" fill="{_TRACK}"/>'
        )
        value_top = bar_y + (_BAR_HEIGHT - _VALUE_FONT * _LINE_HEIGHT) / 2
        if value is not None:
            end = x_of(value)
            row.append(
                f'<rect class="bar" x="{_n(_PAD)}" y="{_n(bar_y)}" width="{_n(end - _PAD)}" '
                f'height="{_n(_BAR_HEIGHT)}" fill="{_BAR}"/>'
            )
            value_labels.append(
                _value_label(
                    shown, end, value_top, x_of(row_target) if row_target is not None and value < row_target else None
                )
            )
        else:
            value_labels.append(
                _text([words[NO_DATA]], _PAD + 4, value_top, _VALUE_FONT, fill=_MUTED, class_="bar-value", **_HALO)
            )
        row.append("</g>")
        body.append("".join(row))
        if row_target is not None:
            target_segments.append(f"M{_n(x_of(row_target))} {_n(bar_y - 3)}V{_n(bar_y + _BAR_HEIGHT + 3)}")
        y = bar_y + _BAR_HEIGHT + _ROW_GAP
    if target_segments:
        # After the bars, so that the line stays visible where it crosses them.
        body.append(
            f'<path class="target-line" d="{"".join(target_segments)}" stroke="{_TARGET}" stroke-width="2" '
            f'stroke-dasharray="5 3" fill="none"><title>{_esc(target_text)}</title></path>'
        )
    # Values go on top of the target line, haloed, so that a line crossing a number does not hide it.
    body.append(f'<g class="bar-values">{"".join(value_labels)}</g>')

    summary = "; ".join(
        f"{label}: {_value_text(value, unit, words) if value is not None else words[NO_DATA]}"
        + (
            " " + words[OWN_TARGET] % {"target": _value_text(t, unit, words)}
            if targets is not None and t is not None
            else ""
        )
        for (label, value), t in zip(items, row_targets, strict=True)
    )
    description = ". ".join(part for part in (summary or words[NO_DATA], target_text) if part)
    return _svg("bar", title, description, y + _PAD - _ROW_GAP + 4, "".join(body))


# ---------------------------------------------------------------------------------------------
# Stacked bars: grade distribution per unit
# ---------------------------------------------------------------------------------------------
def _text_on(color: str) -> str:
    # Relative luminance of the fill decides between dark and white text, for contrast on every series colour.
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "#111827" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "#ffffff"


def stacked_bar(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    *,
    title: str,
    series: Sequence[Series] = GRADE_SERIES,
    row_notes: Sequence[str | None] | None = None,
    words: ChartWords = ENGLISH,
) -> str:
    """One 100%-wide bar per (label, counts), split by `series` in their order; segments show head counts, their
    <title>s the count and share. `row_notes` (same length as `rows`) prints a warning under a row, such as an
    exceeded HTXSNV quota. Counts for a key that is not a series raise ValueError. The chart's own words, the series'
    names and the shares are `words`' (decision 0111)."""
    if row_notes is not None and len(row_notes) != len(rows):
        raise ValueError("row_notes must have one entry per row")
    keys = {s.key for s in series}
    for label, counts in rows:
        stray = sorted(set(counts) - keys)
        if stray:
            raise ValueError(f"{label}: counts for unknown series {stray}")
        if any(count < 0 for count in counts.values()):
            raise ValueError(f"{label}: counts cannot be negative")

    parts, y = _heading(title)
    body = [parts]
    body.append(_legend(series, y, words))
    y += _legend_height(series) + 6
    track = _WIDTH - 2 * _PAD - _VALUE_ROOM

    if not rows:
        body.append(_text([words[NO_DATA]], _PAD, y, _LABEL_FONT, fill=_MUTED, class_="no-data"))
        y += _block_height(1, _LABEL_FONT) + _ROW_GAP
    summaries = []
    for index, (label, counts) in enumerate(rows):
        total = sum(counts.get(s.key, 0) for s in series)
        lines = _wrap(label, _WIDTH - 2 * _PAD, _LABEL_FONT, _LABEL_LINES)
        breakdown = ", ".join(f"{s.label} {counts.get(s.key, 0)}" for s in series)
        summaries.append(
            f"{label}: {breakdown} {words[TOTAL] % {'total': total}}" if total else f"{label}: {words[NO_RESULTS]}"
        )
        row = [
            f'<g class="stacked-row"><title>{_esc(summaries[-1])}</title>',
            _text(lines, _PAD, y, _LABEL_FONT, class_="bar-label"),
        ]
        bar_y = y + _block_height(len(lines), _LABEL_FONT) + 2
        value_top = bar_y + (_BAR_HEIGHT - _VALUE_FONT * _LINE_HEIGHT) / 2
        if total:
            x = _PAD
            for s in series:
                count = counts.get(s.key, 0)
                if not count:
                    continue
                width = track * count / total
                share = words.number(100 * count / total)
                tip = f"{label} — {words[s.full_label]} ({s.label}): {words.plural(PEOPLE, count)} ({share}%)"
                row.append(
                    f'<g class="segment-group"><title>{_esc(tip)}</title>'
                    f'<rect class="segment" data-series="{_esc(s.key)}" x="{_n(x)}" y="{_n(bar_y)}" '
                    f'width="{_n(width)}" height="{_n(_BAR_HEIGHT)}" fill="{s.color}"/>'
                )
                if width >= 8 * len(str(count)) + 6:
                    row.append(
                        _text(
                            [str(count)],
                            x + width / 2,
                            value_top,
                            _VALUE_FONT,
                            fill=_text_on(s.color),
                            text_anchor="middle",
                            class_="segment-value",
                        )
                    )
                row.append("</g>")
                x += width
            row.append(_text([f"n = {total}"], _PAD + track + 4, value_top, _VALUE_FONT, class_="row-total"))
        else:
            row.append(
                f'<rect class="bar-track" x="{_n(_PAD)}" y="{_n(bar_y)}" width="{_n(track)}" '
                f'height="{_n(_BAR_HEIGHT)}" fill="{_TRACK}"/>'
            )
            row.append(_text([words[NO_RESULTS]], _PAD + 4, value_top, _VALUE_FONT, fill=_MUTED, class_="bar-value"))
        y = bar_y + _BAR_HEIGHT
        note = row_notes[index] if row_notes is not None else None
        if note:
            note_lines = _wrap(note, _WIDTH - 2 * _PAD, _SMALL_FONT, 2)
            row.append(_text(note_lines, _PAD, y + 2, _SMALL_FONT, fill=_TARGET, class_="row-note"))
            y += _block_height(len(note_lines), _SMALL_FONT) + 2
            summaries[-1] += f" — {note}"
        row.append("</g>")
        body.append("".join(row))
        y += _ROW_GAP

    legend = ", ".join(f"{s.label}: {words[s.full_label]}" for s in series)
    description = f"{'; '.join(summaries) or words[NO_DATA]}. {legend}."
    return _svg("stacked", title, description, y + _PAD - _ROW_GAP + 4, "".join(body))


_SWATCH = 12.0
_LEGEND_GAP = 14.0


def _legend_layout(series: Sequence[Series]) -> list[tuple[Series, float, float]]:
    """(series, x, row index) for each legend item, flowing onto a new line when the width runs out."""
    placed: list[tuple[Series, float, float]] = []
    x, line = _PAD, 0.0
    for s in series:
        width = _SWATCH + 4 + len(s.label) * _SMALL_FONT * _CHAR_WIDTH
        if x > _PAD and x + width > _WIDTH - _PAD:
            x, line = _PAD, line + 1
        placed.append((s, x, line))
        x += width + _LEGEND_GAP
    return placed


def _legend_height(series: Sequence[Series]) -> float:
    layout = _legend_layout(series)
    lines = int(layout[-1][2]) + 1 if layout else 0
    return lines * (_SWATCH + 6)


def _legend(series: Sequence[Series], top: float, words: ChartWords) -> str:
    items = []
    for s, x, line in _legend_layout(series):
        y = top + line * (_SWATCH + 6)
        items.append(
            f'<g class="legend-item" data-series="{_esc(s.key)}">'
            f"<title>{_esc(s.label)}: {_esc(words[s.full_label])}</title>"
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(_SWATCH)}" height="{_n(_SWATCH)}" fill="{s.color}"/>'
            + _text([s.label], x + _SWATCH + 4, y + _SWATCH / 2 - _SMALL_FONT * _LINE_HEIGHT / 2, _SMALL_FONT)
            + "</g>"
        )
    return f'<g class="legend">{"".join(items)}</g>'
