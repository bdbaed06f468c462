"""The auditor workspace through HTTP: the full history page, the cadre view, search with export, the integrity
page and anchors, the CLI, the read log, inspection notes — and that auditors change nothing else."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from html import escape, unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import html as lxml_html
from sqlalchemy import event, func, select, text, update

from tests.fixtures.app import AuthActions
from tests.fixtures.appointment import setup_appointment, today_text
from tests.fixtures.appointment import start as start_appointment
from tests.fixtures.inspection import EVERY_EVENT, build_story
from tests.fixtures.tampering import bypass_append_only
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_exports import csv_rows
from webapp.audit.signing import trusted_keys
from webapp.extensions import db
from workflows.audit import compute_hash
from workflows.db import transaction
from workflows.inspection.exporting import (
    SignatureCheck,
    document_hash,
    dumps_export,
    render_export_html,
    verify_export,
)
from workflows.inspection.signing import new_private_key, public_pem
from workflows.models import AuditAnchor, AuditEvent, HumanTask, ProcessInstance, RecordView
from workflows.registry.models import Cadre, OrgUnit, Position, RoleAssignment, User
from workflows.registry.passwords import hash_password
from workflows.registry.records import add_position
from workflows.registry.tokens import create_token
from workflows.states import Role, TaskStatus


@pytest.fixture
def story(driver: WorkflowDriver) -> dict[str, int]:
    return build_story(driver)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-event="([a-z_]+)" data-seq="\d+"[^>]*>', html)


def test_the_history_page_shows_every_event_with_who_role_when_and_diff(auth: AuthActions, client, story) -> None:
    auth.login("auditor1")
    response = client.get(f"/audit/instances/{story['eventful']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert set(_rows(html)) == EVERY_EVENT
    for row in re.findall(r'<tr data-event="[a-z_]+" data-seq="\d+"[^>]*>(.*?)</tr>', html, re.DOTALL):
        assert re.search(r'<time datetime="[0-9T:.-]+Z">', row)
        assert re.search(r'<td class="actor">\s*[^<\s]', row)  # a person or the system, always someone
    claimed = re.search(r'<tr data-event="task_claimed".*?</tr>', html, re.DOTALL).group(0)  # type: ignore[union-attr]
    assert "supervisor1" in claimed and "Lãnh đạo trực tiếp" in claimed  # the role the step was taken in
    changed = re.search(r'<li data-key="subject_line">.*?</li>', html, re.DOTALL).group(0)  # type: ignore[union-attr]
    assert "<del>" in changed and "<ins>Xin nghỉ</ins>" in changed
    assert 'data-model-version="1"' in html and 'class="rules">v1' in html
    assert 'data-intact="yes"' in html
    assert 'data-step="collective_vote"' in html and "Nguyễn Văn An" in html  # the tally, with names
    assert "<svg" in html and "sha256-" in response.headers["Content-Security-Policy"]
    assert "Đã xem hồ sơ, chưa thấy sai sót." in html
    # The instance page leads inspectors here, and nobody else.
    assert f'href="/audit/instances/{story["eventful"]}"' in client.get(f"/instances/{story['eventful']}").get_data(
        as_text=True
    )
    auth.logout()
    auth.login("supervisor1")
    assert "/audit/instances/" not in client.get(f"/instances/{story['eventful']}").get_data(as_text=True)


def test_the_history_is_the_inspector_s(auth: AuthActions, client, story, driver: WorkflowDriver) -> None:
    auth.login("supervisor1")  # sees the instance page, is no inspector
    assert client.get(f"/instances/{story['eventful']}").status_code == 200
    assert client.get(f"/audit/instances/{story['eventful']}").status_code == 403
    with driver.session_factory() as s, transaction(s):
        x002 = s.scalars(select(OrgUnit).where(OrgUnit.code == "X002")).one()
        user = User(username="auditor2", full_name="Kiểm tra Phường", password_hash=hash_password("demo"), unit=x002)
        s.add(user)
        s.flush()
        s.add(RoleAssignment(user_id=user.id, role=Role.AUDITOR, unit_id=x002.id))
        cadre_id = s.scalars(select(Cadre.id).where(Cadre.code == "CB0001")).one()
    auth.logout()
    auth.login("auditor2", "demo")
    for path in (
        f"/audit/instances/{story['eventful']}",
        f"/audit/instances/{story['eventful']}/export",
        f"/audit/cadres/{cadre_id}",
        "/audit/instances/999999",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/audit/integrity").status_code == 403  # the whole trail is the province's


def test_the_cadre_view_lists_procedures_in_time_order(auth: AuthActions, client, story, driver) -> None:
    with driver.session_factory() as s:
        cadre_id = s.scalars(select(Cadre.id).where(Cadre.code == "CB0001")).one()
    auth.login("auditor1")
    record = client.get(f"/registry/cadres/{cadre_id}").get_data(as_text=True)
    assert f'href="/audit/cadres/{cadre_id}"' in record
    html = client.get(f"/audit/cadres/{cadre_id}").get_data(as_text=True)
    links = re.findall(r'href="/audit/instances/(\d+)"', html)
    assert [int(x) for x in dict.fromkeys(links)] == [story["eventful"], story["completed"]]
    assert html.count('data-kind="started"') == 2 and 'data-kind="cancelled"' in html
    assert 'data-kind="completed"' in html


def test_the_cadre_view_words_record_changes_as_the_record_page_does(auth: AuthActions, client, driver) -> None:
    """The inspector reads "Chức vụ: — → Phó Chủ tịch UBND xã", who did it by name, and the reason — not
    `position_id: — → 31`, a bare user name, or `True`."""
    with driver.session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        actor = s.scalars(select(User).where(User.username == "personnel1")).one()
        post = Position(title="Phó Chủ tịch UBND xã", unit_id=cadre.unit_id, level="commune")
        s.add(post)
        s.flush()
        add_position(s, actor, cadre, position_id=post.id, started_on="2025-06-06")
        cadre_id, actor_name = cadre.id, actor.full_name
    auth.login("auditor1")
    html = client.get(f"/audit/cadres/{cadre_id}").get_data(as_text=True)
    timeline = html.split('class="timeline cadre-timeline"')[-1]
    assert "Chức vụ: <del>—</del> → <ins>Phó Chủ tịch UBND xã</ins>" in timeline
    assert "Bắt đầu từ: <del>—</del> → <ins>06/06/2025</ins>" in timeline
    assert f'{actor_name} <span class="ref">personnel1</span>' in timeline
    for raw in ("position_id", "started_on", "2025-06-06"):
        assert raw not in timeline, raw


def test_search_filters_by_process_unit_subject_step_and_outcome(auth: AuthActions, client, story, driver) -> None:
    def chains(query: str) -> set[str]:
        response = client.get(f"/audit/events?{query}&format=csv")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return {row[1] for row in csv_rows(response)[1:]}

    eventful, completed = f"instance:{story['eventful']}", f"instance:{story['completed']}"
    with driver.session_factory() as s:
        x001 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X001")).one()
        x002 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X002")).one()
    other = driver.start("sample_approval", as_user="officer3", subject="CB0005")
    auth.login("auditor1")
    assert chains("process=sample_approval") == {eventful, completed, f"instance:{other}"}
    assert chains("outcome=cancelled") == {eventful}
    assert chains("outcome=completed") == {completed}
    assert chains(f"unit={x002}") == {f"instance:{other}"}
    assert {eventful, completed} <= chains(f"unit={x001}")
    assert chains("subject=cb0001") == {eventful, completed}
    steps = csv_rows(client.get("/audit/events?step=review_request&format=csv"))[1:]
    assert {row[1] for row in steps} == {eventful, completed}
    assert {row[5] for row in steps} >= {"task_opened", "task_claimed", "task_released", "task_completed"}
    assert chains("subject=CB0001&event_type=inspection_note") == {eventful}
    with driver.session_factory() as s:
        cadre_name = s.scalars(select(Cadre.full_name).where(Cadre.code == "CB0001")).one()
        starter = s.scalars(select(User.full_name).where(User.username == "officer3")).one()
    # People by name, as an inspector knows them: the cadre concerned, and who acted.
    assert chains(f"subject={quote(' '.join(cadre_name.split()).lower())}") == {eventful, completed}
    assert chains(f"actor={quote(starter)}") == {f"instance:{other}"}
    assert chains(f"actor={quote(starter + ' Nobody')}") == set()
    for bad, field in (("process=nothing", "process"), ("outcome=lost", "outcome"), ("step=" + "a" * 121, "step")):
        response = client.get(f"/audit/events?{bad}")
        assert response.status_code == 400
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', response.get_data(as_text=True)), bad


def _readable(html: str) -> str:
    """A page's text as read, without what the "Chi tiết kỹ thuật" toggles hold."""
    return re.sub(r"<details.*?</details>", "", html, flags=re.DOTALL)


