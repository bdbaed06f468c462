"""The history's words, pinned (decision 0100): every kind of event and every shape of a data change, exactly as
the inspector's history, the audit log, the instance page and the export word them, in Vietnamese and in English.
The sentences were captured from the Jinja macros that worded them before decision 0100 moved them into Python:
the same markup (whitespace aside, which a page does not show) and the same export text, byte for byte. People's
text (a reason, a note, a step's name, a data value) carries markup here, and every page shows it as text."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from tests.fixtures.app import AuthActions
from tests.fixtures.history_wording import build_worded_instance
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction

# fmt: off
# The history page as an administrator reads it (who sees the model's errors): (seq, event, who, what).
HISTORY_VI = [
    (1, "instance_started", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Khởi tạo hồ sơ quy trình (phiên bản 1)."),
    (2, "task_opened", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Đã mở bước “Lập đề nghị” — giao cho Nguyễn Thị Lan."),
    (3, "task_completed", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Đã hoàn thành bước “Lập đề nghị”."),
    (4, "data_changed", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Dữ liệu của hồ sơ quy trình đã thay đổi."),
    (5, "task_opened", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Đã mở bước “Xem xét, phê duyệt” — giao cho vai trò Lãnh đạo trực tiếp tại Xã An Phú, hạn xử lý 05/11/2026 15:00."),
    (6, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã mở bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” — giao cho Lê Văn Minh, hạn xử lý 05/11/2026 15:00."),
    (7, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã mở bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” — giao cho vai trò Lãnh đạo trực tiếp tại Xã An Phú."),
    (8, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã mở bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” — giao cho vai trò chairman tại —."),
    (9, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã mở bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” — giao cho vai trò Thủ trưởng đơn vị tại Xã An Phú. <strong class=\"field-error\">Không giao được cho ai: No active user holds the lane's role in the unit or above: head &lt;b&gt;</strong>"),
    (10, "task_claimed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã nhận bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;”."),
    (11, "task_released", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã trả bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” về nhóm."),
    (12, "task_reassigned", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Giao lại bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” từ Lê Văn Minh cho Phạm Quốc Dũng. Lý do: Nghỉ phép &lt;script&gt;alert('x')&lt;/script&gt; Bản nháp Lê Văn Minh đã lưu được chuyển cùng công việc."),
    (13, "task_reassigned", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Giao bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” (đang chờ nhóm nhận) cho head9. Lý do: Phân công"),
    (14, "task_completed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã hoàn thành bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;”."),
    (15, "task_cancelled", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” đã đóng mà không được hoàn thành."),
    (16, "data_changed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Dữ liệu của hồ sơ quy trình đã thay đổi."),
    (17, "inspection_note", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Ghi chú kiểm tra: <q class=\"inspection-note\">Đã xem &lt;script&gt;alert('x')&lt;/script&gt; hồ sơ</q>"),
    (18, "ballot_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã mở cuộc bỏ phiếu cho bước “Xem xét, phê duyệt”."),
    (19, "ballot_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã mở cuộc bỏ phiếu cho bước “Bước đã đổi tên &lt;i&gt;”."),
    (20, "ballot_attendance", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã ghi nhận điểm danh: 3 người có mặt."),
    (21, "ballot_cast", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã có một phiếu được bỏ (nội dung phiếu được giữ bí mật)."),
    (22, "ballot_closed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Đã kết thúc bỏ phiếu và kiểm phiếu."),
    (23, "instance_cancelled", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Hồ sơ quy trình đã bị hủy. Lý do: Hồ sơ trùng &lt;script&gt;alert('x')&lt;/script&gt;"),
    (24, "timer_fired", "Hệ thống <span class=\"ref\">system</span>", "Đã đến hạn: Hạn 3 ngày &lt;b&gt;."),
    (25, "timer_fired", "Hệ thống <span class=\"ref\">system</span>", "Đã đến hạn: deadline_timer."),
    (26, "error", "Hệ thống <span class=\"ref\">system</span>", "Một bước trong mô hình quy trình bị lỗi; chưa có thay đổi nào được lưu. <code>name 'x' &lt;is&gt; not defined (init, dòng 3)</code>"),
    (27, "error", "Hệ thống <span class=\"ref\">system</span>", "Một bước trong mô hình quy trình bị lỗi; chưa có thay đổi nào được lưu. <code>boom (init)</code>"),
    (28, "instance_completed", "Hệ thống <span class=\"ref\">system</span>", "Hồ sơ quy trình kết thúc: Đã duyệt &lt;b&gt;."),
    (29, "instance_completed", "Hệ thống <span class=\"ref\">system</span>", "Hồ sơ quy trình kết thúc: rejected."),
    (30, "instance_completed", "Hệ thống <span class=\"ref\">system</span>", "Hồ sơ quy trình kết thúc: —."),
    (31, "a_kind_from_a_newer_version", "Hệ thống <span class=\"ref\">system</span>", "a_kind_from_a_newer_version"),
]
HISTORY_EN = [
    (1, "instance_started", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Procedure started (version 1)."),
    (2, "task_opened", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Step “Lập đề nghị” opened — assigned to Nguyễn Thị Lan."),
    (3, "task_completed", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Completed the step “Lập đề nghị”."),
    (4, "data_changed", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "The procedure's data changed."),
    (5, "task_opened", "Nguyễn Thị Lan <span class=\"ref\">officer1</span>", "Step “Xem xét, phê duyệt” opened — for the Direct supervisor of Xã An Phú, due 05/11/2026 15:00."),
    (6, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” opened — assigned to Lê Văn Minh, due 05/11/2026 15:00."),
    (7, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” opened — for the Direct supervisor of Xã An Phú."),
    (8, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” opened — for the chairman of —."),
    (9, "task_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” opened — for the Head of unit of Xã An Phú. <strong class=\"field-error\">Nobody could be assigned: No active user holds the lane's role in the unit or above: head &lt;b&gt;</strong>"),
    (10, "task_claimed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Took the step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;”."),
    (11, "task_released", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Returned the step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” to the group."),
    (12, "task_reassigned", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Handed the step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” from Lê Văn Minh to Phạm Quốc Dũng. Reason: Nghỉ phép &lt;script&gt;alert('x')&lt;/script&gt; The draft Lê Văn Minh had saved went with it."),
    (13, "task_reassigned", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Gave the step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;”, waiting for its group, to head9. Reason: Phân công"),
    (14, "task_completed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Completed the step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;”."),
    (15, "task_cancelled", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "The step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” was closed without being completed."),
    (16, "data_changed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "The procedure's data changed."),
    (17, "inspection_note", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Inspection note: <q class=\"inspection-note\">Đã xem &lt;script&gt;alert('x')&lt;/script&gt; hồ sơ</q>"),
    (18, "ballot_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Ballot opened for the step “Xem xét, phê duyệt”."),
    (19, "ballot_opened", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Ballot opened for the step “Bước đã đổi tên &lt;i&gt;”."),
    (20, "ballot_attendance", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Attendance recorded: 3 present."),
    (21, "ballot_cast", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "A ballot was cast (the ballot itself is secret)."),
    (22, "ballot_closed", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Ballot closed and counted."),
    (23, "instance_cancelled", "Đỗ Thị Hoa <span class=\"ref\">personnel1</span>", "Procedure cancelled. Reason: Hồ sơ trùng &lt;script&gt;alert('x')&lt;/script&gt;"),
    (24, "timer_fired", "System <span class=\"ref\">system</span>", "Deadline reached: Hạn 3 ngày &lt;b&gt;."),
    (25, "timer_fired", "System <span class=\"ref\">system</span>", "Deadline reached: deadline_timer."),
    (26, "error", "System <span class=\"ref\">system</span>", "A step of the procedure model failed; nothing was saved. <code>name 'x' &lt;is&gt; not defined (init, line 3)</code>"),
    (27, "error", "System <span class=\"ref\">system</span>", "A step of the procedure model failed; nothing was saved. <code>boom (init)</code>"),
    (28, "instance_completed", "System <span class=\"ref\">system</span>", "Procedure ended: Đã duyệt &lt;b&gt;."),
    (29, "instance_completed", "System <span class=\"ref\">system</span>", "Procedure ended: rejected."),
    (30, "instance_completed", "System <span class=\"ref\">system</span>", "Procedure ended: —."),
    (31, "a_kind_from_a_newer_version", "System <span class=\"ref\">system</span>", "a_kind_from_a_newer_version"),
]
# The data changes worded under an event, by seq.
CHANGES_VI = {
    4: [
        "<li data-key=\"subject_line\"><span title=\"subject_line\">Nội dung đề nghị</span>: <del>—</del> → <ins>Xin nghỉ</ins></li>",
        "<li data-key=\"amount\"><span title=\"amount\">Số lượng</span>: <del>—</del> → <ins>3</ins></li>",
    ],
    16: [
        "<li data-key=\"subject_line\"><span title=\"subject_line\">Nội dung đề nghị</span>: <del>—</del> → <ins>Xin &lt;b&gt;nghỉ&lt;/b&gt; &amp; về &lt;script&gt;alert('x')&lt;/script&gt;</ins></li>",
        "<li data-key=\"amount\"><span title=\"amount\">Số lượng</span>: <del>3</del> → <ins>4,5</ins></li>",
        "<li data-key=\"_tally_review_request\">Kết quả kiểm phiếu: a: 2/3 đồng ý (66,67%) — trúng cử</li>",
        "<li data-key=\"attendees\"><span title=\"attendees\">attendees</span>: <ul class=\"row-changes\"> <li data-row=\"2\">Dòng 2 (Bình): đã xóa <span data-column=\"who\">who: <del>Bình</del></span></li> </ul></li>",
        "<li data-key=\"note\"><span title=\"note\">note</span>: <del>Cũ</del> → <ins><span class=\"help\">(để trống)</span></ins></li>",
        "<li data-key=\"old_field\"><span title=\"old_field\">old_field</span>: <del>Giá trị cũ &lt;u&gt;</del> → đã xóa</li>",
        "<li data-key=\"products\"><span title=\"products\">products</span>: <ul class=\"row-changes\"> <li data-row=\"1\">Dòng 1: <span data-column=\"done\">done: <del>1</del> → <ins>3</ins></span></li> <li data-row=\"3\">Dòng 3: thêm mới <span data-column=\"done\">done: 0</span>; <span data-column=\"name\">Tên: Kế hoạch &lt;em&gt;</span></li> </ul></li>",
        "<li data-key=\"requested_on\"><span title=\"requested_on\">Ngày đề nghị</span>: <del>—</del> → <ins>30/11/2026</ins></li>",
        "<li data-key=\"review_changes\"><span title=\"review_changes\">Giá trị được sửa hoặc đề nghị sửa khi xem xét</span>:<ul class=\"reviewed-values\"> <li data-field=\"criteria_politics\"><span title=\"criteria_politics\">criteria_politics</span>: <del>9</del> → <ins>8,5</ins>;</li> <li data-field=\"products.1.completed\">Dòng 2, <span title=\"completed\">completed</span>: <del>38</del> → <ins>30</ins> — lý do: Sai số liệu &lt;script&gt;alert('x')&lt;/script&gt;</li> </ul></li>",
        "<li data-key=\"score_detail\"><span title=\"score_detail\">score_detail</span>: <del>—</del> → <ins>flag: Có; missing: —; part: 1,5</ins></li>",
        "<li data-key=\"tags\"><span title=\"tags\">tags</span>: <del>a</del> → <ins>a; b &lt;i&gt;</ins></li>",
        "<li data-key=\"tally_collective\">Kết quả kiểm phiếu: a: 2/3 đồng ý (66,67%) — trúng cử</li>",
        "<li data-key=\"urgent\"><span title=\"urgent\">urgent</span>: <del>Không</del> → <ins>Có</ins></li>",
    ],
}
CHANGES_EN = {
    4: [
        "<li data-key=\"subject_line\"><span title=\"subject_line\">Nội dung đề nghị</span>: <del>—</del> → <ins>Xin nghỉ</ins></li>",
        "<li data-key=\"amount\"><span title=\"amount\">Số lượng</span>: <del>—</del> → <ins>3</ins></li>",
    ],
    16: [
        "<li data-key=\"subject_line\"><span title=\"subject_line\">Nội dung đề nghị</span>: <del>—</del> → <ins>Xin &lt;b&gt;nghỉ&lt;/b&gt; &amp; về &lt;script&gt;alert('x')&lt;/script&gt;</ins></li>",
        "<li data-key=\"amount\"><span title=\"amount\">Số lượng</span>: <del>3</del> → <ins>4.5</ins></li>",
        "<li data-key=\"_tally_review_request\">Ballot tally: a: 2/3 in favour (66.67%) — elected</li>",
        "<li data-key=\"attendees\"><span title=\"attendees\">attendees</span>: <ul class=\"row-changes\"> <li data-row=\"2\">Row 2 (Bình): removed <span data-column=\"who\">who: <del>Bình</del></span></li> </ul></li>",
        "<li data-key=\"note\"><span title=\"note\">note</span>: <del>Cũ</del> → <ins><span class=\"help\">(empty)</span></ins></li>",
        "<li data-key=\"old_field\"><span title=\"old_field\">old_field</span>: <del>Giá trị cũ &lt;u&gt;</del> → removed</li>",
        "<li data-key=\"products\"><span title=\"products\">products</span>: <ul class=\"row-changes\"> <li data-row=\"1\">Row 1: <span data-column=\"done\">done: <del>1</del> → <ins>3</ins></span></li> <li data-row=\"3\">Row 3: added <span data-column=\"done\">done: 0</span>; <span data-column=\"name\">Name: Kế hoạch &lt;em&gt;</span></li> </ul></li>",
        "<li data-key=\"requested_on\"><span title=\"requested_on\">Requested on</span>: <del>—</del> → <ins>30/11/2026</ins></li>",
        "<li data-key=\"review_changes\"><span title=\"review_changes\">Values changed or proposed in the review</span>:<ul class=\"reviewed-values\"> <li data-field=\"criteria_politics\"><span title=\"criteria_politics\">criteria_politics</span>: <del>9</del> → <ins>8.5</ins>;</li> <li data-field=\"products.1.completed\">Row 2, <span title=\"completed\">completed</span>: <del>38</del> → <ins>30</ins> — reason: Sai số liệu &lt;script&gt;alert('x')&lt;/script&gt;</li> </ul></li>",
        "<li data-key=\"score_detail\"><span title=\"score_detail\">score_detail</span>: <del>—</del> → <ins>flag: Yes; missing: —; part: 1.5</ins></li>",
        "<li data-key=\"tags\"><span title=\"tags\">tags</span>: <del>a</del> → <ins>a; b &lt;i&gt;</ins></li>",
        "<li data-key=\"tally_collective\">Ballot tally: a: 2/3 in favour (66.67%) — elected</li>",
        "<li data-key=\"urgent\"><span title=\"urgent\">urgent</span>: <del>No</del> → <ins>Yes</ins></li>",
    ],
}
# What an inspector who is no administrator reads instead: no model internals.
NO_ERRORS_VI = {
    9: "Đã mở bước “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” — giao cho vai trò Thủ trưởng đơn vị tại Xã An Phú.",
    26: "Một bước trong mô hình quy trình bị lỗi; chưa có thay đổi nào được lưu.",
    27: "Một bước trong mô hình quy trình bị lỗi; chưa có thay đổi nào được lưu.",
}
NO_ERRORS_EN = {
    9: "Step “Xem xét &lt;b&gt;phê duyệt&lt;/b&gt;” opened — for the Head of unit of Xã An Phú.",
    26: "A step of the procedure model failed; nothing was saved.",
    27: "A step of the procedure model failed; nothing was saved.",
}
# The audit log, where it words an event otherwise: without the instance's model.
LOG_VI = {
    18: "Đã mở cuộc bỏ phiếu cho bước “review_request”.",
}
LOG_EN = {
    18: "Ballot opened for the step “review_request”.",
}
# The export's readable part: (seq, what, changes), plain text.
EXPORT_VI = [
    (1, "Khởi tạo hồ sơ quy trình (phiên bản 1).", []),
    (2, "Đã mở bước “Lập đề nghị” — giao cho Nguyễn Thị Lan.", []),
    (3, "Đã hoàn thành bước “Lập đề nghị”.", []),
    (4, "Dữ liệu của hồ sơ quy trình đã thay đổi.", ["Nội dung đề nghị: — → Xin nghỉ", "Số lượng: — → 3"]),
    (5, "Đã mở bước “Xem xét, phê duyệt” — giao cho vai trò Lãnh đạo trực tiếp tại Xã An Phú, hạn xử lý 05/11/2026 15:00.", []),
    (6, "Đã mở bước “Xem xét <b>phê duyệt</b>” — giao cho Lê Văn Minh, hạn xử lý 05/11/2026 15:00.", []),
    (7, "Đã mở bước “Xem xét <b>phê duyệt</b>” — giao cho vai trò Lãnh đạo trực tiếp tại Xã An Phú.", []),
    (8, "Đã mở bước “Xem xét <b>phê duyệt</b>” — giao cho vai trò chairman tại —.", []),
    (9, "Đã mở bước “Xem xét <b>phê duyệt</b>” — giao cho vai trò Thủ trưởng đơn vị tại Xã An Phú. Không giao được cho ai: No active user holds the lane's role in the unit or above: head <b>", []),
    (10, "Đã nhận bước “Xem xét <b>phê duyệt</b>”.", []),
    (11, "Đã trả bước “Xem xét <b>phê duyệt</b>” về nhóm.", []),
    (12, "Giao lại bước “Xem xét <b>phê duyệt</b>” từ Lê Văn Minh cho Phạm Quốc Dũng. Lý do: Nghỉ phép <script>alert('x')</script> Bản nháp Lê Văn Minh đã lưu được chuyển cùng công việc.", []),
    (13, "Giao bước “Xem xét <b>phê duyệt</b>” (đang chờ nhóm nhận) cho head9. Lý do: Phân công", []),
    (14, "Đã hoàn thành bước “Xem xét <b>phê duyệt</b>”.", []),
    (15, "Bước “Xem xét <b>phê duyệt</b>” đã đóng mà không được hoàn thành.", []),
    (16, "Dữ liệu của hồ sơ quy trình đã thay đổi.", ["Nội dung đề nghị: — → Xin <b>nghỉ</b> & về <script>alert('x')</script>", "Số lượng: 3 → 4,5", "Kết quả kiểm phiếu: a: 2/3 đồng ý (66,67%) — trúng cử", "attendees: Dòng 2 (Bình): đã xóa who: Bình", "note: Cũ → (để trống)", "old_field: Giá trị cũ <u> → đã xóa", "products: Dòng 1: done: 1 → 3 Dòng 3: thêm mới done: 0; Tên: Kế hoạch <em>", "Ngày đề nghị: — → 30/11/2026", "Giá trị được sửa hoặc đề nghị sửa khi xem xét: criteria_politics: 9 → 8,5; Dòng 2, completed: 38 → 30 — lý do: Sai số liệu <script>alert('x')</script>", "score_detail: — → flag: Có; missing: —; part: 1,5", "tags: a → a; b <i>", "Kết quả kiểm phiếu: a: 2/3 đồng ý (66,67%) — trúng cử", "urgent: Không → Có"]),
    (17, "Ghi chú kiểm tra: Đã xem <script>alert('x')</script> hồ sơ", []),
    (18, "Đã mở cuộc bỏ phiếu cho bước “Xem xét, phê duyệt”.", []),
    (19, "Đã mở cuộc bỏ phiếu cho bước “Bước đã đổi tên <i>”.", []),
    (20, "Đã ghi nhận điểm danh: 3 người có mặt.", []),
    (21, "Đã có một phiếu được bỏ (nội dung phiếu được giữ bí mật).", []),
    (22, "Đã kết thúc bỏ phiếu và kiểm phiếu.", []),
    (23, "Hồ sơ quy trình đã bị hủy. Lý do: Hồ sơ trùng <script>alert('x')</script>", []),
    (24, "Đã đến hạn: Hạn 3 ngày <b>.", []),
    (25, "Đã đến hạn: deadline_timer.", []),
    (26, "Một bước trong mô hình quy trình bị lỗi; chưa có thay đổi nào được lưu. name 'x' <is> not defined (init, dòng 3)", []),
    (27, "Một bước trong mô hình quy trình bị lỗi; chưa có thay đổi nào được lưu. boom (init)", []),
    (28, "Hồ sơ quy trình kết thúc: Đã duyệt <b>.", []),
    (29, "Hồ sơ quy trình kết thúc: rejected.", []),
    (30, "Hồ sơ quy trình kết thúc: —.", []),
    (31, "a_kind_from_a_newer_version", []),
]
EXPORT_EN = [
    (1, "Procedure started (version 1).", []),
    (2, "Step “Lập đề nghị” opened — assigned to Nguyễn Thị Lan.", []),
    (3, "Completed the step “Lập đề nghị”.", []),
    (4, "The procedure's data changed.", ["Nội dung đề nghị: — → Xin nghỉ", "Số lượng: — → 3"]),
    (5, "Step “Xem xét, phê duyệt” opened — for the Direct supervisor of Xã An Phú, due 05/11/2026 15:00.", []),
    (6, "Step “Xem xét <b>phê duyệt</b>” opened — assigned to Lê Văn Minh, due 05/11/2026 15:00.", []),
    (7, "Step “Xem xét <b>phê duyệt</b>” opened — for the Direct supervisor of Xã An Phú.", []),
    (8, "Step “Xem xét <b>phê duyệt</b>” opened — for the chairman of —.", []),
    (9, "Step “Xem xét <b>phê duyệt</b>” opened — for the Head of unit of Xã An Phú. Nobody could be assigned: No active user holds the lane's role in the unit or above: head <b>", []),
    (10, "Took the step “Xem xét <b>phê duyệt</b>”.", []),
    (11, "Returned the step “Xem xét <b>phê duyệt</b>” to the group.", []),
    (12, "Handed the step “Xem xét <b>phê duyệt</b>” from Lê Văn Minh to Phạm Quốc Dũng. Reason: Nghỉ phép <script>alert('x')</script> The draft Lê Văn Minh had saved went with it.", []),
    (13, "Gave the step “Xem xét <b>phê duyệt</b>”, waiting for its group, to head9. Reason: Phân công", []),
    (14, "Completed the step “Xem xét <b>phê duyệt</b>”.", []),
    (15, "The step “Xem xét <b>phê duyệt</b>” was closed without being completed.", []),
    (16, "The procedure's data changed.", ["Nội dung đề nghị: — → Xin <b>nghỉ</b> & về <script>alert('x')</script>", "Số lượng: 3 → 4.5", "Ballot tally: a: 2/3 in favour (66.67%) — elected", "attendees: Row 2 (Bình): removed who: Bình", "note: Cũ → (empty)", "old_field: Giá trị cũ <u> → removed", "products: Row 1: done: 1 → 3 Row 3: added done: 0; Name: Kế hoạch <em>", "Requested on: — → 30/11/2026", "Values changed or proposed in the review: criteria_politics: 9 → 8.5; Row 2, completed: 38 → 30 — reason: Sai số liệu <script>alert('x')</script>", "score_detail: — → flag: Yes; missing: —; part: 1.5", "tags: a → a; b <i>", "Ballot tally: a: 2/3 in favour (66.67%) — elected", "urgent: No → Yes"]),
    (17, "Inspection note: Đã xem <script>alert('x')</script> hồ sơ", []),
    (18, "Ballot opened for the step “Xem xét, phê duyệt”.", []),
    (19, "Ballot opened for the step “Bước đã đổi tên <i>”.", []),
    (20, "Attendance recorded: 3 present.", []),
    (21, "A ballot was cast (the ballot itself is secret).", []),
    (22, "Ballot closed and counted.", []),
    (23, "Procedure cancelled. Reason: Hồ sơ trùng <script>alert('x')</script>", []),
    (24, "Deadline reached: Hạn 3 ngày <b>.", []),
    (25, "Deadline reached: deadline_timer.", []),
    (26, "A step of the procedure model failed; nothing was saved. name 'x' <is> not defined (init, line 3)", []),
    (27, "A step of the procedure model failed; nothing was saved. boom (init)", []),
    (28, "Procedure ended: Đã duyệt <b>.", []),
    (29, "Procedure ended: rejected.", []),
    (30, "Procedure ended: —.", []),
    (31, "a_kind_from_a_newer_version", []),
]
# fmt: on


def _norm(text: str) -> str:
    return " ".join(text.split())


def _markup(element: Any, *, leave_out: tuple[str, ...] = ("ul", "details")) -> str:
    """An element's content as markup, whitespace as a page shows it, without its list of changes and its
    technical details (pinned apart)."""
    parts = [html.escape(element.text or "", quote=False)]
    for child in element:
        if child.tag in leave_out:
            parts.append(html.escape(child.tail or "", quote=False))
        else:
            parts.append(lxml_html.tostring(child, encoding=str, with_tail=True))
    return _norm("".join(parts))


def _changes(element: Any) -> list[str]:
    return [
        _norm(lxml_html.tostring(li, encoding=str, with_tail=False))
        for li in element.xpath('./ul[@class="changes"]/li')
    ]


@pytest.fixture
def worded(driver: WorkflowDriver) -> int:
    return build_worded_instance(driver)


def _reader(app: Flask, driver: WorkflowDriver, username: str, language: str) -> FlaskClient:
    with driver.session_factory() as s, transaction(s):
        driver.user(s, username).locale = language  # type: ignore[union-attr]
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return client


LANGUAGES = {
    "vi": (HISTORY_VI, CHANGES_VI, NO_ERRORS_VI, LOG_VI, EXPORT_VI),
    "en": (HISTORY_EN, CHANGES_EN, NO_ERRORS_EN, LOG_EN, EXPORT_EN),
}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_history_page_words_every_event_as_before(
    app: Flask, driver: WorkflowDriver, worded: int, language: str
) -> None:
    history, changes, no_errors, _log, _export = LANGUAGES[language]
    for username in ("admin", "auditor1"):
        page = _reader(app, driver, username, language).get(f"/audit/instances/{worded}")
        assert page.status_code == 200
        rows = lxml_html.fromstring(page.get_data(as_text=True)).xpath("//tr[@data-seq]")
        shown = [
            (
                int(row.get("data-seq")),
                row.get("data-event"),
                _markup(row.xpath("./td")[2]),
                _markup(row.xpath("./td")[4]),
            )
            for row in rows
        ]
        expected = (
            history
            if username == "admin"
            else [(seq, kind, who, no_errors.get(seq, what)) for seq, kind, who, what in history]
        )
        assert shown == expected, username
        assert {
            int(row.get("data-seq")): _changes(row.xpath("./td")[4]) for row in rows if _changes(row.xpath("./td")[4])
        } == changes


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_audit_log_words_every_event_as_the_history_page(
    app: Flask, driver: WorkflowDriver, worded: int, language: str
) -> None:
    """The log words an event of many chains without its instance's model: a ballot's step as its event recorded it."""
    history, changes, _no_errors, log, _export = LANGUAGES[language]
    page = _reader(app, driver, "admin", language).get(f"/audit/events?chain=instance:{worded}")
    assert page.status_code == 200
    rows = lxml_html.fromstring(page.get_data(as_text=True)).xpath('//tr[starts-with(@id, "event-")]')
    cells = [row.xpath('./td[contains(@class, "content")]')[0] for row in rows]
    assert [_markup(cell) for cell in cells] == [log.get(seq, what) for seq, _kind, _who, what in history]
    shown_changes = {seq: _changes(cell) for (seq, *_rest), cell in zip(history, cells, strict=True) if _changes(cell)}
    assert shown_changes == changes


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_instance_page_words_its_history_as_the_inspectors(
    app: Flask, driver: WorkflowDriver, worded: int, language: str
) -> None:
    """The instance page folds a completion's data change into the completion and leaves out the model's working
    keys (a tally under "_…"); each sentence is the inspector's."""
    history, changes, _no_errors, _log, _export = LANGUAGES[language]
    page = _reader(app, driver, "admin", language).get(f"/instances/{worded}")
    assert page.status_code == 200
    items = lxml_html.fromstring(page.get_data(as_text=True)).xpath('//ol[@class="timeline"]/li')
    shown = [(item.get("data-event"), _markup(item).partition("</strong>: ")[2]) for item in items]
    assert shown == [(kind, what) for seq, kind, _who, what in history if seq != 4]
    folded = {index: _changes(item) for index, item in enumerate(items) if _changes(item)}
    assert folded == {2: changes[4], 14: [c for c in changes[16] if 'data-key="_' not in c]}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_export_words_every_event_as_before(app: Flask, driver: WorkflowDriver, worded: int, language: str) -> None:
    *_pages, export = LANGUAGES[language]
    client = _reader(app, driver, "admin", language)
    document = json.loads(client.get(f"/audit/instances/{worded}/export?format=json").get_data())
    assert [(e["seq"], e["what"], e["changes"]) for e in document["readable"]["events"]] == export


def test_peoples_text_never_becomes_markup(app: Flask, driver: WorkflowDriver, worded: int) -> None:
    """A reason, a note, a step's name and a data value holding `<script>` are shown as text on every page that
    words the history, and in the exported file."""
    client = _reader(app, driver, "admin", "vi")
    for path in (
        f"/audit/instances/{worded}",
        f"/audit/events?chain=instance:{worded}",
        f"/instances/{worded}",
        f"/audit/instances/{worded}/export?format=html",
    ):
        # The export's embedded copy of its document is JSON, where "</" is written "<\\/": it cannot close its script.
        page = re.sub(
            r'<script type="application/json" id="canbo-export">.*?</script>',
            "",
            client.get(path).get_data(as_text=True),
            flags=re.DOTALL,
        )
        assert "&lt;script&gt;alert(" in page, path
        for raw in ("<script>alert(", "<b>phê duyệt</b>", "<b>nghỉ</b>", "<i>”", "<u></del>", "<em></span>"):
            assert raw not in page, (path, raw)
