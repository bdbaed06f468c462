"""Store deployed process versions: validate everything first, store each distinct content once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.audit import SYSTEM_CHAIN, append_event
from workflows.clock import utcnow_naive
from workflows.deployment.validation import BundleFile, bundles_from_directory, validate_bundle
from workflows.errors import N_, Conflict, Invalid, NotAllowed, NotFound, Problem
from workflows.models import ProcessVersion
from workflows.registry.models import User
from workflows.states import EventType, Role


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int
    created: bool  # False: identical content was already deployed, nothing stored

    def __str__(self) -> str:
        state = "deployed" if self.created else "unchanged"
        return f"{self.process_id} v{self.version} ({state})"


def can_deploy(user: User | None) -> bool:
    if user is None:  # operators' CLI and start-up deployment act as the system
        return True
    return any(a.role == Role.ADMIN for a in user.role_assignments)


def deploy_bundle(
    session: Session,
    files: list[BundleFile],
    *,
    actor: User | None,
    forms_dir: Path | None,
    extra_forms: dict[str, bytes] | None = None,
) -> list[DeployResult]:
    """Raises Invalid (listing every problem) before anything is written."""
    if not can_deploy(actor):
        raise NotAllowed("only administrators may deploy processes")
    bundle = validate_bundle(files, forms_dir, extra_forms)
    results = []
    for process_id in bundle.process_ids:
        # A version holds what its process runs from, not the whole upload: a process uploaded unchanged beside a
        # changed one stays at its version.
        content = bundle.processes[process_id]
        stored_files = {f.filename: f.content.decode("utf-8") for f in content.files}
        stored_forms = {name: text.decode("utf-8") for name, text in content.forms.items()}
        existing = session.scalar(
            select(ProcessVersion.version).where(
                ProcessVersion.process_id == process_id, ProcessVersion.content_hash == content.content_hash
            )
        )
        if existing is not None:
            results.append(DeployResult(process_id, existing, created=False))
            continue
        latest = session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id))
        version = ProcessVersion(
            process_id=process_id,
            version=(latest or 0) + 1,
            name=bundle.process_names.get(process_id, process_id),
            content_hash=content.content_hash,
            files=stored_files,
            forms=stored_forms,
            deployed_by_id=actor.id if actor is not None else None,
            deployed_dt=utcnow_naive(),
        )
        session.add(version)
        session.flush()
        append_event(
            session,
            SYSTEM_CHAIN,
            EventType.PROCESS_DEPLOYED,
            {
                "process_id": process_id,
                "version": version.version,
                "content_hash": content.content_hash,
                "files": sorted(stored_files),
                "forms": sorted(stored_forms),
            },
            actor=actor,
        )
        results.append(DeployResult(process_id, version.version, created=True))
    return results


def deploy_directory(session: Session, bpmn_dir: Path, forms_dir: Path, *, actor: User | None) -> list[DeployResult]:
    results: list[DeployResult] = []
    for bundle in bundles_from_directory(bpmn_dir):
        results.extend(deploy_bundle(session, bundle, actor=actor, forms_dir=forms_dir))
    return results


def list_versions(session: Session) -> list[ProcessVersion]:
    return list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version)))


# -- withdrawing a procedure from use (decision 0050) -------------------------------------------------------------

RETIRE_REASON_MAX = 500
RETIRED = N_("This procedure was withdrawn from use; it can no longer be started.")


def can_retire(user: User | None) -> bool:
    return can_deploy(user)


def in_use(session: Session, process_id: str) -> bool:
    """Deployed, and its latest version not withdrawn: what the worker asks before its scheduled starts."""
    retired = session.execute(
        select(ProcessVersion.retired_dt)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    return retired is not None and retired[0] is None


def require_in_use(version: ProcessVersion) -> None:
    """Every start goes through here: by hand, by the API, by a month opened, by the worker's re-appointments."""
    if version.retired_dt is not None:
        raise Conflict(RETIRED)


def _latest_locked(session: Session, process_id: str) -> ProcessVersion:
    version = session.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if version is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return version


def retire_process(session: Session, *, actor: User | None, process_id: str, reason: str) -> ProcessVersion:
    """Nothing new starts from the procedure; its running instances go on to their end under their own version.
    Marks the latest version, so deploying a newer one puts the procedure back in use."""
    if not can_retire(actor):
        raise NotAllowed("only administrators may withdraw a procedure from use")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid(
            "Say why the procedure is withdrawn.", [Problem("Say why the procedure is withdrawn.", field="reason")]
        )
    if len(reason) > RETIRE_REASON_MAX:
        raise Invalid("The reason is too long.", [Problem("The reason is too long.", field="reason")])
    version = _latest_locked(session, process_id)
    if version.retired_dt is not None:
        raise Conflict("This procedure is already withdrawn from use.")
    version.retired_dt = utcnow_naive()
    version.retired_by_id = actor.id if actor is not None else None
    version.retired_reason = reason
    append_event(
        session,
        SYSTEM_CHAIN,
        EventType.PROCESS_RETIRED,
        {"process_id": process_id, "version": version.version, "reason": reason},
        actor=actor,
    )
    return version


def reinstate_process(session: Session, *, actor: User | None, process_id: str) -> ProcessVersion:
    if not can_retire(actor):
        raise NotAllowed("only administrators may put a procedure back in use")
    version = _latest_locked(session, process_id)
    if version.retired_dt is None:
        raise Conflict("This procedure is in use.")
    version.retired_dt = version.retired_by_id = version.retired_reason = None
    append_event(
        session,
        SYSTEM_CHAIN,
        EventType.PROCESS_REINSTATED,
        {"process_id": process_id, "version": version.version},
        actor=actor,
    )
    return version