def test_the_log_words_each_event_as_the_history_does_with_the_raw_content_behind_a_toggle(
    auth: AuthActions, client, story, driver
) -> None:
    with driver.session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        post = Position(title="Phó Chủ tịch thử", unit_id=cadre.unit_id, level="commune")
        s.add(post)
        s.flush()
        add_position(
            s,
            s.scalars(select(User).where(User.username == "personnel1")).one(),
            cadre,
            position_id=post.id,
            started_on="2026-11-01",
        )
        cadre_id = cadre.id
    auth.login("auditor1")
    html = client.get(f"/audit/events?chain=instance:{story['eventful']}").get_data(as_text=True)
    shown = _readable(html)
    # A sentence per event, as the history page says it: the step, the role and unit it waited for, its deadline.
    assert "Đã mở bước “Xem xét, phê duyệt” — giao cho vai trò Lãnh đạo trực tiếp tại Xã An Phú, hạn xử lý" in shown
    assert "Đã nhận bước “Xem xét, phê duyệt”." in shown
    # A change before → after under the form's title, not the data key.
    assert re.search(r"Nội dung đề nghị</span>: <del>—</del> → <ins>Xin nghỉ</ins>", shown)
    # Who acted: the full name, the user name beside it.
    assert 'class="actor">Lê Văn Minh <span class="ref">supervisor1</span>' in shown
    for developer_text in ("candidate_role", "task_key", "assignee_id", "subject_line:", "&#34;"):
        assert developer_text not in shown, developer_text
    # The raw content is kept, behind the toggle.
    toggles = re.findall(r"<details[^>]*><summary>Chi tiết kỹ thuật</summary>(.*?)</details>", html, re.DOTALL)
    assert len(toggles) == len(re.findall(r"<tr[ >]", shown)) - 1 and any("candidate_role" in t for t in toggles)
    # How to verify, in the app; the zone the times are in.
    assert 'href="/audit/integrity"' in shown and "canbo audit verify" not in html
    assert "giờ Việt Nam (UTC+7)" in shown
    # A cadre record's event is worded as the record's history words it: the post by its title.
    record = _readable(client.get(f"/audit/events?chain=cadre:{cadre_id}").get_data(as_text=True))
    assert "Phó Chủ tịch thử" in record and "position_id" not in record and "Nhận chức vụ" in record


def test_who_acted_is_found_by_a_part_of_the_name_marks_and_case_ignored(
    auth: AuthActions, client, story, driver
) -> None:
    def chains(actor: str) -> set[str]:
        response = client.get(f"/audit/events?actor={quote(actor)}&format=csv")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return {row[1] for row in csv_rows(response)[1:]}

    other = f"instance:{driver.start('sample_approval', as_user='officer3', subject='CB0005')}"
    auth.login("auditor1")
    # officer3 is Hoàng Thị Mai: her given name alone, typed without marks or in capitals, a part of the user name.
    for typed in ("mai", "MAI", "hoang thi", "Hoàng Thị Mai", "cer3", "OFFICER3"):
        assert chains(typed) == {other}, typed
    assert chains("mai nobody") == set()
    assert chains("%") == set()  # typed text, not a LIKE pattern
    # The system has no user row: it is found by its recorded name, typed whole.
    system = csv_rows(client.get("/audit/events?actor=system&format=csv"))[1:]
    assert system and all(row[4] == "system" for row in system)
    page = client.get("/audit/events?actor=mai").get_data(as_text=True)
    assert "Hoàng Thị Mai" in page and 'value="mai"' in page


