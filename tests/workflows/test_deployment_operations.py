"""Deploying process versions: identical content is a no-op, changes make a new version, bad models store nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.deployment.operations import (
    REINSTATE_REASON_MISSING,
    RETIRE_REASON_MAX,
    RETIRED,
    RollbackResult,
    deploy_bundle,
    deploy_directory,
    in_use,
    reinstate_process,
    retire_process,
    roll_back_process,
    version_history,
)
from workflows.deployment.validation import BundleFile
from workflows.engine.operations import latest_version
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound
from workflows.instances import deployed_processes, startable_processes
from workflows.models import AuditEvent, ProcessInstance, ProcessVersion
from workflows.registry.models import User
from workflows.states import InstanceStatus

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
ROOT = Path(__file__).resolve().parents[2]


def _bundle(*names: str) -> list[BundleFile]:
    return [BundleFile(n.split("/")[-1], (FIXTURES / n).read_bytes()) for n in names]


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _deploy(factory: sessionmaker[Session], files: list[BundleFile], **kwargs: object) -> list:
    with factory() as s, transaction(s):
        return deploy_bundle(s, files, actor=kwargs.get("actor"), forms_dir=ROOT / "forms")  # type: ignore[arg-type]


def test_identical_redeploy_is_a_no_op(session_factory: sessionmaker[Session]) -> None:
    (first,) = _deploy(session_factory, _bundle("two_versions_v1.bpmn"))
    (again,) = _deploy(session_factory, _bundle("two_versions_v1.bpmn"))
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created) == (1, False)
    with session_factory() as s:
        assert _count(s, ProcessVersion) == 1
        assert s.scalar(select(func.count()).where(AuditEvent.event_type == "process_deployed")) == 1


def test_a_process_uploaded_unchanged_beside_a_changed_one_keeps_its_version(
    session_factory: sessionmaker[Session],
) -> None:
    sample = BundleFile("sample_approval.bpmn", (ROOT / "bpmn" / "sample_approval.bpmn").read_bytes())
    versioned = BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v1.bpmn").read_bytes())
    _deploy(session_factory, [sample])
    together = {r.process_id: (r.version, r.created) for r in _deploy(session_factory, [sample, versioned])}
    assert together == {"sample_approval": (1, False), "versioned": (1, True)}

    changed = BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v2.bpmn").read_bytes())
    again = {r.process_id: (r.version, r.created) for r in _deploy(session_factory, [sample, changed])}
    assert again == {"sample_approval": (1, False), "versioned": (2, True)}
    with session_factory() as s:
        stored = {(v.process_id, v.version): sorted(v.files) for v in s.scalars(select(ProcessVersion))}
        # A version holds what its process runs from, not the neighbours it was uploaded with.
        assert stored == {
            ("sample_approval", 1): ["sample_approval.bpmn"],
            ("versioned", 1): ["versioned.bpmn"],
            ("versioned", 2): ["versioned.bpmn"],
        }
        forms = s.scalars(select(ProcessVersion.forms).where(ProcessVersion.process_id == "sample_approval")).one()
        assert sorted(forms) == ["sample_request.json", "sample_review.json"]


def test_changed_content_is_a_new_version_and_running_instances_stay_on_theirs(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    _deploy(session_factory, [BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v1.bpmn").read_bytes())])
    old_id = driver.start("versioned", as_user="personnel1", subject="CB0001")
    (v2,) = _deploy(session_factory, [BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v2.bpmn").read_bytes())])
    assert (v2.version, v2.created) == (2, True)
    new_id = driver.start("versioned", as_user="personnel1", subject="CB0001")
    assert driver.version_of(old_id) == 1
    assert driver.version_of(new_id) == 2

    assert _finish(driver, new_id) == _finish(driver, old_id) + 1  # v2 has one more user task; v1 finished on v1


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["not_executable.bpmn"], "executable"),
        (["no_start_event.bpmn"], "start event"),
        (["xsd_error.bpmn"], "line"),
        (["malformed.bpmn"], "line"),
        (["missing_form.bpmn"], "does_not_exist.json"),
        (["missing_dmn.bpmn"], "decision"),
        (["xxe.bpmn"], "DOCTYPE"),
        (["billion_laughs.bpmn"], "DOCTYPE"),
    ],
)
def test_invalid_models_are_rejected_and_leave_no_row(
    session_factory: sessionmaker[Session], files: list[str], expected: str
) -> None:
    with pytest.raises(Invalid) as rejected:
        _deploy(session_factory, _bundle(*files))
    assert expected.lower() in str(rejected.value).lower()
    with session_factory() as s:
        assert _count(s, ProcessVersion) == 0 and _count(s, AuditEvent) == 0


def test_a_bundle_with_a_decision_table_deploys(session_factory: sessionmaker[Session]) -> None:
    (result,) = _deploy(session_factory, _bundle("with_dmn.bpmn", "grade.dmn"))
    with session_factory() as s:
        version = s.scalars(select(ProcessVersion)).one()
        assert set(version.files) == {"with_dmn.bpmn", "grade.dmn"} and result.created
        assert verify_chains(s).ok


def test_only_administrators_may_deploy(session_factory: sessionmaker[Session], demo_users: dict) -> None:
    with session_factory() as s:
        officer = s.scalars(select(User).where(User.username == "supervisor1")).one()
        before = _count(s, ProcessVersion)
        with pytest.raises(NotAllowed):
            deploy_bundle(s, _bundle("two_versions_v1.bpmn"), actor=officer, forms_dir=None)
        s.rollback()
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        deploy_bundle(s, _bundle("two_versions_v1.bpmn"), actor=admin, forms_dir=None)
        s.commit()
        assert _count(s, ProcessVersion) == before + 1


# -- withdrawing a procedure from use (decision 0050) -------------------------------------------------------------


def _as(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _withdraw(factory: sessionmaker[Session], process_id: str, reason: str = "Quy trình cũ, đã thay thế") -> None:
    with factory() as s, transaction(s):
        retire_process(s, actor=_as(s, "admin"), process_id=process_id, reason=reason)


def _reinstate(factory: sessionmaker[Session], process_id: str, reason: str = "Quy định mới đã ban hành") -> None:
    with factory() as s, transaction(s):
        reinstate_process(s, actor=_as(s, "admin"), process_id=process_id, reason=reason)


def test_a_withdrawn_procedure_starts_nothing_new_and_what_runs_goes_on(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    _deploy(session_factory, _bundle("two_versions_v1.bpmn"))
    running = driver.start("versioned", as_user="personnel1", subject="CB0001")
    _withdraw(session_factory, "versioned")
    with pytest.raises(Conflict) as refused:
        driver.start("versioned", as_user="personnel1", subject="CB0001")
    assert refused.value.message == RETIRED
    with session_factory() as s:
        assert "versioned" not in {p.process_id for p in startable_processes(s)}
        assert "versioned" in {p.process_id for p in deployed_processes(s)}  # the lists still filter by it
        assert not in_use(s, "versioned") and not in_use(s, "never_deployed")
        assert _count(s, ProcessInstance) == 1  # the refused start wrote nothing
        withdrawn = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "process_retired")).one()
        assert '"reason":"Quy trình cũ, đã thay thế"' in withdrawn.payload and withdrawn.actor_name == "admin"
    while tasks := driver.open_tasks(running):
        driver.complete("officer1", tasks[0].id, {})
    assert driver.instance(running).status == InstanceStatus.COMPLETED

    _reinstate(session_factory, "versioned", "  Quy định  mới đã ban hành ")
    assert driver.start("versioned", as_user="personnel1", subject="CB0001") > running
    with session_factory() as s:
        reinstated = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "process_reinstated")).one()
        assert '"reason":"Quy định mới đã ban hành"' in reinstated.payload and reinstated.actor_name == "admin"
        assert latest_version(s, "versioned").retired_reason is None  # the reason is the audit log's alone
        assert verify_chains(s).ok


def test_a_restart_keeps_it_withdrawn_and_a_newer_version_puts_it_back_in_use(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    _deploy(session_factory, _bundle("two_versions_v1.bpmn"))
    _withdraw(session_factory, "versioned")
    (same,) = _deploy(session_factory, _bundle("two_versions_v1.bpmn"))  # as every start-up deploys bpmn/
    assert not same.created
    with session_factory() as s:
        assert not in_use(s, "versioned")
    _deploy(session_factory, [BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v2.bpmn").read_bytes())])
    with session_factory() as s:
        assert in_use(s, "versioned")
    assert driver.version_of(driver.start("versioned", as_user="personnel1", subject="CB0001")) == 2


def test_withdrawing_refuses_bad_requests_and_writes_nothing(
    session_factory: sessionmaker[Session], demo_users: dict
) -> None:
    _deploy(session_factory, _bundle("two_versions_v1.bpmn"))
    with session_factory() as s:
        events = _count(s, AuditEvent)
        with pytest.raises(NotAllowed):
            retire_process(s, actor=_as(s, "personnel1"), process_id="versioned", reason="x")
        with pytest.raises(Invalid):
            retire_process(s, actor=_as(s, "admin"), process_id="versioned", reason="   ")
        with pytest.raises(Invalid):
            retire_process(s, actor=_as(s, "admin"), process_id="versioned", reason="x" * (RETIRE_REASON_MAX + 1))
        with pytest.raises(NotFound):
            retire_process(s, actor=_as(s, "admin"), process_id="nothing_like_it", reason="x")
        with pytest.raises(Conflict):
            reinstate_process(s, actor=_as(s, "admin"), process_id="versioned", reason="x")  # it is in use
        s.rollback()
        assert in_use(s, "versioned") and _count(s, AuditEvent) == events
    _withdraw(session_factory, "versioned")
    with pytest.raises(Conflict):
        _withdraw(session_factory, "versioned")


@pytest.mark.parametrize(
    ("username", "reason", "refusal"),
    [
        ("personnel1", "x", NotAllowed),
        ("admin", "", Invalid),
        ("admin", " \t\n ", Invalid),
        ("admin", "x" * (RETIRE_REASON_MAX + 1), Invalid),
    ],
)
def test_reinstating_asks_why_as_withdrawing_does_and_writes_nothing_when_refused(
    session_factory: sessionmaker[Session], demo_users: dict, username: str, reason: str, refusal: type[Exception]
) -> None:
    _deploy(session_factory, _bundle("two_versions_v1.bpmn"))
    _withdraw(session_factory, "versioned")
    with session_factory() as s:
        events = _count(s, AuditEvent)
        with pytest.raises(refusal) as refused:
            reinstate_process(s, actor=_as(s, username), process_id="versioned", reason=reason)
        if isinstance(refused.value, Invalid):
            assert [p.field for p in refused.value.problems] == ["reason"]
        s.rollback()
        assert not in_use(s, "versioned") and _count(s, AuditEvent) == events


def test_reinstating_an_unknown_procedure_without_a_reason_names_the_reason_first(
    session_factory: sessionmaker[Session], demo_users: dict
) -> None:
    """As withdrawing: the request is checked before the procedure is looked up."""
    with session_factory() as s:
        with pytest.raises(Invalid) as refused:
            reinstate_process(s, actor=_as(s, "admin"), process_id="nothing_like_it", reason=" ")
        assert refused.value.message == REINSTATE_REASON_MISSING
        with pytest.raises(NotFound):
            reinstate_process(s, actor=_as(s, "admin"), process_id="nothing_like_it", reason="x")


# -- using an earlier version again (decision 0055) ---------------------------------------------------------------

V1 = BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v1.bpmn").read_bytes())
V2 = BundleFile("versioned.bpmn", (FIXTURES / "two_versions_v2.bpmn").read_bytes())
REASON = "Phiên bản 2 sai bước duyệt"


def _roll_back(
    factory: sessionmaker[Session], version: int, *, process_id: str = "versioned", reason: str = REASON
) -> RollbackResult:
    with factory() as s, transaction(s):
        return roll_back_process(s, actor=_as(s, "admin"), process_id=process_id, version=version, reason=reason)


def _finish(driver: WorkflowDriver, instance_id: int) -> int:
    steps = 0
    while tasks := driver.open_tasks(instance_id):
        driver.complete("officer1", tasks[0].id, {})
        steps += 1
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    return steps


def test_an_earlier_version_is_deployed_anew_as_the_next_one_and_running_instances_stay_on_theirs(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    _deploy(session_factory, [V1])
    on_v1 = driver.start("versioned", as_user="personnel1", subject="CB0001")
    _deploy(session_factory, [V2])
    on_v2 = driver.start("versioned", as_user="personnel1", subject="CB0001")

    result = _roll_back(session_factory, 1)
    assert (result.version, result.restored_version, result.replaced_version, result.is_withdrawn) == (3, 1, 2, False)
    assert str(result) == "versioned v3 deployed with the content of v1 (replacing v2)"
    on_v3 = driver.start("versioned", as_user="personnel1", subject="CB0001")
    assert [driver.version_of(i) for i in (on_v1, on_v2, on_v3)] == [1, 2, 3]  # no instance moved
    # v3 runs what v1 ran (one step; v2 has two); each running instance finishes on its own version.
    assert (_finish(driver, on_v3), _finish(driver, on_v2), _finish(driver, on_v1)) == (1, 2, 1)

    with session_factory() as s:
        v1, v2, v3 = s.scalars(select(ProcessVersion).order_by(ProcessVersion.version)).all()[-3:]
        assert (v3.content_hash, v3.files, v3.forms, v3.name) == (v1.content_hash, v1.files, v1.forms, v1.name)
        assert v3.deployed_by_id == _as(s, "admin").id and v2.content_hash != v1.content_hash
        # Every start uses the latest version, as before: the start page, the API, the worker, a month opened.
        assert latest_version(s, "versioned").version == 3 and in_use(s, "versioned")
        assert ("versioned", "Quy trình có phiên bản (v1)", 3) in {
            (p.process_id, p.name, p.version) for p in startable_processes(s)
        }
        event = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "process_rolled_back")).one()
        assert event.chain_key == "system" and event.actor_name == "admin"
        for part in ('"version":3', '"restored_version":1', '"replaced_version":2', f'"reason":"{REASON}"'):
            assert part in event.payload
        assert f'"content_hash":"{v1.content_hash}"' in event.payload
        assert verify_chains(s).ok
        history = version_history(s, "versioned")
        assert [(h.version, h.same_content_as, h.is_current, h.holds_current_content) for h in history] == [
            (3, 1, True, True),
            (2, None, False, False),
            (1, None, False, True),
        ]
        assert history[0].deployed_by is not None and history[2].deployed_by is None  # the system deployed v1


def test_uploading_an_earlier_versions_file_again_changes_nothing_and_names_the_version_in_use(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    _deploy(session_factory, [V1])
    _deploy(session_factory, [V2])
    (again,) = _deploy(session_factory, [V1])
    assert (again.version, again.created, again.current_version, again.is_earlier) == (1, False, 2, True)
    assert "canbo processes rollback versioned 1 --reason" in str(again)
    assert driver.version_of(driver.start("versioned", as_user="personnel1", subject="CB0001")) == 2

    _roll_back(session_factory, 1)
    (same,) = _deploy(session_factory, [V1])  # the content in use: unchanged, as ever
    assert (same.version, same.created, same.is_earlier) == (3, False, False)
    (older,) = _deploy(session_factory, [V2])
    assert (older.version, older.current_version, older.is_earlier) == (2, 3, True)
    with session_factory() as s:
        assert s.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == "versioned")) == 3


def test_the_start_up_deployment_does_not_undo_a_version_deployed_since(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    shipped = (ROOT / "bpmn" / "sample_approval.bpmn").read_text(encoding="utf-8")
    changed = shipped.replace('name="Phê duyệt đề nghị (mẫu)"', 'name="Phê duyệt đề nghị (mẫu, sửa)"')
    assert changed != shipped
    (v2,) = _deploy(session_factory, [BundleFile("sample_approval.bpmn", changed.encode())])
    assert v2.version == 2
    with session_factory() as s, transaction(s):
        results = {r.process_id: r for r in deploy_directory(s, ROOT / "bpmn", ROOT / "forms", actor=None)}
    assert (results["sample_approval"].version, results["sample_approval"].current_version) == (1, 2)
    with session_factory() as s:
        assert latest_version(s, "sample_approval").version == 2

    _roll_back(session_factory, 1, process_id="sample_approval", reason="Bản sửa chưa được duyệt")
    with session_factory() as s, transaction(s):
        results = {r.process_id: r for r in deploy_directory(s, ROOT / "bpmn", ROOT / "forms", actor=None)}
    assert (results["sample_approval"].version, results["sample_approval"].is_earlier) == (3, False)
    assert driver.version_of(driver.start("sample_approval", as_user="personnel1", subject="CB0001")) == 3


def test_a_withdrawn_procedure_stays_withdrawn_when_an_earlier_version_is_used_again(
    session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    _deploy(session_factory, [V1])
    _deploy(session_factory, [V2])
    _withdraw(session_factory, "versioned", reason="Phiên bản 2 sai")
    result = _roll_back(session_factory, 1)
    assert result.is_withdrawn and "stays withdrawn" in str(result)
    with session_factory() as s:
        assert not in_use(s, "versioned") and "versioned" not in {p.process_id for p in startable_processes(s)}
        v3 = latest_version(s, "versioned")
        assert (v3.version, v3.retired_reason) == (3, "Phiên bản 2 sai")
        assert (
            '"withdrawn":true'
            in s.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "process_rolled_back")).one()
        )
    with pytest.raises(Conflict) as refused:
        driver.start("versioned", as_user="personnel1", subject="CB0001")
    assert refused.value.message == RETIRED
    _reinstate(session_factory, "versioned")
    assert driver.version_of(driver.start("versioned", as_user="personnel1", subject="CB0001")) == 3


@pytest.mark.parametrize(
    ("username", "process_id", "version", "reason", "error", "field"),
    [
        ("personnel1", "versioned", 1, REASON, NotAllowed, None),
        ("admin", "versioned", 1, "   ", Invalid, "reason"),
        ("admin", "versioned", 1, "x" * (RETIRE_REASON_MAX + 1), Invalid, "reason"),
        ("admin", "nothing_like_it", 1, REASON, NotFound, None),
        ("admin", "versioned", 9, REASON, Invalid, "version"),
        ("admin", "versioned", 0, REASON, Invalid, "version"),
        ("admin", "versioned", 2**63, REASON, Invalid, "version"),
        ("admin", "sample_approval", 2, REASON, Invalid, "version"),  # v2 is the other procedure's
        ("admin", "versioned", 2, REASON, Conflict, None),  # the version in use
    ],
)
def test_using_an_earlier_version_again_refuses_bad_requests_and_writes_nothing(
    session_factory: sessionmaker[Session],
    demo_users: dict,
    username: str,
    process_id: str,
    version: int,
    reason: str,
    error: type[Exception],
    field: str | None,
) -> None:
    _deploy(session_factory, [V1])
    _deploy(session_factory, [V2])
    with session_factory() as s:
        before = (_count(s, ProcessVersion), _count(s, AuditEvent))
        with pytest.raises(error) as refused:
            roll_back_process(s, actor=_as(s, username), process_id=process_id, version=version, reason=reason)
        if field is not None:
            assert isinstance(refused.value, Invalid) and [p.field for p in refused.value.problems] == [field]
        s.rollback()
        assert (_count(s, ProcessVersion), _count(s, AuditEvent)) == before
        assert latest_version(s, "versioned").version == 2


def test_the_content_in_use_is_not_deployed_again(session_factory: sessionmaker[Session], demo_users: dict) -> None:
    _deploy(session_factory, [V1])
    _deploy(session_factory, [V2])
    _roll_back(session_factory, 1)
    with pytest.raises(Conflict) as refused:
        _roll_back(session_factory, 1)  # v3, in use, already holds it
    assert refused.value.message_args == {"current": 3, "version": 1}
    assert _roll_back(session_factory, 2).version == 4  # and back again: each step is a version of its own


NO_START = (FIXTURES / "no_start_event.bpmn").read_text(encoding="utf-8")


def test_an_earlier_version_that_fails_todays_checks_is_not_used_again(
    session_factory: sessionmaker[Session], demo_users: dict
) -> None:
    with session_factory() as s, transaction(s):
        s.add(
            ProcessVersion(
                process_id="versioned",
                version=1,
                name="Quy trình cũ",
                content_hash="f" * 64,
                files={"versioned.bpmn": NO_START.replace('id="no_start_event"', 'id="versioned"')},
                forms={},
            )
        )
    _deploy(session_factory, [V2])
    with pytest.raises(Invalid) as refused:
        _roll_back(session_factory, 1)
    assert refused.value.message_args == {"version": 1} and refused.value.problems
    assert "start event" in str(refused.value).lower()
    with session_factory() as s:
        assert latest_version(s, "versioned").version == 2


# -- two administrators at once --------------------------------------------------------------------------------------


def _at_once(*actions: Callable[[], object]) -> list[str]:
    """Run the actions in threads released together; what each ended with ("ok" or the error's type), sorted."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
            outcome = "ok"
        except Exception as error:
            outcome = type(error).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.concurrency
def test_two_rollbacks_at_once_take_turns_and_the_second_is_told_the_content_is_in_use(
    session_factory: sessionmaker[Session], demo_users: dict
) -> None:
    """On PostgreSQL both used to read version 2 as the one in use and write version 3: the second failed on the
    version number (a 500). Taking turns, the second reads the first's version 3 (version 1's content): a 409."""
    _deploy(session_factory, [V1])
    _deploy(session_factory, [V2])
    outcomes = _at_once(lambda: _roll_back(session_factory, 1), lambda: _roll_back(session_factory, 1))
    assert outcomes == ["Conflict", "ok"]
    with session_factory() as s:
        versions = s.execute(
            select(ProcessVersion.version, ProcessVersion.content_hash)
            .where(ProcessVersion.process_id == "versioned")
            .order_by(ProcessVersion.version)
        ).all()
        assert [v.version for v in versions] == [1, 2, 3] and versions[2].content_hash == versions[0].content_hash
        assert verify_chains(s).ok


@pytest.mark.concurrency
def test_the_same_new_version_deployed_twice_at_once_is_stored_once(
    session_factory: sessionmaker[Session], demo_users: dict
) -> None:
    _deploy(session_factory, [V1])
    results: list[list] = []
    outcomes = _at_once(
        lambda: results.append(_deploy(session_factory, [V2], actor=None)),
        lambda: results.append(_deploy(session_factory, [V2], actor=None)),
    )
    assert outcomes == ["ok", "ok"]
    assert sorted(result[0].created for result in results) == [False, True]
    with session_factory() as s:
        assert s.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == "versioned")) == 2


@pytest.mark.concurrency
def test_a_withdrawal_beside_a_rollback_is_not_lost(session_factory: sessionmaker[Session], demo_users: dict) -> None:
    """Whichever comes first, the procedure ends withdrawn: the rollback carries over a withdrawal made before it,
    and a withdrawal after it marks the rolled-back version."""
    _deploy(session_factory, [V1])
    _deploy(session_factory, [V2])
    outcomes = _at_once(lambda: _roll_back(session_factory, 1), lambda: _withdraw(session_factory, "versioned"))
    assert outcomes == ["ok", "ok"]
    with session_factory() as s:
        latest = s.scalars(
            select(ProcessVersion)
            .where(ProcessVersion.process_id == "versioned")
            .order_by(ProcessVersion.version.desc())
        ).first()
        assert latest is not None and latest.version == 3 and latest.retired_dt is not None
