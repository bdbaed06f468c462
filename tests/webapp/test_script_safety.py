"""A model's scripts: what the sandbox forbids is refused at upload, at reinstating and at using a version again; a
script that fails all the same (a version deployed before the check knew of it, an error on the data) tells the
person in Vietnamese, changes nothing and shows the administrators what failed (decision 0073)."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select

import workflows.deployment.validation as validation
from tests.fixtures.app import AuthActions
from tests.fixtures.models import script_model
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle, retire_process
from workflows.deployment.validation import BundleFile
from workflows.engine.operations import latest_version
from workflows.models import AuditEvent, ProcessInstance, ProcessVersion
from workflows.registry.models import User

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "bpmn" / "sample_approval.bpmn").read_text(encoding="utf-8")
INIT_SCRIPT = "<bpmn:script>return_count = 0</bpmn:script>"
APPROVE_CONDITION = "decision == 'approve'</bpmn:conditionExpression>"
assert INIT_SCRIPT in SAMPLE and APPROVE_CONDITION in SAMPLE


def _line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


def _with_script(script: str) -> str:
    return SAMPLE.replace(INIT_SCRIPT, f"<bpmn:script>return_count = 0\n{script}</bpmn:script>")


def _with_condition(condition: str) -> str:
    return SAMPLE.replace(APPROVE_CONDITION, f"{condition}</bpmn:conditionExpression>")


def _versions(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(ProcessVersion)) or 0


def _upload(auth: AuthActions, text: str, name: str = "sample_approval.bpmn"):  # type: ignore[no-untyped-def]
    data = {"files": (io.BytesIO(text.encode("utf-8")), name)}
    return auth.post("/admin/processes", data, page="/admin", content_type="multipart/form-data")


FORBIDDEN = [
    ('x = open("/etc/passwd").read()', "open()"),
    ("names = dir()", "dir()"),
    ("seen = vars()", "vars()"),
    ("everything = globals()", "globals()"),
    ("kind = type(return_count)", "type()"),
    ('cls = getattr(return_count, "__class__")', "__class__"),
]


@pytest.mark.parametrize(("script", "named"), FORBIDDEN)
def test_a_script_task_using_what_the_sandbox_forbids_is_refused_at_upload(
    auth: AuthActions, driver: WorkflowDriver, script: str, named: str
) -> None:
    auth.login("admin")
    before = everything_stored(driver.session_factory)
    text = _with_script(script)
    response = _upload(auth, text)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Mô hình bị từ chối; không có gì được lưu." in page or "không có gì được lưu" in page
    line = _line_of(text, script)
    # Where — file, line, element — then what, in Vietnamese.
    assert f"tệp sample_approval.bpmn, dòng {line}, phần tử init: Tập lệnh" in page, page
    assert named in page and "không được phép trong quy trình" in page
    assert everything_stored(driver.session_factory) == before


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ("open('/etc/passwd').read() != ''", "open()"),
        ("len(dir()) > 0", "dir()"),
        ("len(vars()) > 0", "vars()"),
        ("'decision' in globals()", "globals()"),
        ("type(decision) == str", "type()"),
        ("getattr(decision, '__class__') is str", "__class__"),
    ],
)
def test_a_flow_condition_using_what_the_sandbox_forbids_is_refused_at_upload(
    auth: AuthActions, driver: WorkflowDriver, condition: str, named: str
) -> None:
    auth.login("admin")
    before = _versions(driver)
    text = _with_condition(condition)
    response = _upload(auth, text)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    line = _line_of(text, condition)
    flow = SAMPLE[: SAMPLE.index(APPROVE_CONDITION)].rsplit('<bpmn:sequenceFlow id="', 1)[1].split('"', 1)[0]
    assert f"tệp sample_approval.bpmn, dòng {line}, phần tử {flow}: Tập lệnh" in page, page
    assert named in page
    assert _versions(driver) == before


def test_the_import_refusal_is_said_in_vietnamese_with_the_technical_words_apart(auth: AuthActions) -> None:
    auth.login("admin")
    page = html.unescape(_upload(auth, _with_script("import os\nr = __import__('os')")).get_data(as_text=True))
    assert "Tập lệnh nhập mô-đun os: không được phép nhập mô-đun trong quy trình" in page
    assert "import statements are not allowed" not in page and "is an invalid variable name" not in page


def test_a_clean_upload_still_deploys(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("admin")
    before = _versions(driver)
    # A form field may be called like a built-in: read as data, never called, it is no reason to refuse.
    response = _upload(auth, _with_script("note = 'ok'\ntotal = sum([1, 2])"))
    assert response.status_code == 302
    assert _versions(driver) == before + 1
    assert "phiên bản 2" in client.get("/admin").get_data(as_text=True)


def test_a_downloaded_copys_file_name_is_accepted_under_a_safe_name(auth: AuthActions, driver: WorkflowDriver) -> None:
    """“Bổ nhiệm (1).bpmn” is how a browser saves a file a second time: the name is only a label of the version."""
    auth.login("admin")
    fixture = (ROOT / "tests" / "fixtures" / "bpmn" / "two_versions_v1.bpmn").read_bytes()
    response = auth.post(
        "/admin/processes",
        {"files": (io.BytesIO(fixture), "Bổ nhiệm (1).bpmn")},
        page="/admin",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with driver.session_factory() as s:
        assert sorted(latest_version(s, "versioned").files) == ["Bo_nhiem.bpmn"]
    # A file of another kind is refused, and the message names every kind that is accepted.
    refused = auth.post(
        "/admin/processes",
        {"files": (io.BytesIO(fixture), "model.xml")},
        page="/admin",
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    page = html.unescape(refused.get_data(as_text=True))
    assert ".bpmn" in page and ".dmn" in page and ".json" in page and "Tên tệp không hợp lệ" in page


# -- versions deployed before the check knew of a name ----------------------------------------------------------


@contextmanager
def _checked_as_before(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Deploy as the check did before this decision: blind to forbidden built-ins."""
    with monkeypatch.context() as patched:
        patched.setattr(validation, "refusals_in", lambda mode, source: [])
        yield