def test_a_step_is_found_by_the_name_the_pages_show_as_well_as_by_its_model_id(
    auth: AuthActions, client, story, driver
) -> None:
    """Auditors type the step as they read it ("Xem xét, phê duyệt"), in any case, or a part of it; its id in the
    model ("review_request") still finds it. Marks count (accent-sensitive), and the typed text is no pattern."""

    def events(step: str) -> list[tuple[str, str]]:
        response = client.get(f"/audit/events?step={quote(step)}&format=csv")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return sorted((row[1], row[5]) for row in csv_rows(response)[1:])

    eventful, completed = f"instance:{story['eventful']}", f"instance:{story['completed']}"
    other = f"instance:{driver.start('sample_approval', as_user='officer3', subject='CB0005')}"  # not yet reviewed
    auth.login("auditor1")
    by_id = events("review_request")
    assert {chain for chain, _type in by_id} == {eventful, completed}
    for typed in ("Xem xét, phê duyệt", "xem xét", "XEM XÉT, PHÊ DUYỆT", "phê duyệt", "  Phê   duyệt "):
        assert events(typed) == by_id, typed
    assert {chain for chain, _type in events("lập đề nghị")} == {eventful, completed, other}
    for typed in ("Xem xet", "%", "_", "duyệt, xem"):
        assert events(typed) == [], typed
    page = client.get(f"/audit/events?step={quote('xem xét')}").get_data(as_text=True)
    assert 'value="xem xét"' in page and 'aria-invalid="true"' not in page
    assert 'placeholder="tên bước hoặc mã bước"' in page


# -- integrity ------------------------------------------------------------------------------------------------


def _rewrite_first_event(driver: WorkflowDriver, instance_id: int) -> None:
    """A consistent rewrite of a whole chain (hashes and head recomputed)."""
    with driver.session_factory() as s:
        bypass_append_only(s)
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq))
        )
        prev = events[0].prev_hash
        for index, event in enumerate(events):
            payload = '{"forged":true}' if index == 0 else event.payload
            digest = compute_hash(
                prev_hash=prev,
                chain_key=event.chain_key,
                seq=event.seq,
                event_type=event.event_type,
                instance_id=event.instance_id,
                human_task_id=event.human_task_id,
                actor_id=event.actor_id,
                actor_name=event.actor_name,
                occurred_dt=event.occurred_dt,
                payload=payload,
            )
            s.execute(
                update(AuditEvent).where(AuditEvent.id == event.id).values(payload=payload, prev_hash=prev, hash=digest)
            )
            prev = digest
        s.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(audit_head=prev))
        s.commit()


def test_the_cli_anchors_and_detects_a_whole_chain_rewritten(runner, story, driver, tmp_path: Path) -> None:
    digest = tmp_path / "neo.json"
    anchored = runner.invoke(args=["audit", "anchor", "--output", str(digest)])
    assert anchored.exit_code == 0 and "anchored" in anchored.output
    assert runner.invoke(args=["audit", "verify", "--against", str(digest)]).exit_code == 0
    _rewrite_first_event(driver, story["completed"])
    alone = runner.invoke(args=["audit", "verify"])
    assert alone.exit_code == 0  # the rewrite is consistent on its own
    against = runner.invoke(args=["audit", "verify", "--against", str(digest)])
    assert against.exit_code == 1
    assert f"instance:{story['completed']}" in against.output and "anchored digest" in against.output
    forged = json.loads(digest.read_text())
    forged["chains"][f"instance:{story['completed']}"][1] = "0" * 64
    digest.write_text(json.dumps(forged))
    refused = runner.invoke(args=["audit", "verify", "--against", str(digest)])
    assert refused.exit_code == 1 and "signature" in refused.output


def test_an_anchor_whose_digest_cannot_be_written_is_not_made(runner, story, driver, tmp_path: Path) -> None:
    def anchors() -> int:
        with driver.session_factory() as s:
            return int(s.scalar(select(func.count()).select_from(AuditAnchor)) or 0)

    before = anchors()
    (tmp_path / "a-file").write_text("")
    for output in (tmp_path / "missing" / "neo.json", tmp_path / "a-file" / "neo.json"):
        refused = runner.invoke(args=["audit", "anchor", "--output", str(output)])
        assert refused.exit_code == 1
        assert isinstance(refused.exception, SystemExit)  # an answer, not a traceback
        assert "the digest cannot be written" in refused.output and "nothing was anchored" in refused.output
    assert anchors() == before


def test_a_file_that_is_no_export_is_told_apart_from_a_broken_one(runner, tmp_path: Path) -> None:
    for name, content in (("notes.json", b'{"a": 1}'), ("page.html", b"<html></html>"), ("x.bin", b"\xff\xfe")):
        path = tmp_path / name
        path.write_bytes(content)
        result = runner.invoke(args=["audit", "verify-export", str(path)])
        assert result.exit_code == 1
        assert "not an exported instance history" in result.output and "NOT intact" not in result.output


def test_the_worker_writes_the_daily_anchor(runner, story) -> None:
    first = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "audit anchor of" in first.output
    assert "audit anchor of" not in runner.invoke(args=["worker", "--once"]).output


def test_the_integrity_page_verifies_and_checks_an_uploaded_digest(
    auth: AuthActions, client, runner, story, driver, tmp_path: Path
) -> None:
    digest = tmp_path / "neo.json"
    runner.invoke(args=["audit", "anchor", "--output", str(digest)])
    auth.login("auditor1")
    page = client.get("/audit/integrity").get_data(as_text=True)
    assert 'data-ok="yes"' in page
    # The check has run as the page opened: its one button re-runs it; comparing with a digest needs the file first.
    assert 'id="check-again" href="/audit/integrity"' in page and "Kiểm tra lại" in page
    assert re.search(r'<input type="file" id="digest"[^>]* required[ >]', page)
    anchor_link = re.search(r'href="(/audit/anchors/\d+\.json)"', page).group(1)  # type: ignore[union-attr]
    assert client.get(anchor_link).get_data() == digest.read_bytes()
    _rewrite_first_event(driver, story["eventful"])
    assert 'data-ok="yes"' in client.get("/audit/integrity").get_data(as_text=True)
    token = auth.csrf_token("/audit/integrity")
    with digest.open("rb") as handle:
        response = client.post(
            "/audit/integrity",
            data={"csrf_token": token, "digest": (handle, "neo.json")},
            content_type="multipart/form-data",
        )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-ok="no"' in html and f"instance:{story['eventful']}" in html
    # Said in the reader's language, as the rest of the page (the CLI and the API say it in English).
    assert "chuỗi đã bị viết lại" in html and "rewritten" not in html
    assert client.post("/audit/integrity", data={"csrf_token": token}).status_code == 422


