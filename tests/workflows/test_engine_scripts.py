"""A model's scripts run restricted: an escape attempt fails that step with a clear error; others keep working."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from tests.fixtures.models import script_model
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.errors import ScriptFailure
from workflows.models import AuditEvent, ProcessInstance, ProcessVersion
from workflows.states import InstanceStatus

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


def _deploy(driver: WorkflowDriver, *files: BundleFile) -> None:
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, list(files), actor=None, forms_dir=None)


def _stored_unchecked(
    driver: WorkflowDriver, process_id: str, harmless: BundleFile, placeholder: str, dangerous: str
) -> None:
    """A version whose script the deploy would now refuse (stored before deploys checked scripts against the
    sandbox, or written into the database some other way): deployed with `placeholder`, then `dangerous` written in
    its place where the version is stored. What stops it then is the sandbox at run time, which these tests are
    about."""
    _deploy(driver, harmless)
    escaped = dangerous.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    with driver.session_factory() as s, transaction(s):
        version = s.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id)).one()
        files = dict(version.files)
        (name,) = [name for name, text in files.items() if placeholder in text]
        files[name] = files[name].replace(placeholder, escaped)
        version.files = files


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("__import__('os').system('touch /tmp/canbo-pwned')", "_"),
        ("import os\nos.system('touch /tmp/canbo-pwned')", "import"),
        ("classes = ().__class__.__base__.__subclasses__()", "__class__"),
        ("result = open('/etc/passwd').read()", "open"),
        ("result = 9 ** 9 ** 7", "too large"),
        ("n = 0\nwhile True:\n    n = n + 1", "time limit"),
    ],
)
def test_escaping_scripts_fail_the_step_and_keep_the_last_good_state(
    driver: WorkflowDriver, script: str, expected: str
) -> None:
    _stored_unchecked(driver, "escape", script_model("escape", "result = 1"), "result = 1", script)
    instance_id = driver.start("escape", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "enter_data")
    before = driver.instance(instance_id)

    started = time.monotonic()
    with pytest.raises(ScriptFailure) as failure:
        driver.complete("officer1", task.id, {"value": 1})
    assert time.monotonic() - started < 5
    assert failure.value.element_id == "compute"
    assert expected.lower() in (str(failure.value) + repr(failure.value.details)).lower()
    assert not Path("/tmp/canbo-pwned").exists()

    after = driver.instance(instance_id)
    assert (after.state, after.lock_version - 1) == (before.state, before.lock_version)  # only last_error was noted
    assert "compute" in (after.last_error or "")
    assert [t.id for t in driver.open_tasks(instance_id)] == [task.id]
    with driver.session_factory() as s:
        error = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.event_type == "error")
        ).one()
        assert "compute" in error.payload
        assert verify_chains(s).ok

    # Everyone else's procedures keep running.
    other = driver.start("sample_approval", as_user="officer2", subject="CB0002")
    driver.complete("officer2", driver.task(other, "submit_request").id, {"subject_line": "x"})


def test_benign_script_results_flow_into_the_process_data(driver: WorkflowDriver) -> None:
    _deploy(driver, script_model("benign", "total = value * 2 + len([1, 2])"))
    instance_id = driver.start("benign", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "enter_data").id, {"value": 20})
    with driver.session_factory() as s:
        changed = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.event_type == "data_changed")
        ).one()
    assert '"total":{"from":null,"to":42}' in changed.payload
    instance = driver.complete("officer1", driver.task(instance_id, "confirm").id, {})
    assert instance.status == InstanceStatus.COMPLETED


def test_a_malicious_gateway_condition_refuses_the_start(driver: WorkflowDriver) -> None:
    model = (FIXTURES / "bad_script.bpmn").read_text()
    condition = "__import__('os').getcwd() != ''"
    assert condition in model
    harmless = BundleFile("bad_script.bpmn", model.replace(condition, "1 == 2").encode())
    _stored_unchecked(driver, "bad_script", harmless, "1 == 2", condition)
    with pytest.raises(ScriptFailure) as failure:
        driver.start("bad_script", as_user="personnel1", subject="CB0001")
    assert failure.value.element_id in {"sneaky_gateway", "Flow_escape"}


def test_decision_table_runs_in_the_restricted_engine(driver: WorkflowDriver) -> None:
    _deploy(
        driver,
        BundleFile("with_dmn.bpmn", (FIXTURES / "with_dmn.bpmn").read_bytes()),
        BundleFile("grade.dmn", (FIXTURES / "grade.dmn").read_bytes()),
    )
    for score, grade in ((92, "Xuất sắc"), (75, "Tốt"), (50, "Hoàn thành")):
        instance_id = driver.start("with_dmn", as_user="personnel1", subject="CB0001", data={"score": score})
        with driver.session_factory() as s:
            instance = s.get(ProcessInstance, instance_id)
            workflow = driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance)
            (ready,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert ready.data["grade"] == grade