def _deploy_unsafe_sample(driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch) -> int:
    with _checked_as_before(monkeypatch), driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        bundle = [BundleFile("sample_approval.bpmn", _with_script('x = open("/etc/passwd").read()').encode())]
        (result,) = deploy_bundle(s, bundle, actor=admin, forms_dir=ROOT / "forms")
        return result.version


def _start_failures(driver: WorkflowDriver) -> list[dict]:  # type: ignore[type-arg]
    with driver.session_factory() as s:
        payloads = s.scalars(
            select(AuditEvent.payload).where(AuditEvent.chain_key == "system", AuditEvent.event_type == "error")
        ).all()
    return [json.loads(payload) for payload in payloads]


def test_a_start_failing_in_a_script_says_so_in_vietnamese_and_is_shown_to_the_administrators(
    auth: AuthActions, client, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _deploy_unsafe_sample(driver, monkeypatch)
    auth.login("personnel1")
    before = everything_stored(driver.session_factory)
    form = {"process_id": "sample_approval", "subject": "CB0001", "unit": ""}
    response = auth.post("/instances/start", form, page="/instances/start")
    assert response.status_code == 500
    page = html.unescape(response.get_data(as_text=True))
    assert "Quy trình đang gặp lỗi kỹ thuật ở bước “Khởi tạo”; đã báo quản trị viên. Không có gì bị mất." in page
    assert "ScriptViolation" not in page and "not available" not in page
    # No instance, no task: only the failure noted for the administrators, once.
    after = everything_stored(driver.session_factory)
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    after.pop("audit_chains", None), before.pop("audit_chains", None)
    assert after == before
    (noted,) = _start_failures(driver)
    assert noted["stage"] == "start" and noted["element_id"] == "init" and noted["version"] == version
    assert "open() is not available" in noted["message"] + json.dumps(noted["details"])

    # Pressing again fails the same way, without a second record the same day.
    again = auth.post("/instances/start", form, page="/instances/start")
    assert again.status_code == 500 and len(_start_failures(driver)) == 1

    auth.logout()
    auth.login("admin")
    admin_page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = admin_page.xpath("//tr[@data-failed-start='sample_approval']")
    assert "Khởi tạo" in row.text_content() and f"v{version}" in row.text_content()
    # And the version in use is named for what its scripts use, before anyone presses "Start".
    (unsafe,) = admin_page.xpath("//tr[@data-unsafe-version='sample_approval']")
    assert "Tập lệnh dùng open(), không được phép trong quy trình" in unsafe.text_content()
    assert "Quy trình không khởi tạo được" in admin_page.text_content()
    # The audit log shows the event too, as any other of the system chain.
    logged = client.get("/audit/events?event_type=error")
    assert logged.status_code == 200 and "init" in logged.get_data(as_text=True)


def test_a_version_with_a_forbidden_script_is_neither_put_back_in_use_nor_used_again(
    auth: AuthActions, client, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsafe = _deploy_unsafe_sample(driver, monkeypatch)
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="sample_approval", reason="Lỗi tập lệnh")
    auth.login("admin")
    before = everything_stored(driver.session_factory)
    refused = auth.post("/admin/processes/sample_approval/reinstate", {"reason": "Dùng lại"}, page="/admin")
    assert refused.status_code == 422
    page = html.unescape(refused.get_data(as_text=True))
    assert f"Phiên bản {unsafe} có tập lệnh dùng điều không được phép" in page
    assert "phần tử init: Tập lệnh dùng open(), không được phép trong quy trình" in page
    assert everything_stored(driver.session_factory) == before

    # A fixed version deployed; using the unsafe one again runs the same check and is refused.
    assert (
        _upload(auth, SAMPLE.replace(INIT_SCRIPT, "<bpmn:script>return_count = 0\nnote = 1</bpmn:script>")).status_code
        == 302
    )
    before = everything_stored(driver.session_factory)
    page_url = "/admin/processes/sample_approval"
    again = auth.post(f"{page_url}/rollback", {"version": str(unsafe), "reason": "Thử lại"}, page=page_url)
    assert again.status_code == 422
    text = html.unescape(again.get_data(as_text=True))
    assert "Tập lệnh dùng open(), không được phép trong quy trình" in text
    assert everything_stored(driver.session_factory) == before


def test_a_step_failing_in_a_script_says_so_in_vietnamese_changes_nothing_and_is_noted_once(
    auth: AuthActions, client, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _checked_as_before(monkeypatch), driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [script_model("leaky", 'x = open("/etc/passwd").read()')], actor=None, forms_dir=None)
    instance_id = driver.start("leaky", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "enter_data")
    state = driver.instance(instance_id).state
    auth.login("officer1")
    url = f"/tasks/{task.id}"
    for _attempt in range(2):
        response = auth.post(url, {"action": "submit", "comment_text": "Xong"}, page=url)
        assert response.status_code == 500
        page = html.unescape(response.get_data(as_text=True))
        assert "Quy trình đang gặp lỗi kỹ thuật ở bước “Tính toán”; đã báo quản trị viên. Không có gì bị mất." in page
        assert "ScriptViolation" not in page
    instance = driver.instance(instance_id)
    assert instance.state == state and driver.task(instance_id, "enter_data").status == "open"
    assert "open() is not available" in (instance.last_error or "")
    with driver.session_factory() as s:
        errors = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.event_type == "error")
        )
        assert s.get(ProcessInstance, instance_id) is not None
    assert errors == 1  # two presses, one record
    auth.logout()
    auth.login("admin")
    assert f"/instances/{instance_id}" in client.get("/admin").get_data(as_text=True)


