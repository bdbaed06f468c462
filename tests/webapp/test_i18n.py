"""The templates' `_()`: the reader's language, Jinja's new-style gettext semantics, one lookup per page."""

from __future__ import annotations

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from flask_babel import force_locale

from tests.fixtures.app import AuthActions
from webapp.data_labels import EVENT_TYPE_NAMES, READ_KIND_NAMES
from webapp.http import problem_text, translated
from workflows.errors import N_, Amount, Invalid, Problem
from workflows.exports import AUDIT_EVENT_TYPES
from workflows.inspection.reads import ViewedObject


def _render(app: Flask, locale: str, source: str, **context: object) -> str:
    with app.test_request_context("/"):
        session["locale"] = locale
        return app.jinja_env.from_string(source).render(**context)


def test_a_string_is_shown_in_the_readers_language_and_switches_with_it(app: Flask) -> None:
    source = "{{ _('Inbox') }}|{{ gettext('Inbox') }}"
    assert _render(app, "vi", source) == "Hộp công việc|Hộp công việc"
    assert _render(app, "en", source) == "Inbox|Inbox"
    # The strings a language has already shown are not carried over into another.
    assert _render(app, "vi", source) == "Hộp công việc|Hộp công việc"


def test_the_variables_are_escaped_and_the_translation_is_not(app: Flask) -> None:
    source = "{{ _('Any %(role)s of %(unit)s', role=role, unit='X&Y') }}"
    shown = _render(app, "vi", source, role="<b>trưởng</b>")
    assert shown == "Bất kỳ ai có vai trò &lt;b&gt;trưởng&lt;/b&gt; tại X&amp;Y"


def test_without_autoescape_the_variables_are_left_as_they_are(app: Flask) -> None:
    source = "{% autoescape false %}{{ _('Any %(role)s of %(unit)s', role=role, unit='X&Y') }}{% endautoescape %}"
    assert _render(app, "en", source, role="<b>") == "Any <b> of X&Y"


def test_a_string_is_always_a_format_string(app: Flask) -> None:
    # As in Jinja's new-style gettext: "%%" is a percent sign with or without variables.
    assert _render(app, "en", "{{ _('100%% done') }}") == "100% done"
    assert _render(app, "en", "{{ _('%(n)s%% done', n=5) }}") == "5% done"
    assert _render(app, "en", "{% autoescape false %}{{ _('100%% done') }}{% endautoescape %}") == "100% done"


def test_trans_blocks_use_the_same_catalogue(app: Flask) -> None:
    assert _render(app, "vi", "{% trans %}Inbox{% endtrans %}") == "Hộp công việc"
    assert _render(app, "en", "{% trans n=3 %}Inbox{% endtrans %}") == "Inbox"


def test_error_pages_speak_vietnamese(app: Flask, auth: AuthActions, client: FlaskClient) -> None:
    """The error pages' messages went through gettext but were never in the catalog, so they read in English."""
    auth.login("officer1")
    missing = client.get("/instances/999999")
    assert missing.status_code == 404
    assert "Trang hoặc đối tượng này không tồn tại, hoặc nằm ngoài phạm vi của bạn." in missing.get_data(as_text=True)
    refused = client.get("/admin")
    assert refused.status_code == 403
    assert "Bạn không có quyền thực hiện thao tác này." in refused.get_data(as_text=True)
    wrong_method = client.delete("/inbox")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert "Không thể thực hiện thao tác này tại đây." in wrong_method.get_data(as_text=True)


def test_a_stored_problem_shows_its_fixed_part_in_the_readers_language_and_its_detail_as_written(app: Flask) -> None:
    from workflows.assignment import NO_LANE_RULE, NO_SUBJECT_ACCOUNT

    stored = f"{NO_LANE_RULE}: Tổ <b>bầu cử</b>; {NO_SUBJECT_ACCOUNT}; an old row's text: kept"
    shown = _render(app, "vi", "{{ problem|detailed }}", problem=stored)
    assert shown == (
        "chưa có quy tắc giao việc cho làn (vai trò) của bước này: Tổ &lt;b&gt;bầu cử&lt;/b&gt;; "
        "cán bộ của hồ sơ chưa có tài khoản đang hoạt động; an old row&#39;s text: kept"
    )
    assert _render(app, "en", "{{ problem|detailed }}", problem=stored) == (
        "no assignment rule for the task&#39;s lane: Tổ &lt;b&gt;bầu cử&lt;/b&gt;; "
        "the subject cadre has no active user account; an old row&#39;s text: kept"
    )
    assert _render(app, "vi", "{{ problem|detailed }}", problem=None) == ""