def test_an_altered_event_is_marked_in_the_history_and_the_problem_links_to_it(
    auth: AuthActions, client, story, driver
) -> None:
    instance_id = story["eventful"]
    with driver.session_factory() as s:
        bypass_append_only(s)
        third = s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.seq == 3)).one()
        third_id = third.id
        s.execute(update(AuditEvent).where(AuditEvent.id == third_id).values(payload='{"forged": true}'))
        s.commit()
    auth.login("auditor1")
    html = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    assert 'data-intact="no"' in html
    # The problem names the event and leads to its row, and that row, and only it, is marked.
    link = re.search(r'<a href="#(event-\d+)">([^<]*)</a>', html)
    assert link is not None and link.group(1) == "event-3" and f"{third_id} (#3)" in link.group(2)
    assert re.findall(r'<tr data-event="[a-z_]+" data-seq="(\d+)" id="event-\d+" class="broken"', html) == ["3"]
    row = re.search(r'<tr [^>]*id="event-3"[^>]*>(.*?)</tr>', html, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert "Không khớp chuỗi kiểm tra" in row
    assert html.count('class="badge broken"') == 1
    # The integrity page's finding opens the history at that row.
    page = client.get("/audit/integrity").get_data(as_text=True)
    assert f'href="/audit/instances/{instance_id}#event-3"' in page


def _log_rows(html: str) -> dict[int, str]:
    """The log's rows by event id: each row's HTML."""
    return {
        int(event_id): row
        for event_id, row in re.findall(r'<tr id="event-(\d+)"[^>]*>(.*?)</tr>', html, re.DOTALL)
        if row
    }


def _marked(html: str) -> list[int]:
    return [int(event_id) for event_id in re.findall(r'<tr id="event-(\d+)" class="broken" data-broken="yes">', html)]


def test_the_log_marks_the_shown_rows_that_do_not_match_their_chain_and_says_how_many(
    auth: AuthActions, client, story, driver
) -> None:
    """Decision 0079: the log checks the rows it shows — each against its own hash and the hash of the event before
    it — and marks the failing ones as the history page does (decision 0075), with a banner leading to the first."""
    auth.login("auditor1")
    untouched = client.get("/audit/events").get_data(as_text=True)
    assert len(_log_rows(untouched)) > 10
    assert _marked(untouched) == [] and 'id="altered-events"' not in untouched and "badge broken" not in untouched

    instance_id = story["eventful"]
    with driver.session_factory() as s:
        bypass_append_only(s)
        events = {
            e.seq: e for e in s.scalars(select(AuditEvent).where(AuditEvent.chain_key == f"instance:{instance_id}"))
        }
        # #3 edited in place (its hash no longer matches); #6 forged with its hash recomputed, which only the link
        # of #7 to it betrays.
        s.execute(update(AuditEvent).where(AuditEvent.id == events[3].id).values(payload='{"forged": true}'))
        forged = events[6]
        digest = compute_hash(
            prev_hash=forged.prev_hash,
            chain_key=forged.chain_key,
            seq=forged.seq,
            event_type=forged.event_type,
            instance_id=forged.instance_id,
            human_task_id=forged.human_task_id,
            actor_id=forged.actor_id,
            actor_name=forged.actor_name,
            occurred_dt=forged.occurred_dt,
            payload='{"forged": true}',
        )
        s.execute(update(AuditEvent).where(AuditEvent.id == forged.id).values(payload='{"forged": true}', hash=digest))
        s.commit()
        third, seventh = events[3].id, events[7].id

    for url in ("/audit/events", f"/audit/events?chain=instance:{instance_id}"):
        html = client.get(url).get_data(as_text=True)
        assert sorted(_marked(html)) == sorted([third, seventh]), url
        rows = _log_rows(html)
        # Not by colour alone: the row says it in words, and why.
        assert "Không khớp chuỗi kiểm tra" in rows[third] and "sự kiện đã bị sửa" in rows[third]
        assert "Không khớp chuỗi kiểm tra" in rows[seventh] and "liên kết với mã băm trước không khớp" in rows[seventh]
        assert sum("Không khớp chuỗi kiểm tra" in row for row in rows.values()) == 2
        banner = lxml_html.fromstring(html).get_element_by_id("altered-events")
        assert banner.get("role") == "alert" and "2 sự kiện trên trang này không khớp chuỗi kiểm tra" in (
            banner.text_content()
        )
        # The link leads to the first marked row in the page's order (the whole log newest first).
        first = next(event_id for event_id in rows if event_id in (third, seventh))
        assert banner.xpath(".//a/@href")[0] == f"#event-{first}"
    # Another chain's rows are not marked: a page of the completed procedure alone shows none.
    other = client.get(f"/audit/events?chain=instance:{story['completed']}").get_data(as_text=True)
    assert _marked(other) == [] and 'id="altered-events"' not in other


def test_checking_the_shown_rows_is_one_statement_whatever_their_number(
    app, auth: AuthActions, client, story, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The predecessors' hashes the page lacks are read in one statement; none when the page holds them all (one
    chain read from its first event)."""
    import webapp.audit.views as views
    from tests.fixtures.statements import statements_sent

    auth.login("auditor1")
    with app.app_context():
        engine = db.engine

    def statements(url: str) -> list[str]:
        client.get(url)  # warm: what is prepared once per connection is not counted
        with statements_sent(engine) as sent:
            response = client.get(url)
        assert response.status_code == 200
        return sent.statements

    def hashes_read(sent: list[str]) -> list[str]:
        return [sql for sql in sent if "audit_events.hash" in sql and "audit_events.payload" not in sql]

    # One kind of event: the event before each row is of another kind, none of them on the page.
    scattered, chain = "/audit/events?event_type=task_opened", f"/audit/events?chain=instance:{story['eventful']}"
    checked = {url: statements(url) for url in (scattered, chain)}
    monkeypatch.setattr(views, "check_events", lambda session, events: {})
    unchecked = {url: statements(url) for url in (scattered, chain)}
    assert len(_log_rows(client.get(scattered).get_data(as_text=True))) >= 4
    (read,) = hashes_read(checked[scattered])
    assert len(checked[scattered]) == len(unchecked[scattered]) + 1, read
    assert hashes_read(checked[chain]) == [] and len(checked[chain]) == len(unchecked[chain])


@pytest.mark.parametrize("anchor_id", ["0", "999999", "2147483648"])
def test_an_anchor_nobody_wrote_is_not_found(auth: AuthActions, client, anchor_id: str) -> None:
    auth.login("auditor1")
    assert client.get(f"/audit/anchors/{anchor_id}.json").status_code == 404


def test_an_export_downloads_and_verifies_offline(auth: AuthActions, client, runner, story, tmp_path: Path) -> None:
    auth.login("auditor1")
    for fmt in ("json", "html"):
        response = client.get(f"/audit/instances/{story['eventful']}/export?format={fmt}")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        path = tmp_path / f"export.{fmt}"
        path.write_bytes(response.get_data())
        ok = runner.invoke(args=["audit", "verify-export", str(path)])
        assert ok.exit_code == 0 and "intact" in ok.output, ok.output
        assert "signed with the trusted public key" in ok.output and "current key" in ok.output  # this install's
        other_key = tmp_path / "other.pem"
        other_key.write_text(public_pem(new_private_key().public_key()))
        foreign = runner.invoke(args=["audit", "verify-export", str(path), "--public-key", str(other_key)])
        assert foreign.exit_code == 1 and "none of the trusted public keys" in foreign.output, foreign.output
        other_key.write_text("not a key")
        bad = runner.invoke(args=["audit", "verify-export", str(path), "--public-key", str(other_key)])
        assert bad.exit_code == 1 and isinstance(bad.exception, SystemExit) and "not a PEM public key" in bad.output
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
        broken = runner.invoke(args=["audit", "verify-export", str(path)])
        assert broken.exit_code == 1 and "NOT intact" in broken.output
    assert client.get(f"/audit/instances/{story['eventful']}/export?format=pdf").status_code == 400


def test_the_exported_file_reads_as_the_history_page_with_the_raw_records_after_it(
    auth: AuthActions, client, story, app
) -> None:
    auth.login("auditor1")
    data = client.get(f"/audit/instances/{story['eventful']}/export?format=html").get_data()
    html = data.decode()
    readable, _sep, technical = html.partition("<h2>Chi tiết kỹ thuật</h2>")
    assert technical, "the raw records follow the readable part"
    # The history's sentences, people by name and user name, the status in words, local time with its zone.
    assert "<td>Lê Văn Minh (supervisor1)</td><td>Đã nhận bước “Xem xét, phê duyệt”.</td>" in readable
    assert "<li>Nội dung đề nghị: — → Xin nghỉ</li>" in readable
    assert "Thời gian theo giờ Việt Nam (UTC+7)." in readable and "<dd>Đã hủy</dd>" in readable
    assert "<td>02/11/2026 15:00</td>" in readable  # 08:00 UTC, as the screens show it
    assert "— Vũ Đức Tuấn (auditor1)</dd>" in readable
    # A ballot's result by the candidates' names and in words; its codes in the technical part.
    assert re.search(r"<li>[^<]*Nguyễn Văn An: 2/3 [^<]*</li>", readable)
    assert "elected" not in readable and "collective_vote: elected" in technical
    for raw in ("task_opened", "instance_started", "cancelled", "T08:00", "&quot;", "candidate_role"):
        assert raw not in readable, raw
    # The chain's own records are kept whole in the technical part.
    assert "task_opened" in technical and "2026-11-02T08:00:00Z" in technical and "candidate_role" in technical
    document = json.loads(re.search(r'id="canbo-export">(.*?)</script>', html, re.DOTALL).group(1))  # type: ignore[union-attr]
    assert document["format"] == "canbo-instance-history/4"
    assert [event["seq"] for event in document["readable"]["events"]] == [e["seq"] for e in document["events"]]
    # Verified as before: re-rendered byte for byte, signed; a byte of a sentence changed fails.
    with app.app_context():
        key = trusted_keys()
    assert verify_export(data, trusted=key).ok and verify_export(data, trusted=key).signature is SignatureCheck.VALID
    at = data.find("Đã nhận bước".encode())
    assert not verify_export(data[:at] + b"X" + data[at + 1 :], trusted=key).ok
    # The readable part is signed: a sentence rewritten in the embedded copy too, the hash recomputed, is caught
    # by the key; and a sentence taken out fails even without it.
    forged = json.loads(dumps_export(document))
    forged["readable"]["events"][5]["what"] = "Đã hoàn thành bước “Xem xét, phê duyệt”."
    forged["document_sha256"] = document_hash(forged)
    assert verify_export(render_export_html(forged).encode()).ok  # without the key: names and words unproven
    assert verify_export(render_export_html(forged).encode(), trusted=key).signature is SignatureCheck.ALTERED
    del forged["readable"]["events"][5]
    forged["document_sha256"] = document_hash(forged)
    assert not verify_export(render_export_html(forged).encode()).ok


def _check_on_the_page(client, auth: AuthActions, content: bytes, name: str):  # type: ignore[no-untyped-def]
    token = auth.csrf_token("/audit/exports/verify")
    return client.post(
        "/audit/exports/verify",
        data={"csrf_token": token, "export": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_an_inspector_checks_an_export_on_the_page(auth: AuthActions, client, story) -> None:
    """For inspectors handed a file, without the command line: checked with this installation's key."""
    auth.login("auditor1")
    exported = client.get(f"/audit/instances/{story['eventful']}/export?format=html").get_data()
    intact = _check_on_the_page(client, auth, exported, "lich-su.html")
    page = intact.get_data(as_text=True)
    assert intact.status_code == 200 and 'data-ok="yes"' in page and 'data-signature="valid"' in page
    assert "Đã ký bằng khóa ký của máy chủ này" in page

    # A tally turned around, the document's SHA-256 recomputed (which needs no key): caught, said in Vietnamese.
    document = json.loads(client.get(f"/audit/instances/{story['eventful']}/export?format=json").get_data())
    candidate = document["ballots"][0]["tally"]["candidates"][0]
    candidate["yes"], candidate["no"] = candidate.get("no", 0), candidate["yes"]
    document["document_sha256"] = document_hash(document)
    forged = _check_on_the_page(client, auth, dumps_export(document).encode(), "lich-su.json")
    page = forged.get_data(as_text=True)
    assert forged.status_code == 200 and 'data-ok="no"' in page and 'data-signature="altered"' in page
    assert "kết quả kiểm phiếu" in page.lower() and "ballot results" not in page

    wrong = _check_on_the_page(client, auth, b"<html>not an export</html>", "trang.html")
    assert wrong.status_code == 422 and "không phải" in wrong.get_data(as_text=True).lower()
    token = auth.csrf_token("/audit/exports/verify")
    empty = client.post("/audit/exports/verify", data={"csrf_token": token}, content_type="multipart/form-data")
    assert empty.status_code == 422
    auth.logout()
    auth.login("officer1")
    assert client.get("/audit/exports/verify").status_code == 403


def test_an_event_slipped_into_an_instances_chain_under_no_instance_is_caught_on_its_history(
    auth: AuthActions, client, story, driver
) -> None:
    """An event appended to an instance's chain with a consistent hash but naming no instance: the history page
    shows it and reports the chain broken (its head records one event fewer), though the instance page's own
    reading of events (by instance) would not have found it."""
    instance_id = story["completed"]
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        seq, occurred = instance.audit_seq + 1, datetime(2026, 11, 20, 8, 0)
        fields = {
            "chain_key": f"instance:{instance_id}",
            "seq": seq,
            "event_type": "task_completed",
            "instance_id": None,
            "human_task_id": None,
            "actor_id": None,
            "actor_name": "intruder",
            "occurred_dt": occurred,
            "payload": "{}",
        }
        s.add(
            AuditEvent(
                **fields, prev_hash=instance.audit_head, hash=compute_hash(prev_hash=instance.audit_head, **fields)
            )
        )
        s.commit()
    auth.login("auditor1")
    page = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    assert 'data-intact="no"' in page and "intruder" in page
    assert (
        f"chuỗi instance:{instance_id}, #{seq - 1}: các sự kiện kết thúc ở #{seq} nhưng đầu chuỗi ghi #{seq - 1}"
        in page
    )


# -- who read what --------------------------------------------------------------------------------------------


def test_reads_of_histories_and_records_are_logged_and_shown(auth: AuthActions, client, story, driver) -> None:
    with driver.session_factory() as s:
        cadre_id = s.scalars(select(Cadre.id).where(Cadre.code == "CB0001")).one()
    auth.login("supervisor1")
    client.get(f"/instances/{story['completed']}")
    auth.logout()
    auth.login("personnel1")
    assert client.get(f"/registry/cadres/{cadre_id}").status_code == 200
    auth.logout()
    auth.login("auditor1")
    client.get(f"/audit/instances/{story['eventful']}")
    with driver.session_factory() as s:
        views = s.execute(select(RecordView.viewer_name, RecordView.object_kind, RecordView.object_id)).all()
    assert ("supervisor1", "instance", story["completed"]) in views
    assert ("personnel1", "cadre", cadre_id) in views
    assert ("auditor1", "instance_history", story["eventful"]) in views
    page = client.get("/audit/reads").get_data(as_text=True)
    assert 'data-viewer="supervisor1" data-kind="instance"' in page
    assert 'data-viewer="personnel1" data-kind="cadre"' in page
    only = client.get("/audit/reads?viewer=personnel1").get_data(as_text=True)
    assert 'data-viewer="supervisor1"' not in only and 'data-viewer="personnel1"' in only
    with driver.session_factory() as s:
        full_name = s.scalars(select(User.full_name).where(User.username == "personnel1")).one()
    by_name = client.get("/audit/reads", query_string={"viewer": f"  {full_name.upper()}  "}).get_data(as_text=True)
    assert 'data-viewer="supervisor1"' not in by_name and 'data-viewer="personnel1"' in by_name
    auth.logout()
    auth.login("officer1")
    assert client.get("/audit/reads").status_code == 403


def test_lists_exported_as_files_are_logged_with_their_filters(auth: AuthActions, client, story, driver) -> None:
    """The whole cadre list or the audit log's search leaves in one file: a read of every row, logged (decision 0137).
    A page of the list on screen is not."""
    auth.login("personnel1")
    assert client.get("/registry/cadres?q=Lan").status_code == 200
    assert client.get("/registry/cadres?q=Lan&format=xlsx&page=2").status_code == 200
    auth.logout()
    auth.login("auditor1")
    assert client.get("/audit/events?format=csv&event_type=task_completed").status_code == 200
    with driver.session_factory() as s:
        views = s.execute(
            select(RecordView.viewer_name, RecordView.object_kind, RecordView.detail).where(
                RecordView.object_kind.in_(["cadre_list", "event_list"])
            )
        ).all()
    assert sorted(views) == [
        ("auditor1", "event_list", "format=csv&event_type=task_completed"),
        ("personnel1", "cadre_list", "q=Lan&format=xlsx"),
    ]
    page = lxml_html.fromstring(client.get("/audit/reads").get_data(as_text=True))
    (row,) = page.xpath('//tr[@data-viewer="personnel1"][@data-kind="cadre_list"]')
    assert "Xuất danh sách cán bộ" in row.text_content() and "q=Lan&format=xlsx" in row.text_content()
    kinds = client.get("/audit/reads?kind=event_list").get_data(as_text=True)
    assert 'data-kind="event_list"' in kinds and 'data-kind="cadre_list"' not in kinds


def _views_of(driver: WorkflowDriver, instance_id: int) -> list[str]:
    with driver.session_factory() as s:
        return list(s.scalars(select(RecordView.viewer_name).where(RecordView.object_id == instance_id)))


def test_a_read_is_logged_only_with_the_answer_it_was_logged_for(
    auth: AuthActions, client, story, driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read is committed with the page, after it is built: a page that could not be built was not shown, and
    leaves no read behind."""
    from webapp.instances import views

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise LookupError("the page could not be built")

    monkeypatch.setattr(views, "instance_detail", broken)
    auth.login("supervisor1")
    with pytest.raises(LookupError):
        client.get(f"/instances/{story['completed']}")
    assert _views_of(driver, story["completed"]) == []


def test_a_page_whose_read_could_not_be_logged_is_not_shown(auth: AuthActions, client, story, driver, app) -> None:
    """The read's log is committed before the page leaves: when that commit fails (PostgreSQL cuts the connection at
    that moment), the answer is a 503 and the page is not shown, and no read is left behind."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("cutting the connection at the commit needs PostgreSQL's pg_terminate_backend")
        engine = db.engine
    auth.login("supervisor1")
    path = f"/instances/{story['completed']}"
    first = client.get(path)
    assert first.status_code == 200 and f"#{story['completed']}".encode() in first.data
    shown = len(_views_of(driver, story["completed"]))

    def cut_at_commit(conn) -> None:  # type: ignore[no-untyped-def]
        pid = conn.connection.dbapi_connection.info.backend_pid
        with driver.session_factory() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(engine, "commit", cut_at_commit, once=True)
    page = client.get(path)
    assert page.status_code == 503 and b'data-status="503"' in page.data
    assert f"#{story['completed']}".encode() not in page.data
    assert len(_views_of(driver, story["completed"])) == shown
    assert client.get(path).status_code == 200  # the pool reconnects
    assert len(_views_of(driver, story["completed"])) == shown + 1


def test_a_page_that_changes_what_it_read_saves_nothing(
    auth: AuthActions, client, story, driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the read's log is committed with a page: a change a page made to what it read (a bug) is refused, not
    saved along with it."""
    from webapp.instances import views

    real_detail = views.instance_detail

    def meddling(session, engine, user, instance, **kwargs):  # type: ignore[no-untyped-def]
        instance.cancel_reason = "written by a page"
        return real_detail(session, engine, user, instance, **kwargs)

    monkeypatch.setattr(views, "instance_detail", meddling)
    auth.login("supervisor1")
    with pytest.raises(RuntimeError, match="changed what it read"):
        client.get(f"/instances/{story['completed']}")
    with driver.session_factory() as s:
        assert s.get(ProcessInstance, story["completed"]).cancel_reason is None  # type: ignore[union-attr]
    assert _views_of(driver, story["completed"]) == []


# -- the one write, and nothing else --------------------------------------------------------------------------


def _counts(driver: WorkflowDriver) -> tuple[int, int, int]:
    with driver.session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == TaskStatus.OPEN)) or 0,
            s.scalar(select(func.count()).select_from(ProcessInstance)) or 0,
        )


def test_an_inspection_note_is_appended_to_the_chain(auth: AuthActions, client, story, driver, runner) -> None:
    auth.login("auditor1")
    path = f"/audit/instances/{story['completed']}"
    before = _counts(driver)
    empty = auth.post(f"{path}/notes", {"body": "   "}, page=path)
    assert empty.status_code == 422 and _counts(driver) == before
    posted = auth.post(f"{path}/notes", {"body": "Hồ sơ đầy đủ."}, page=path)
    assert posted.status_code == 302
    with driver.session_factory() as s:
        last = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == story["completed"]).order_by(AuditEvent.seq.desc())
        ).first()
        assert last is not None and last.event_type == "inspection_note" and last.actor_name == "auditor1"
        assert json.loads(last.payload) == {"note": "Hồ sơ đầy đủ."}
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    auth.logout()
    auth.login("supervisor1")  # may see the instance, is no inspector
    assert auth.post(f"{path}/notes", {"body": "x"}, page="/inbox").status_code == 403


def _notes(html: str) -> list[tuple[str, str, str]]:
    """The #notes section's list: (author, time, text) of each note, top to bottom; its empty-state text apart."""
    (section,) = lxml_html.fromstring(html).xpath('//section[@id="notes"]')
    return [
        (
            item.xpath("string(.//strong)").strip(),
            item.xpath("string(.//time/@datetime)"),
            item.xpath("string(.//p)").strip(),
        )
        for item in section.xpath(".//li[@data-seq]")
    ]


def test_the_notes_section_lists_the_notes_added_newest_last(auth: AuthActions, client, story) -> None:
    auth.login("auditor1")
    path = f"/audit/instances/{story['completed']}"
    page = client.get(path).get_data(as_text=True)
    assert _notes(page) == []
    (section,) = lxml_html.fromstring(page).xpath('//section[@id="notes"]')
    assert section.xpath('.//p[@class="empty"]')  # says there are none yet

    for body in ("Hồ sơ đầy đủ.", "Cần xem lại <biên bản> họp."):
        posted = auth.post(f"{path}/notes", {"body": body}, page=path)
        assert posted.status_code == 302 and posted.headers["Location"].endswith("#notes")
    page = client.get(path).get_data(as_text=True)
    listed = _notes(page)
    assert [(author, text) for author, _when, text in listed] == [
        ("Vũ Đức Tuấn", "Hồ sơ đầy đủ."),
        ("Vũ Đức Tuấn", "Cần xem lại <biên bản> họp."),  # escaped text, not markup
    ]
    assert all(datetime.fromisoformat(when.removesuffix("Z")) for _author, when, _text in listed)
    assert listed[0][1] <= listed[1][1]
    (section,) = lxml_html.fromstring(page).xpath('//section[@id="notes"]')
    assert not section.xpath('.//p[@class="empty"]')
    # The story's other procedure has its own note, and only that.
    other = _notes(client.get(f"/audit/instances/{story['eventful']}").get_data(as_text=True))
    assert [text for _author, _when, text in other] == ["Đã xem hồ sơ, chưa thấy sai sót."]


@pytest.mark.parametrize("body", ["\x00", "\x00\x07 \x1f", "\x0b\x0c"])
def test_a_note_of_control_characters_only_is_refused(auth: AuthActions, client, story, driver, body: str) -> None:
    # PostgreSQL cannot store NUL, and such text says nothing: it counts as no note at all.
    auth.login("auditor1")
    path = f"/audit/instances/{story['completed']}"
    before = _counts(driver)
    response = auth.post(f"{path}/notes", {"body": body}, page=path)
    assert response.status_code == 422 and "Vui lòng ghi nội dung ghi chú." in response.get_data(as_text=True)
    assert _counts(driver) == before


def test_an_auditor_cannot_complete_a_task_or_change_data(auth: AuthActions, client, driver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "submit_request")
    before = _counts(driver)
    auth.login("auditor1")
    completed = auth.post(f"/tasks/{task.id}", {"subject_line": "Giả mạo"}, page="/inbox")
    assert completed.status_code in (403, 404)
    commented = auth.post(f"/instances/{instance_id}/comments", {"body": "x"}, page="/inbox")
    assert commented.status_code == 403
    cancelled = auth.post(f"/instances/{instance_id}/cancel", {"reason": "x"}, page="/inbox")
    assert cancelled.status_code == 403
    assert client.get("/instances/start").status_code == 403
    assert _counts(driver) == before
    assert driver.task(instance_id, "submit_request").status == TaskStatus.OPEN


def test_the_history_page_shows_eligibility_as_decided(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    setup = setup_appointment(factory)
    instance_id = start_appointment(factory, driver.engine, setup["post_id"], "CB0001")  # not planned, no grade
    driver.complete(
        "personnel1", driver.task(instance_id, "eligibility_policy").id, {"dossier_received_on": today_text()}
    )
    auth.login("auditor1")
    html = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    section = html.split('id="eligibility-heading"')[1].split("</section>")[0]
    assert 'data-rule="planning" data-passed="no"' in section
    assert 'data-rule="annual_grade" data-passed="no"' in section


def test_reads_through_the_api_are_logged_too(app, story, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = db.session.scalars(select(User).where(User.username == "officer1")).one()
        token = create_token(db.session, officer, "tests")
        db.session.commit()
    client = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/instances/{story['completed']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/instances/{story['completed']}/history", headers=headers).status_code == 200
    with driver.session_factory() as s:
        views = s.execute(
            select(RecordView.object_kind).where(
                RecordView.viewer_name == "officer1", RecordView.object_id == story["completed"]
            )
        ).scalars()
        assert sorted(views) == ["instance", "instance_history"]


@pytest.mark.parametrize("value", ["99999999999999999999", "²", "１"])
def test_an_object_or_unit_that_is_not_an_id_is_no_server_error(auth: AuthActions, client, value: str) -> None:
    auth.login("auditor1")
    # The read log ignores a filter it cannot apply (as an unknown kind); the event search says which one is wrong.
    assert client.get(f"/audit/reads?object={value}&page={value}").status_code == 200
    refused = client.get(f"/audit/events?unit={value}")
    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert client.get(f"/audit/events?chain=%23{value}").status_code == 400


def test_the_history_words_a_ballot_and_its_tally(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """The step by its name in the model, the tally in words with the outcome in Vietnamese and the percentage the
    Vietnamese way, the day checked as dd/mm/yyyy; the model's working keys ("_…") are not shown as data."""
    from tests.fixtures.ballots import CANDIDATES, collective, unit_id, user
    from workflows import ballots
    from workflows.audit import PendingEvent, instance_audit_rows
    from workflows.engine.store import lock_instance, save_instance
    from workflows.models import BallotBox
    from workflows.rules.ballots import BallotRules

    factory = driver.session_factory
    members = list(collective(factory).values())[:3]
    # About personnel1 (CB0006), who is not among X001's collective voting: the person a procedure is about never
    # votes in its ballots (decision 0058).
    instance_id = driver.start("sample_approval", as_user="personnel1", subject="CB0006")
    with factory() as s, transaction(s):
        box_id = ballots.open_box(
            s,
            actor=user(s, "personnel1"),
            instance_id=instance_id,
            step_key="review_request",
            question="Giới thiệu nhân sự",
            candidates=CANDIDATES[:1],
            elector_ids=members,
            members_count=len(members),
            rules=BallotRules(),
            unit_id=unit_id(s, "X001"),
        ).id
        ballots.mark_attendance(s, actor=user(s, "personnel1"), box_id=box_id, present_ids=members)
    with factory() as s, transaction(s):
        for voter_id, mark in zip(members, ("yes", "yes", "no"), strict=True):
            ballots.cast_ballot(s, voter=s.get(User, voter_id), box_id=box_id, contents={"a": mark})  # type: ignore[arg-type]
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    with factory() as s, transaction(s):
        tally = s.get(BallotBox, box_id).tally  # type: ignore[union-attr]
        changes = {
            "_tally_review_request": {"from": None, "to": tally},
            "_confidence_level": {"from": None, "to": "normal"},
            "eligibility": {"from": None, "to": [{"rule": "age", "passed": True, "message": "Đủ tuổi"}]},
            "eligibility_checked_on": {"from": None, "to": "2026-11-30"},
        }
        instance = lock_instance(s, instance_id)
        event = PendingEvent("data_changed", {"changes": changes})
        rows, seq, head = instance_audit_rows(instance, [event], actor=user(s, "personnel1"))
        save_instance(s, instance, audit_rows=rows, audit_seq=seq, audit_head=head)
    auth.login("auditor1")
    html = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    assert "Đã mở cuộc bỏ phiếu cho bước “Xem xét, phê duyệt”." in html
    assert "Kết quả kiểm phiếu: Nguyễn Văn An: 2/3 đồng ý (66,67%) — trúng cử" in html
    assert "kết quả: trúng cử" in html and "<td>66,67</td>" in html
    assert "kiểm tra ngày 30/11/2026" in html and "2026-11-30" not in html
    for raw in ("review_request”", "_tally_review_request:", "candidates: abstain", "_confidence_level", "elected<"):
        assert raw not in html, raw
    assert "kết quả: elected" not in html and "66.67" not in html


def test_an_export_whose_readable_part_was_edited_says_what_the_signature_covers_and_where(
    auth: AuthActions, client, runner, story, tmp_path: Path
) -> None:
    """Editing who acted in an HTML export's table leaves the signed data as it was: the page must not say that
    everything in the file is as exported, and names the row, the field, what is shown and what was signed."""
    auth.login("auditor1")
    exported = client.get(f"/audit/instances/{story['eventful']}/export?format=html").get_data(as_text=True)
    document = json.loads(client.get(f"/audit/instances/{story['eventful']}/export?format=json").get_data())
    event = document["events"][1]
    row_start = f"<tr><td>{event['seq']}</td><td>{event['occurred']}Z</td><td>"
    assert row_start in exported and event["actor_name"]
    tampered = exported.replace(row_start + escape(event["actor_name"]), row_start + "Kẻ giả mạo", 1)
    response = _check_on_the_page(client, auth, tampered.encode(), "lich-su.html")
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and 'data-ok="no"' in page and 'data-signature="valid"' in page
    assert "KHÔNG toàn vẹn" in page
    assert "mọi nội dung trong tệp đúng như khi xuất" not in page
    assert "chữ ký khớp với dữ liệu đã ký; nhưng phần hiển thị của tệp đã bị sửa" in page.lower()
    table = lxml_html.fromstring(response.get_data(as_text=True))
    rows = [
        [" ".join(cell.text_content().split()) for cell in row.xpath("./td")]
        for row in table.xpath('//table[contains(@class, "shown-changes")]/tbody/tr')
    ]
    assert rows == [[str(event["seq"]), "Người thực hiện", "Kẻ giả mạo", event["actor_name"]]]
    path = tmp_path / "lich-su.html"
    path.write_text(tampered, encoding="utf-8")
    offline = runner.invoke(args=["audit", "verify-export", str(path)])
    assert offline.exit_code == 1 and f"SHOWN event #{event['seq']} actor: 'Kẻ giả mạo'" in offline.output

    # Whitespace only: nothing shown differs, and the page says so rather than listing nothing.
    spaced = exported.replace("</h1>", "</h1> ", 1)
    page = unescape(_check_on_the_page(client, auth, spaced.encode(), "lich-su.html").get_data(as_text=True))
    assert 'data-ok="no"' in page and "mọi nội dung trong tệp đúng như khi xuất" not in page
    assert "Không giá trị hiển thị nào khác" in page

    # An intact file still says everything is as exported, and lists no difference.
    intact = unescape(_check_on_the_page(client, auth, exported.encode(), "lich-su.html").get_data(as_text=True))
    assert "mọi nội dung trong tệp đúng như khi xuất" in intact and "shown-changes" not in intact
