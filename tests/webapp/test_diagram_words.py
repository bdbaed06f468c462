"""Decision 0103: the diagram's own words (a step's state, a flow taken, what an unnamed element is) are the
reader's language; the model's names are drawn as the modeller wrote them."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import html as lxml_html

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_instances import T0
from workflows import clock

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
    "Quá hạn 3 ngày — Đang thực hiện",
]


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
