"""Dashboard charts: self-contained, accessible SVG that parses as XML whatever the labels contain."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from babel.support import Translations
from lxml import etree

from workflows import charts
from workflows.charts import CHART_MSGIDS, CHART_PLURALS, ENGLISH, GRADE_SERIES, ChartWords, Series

SVG = "http://www.w3.org/2000/svg"
NS = {"s": SVG}
_CATALOGUE = Translations.load(str(Path(__file__).parents[2] / "webapp" / "translations"), ["vi"])
# What a Vietnamese reader is given (webapp.i18n.chart_words): the catalogue's words, the decimal comma.
VIETNAMESE = ChartWords.translated_by(_CATALOGUE.ugettext, _CATALOGUE.ungettext, ",")
# The drawings below are pinned as a Vietnamese reader sees them; the English ones are checked at the end.
bar_chart = functools.partial(charts.bar_chart, words=VIETNAMESE)
stacked_bar = functools.partial(charts.stacked_bar, words=VIETNAMESE)


def _parse(svg: str) -> etree._Element:
    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{{{SVG}}}svg"
    return root


def _all(root: etree._Element, css_class: str, tag: str = "*") -> list[etree._Element]:
    return root.xpath(f".//s:{tag}[contains(concat(' ', @class, ' '), ' {css_class} ')]", namespaces=NS)


def _lines(text_element: etree._Element) -> list[str]:
    return [span.text or "" for span in text_element.iterfind(f"{{{SVG}}}tspan")]


def _text(text_element: etree._Element) -> str:
    return " ".join(_lines(text_element))


def _title(element: etree._Element) -> str:
    title = element.find(f"{{{SVG}}}title")
    assert title is not None
    return title.text or ""


def _width(rect: etree._Element) -> float:
    return float(rect.get("width"))


def _assert_self_contained_image(root: etree._Element, title: str) -> None:
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 320 [\d.]+", root.get("viewBox"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == title
    assert root[0].tag == f"{{{SVG}}}title" and root[0].text == title
    assert root[1].tag == f"{{{SVG}}}desc"
    forbidden = {"script", "style", "foreignObject", "image", "a", "use"}
    assert not [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname in forbidden]
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "href" not in name
            assert "url(" not in value and "javascript:" not in value


# ---------------------------------------------------------------------------------------------
# bar_chart
# ---------------------------------------------------------------------------------------------
ITEMS = [("Xã Tân Trào", 50.0), ("Xã Minh Xuân", 100.0), ("Phường Phan Thiết", 0.0), ("Xã Hùng Lợi", 12.5)]


def test_bar_chart_is_a_self_contained_responsive_image() -> None:
    root = _parse(bar_chart(ITEMS, title="Cán bộ chủ chốt dưới 42 tuổi", target=10))

    _assert_self_contained_image(root, "Cán bộ chủ chốt dưới 42 tuổi")


def test_one_bar_per_value_in_proportion_to_the_scale() -> None:
    root = _parse(bar_chart(ITEMS, title="T"))

    bars = _all(root, "bar", "rect")
    track = _width(_all(root, "bar-track", "rect")[0])
    assert len(bars) == len(ITEMS)
    assert [_width(b) for b in bars] == pytest.approx([track * 0.5, track, 0.0, track * 0.125], abs=0.01)


def test_labels_and_values_are_printed_in_vietnamese_notation() -> None:
    root = _parse(bar_chart(ITEMS, title="T"))

    assert [_text(t) for t in _all(root, "bar-label", "text")] == [label for label, _ in ITEMS]
    assert [_text(t) for t in _all(root, "bar-value", "text")] == ["50%", "100%", "0%", "12,5%"]
    assert [_title(g) for g in _all(root, "bar-row", "g")] == [
        "Xã Tân Trào: 50%",
        "Xã Minh Xuân: 100%",
        "Phường Phan Thiết: 0%",
        "Xã Hùng Lợi: 12,5%",
    ]


def test_other_units_print_after_the_number_and_scale_to_the_largest_value() -> None:
    root = _parse(bar_chart([("Hội nghị lần 1", 3.5), ("Tờ trình", 7.0)], title="T", unit="ngày"))

    assert [_text(t) for t in _all(root, "bar-value", "text")] == ["3,5 ngày", "7 ngày"]
    track = _width(_all(root, "bar-track", "rect")[0])
    assert [_width(b) for b in _all(root, "bar", "rect")] == pytest.approx([track / 2, track], abs=0.01)


def test_counts_without_a_unit_print_bare() -> None:
    root = _parse(bar_chart([("Xã A", 4)], title="Việc quá hạn", unit=""))

    assert _text(_all(root, "bar-value", "text")[0]) == "4"


def test_a_target_above_every_value_widens_the_scale() -> None:
    root = _parse(bar_chart([("A", 4.0)], title="T", unit="ngày", target=8.0))

    track = _width(_all(root, "bar-track", "rect")[0])
    assert _width(_all(root, "bar", "rect")[0]) == pytest.approx(track / 2, abs=0.01)


def test_an_explicit_maximum_clamps_longer_bars() -> None:
    root = _parse(bar_chart([("A", 150.0), ("B", -5.0)], title="T", unit="%", max_value=100))

    track = _width(_all(root, "bar-track", "rect")[0])
    assert [_width(b) for b in _all(root, "bar", "rect")] == pytest.approx([track, 0.0], abs=0.01)


def test_a_missing_value_draws_no_bar_and_says_so() -> None:
    root = _parse(bar_chart([("Xã A", 20.0), ("Xã B", None)], title="T"))

    assert len(_all(root, "bar", "rect")) == 1
    assert [_text(t) for t in _all(root, "bar-value", "text")] == ["20%", "Không có dữ liệu"]
    assert _title(_all(root, "bar-row", "g")[1]) == "Xã B: Không có dữ liệu"


def test_long_labels_are_wrapped_then_cut_with_the_full_text_in_the_title() -> None:
    label = "Ủy ban nhân dân phường " + " ".join(f"Khu phố số {i}" for i in range(1, 30))

    root = _parse(bar_chart([(label, 40.0)], title="T"))

    lines = _lines(_all(root, "bar-label", "text")[0])
    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert all(len(line) <= 60 for line in lines)
    assert _title(_all(root, "bar-row", "g")[0]) == f"{label}: 40%"


def test_a_word_longer_than_a_line_is_cut() -> None:
    root = _parse(bar_chart([("x" * 200, 1.0)], title="T"))

    lines = _lines(_all(root, "bar-label", "text")[0])
    assert len(lines) == 2 and lines[1].endswith("…")


def test_the_target_is_a_dashed_line_across_every_bar() -> None:
    root = _parse(bar_chart(ITEMS, title="T", target=25, target_label="Mục tiêu ≥ 25%"))

    (line,) = _all(root, "target-line", "path")
    assert line.get("stroke-dasharray")
    xs = [float(x) for x in re.findall(r"M([\d.]+) ", line.get("d"))]
    assert len(xs) == len(ITEMS)
    track_rect = _all(root, "bar-track", "rect")[0]
    expected = float(track_rect.get("x")) + _width(track_rect) * 0.25
    assert xs == pytest.approx([expected] * len(ITEMS), abs=0.01)
    assert _title(line) == "Mục tiêu ≥ 25%"
    # Numbers are painted over the line, not hidden under it.
    order = list(root.iter())
    assert all(order.index(v) > order.index(line) for v in _all(root, "bar-value", "text"))
    (legend,) = _all(root, "target-legend", "g")
    assert "Mục tiêu ≥ 25%" in "".join(legend.itertext())
    assert "Mục tiêu ≥ 25%" in root.find(f"{{{SVG}}}desc").text


def _value_span(value_text: etree._Element) -> tuple[float, float]:
    """Where a value label's glyphs lie across, from the chart's own width estimate (which errs wide)."""
    (span,) = value_text.iterfind(f"{{{SVG}}}tspan")
    x = float(span.get("x"))
    width = len(span.text or "") * float(value_text.get("font-size")) * 0.55
    return (x - width, x) if value_text.get("text-anchor") == "end" else (x, x + width)


@pytest.mark.parametrize(
    ("value", "placed"),
    [
        (79.62, "inside"),  # "79,6 điểm" beside the bar would run across the 90 line: inside the long bar
        (88.0, "inside"),  # just short of the line
        (6.0, "past"),  # too short a bar to hold it: just past the line
        (40.0, "beside"),  # far enough from the line: beside the bar's end, as usual
        (90.0, "beside"),  # on the line and above: the number is right of it anyway
        (98.25, "beside"),
    ],
)
def test_a_value_label_stays_off_the_target_line(value: float, placed: str) -> None:
    """Lan's December "79,6 điểm" was printed across the dashed 90-point line: a number short of the target goes
    inside its bar (white) or past the line, never under it."""
    target = 20.0 if value == 6.0 else 90.0
    root = _parse(bar_chart([("12/2026", value)], title="T", unit="điểm", max_value=100, target=target))
    (line,) = _all(root, "target-line", "path")
    (line_x,) = (float(x) for x in re.findall(r"M([\d.]+) ", line.get("d")))
    (label,) = _all(root, "bar-value", "text")
    left, right = _value_span(label)
    assert right <= line_x - 3 or left >= line_x + 3, (left, right, line_x)
    (bar,) = _all(root, "bar", "rect")
    bar_end = float(bar.get("x")) + _width(bar)
    inside = "inside" in label.get("class").split()
    assert inside == (placed == "inside")
    if placed == "inside":
        assert float(bar.get("x")) < left and right <= bar_end and label.get("fill") == "#ffffff"
    elif placed == "past":
        assert left > line_x > bar_end
    else:
        assert left > bar_end


def test_the_default_target_label_names_the_value() -> None:
    root = _parse(bar_chart(ITEMS, title="T", target=12.5))

    assert _title(_all(root, "target-line", "path")[0]) == "Mục tiêu: 12,5%"


def test_no_target_no_line() -> None:
    root = _parse(bar_chart(ITEMS, title="T"))

    assert not _all(root, "target-line")
    assert not _all(root, "target-legend")


def test_no_items_says_there_is_no_data() -> None:
    root = _parse(bar_chart([], title="T", target=10))

    assert not _all(root, "bar", "rect")
    assert _text(_all(root, "no-data", "text")[0]) == "Không có dữ liệu"


NASTY = "<script>alert(\"x\")</script> & Đắk Lắk 'quote'"


def test_every_text_is_escaped() -> None:
    svg = bar_chart([(NASTY, 30.0)], title=f"Tiêu đề {NASTY}", target=10, target_label=f"Mục tiêu {NASTY}")

    root = _parse(svg)

    assert not root.xpath(".//s:script", namespaces=NS)
    assert "<script>" not in svg
    assert root.get("aria-label") == f"Tiêu đề {NASTY}"
    assert _text(_all(root, "bar-label", "text")[0]) == NASTY
    assert _title(_all(root, "bar-row", "g")[0]) == f"{NASTY}: 30%"
    assert _title(_all(root, "target-line", "path")[0]) == f"Mục tiêu {NASTY}"


def test_characters_xml_forbids_are_dropped_rather_than_breaking_the_page() -> None:
    root = _parse(bar_chart([("Xã\x07 A\x00", 30.0)], title="Tiêu\x1b đề"))

    assert root.get("aria-label") == "Tiêu đề"
    assert _text(_all(root, "bar-label", "text")[0]) == "Xã A"


def test_the_description_lists_every_value_for_screen_readers() -> None:
    root = _parse(bar_chart([("Xã A", 20.0), ("Xã B", None)], title="T", target=10))

    assert root.find(f"{{{SVG}}}desc").text == "Xã A: 20%; Xã B: Không có dữ liệu. Mục tiêu: 10%"


# ---------------------------------------------------------------------------------------------
# stacked_bar
# ---------------------------------------------------------------------------------------------
ROWS = [
    ("Xã Tân Trào", {"HTXSNV": 3, "HTTNV": 10, "HTNV": 2, "KHTNV": 1}),
    ("Xã Minh Xuân", {"HTXSNV": 0, "HTTNV": 5, "HTNV": 0, "KHTNV": 1}),
    ("Phường Phan Thiết", {}),
]


def test_stacked_bar_is_a_self_contained_responsive_image() -> None:
    root = _parse(stacked_bar(ROWS, title="Xếp loại tháng 5/2026"))

    _assert_self_contained_image(root, "Xếp loại tháng 5/2026")


def test_one_segment_per_graded_group_in_grade_order_and_proportion() -> None:
    root = _parse(stacked_bar(ROWS, title="T"))

    first, second, third = _all(root, "stacked-row", "g")
    segments = _all(first, "segment", "rect")
    assert [s.get("data-series") for s in segments] == ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]
    widths = [_width(s) for s in segments]
    assert [w / sum(widths) for w in widths] == pytest.approx([3 / 16, 10 / 16, 2 / 16, 1 / 16])
    xs = [float(s.get("x")) for s in segments]
    assert xs == pytest.approx([xs[0] + sum(widths[:i]) for i in range(4)])
    # Empty grades leave no zero-width segment behind.
    assert [s.get("data-series") for s in _all(second, "segment", "rect")] == ["HTTNV", "KHTNV"]
    assert not _all(third, "segment", "rect")


def test_segments_show_counts_and_their_titles_the_share() -> None:
    root = _parse(stacked_bar(ROWS, title="T"))

    first = _all(root, "stacked-row", "g")[0]
    assert [_text(t) for t in _all(first, "segment-value", "text")] == ["3", "10", "2", "1"]
    titles = [_title(g) for g in _all(first, "segment-group", "g")]
    assert titles[0] == "Xã Tân Trào — Hoàn thành xuất sắc nhiệm vụ (HTXSNV): 3 người (18,8%)"
    assert titles[1] == "Xã Tân Trào — Hoàn thành tốt nhiệm vụ (HTTNV): 10 người (62,5%)"
    assert _text(_all(first, "row-total", "text")[0]) == "n = 16"
    assert _title(first) == "Xã Tân Trào: HTXSNV 3, HTTNV 10, HTNV 2, KHTNV 1 (tổng 16)"


def test_a_sliver_too_narrow_for_its_count_keeps_it_in_the_title_only() -> None:
    root = _parse(stacked_bar([("Xã A", {"HTXSNV": 1, "HTTNV": 99})], title="T"))

    assert [_text(t) for t in _all(root, "segment-value", "text")] == ["99"]
    assert "1 người (1%)" in _title(_all(root, "segment-group", "g")[0])


def test_a_unit_without_results_says_so() -> None:
    root = _parse(stacked_bar(ROWS, title="T"))

    third = _all(root, "stacked-row", "g")[2]
    assert _text(_all(third, "bar-value", "text")[0]) == "Chưa có kết quả"
    assert not _all(third, "row-total")


def test_the_legend_names_every_grade_in_full() -> None:
    root = _parse(stacked_bar(ROWS, title="T"))

    items = _all(root, "legend-item", "g")
    assert [i.get("data-series") for i in items] == ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]
    assert [_title(i) for i in items] == [
        "HTXSNV: Hoàn thành xuất sắc nhiệm vụ",
        "HTTNV: Hoàn thành tốt nhiệm vụ",
        "HTNV: Hoàn thành nhiệm vụ",
        "KHTNV: Không hoàn thành nhiệm vụ",
    ]
    colours = {s.key: s.color for s in GRADE_SERIES}
    for item in items:
        assert item.find(f"{{{SVG}}}rect").get("fill") == colours[item.get("data-series")]
    segment = _all(root, "segment", "rect")[0]
    assert segment.get("fill") == colours[segment.get("data-series")]


def test_row_notes_flag_a_quota_breach() -> None:
    root = _parse(stacked_bar(ROWS, title="T", row_notes=["Vượt hạn mức HTXSNV: 1", None, ""]))

    notes = _all(root, "row-note", "text")
    assert [_text(n) for n in notes] == ["Vượt hạn mức HTXSNV: 1"]
    assert "Xã Tân Trào: HTXSNV 3, HTTNV 10, HTNV 2, KHTNV 1 (tổng 16) — Vượt hạn mức HTXSNV: 1" in (
        root.find(f"{{{SVG}}}desc").text
    )


def test_custom_series() -> None:
    series = [Series("open", "Đang xử lý", "Đang xử lý", "#2563eb"), Series("late", "Quá hạn", "Quá hạn", "#b91c1c")]

    root = _parse(stacked_bar([("Xã A", {"open": 3, "late": 1})], title="T", series=series))

    assert [s.get("data-series") for s in _all(root, "segment", "rect")] == ["open", "late"]


def test_stacked_labels_are_escaped() -> None:
    svg = stacked_bar([(NASTY, {"HTTNV": 1})], title=NASTY, row_notes=[NASTY])

    root = _parse(svg)

    assert "<script>" not in svg
    row = _all(root, "stacked-row", "g")[0]
    assert _text(_all(row, "bar-label", "text")[0]) == NASTY
    assert _text(_all(row, "row-note", "text")[0]) == NASTY


@pytest.mark.parametrize(
    ("rows", "notes", "message"),
    [
        ([("Xã A", {"HTXS": 1})], None, "unknown series"),
        ([("Xã A", {"HTTNV": -1})], None, "negative"),
        ([("Xã A", {"HTTNV": 1})], [None, None], "one entry per row"),
    ],
)
def test_stacked_bar_refuses_inconsistent_input(rows: list, notes: list | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stacked_bar(rows, title="T", row_notes=notes)


def test_no_rows_says_there_is_no_data() -> None:
    root = _parse(stacked_bar([], title="T"))

    assert _text(_all(root, "no-data", "text")[0]) == "Không có dữ liệu"


def test_each_bar_can_be_marked_at_its_own_target() -> None:
    """The overview of figures has a different target per figure (100% chairs, ≥ 20% women): each bar gets a dashed
    mark at its own target, and its title says which."""
    items = [("Chủ tịch", 76.0), ("Nữ", 32.4), ("Không mục tiêu", 10.0)]
    root = _parse(bar_chart(items, title="T", targets=[100, 20, None]))

    (line,) = _all(root, "target-line", "path")
    xs = [float(x) for x in re.findall(r"M([\d.]+) ", line.get("d"))]
    track = _all(root, "bar-track", "rect")[0]
    left, width = float(track.get("x")), _width(track)
    assert xs == pytest.approx([left + width, left + width * 0.2], abs=0.01)
    titles = [_title(row) for row in _all(root, "bar-row", "g")]
    assert titles[0] == "Chủ tịch: 76% (mục tiêu 100%)" and titles[2] == "Không mục tiêu: 10%"
    (legend,) = _all(root, "target-legend", "g")
    assert "mục tiêu của từng" in "".join(legend.itertext())  # wrapped onto lines


def test_per_bar_targets_must_match_the_bars_and_exclude_one_target() -> None:
    with pytest.raises(ValueError, match="one entry per item"):
        bar_chart(ITEMS, title="T", targets=[1])
    with pytest.raises(ValueError, match="not both"):
        bar_chart(ITEMS, title="T", target=5, targets=[5] * len(ITEMS))


def test_every_word_of_the_charts_has_its_vietnamese_as_it_was_drawn() -> None:
    """Decision 0111: the words were Vietnamese constants; the catalogue gives them back word for word."""
    assert {msgid: VIETNAMESE[msgid] for msgid in CHART_MSGIDS} == {
        "No data": "Không có dữ liệu",
        "No results yet": "Chưa có kết quả",
        "Target: %(target)s": "Mục tiêu: %(target)s",
        "Dashed line: each figure's target": "Vạch đứt: mục tiêu của từng chỉ tiêu",
        "(target %(target)s)": "(mục tiêu %(target)s)",
        "(total %(total)s)": "(tổng %(total)s)",
        "Completed duties excellently": "Hoàn thành xuất sắc nhiệm vụ",
        "Completed duties well": "Hoàn thành tốt nhiệm vụ",
        "Completed duties": "Hoàn thành nhiệm vụ",
        "Did not complete duties": "Không hoàn thành nhiệm vụ",
    }
    assert [(VIETNAMESE.plural(forms, 1), VIETNAMESE.plural(forms, 3)) for forms in CHART_PLURALS] == [
        ("1 người", "3 người")
    ]


def test_an_english_reader_gets_english_words_and_decimal_points() -> None:
    """The reviewer's "73,1%" in an English chart beside "73.1%" in its table: the numbers follow the words."""
    bars = _parse(charts.bar_chart([("Xã A", 73.125), ("Xã B", None)], title="T", target=12.5, words=ENGLISH))
    assert [_text(t) for t in _all(bars, "bar-value", "text")] == ["73.1%", "No data"]
    assert _title(_all(bars, "target-line", "path")[0]) == "Target: 12.5%"
    overview = _parse(charts.bar_chart([("A", 76.0)], title="T", targets=[100.0], words=ENGLISH))
    assert _title(_all(overview, "bar-row", "g")[0]) == "A: 76% (target 100%)"
    assert "Dashed line: each figure's target" in " ".join(_all(overview, "target-legend", "g")[0].itertext())

    grades = _parse(
        charts.stacked_bar([("Xã Tân Trào", {"HTXSNV": 1, "HTTNV": 2}), ("Xã Trống", {})], title="T", words=ENGLISH)
    )
    tips = [_title(g) for g in _all(grades, "segment-group", "g")]
    assert tips == [
        "Xã Tân Trào — Completed duties excellently (HTXSNV): 1 person (33.3%)",
        "Xã Tân Trào — Completed duties well (HTTNV): 2 people (66.7%)",
    ]
    assert _title(_all(grades, "stacked-row", "g")[0]) == "Xã Tân Trào: HTXSNV 1, HTTNV 2, HTNV 0, KHTNV 0 (total 3)"
    assert _text(_all(grades, "bar-value", "text")[0]) == "No results yet"
    assert "HTNV: Completed duties" in grades.find(f"{{{SVG}}}desc").text
    assert not re.search(
        "[À-ỹ]", etree.tostring(grades, encoding="unicode").replace("Xã Tân Trào", "").replace("Xã Trống", "")
    )
