"""Decision 0103: the diagram's own words (a step's state, a flow taken, what an unnamed element is) are the
reader's language; the model's names are drawn as the modeller wrote them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, session
from lxml import etree
from lxml import html as lxml_html

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_instances import T0, _style_policy
from webapp.i18n import diagram_words
from workflows import clock
from workflows.diagram import DIAGRAM_MSGIDS, render_svg

# Today's Vietnamese, pinned before the words moved to the catalog: the page draws exactly this.
VIETNAMESE_HOVER = [
    "Phê duyệt đề nghị (mẫu) v1",
    "Phê duyệt đề nghị (mẫu)",
    "Cán bộ",
    "Lãnh đạo trực tiếp",
    "Thủ trưởng đơn vị",
    "Bắt đầu → Khởi tạo — Đã đi qua",
    "Khởi tạo → Lập đề nghị — Đã đi qua",
    "Lập đề nghị → Xem xét, phê duyệt — Đã đi qua",
    "Xem xét, phê duyệt → Kết quả xem xét?",
    "Quá hạn 3 ngày → Xử lý đề nghị quá hạn",
    "Xử lý đề nghị quá hạn → Kết quả xem xét?",
    "Đồng ý",
    "Từ chối",
    "Trả lại",
    "Ghi nhận trả lại → Quá số lần trả lại?",
    "Quá 3 lần",
    "Lập lại đề nghị",
    "Bắt đầu — Đã hoàn thành",
    "Khởi tạo — Đã hoàn thành",
    "Lập đề nghị — Đã hoàn thành",
    "Xem xét, phê duyệt — Đang thực hiện",
    "Xử lý đề nghị quá hạn — Chưa thực hiện",
    "Kết quả xem xét? — Chưa thực hiện",
    "Đã phê duyệt — Chưa thực hiện",
    "Bị từ chối — Chưa thực hiện",
    "Ghi nhận trả lại — Chưa thực hiện",
    "Quá số lần trả lại? — Chưa thực hiện",
    "Dừng: trả lại quá 3 lần — Chưa thực hiện",
    "Quá hạn 3 ngày — Đang chờ",  # the deadline's timer: reached, nobody's step (decision 0142)
]


# The product's words in today's Vietnamese; each in English is its msgid.
TODAYS_VIETNAMESE = {
    "Completed": "Đã hoàn thành",
    "In progress": "Đang thực hiện",
    "Waiting": "Đang chờ",
    "Not started": "Chưa thực hiện",
    "Cancelled": "Đã hủy",
    "Error": "Lỗi",
    "Taken": "Đã đi qua",
    "Beginning": "Bắt đầu",
    "End": "Kết thúc",
    "Awaited event": "Sự kiện chờ",
    "Raised event": "Sự kiện phát",
    "Event on a step": "Sự kiện kèm bước",
    "Branching point": "Điểm rẽ nhánh",
    "Event waiting point": "Điểm chờ sự kiện",
    "Parallel point": "Điểm song song",
    "Sub-process": "Quy trình con",
    "Step": "Bước",
    "The model has no diagram information": "Mô hình không có thông tin sơ đồ",
}
# The same drawing read in English: the model's names as written, the product's words in English.
ENGLISH_HOVER = [
    text.replace("Đã đi qua", "Taken")
    .replace("Đã hoàn thành", "Completed")
    .replace("Đang thực hiện", "In progress")
    .replace("Chưa thực hiện", "Not started")
    .replace("Đang chờ", "Waiting")
    for text in VIETNAMESE_HOVER
]
VIETNAMESE_WORDS = re.compile("|".join(sorted(set(TODAYS_VIETNAMESE.values()) - {"Bắt đầu"})))


@pytest.fixture
def under_review(driver: WorkflowDriver) -> int:
    """A sample request submitted by its officer, waiting for the supervisor's review."""
    clock.set_now(T0)
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    return instance_id


def _hover(page: str) -> list[str]:
    doc: Any = lxml_html.fromstring(page)
    return [title.text_content() for title in doc.xpath('//figure[@class="diagram"]//*[local-name()="title"]')]


