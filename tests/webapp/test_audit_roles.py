"""The role column of an instance's full history (/audit/instances/<id>): the role each person acted in."""

from __future__ import annotations

import re

from tests.fixtures.app import AuthActions
from tests.fixtures.inspection import build_story
from tests.fixtures.workflow_helpers import WorkflowDriver


def test_the_role_column_is_the_role_the_person_acted_in(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """officer1's submission opened the supervisor's review: that row is officer1's, and the supervisor's role is
    not the one officer1 acted in — it names no role, the step's own is in its description. Those who took or
    completed a step acted in its role; events no person acted in name none."""
    story = build_story(driver)
    auth.login("auditor1")
    html = client.get(f"/audit/instances/{story['eventful']}").get_data(as_text=True)
    assert ">Vai trò khi thực hiện</th>" in html
    rows = re.findall(r'<tr data-event="([a-z_]+)" data-seq="\d+"[^>]*>(.*?)</tr>', html, re.DOTALL)
    roles = []
    for kind, row in rows:
        cell = re.search(r'<td class="role">(.*?)</td>', row)
        assert cell, row
        roles.append((kind, cell.group(1)))
    opened = [row for kind, row in rows if kind == "task_opened"]
    assert len(opened) >= 2 and all('<td class="role">—</td>' in row for row in opened)
    assert "officer1" in opened[1] and "Lãnh đạo trực tiếp" in opened[1]  # the step's role, in its description
    assert ("task_completed", "Cán bộ") in roles  # officer1's own request, in the lane of the cadre concerned
    assert ("task_claimed", "Lãnh đạo trực tiếp") in roles and ("inspection_note", "Kiểm tra viên") in roles
    assert {role for kind, role in roles if kind.startswith("ballot_") or kind == "timer_fired"} == {"—"}