def _deploy_failing_start(driver: WorkflowDriver, model_file: str, failing_when: str = "True", *extra: str) -> Any:
    """`model_file` (of bpmn/, with the `extra` files beside it) with a script step "Kiểm tra đơn vị" right after its
    start event that divides by zero when `failing_when` (a condition over the start's data) holds: a model error on
    the data, met only when it starts. Deployed as the version starts use."""
    model = (ROOT / "bpmn" / model_file).read_text(encoding="utf-8")
    first_flow = re.search(r'<bpmn:sequenceFlow id="Flow_start" sourceRef="start" targetRef="(\w+)" />', model)
    assert first_flow is not None and model.count("<bpmn:incoming>Flow_start</bpmn:incoming>") == 1
    check = (
        '<bpmn:sequenceFlow id="Flow_start" sourceRef="start" targetRef="check_unit" />'
        '<bpmn:scriptTask id="check_unit" name="Kiểm tra đơn vị"><bpmn:incoming>Flow_start</bpmn:incoming>'
        "<bpmn:outgoing>Flow_after_check</bpmn:outgoing>"
        f"<bpmn:script>checked = 1 / (0 if {html.escape(failing_when)} else 1)</bpmn:script></bpmn:scriptTask>"
        f'<bpmn:sequenceFlow id="Flow_after_check" sourceRef="check_unit" targetRef="{first_flow[1]}" />'
    )
    failing = model.replace(first_flow[0], check).replace(
        "<bpmn:incoming>Flow_start</bpmn:incoming>", "<bpmn:incoming>Flow_after_check</bpmn:incoming>", 1
    )
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        bundle = [BundleFile(model_file, failing.encode())]
        bundle += [BundleFile(name, (ROOT / "bpmn" / name).read_bytes()) for name in extra]
        (deployed,) = deploy_bundle(s, bundle, actor=admin, forms_dir=ROOT / "forms")
    return deployed