def test_a_raw_key_of_the_procedures_own_data_is_named_in_the_readers_language(app: Flask) -> None:
    source = "{{ 'cadre_name'|data_label }}|{{ 'Nội dung đề nghị'|data_label }}|{{ 'some_model_key'|data_label }}"
    assert _render(app, "vi", source) == "Cán bộ|Nội dung đề nghị|some_model_key"
    assert _render(app, "en", source) == "Cadre|Nội dung đề nghị|some_model_key"


def test_a_coded_value_of_the_procedures_own_data_is_worded_in_the_readers_language(app: Flask) -> None:
    source = "{{ 'external'|data_value('source') }}|{{ 'external'|data_value('other') }}|{{ 5|data_value('source') }}"
    assert _render(app, "vi", source) == "Nguồn nhân sự từ nơi khác|external|5"
    assert _render(app, "en", source) == "Source from elsewhere|external|5"


def test_an_eligibility_table_is_headed_and_its_rules_named_in_the_readers_language(app: Flask) -> None:
    """The eligibility results' `source` is the legal basis, not the candidate's source; rules are codes."""
    headings = "{{ 'source'|data_column('eligibility', 'source') }}|{{ 'source'|data_column('other', 'source') }}"
    assert _render(app, "vi", headings) == "Căn cứ|Nguồn nhân sự"
    assert _render(app, "en", headings) == "Legal basis|Source of the candidate"
    rules = (
        "{{ 'age'|data_value('rule') }}|{{ ['planning', 'annual_grade']|data_value('eligibility_failed') }}|"
        "{{ ['planning', 'a_new_rule']|data_value('eligibility_failed') }}"
    )
    assert _render(
        app, "en", rules
    ) == "Age at appointment|In the plan for the post; Last year&#39;s quality grade|" + (
        "[&#39;planning&#39;, &#39;a_new_rule&#39;]"
    )


def test_every_audit_event_type_and_kind_of_reading_has_a_name(app: Flask) -> None:
    """The inspector's pages name them in words; a type added without a name would show as a code again."""
    assert {str(code) for code in AUDIT_EVENT_TYPES} == set(EVENT_TYPE_NAMES)
    assert {str(kind) for kind in ViewedObject} == set(READ_KIND_NAMES)
    source = "{{ 'task_opened'|event_type }}|{{ 'instance_history'|read_kind }}|{{ 'a_future_type'|event_type }}"
    assert _render(app, "vi", source) == "Mở bước|Lịch sử hồ sơ quy trình|a_future_type"
    assert _render(app, "en", source) == "Step opened|Procedure history|a_future_type"


def test_measured_figures_and_durations_read_the_readers_way(app: Flask) -> None:
    from datetime import timedelta

    source = "{{ 76|fixed }}|{{ (4 / 7 * 100)|fixed(2) }}|{{ a|duration }}|{{ b|duration }}|{{ c|duration }}"
    times = {"a": timedelta(seconds=40), "b": timedelta(minutes=4, seconds=1), "c": timedelta(days=2, hours=3)}
    assert _render(app, "vi", source, **times) == "76,0|57,14|dưới 1 phút|4 phút|2 ngày"
    assert _render(app, "en", source, **times) == "76.0|57.14|under a minute|4 minutes|2 days"


def test_a_number_in_the_data_reads_the_readers_way_whichever_was_asked_first(app: Flask) -> None:
    """Numbers are formatted once per value and language (decision 0093): each language keeps its own."""
    source = "{{ a|data_text }}|{{ b|data_text }}|{{ c|data_text }}|{{ d|data_text }}"
    values = {"a": 26.5, "b": 9.0, "c": 9, "d": 1234567}
    assert _render(app, "vi", source, **values) == "26,5|9|9|1234567"
    assert _render(app, "en", source, **values) == "26.5|9|9|1234567"
    assert _render(app, "vi", source, **values) == "26,5|9|9|1234567"
    # Zero and minus zero are equal keys: the one asked first does not answer for the other.
    assert _render(app, "vi", "{{ a|data_text }}", a=-0.0) == "-0"
    assert _render(app, "vi", "{{ a|data_text }}", a=0.0) == "0"


