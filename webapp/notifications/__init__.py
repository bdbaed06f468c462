"""In-app notifications: new tasks, returns for revision, deadlines, the leaders' weekly digest of overdue work;
its schedule (OVERDUE_DIGEST_WEEKDAY, OVERDUE_DIGEST_HOUR: checked when the app starts)."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.evaluation import RESULT_NOTICE
from workflows.notifications import MailLink
from workflows.overdue_digest import OVERDUE_DIGEST
from workflows.rules.overdue_digest import DigestSchedule

DIGEST_SCHEDULE_KEY = "canbo_overdue_digest_schedule"

# Where the overdue digest leads, opened in the app (`views.open_`) or from its e-mail: no list of others' overdue
# tasks filtered by unit exists, the report counts them per unit and procedure (decisions 0066, 0068).
DIGEST_ENDPOINT, DIGEST_ANCHOR = "reports.targets", "overdue-by-unit"


def digest_schedule(app: Flask | None = None) -> DigestSchedule:
    """When the worker sends the weekly digest of overdue work, as checked when the app started."""
    return (app or current_app).extensions[DIGEST_SCHEDULE_KEY]


def email_links(app: Flask | None = None) -> dict[str, MailLink]:
    """Where the e-mails of notifications about no task lead, as paths under BASE_URL (the worker has no request to
    build a URL from, so the route is built without one)."""
    urls = (app or current_app).url_map.bind("")
    return {
        OVERDUE_DIGEST: MailLink(
            label="Xem việc quá hạn theo đơn vị",
            path=f"{urls.build(DIGEST_ENDPOINT)}#{DIGEST_ANCHOR}",
            page="trang “Chỉ tiêu”, mục “Công việc đang mở và quá hạn theo đơn vị”",
        ),
        # Every month she was graded, each opening the evaluation that decided it (decision 0092).
        RESULT_NOTICE: MailLink(
            label="Xem kết quả đánh giá của tôi",
            path=urls.build("evaluation.mine"),
            page="trang “Đánh giá hằng tháng”, mục “Kết quả đánh giá của tôi”",
        ),
    }