def _deploy_failing_evaluation(driver: WorkflowDriver, failing_when: str) -> Any:
    """The monthly evaluation, failing in a script step before the self-assessment for the cadres `failing_when`
    picks."""
    return _deploy_failing_start(driver, "monthly_evaluation.bpmn", failing_when, "evaluation_grade.dmn")


def test_a_scheduled_evaluation_opening_failing_in_a_script_is_noted_once_and_the_other_units_still_open(
    auth: AuthActions, client, driver: WorkflowDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """Decision 0073: the worker's own starts fail as one from a page does — nothing written for them, noted once a
    day for "Cần xử lý" — and the other units still open (decision 0080: the script reads the cadre's unit, so each
    cadre is started on its own and only those it fails for are left out: here all of X001's)."""
    from datetime import date

    from workflows.evaluation import PROCESS_ID
    from workflows.evaluation.schedule import open_scheduled_months
    from workflows.registry.models import OrgUnit
    from workflows.rules.evaluation import DEFAULT_POLICY

    with driver.session_factory() as s:
        x001 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X001")).one()
    deployed = _deploy_failing_evaluation(driver, f"cadre_unit_id == {x001}")

    def run() -> list:  # type: ignore[type-arg]
        return open_scheduled_months(
            driver.session_factory,
            driver.engine,
            unit_codes=["X001", "X002"],
            policy=DEFAULT_POLICY,
            today=date(2026, 11, 20),
        )

    with caplog.at_level("ERROR"):
        (opening,) = run()
        assert run() == []  # X002 is done; X001 is tried again and noted no second time the same day
    assert opening.unit_code == "X002" and opening.opened > 0
    assert sum("opening of 2026-11 for X001 failed" in r.getMessage() for r in caplog.records) == 2
    (noted,) = _start_failures(driver)
    assert (noted["stage"], noted["process_id"], noted["version"]) == ("start", PROCESS_ID, deployed.version)
    with driver.session_factory() as s:
        opened = s.scalar(select(func.count()).where(ProcessInstance.process_id == PROCESS_ID))
    assert opened == opening.opened  # none half-written for X001
    auth.login("admin")
    admin_page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = admin_page.xpath(f"//tr[@data-failed-start='{PROCESS_ID}']")
    assert f"v{deployed.version}" in row.text_content() and "Kiểm tra đơn vị" in row.text_content()


# -- the command line (decision 0079) ---------------------------------------------------------------------------


def test_a_start_from_the_command_line_failing_in_a_script_is_noted_for_the_administrators(
    auth: AuthActions, client, runner, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`canbo instances start` says it in Vietnamese and fails, as before, and now also notes it where /admin's
    "Cần xử lý" finds it: once per version, step and day, as a start from the page or the worker."""
    version = _deploy_unsafe_sample(driver, monkeypatch)
    before = everything_stored(driver.session_factory)
    args = ["instances", "start", "sample_approval", "--subject", "CB0001", "--as", "personnel1"]
    for _attempt in range(2):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert "Quy trình đang gặp lỗi kỹ thuật ở bước “Khởi tạo”; đã báo quản trị viên. Không có gì bị mất." in (
            result.stderr
        )
        assert "open() is not available" in result.stderr  # the technical words, for the operator
    (noted,) = _start_failures(driver)  # two runs, one record
    assert (noted["stage"], noted["element_id"], noted["version"]) == ("start", "init", version)
    after = everything_stored(driver.session_factory)
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    after.pop("audit_chains", None), before.pop("audit_chains", None)
    assert after == before  # no instance, no task
    auth.login("admin")
    admin_page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = admin_page.xpath("//tr[@data-failed-start='sample_approval']")
    assert "Khởi tạo" in row.text_content() and f"v{version}" in row.text_content()


def test_a_month_opened_from_the_command_line_goes_on_past_a_failing_start_and_counts_it(
    auth: AuthActions, client, runner, driver: WorkflowDriver, in_november: None
) -> None:
    """`canbo evaluation open`: a cadre whose start fails in a model script is left out and noted for "Cần xử lý"
    (once a day); the others still open, and the summary says how many were not opened, where and whom."""
    from workflows.evaluation import PROCESS_ID
    from workflows.registry.models import Cadre, OrgUnit

    deployed = _deploy_failing_evaluation(driver, 'cadre_code == "CB0001"')
    with driver.session_factory() as s:
        cadres = s.scalar(
            select(func.count(Cadre.id))
            .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
            .where(OrgUnit.code == "X001", Cadre.is_active)
        )
    assert cadres is not None and cadres > 2
    args = ["evaluation", "open", "--month", "2026-11", "--unit", "X001", "--chunk", "1", "--include-without-account"]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert f"đã mở {cadres - 1}, đã mở từ trước 0," in result.stdout
    assert "không mở được 1 cán bộ" in result.stdout
    assert "quy trình gặp lỗi kỹ thuật ở bước “Kiểm tra đơn vị”" in result.stderr
    assert "(đã ghi nhận cho quản trị viên, mục Cần xử lý): CB0001." in result.stderr
    with driver.session_factory() as s:
        opened = set(s.scalars(select(ProcessInstance.business_key).where(ProcessInstance.process_id == PROCESS_ID)))
    assert len(opened) == cadres - 1 and "2026-11/CB0001" not in opened
    (noted,) = _start_failures(driver)
    assert (noted["stage"], noted["element_id"], noted["version"]) == ("start", "check_unit", deployed.version)

    # Run again (the model still failing): only CB0001 is tried, and it is not noted a second time today.
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert f"đã mở 0, đã mở từ trước {cadres - 1}," in again.stdout and "không mở được 1 cán bộ" in again.stdout
    assert len(_start_failures(driver)) == 1
    auth.login("admin")
    admin_page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = admin_page.xpath(f"//tr[@data-failed-start='{PROCESS_ID}']")
    assert "Kiểm tra đơn vị" in row.text_content()


def _appointment_start(session_factory: Any) -> list[str]:
    from tests.fixtures.appointment import NOMINEE, setup_appointment

    post = setup_appointment(session_factory)["post_id"]
    return ["appointment", "start", "--cadre", NOMINEE, "--position", str(post), "--source", "internal"]


def _planning_start(session_factory: Any) -> list[str]:
    from tests.fixtures.planning import TERM, setup_planning

    setup_planning(session_factory)
    return ["planning", "start", "--unit", "X001", "--term", TERM, "--variant", "term"]


def _rotation_start(session_factory: Any) -> list[str]:
    from datetime import timedelta

    from tests.fixtures.rotation import OFFICER, setup_rotation
    from workflows.registry.records import local_today
    from workflows.rules.retirement import add_months

    world = setup_rotation(session_factory)
    starts = local_today()
    ends = add_months(starts, 36) - timedelta(days=1)
    return [
        "rotation", "start", OFFICER, "--to-unit", str(world["x001"]), "--position", str(world["post"]),
        "--starts-on", starts.isoformat(), "--ends-on", ends.isoformat(), "--purpose", "training",
    ]  # fmt: skip


def _annual_start(session_factory: Any) -> list[str]:
    from workflows.registry.records import local_today

    return ["evaluation", "annual", "--year", f"{local_today():%Y}", "--unit", "X001"]


@pytest.mark.parametrize(
    ("model_file", "process_id", "command"),
    [
        ("appointment.bpmn", "appointment", _appointment_start),
        ("planning_review.bpmn", "planning_review", _planning_start),
        ("rotation.bpmn", "rotation", _rotation_start),
        ("annual_grading.bpmn", "annual_grading", _annual_start),
    ],
)
def test_a_procedures_own_start_command_failing_in_a_script_is_noted_for_the_administrators(
    auth: AuthActions, client, runner, driver: WorkflowDriver, session_factory, model_file: str, process_id: str,
    command: Any,
) -> None:  # fmt: skip
    """Decision 0082: `canbo appointment start`, `planning start`, `rotation start` and `evaluation annual` fail as
    `canbo instances start` does (decision 0079): the pages' Vietnamese sentence and the engine's words, exit 1,
    nothing written, the failure noted once per version, step and day where /admin's "Cần xử lý" lists it."""
    args = [*command(session_factory), "--as", "personnel1"]
    deployed = _deploy_failing_start(driver, model_file)
    before = everything_stored(driver.session_factory)
    for _attempt in range(2):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert (
            "Quy trình đang gặp lỗi kỹ thuật ở bước “Kiểm tra đơn vị”; đã báo quản trị viên. Không có gì bị mất."
            in result.stderr
        )
        assert "division by zero" in result.stderr  # the engine's words, for the operator
    (noted,) = _start_failures(driver)  # two runs, one record
    assert (noted["stage"], noted["process_id"], noted["element_id"], noted["version"]) == (
        "start", process_id, "check_unit", deployed.version,
    )  # fmt: skip
    after = everything_stored(driver.session_factory)
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    after.pop("audit_chains", None), before.pop("audit_chains", None)
    assert after == before  # no instance, no task, no record of the procedure
    auth.login("admin")
    admin_page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = admin_page.xpath(f"//tr[@data-failed-start='{process_id}']")
    assert "Kiểm tra đơn vị" in row.text_content() and f"v{deployed.version}" in row.text_content()