def test_a_limit_in_a_services_message_is_written_the_readers_way(app: Flask) -> None:
    """An `Amount` in a problem's or an error's arguments gets the reader's marks; any other value stays as it is
    (an event's number is an identifier, not an amount). The English filled in for the CLI is the plain number."""
    limit = Problem("must be less than or equal to %(limit)s", field="x", message_args={"limit": Amount(10000)})
    note = Problem("At most %(max)s characters.", message_args={"max": Amount(4000)})
    seq = Problem(N_("event #%(seq)s: the link to the previous event does not match"), message_args={"seq": 10000})
    refused = Invalid("the file is too large (%(size)s bytes; the limit is %(limit)s bytes)", [limit])
    refused.message_args = {"size": Amount(5242881), "limit": Amount(5242880)}
    shown = {}
    for locale in ("vi", "en"):
        with app.test_request_context("/"), force_locale(locale):
            shown[locale] = [problem_text(limit), problem_text(note), problem_text(seq), translated(refused)]
    assert shown["vi"][:2] == ["Phải nhỏ hơn hoặc bằng 10.000", "Tối đa 4.000 ký tự."]
    assert shown["vi"][3] == "Tệp quá lớn (5.242.881 byte; giới hạn là 5.242.880 byte)"
    assert shown["en"] == [
        "must be less than or equal to 10,000",
        "At most 4,000 characters.",
        "event #10000: the link to the previous event does not match",
        "the file is too large (5,242,881 bytes; the limit is 5,242,880 bytes)",
    ]
    assert "#10000" in shown["vi"][2]
    assert limit.explained == "must be less than or equal to 10000"
    assert _render(app, "vi", "{{ 10000|amount }} {{ 2.5|amount }}") == "10.000 2,5"  # the templates' filter


def test_evaluation_periods_read_as_people_write_them(app: Flask) -> None:
    source = (
        "{{ '2026-11'|period_text }}|{{ '2026-05'|period_text }}|{{ '2026-Q4'|period_text }}|{{ '2026'|period_text }}"
    )
    assert _render(app, "vi", source) == "11/2026|5/2026|Quý 4/2026|2026"
    assert _render(app, "en", source) == "11/2026|5/2026|Q4/2026|2026"


def test_the_charts_words_and_numbers_are_the_readers(app: Flask) -> None:
    """Decision 0111: the chart beside the targets table wrote "73,1%" to an English reader and its grades,
    "no data" and "target" in Vietnamese; the web layer hands it the reader's words and decimal mark."""
    from webapp.i18n import chart_words
    from workflows.charts import PEOPLE, bar_chart, stacked_bar

    drawn = {}
    for locale in ("vi", "en", "vi"):
        with app.test_request_context("/"):
            session["locale"] = locale
            words = chart_words()
            drawn[locale] = (
                bar_chart([("Xã A", 73.125), ("Xã B", None)], title="T", target=12.5, words=words)
                + stacked_bar([("Xã A", {"HTXSNV": 1})], title="T", words=words),
                words.plural(PEOPLE, 1),
                words.plural(PEOPLE, 2),
            )
    vi_svg, vi_one, vi_two = drawn["vi"]
    assert "73,1%" in vi_svg and "Mục tiêu: 12,5%" in vi_svg and "Không có dữ liệu" in vi_svg
    assert "Hoàn thành xuất sắc nhiệm vụ" in vi_svg and (vi_one, vi_two) == ("1 người", "2 người")
    en_svg, en_one, en_two = drawn["en"]
    assert "73.1%" in en_svg and "Target: 12.5%" in en_svg and "No data" in en_svg and "73,1" not in en_svg
    assert "Completed duties excellently" in en_svg and (en_one, en_two) == ("1 person", "2 people")


def test_targets_and_structure_figures_are_named_in_the_readers_language(app: Flask) -> None:
    """Decision 0111: "(đến năm 2030)" and the plan's "Nữ", "Cán bộ trẻ (dưới 40 tuổi)" beside English pages. The
    Vietnamese is what the engine writes, word for word; the English has none of it."""
    from datetime import date

    from webapp.i18n import structure_name, target_text
    from workflows.rules.planning import STRUCTURE_KEYS, structure_figures
    from workflows.rules.targets import resolve_definitions

    definitions = list(resolve_definitions({}).values())
    engine_labels = [figure.label for figure in structure_figures([], on=date(2026, 1, 1))]
    shown = {}
    for locale in ("vi", "en"):
        with app.test_request_context("/"):
            session["locale"] = locale
            shown[locale] = ([target_text(d) for d in definitions], [structure_name(key) for key in STRUCTURE_KEYS])
    assert shown["vi"] == ([d.target_text for d in definitions], engine_labels)
    assert "≥ 5% (đến năm 2030)" in shown["vi"][0] and "Cán bộ trẻ (dưới 40 tuổi)" in shown["vi"][1]
    assert "≥ 5% (by 2030)" in shown["en"][0] and not any("năm" in text for text in shown["en"][0])
    assert shown["en"][1] == ["Women", "Young cadres (under 40)", "Ethnic minorities", "Science, technology"]


def _tally(outcome: str, *rows: tuple[str, int, bool], **lists: list[str]) -> dict[str, object]:
    """A tally record as the chain keeps it (TallyResult.to_json): (key, yes, at the threshold) per candidate of 4."""
    candidates = [{"key": key, "yes": yes, "percent": yes * 25.0, "at_threshold": at} for key, yes, at in rows]
    return {"outcome": outcome, "denominator": 4, "candidates": candidates, **lists}