@pytest.mark.parametrize("page", ["/instances/{id}", "/audit/instances/{id}"])
def test_in_vietnamese_the_diagram_reads_as_it_always_has(
    auth: AuthActions, client: Any, under_review: int, page: str
) -> None:
    auth.login("admin")
    response = client.get(page.format(id=under_review))
    assert response.status_code == 200
    assert _hover(response.get_data(as_text=True)) == VIETNAMESE_HOVER


def _in_english(auth: AuthActions, page: str) -> None:
    auth.post("/auth/language", {"locale": "en", "next": page}, page=page)


def _figure(page: str) -> str:
    found = re.search(r'<figure class="diagram">.*?</figure>', page, re.DOTALL)
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize("page", ["/instances/{id}", "/audit/instances/{id}"])
def test_in_english_the_diagram_speaks_english_and_the_models_names_stay(
    auth: AuthActions, client: Any, under_review: int, page: str
) -> None:
    auth.login("admin")
    url = page.format(id=under_review)
    _in_english(auth, url)
    shown = client.get(url).get_data(as_text=True)
    hover = _hover(shown)
    assert hover == ENGLISH_HOVER
    assert "Lập đề nghị → Xem xét, phê duyệt — Taken" in hover and "Xem xét, phê duyệt — In progress" in hover
    # "Bắt đầu" is the start event's own name in the model, so it stays; no word of the product is Vietnamese.
    assert not VIETNAMESE_WORDS.search(_figure(shown)), VIETNAMESE_WORDS.findall(_figure(shown))


def test_each_language_is_drawn_and_allowed_its_own_way_from_one_version(
    auth: AuthActions, client: Any, under_review: int
) -> None:
    """The drawing is kept per version, progress and words (decision 0093's cache, keyed now by the language too):
    a reader switching back and forth gets her language each time, and each page's policy its drawing's styles."""
    auth.login("admin")
    url = f"/instances/{under_review}"
    seen = []
    for locale in ("vi", "en", "vi", "en"):
        auth.post("/auth/language", {"locale": locale, "next": url}, page=url)
        response = client.get(url)
        shown = response.get_data(as_text=True)
        assert _hover(shown) == (VIETNAMESE_HOVER if locale == "vi" else ENGLISH_HOVER), locale
        policy = set(re.findall(r"'sha256-[^']+'", response.headers["Content-Security-Policy"]))
        assert policy and policy == _style_policy(shown), locale
        seen.append(_figure(shown))
    assert seen[0] == seen[2] and seen[1] == seen[3] and seen[0] != seen[1]


def test_the_diagram_on_its_own_and_a_versions_diagram_follow_the_language(
    auth: AuthActions, client: Any, under_review: int
) -> None:
    auth.login("admin")
    _in_english(auth, "/admin")
    alone = etree.fromstring(client.get(f"/instances/{under_review}/diagram.svg").get_data())
    alone_hover = [t.text for t in alone.iter("{http://www.w3.org/2000/svg}title")]
    assert alone_hover == ENGLISH_HOVER
    version = client.get("/admin/processes/sample_approval/versions/1").get_data(as_text=True)
    version_hover = _hover(version)
    assert "Xem xét, phê duyệt — Not started" in version_hover
    assert not VIETNAMESE_WORDS.search(_figure(version))


def test_every_word_of_the_diagram_has_todays_vietnamese(app: Flask) -> None:
    for locale, expected in (("vi", TODAYS_VIETNAMESE), ("en", {msgid: msgid for msgid in TODAYS_VIETNAMESE})):
        with app.test_request_context("/"):
            session["locale"] = locale
            words = diagram_words()
            assert {msgid: words[msgid] for msgid in DIAGRAM_MSGIDS} == expected
            assert diagram_words() is words  # built once per catalogue
            drawn = render_svg(b"<definitions/>", "nothing", words=words)
            assert expected["The model has no diagram information"] in drawn