@pytest.mark.parametrize(
    ("tally", "vi", "en"),
    [
        pytest.param(
            _tally("elected", ("a", 4, False), ("b", 0, False), elected=["a"], head_decides=[], runoff=[]),
            "An: 4/4 đồng ý (100,00%) — trúng cử; Bình: 0/4 đồng ý (0,00%) — không trúng cử",
            "An: 4/4 in favour (100.00%) — elected; Bình: 0/4 in favour (0.00%) — not elected",
            id="the first elected, the last not",
        ),
        pytest.param(
            _tally("not_elected", ("a", 1, False), ("b", 0, False), elected=[], head_decides=[], runoff=[]),
            "An: 1/4 đồng ý (25,00%) — không trúng cử; Bình: 0/4 đồng ý (0,00%) — không trúng cử",
            "An: 1/4 in favour (25.00%) — not elected; Bình: 0/4 in favour (0.00%) — not elected",
            id="nobody elected",
        ),
        pytest.param(
            _tally("head_decides", ("a", 3, False), ("b", 2, True), elected=["a"], head_decides=["b"], runoff=[]),
            "An: 3/4 đồng ý (75,00%) — trúng cử; Bình: 2/4 đồng ý (50,00%) — đúng ngưỡng: người đứng đầu quyết định",
            "An: 3/4 in favour (75.00%) — elected; Bình: 2/4 in favour (50.00%) — at the threshold: the head decides",
            id="at the threshold",
        ),
        pytest.param(
            _tally("head_decides", ("a", 3, False), ("b", 3, False), elected=[], head_decides=["a", "b"], runoff=[]),
            "An: 3/4 đồng ý (75,00%) — bằng phiếu nhau ở vị trí cuối: người đứng đầu quyết định; Bình: 3/4 đồng ý "
            "(75,00%) — bằng phiếu nhau ở vị trí cuối: người đứng đầu quyết định",
            "An: 3/4 in favour (75.00%) — tied for the last seat: the head decides; Bình: 3/4 in favour (75.00%) — "
            "tied for the last seat: the head decides",
            id="tied for the last seat",
        ),
        pytest.param(
            _tally("runoff", ("a", 2, False), ("b", 1, False), elected=[], head_decides=[], runoff=["a"]),
            "An: 2/4 đồng ý (50,00%) — vào vòng sau; Bình: 1/4 đồng ý (25,00%) — không trúng cử",
            "An: 2/4 in favour (50.00%) — goes on to the next round; Bình: 1/4 in favour (25.00%) — not elected",
            id="a runoff",
        ),
        pytest.param(
            _tally("opinion", ("a", 3, False), ("b", 0, False), elected=[], head_decides=[], runoff=[]),
            "An: 3/4 đồng ý (75,00%) — đã ghi nhận ý kiến; Bình: 0/4 đồng ý (0,00%) — đã ghi nhận ý kiến",
            "An: 3/4 in favour (75.00%) — opinion recorded; Bình: 0/4 in favour (0.00%) — opinion recorded",
            id="an opinion",
        ),
        pytest.param(
            _tally("quorum_failed", ("a", 1, False), ("b", 0, False), elected=[], head_decides=[], runoff=[]),
            "An: 1/4 đồng ý (25,00%); Bình: 0/4 đồng ý (0,00%) — không đủ số người dự",
            "An: 1/4 in favour (25.00%); Bình: 0/4 in favour (0.00%) — quorum not reached",
            id="the quorum missed: the whole ballot's",
        ),
        pytest.param(
            # Recorded before the advisory kind (decision 0131): the key cadres' opinion "elected", as it was.
            _tally("elected", ("a", 2, False), elected=["a"], head_decides=[], runoff=[]),
            "An: 2/4 đồng ý (50,00%) — trúng cử",
            "An: 2/4 in favour (50.00%) — elected",
            id="recorded before the advisory kind",
        ),
        pytest.param(
            # A record without the lists of those chosen: its outcome once, for the whole.
            _tally("elected", ("a", 4, False)),
            "An: 4/4 đồng ý (100,00%) — trúng cử",
            "An: 4/4 in favour (100.00%) — elected",
            id="no lists of those chosen",
        ),
    ],
)
def test_a_tally_says_each_candidates_own_result(app: Flask, tally: dict[str, object], vi: str, en: str) -> None:
    """The words are made when read, from the stored tally: a tally recorded before reads the same way
    (decision 0135)."""
    names = {"a": "An", "b": "Bình"}
    source = "{{ tally|tally_text(names) }}"
    assert _render(app, "vi", source, tally=tally, names=names) == vi
    assert _render(app, "en", source, tally=tally, names=names) == en
