"""Store deployed process versions: validate everything first, store each distinct content once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workflows.audit import SYSTEM_CHAIN, append_event
from workflows.clock import utcnow_naive
from workflows.deployment.validation import (
    BundleFile,
    bundles_from_directory,
    sandbox_checked,
    sandbox_problems,
    validate_bundle,
)
from workflows.errors import N_, Conflict, Invalid, NotAllowed, NotFound, Problem
from workflows.models import ProcessInstance, ProcessVersion
from workflows.query_args import MAX_ID
from workflows.registry.models import User
from workflows.states import EventType, InstanceStatus, Role


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int  # the version holding the content deployed
    created: bool  # False: identical content was already deployed, nothing stored
    current_version: int  # the version new instances start on: `version`, unless that is an earlier one

    @property
    def is_earlier(self) -> bool:
        """The content is an earlier version's: nothing was stored and new instances stay on the current version;
        starting them on the earlier one again is a rollback, with its reason (decision 0055)."""
        return self.version != self.current_version

    def __str__(self) -> str:
        if self.is_earlier:
            return (
                f"{self.process_id} v{self.version} (an earlier version, unchanged; v{self.current_version} is in use."
                f" To use v{self.version} again: canbo processes rollback {self.process_id} {self.version} --reason …)"
            )
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
    _take_turns(session)
    results = []
    for process_id in bundle.process_ids:
        # A version holds what its process runs from, not the whole upload: a process uploaded unchanged beside a
        # changed one stays at its version.
        content = bundle.processes[process_id]
        stored_files = {f.filename: f.content.decode("utf-8") for f in content.files}
        stored_forms = {name: text.decode("utf-8") for name, text in content.forms.items()}
        latest = session.execute(
            select(ProcessVersion.version, ProcessVersion.content_hash)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.content_hash == content.content_hash:
            results.append(DeployResult(process_id, latest.version, created=False, current_version=latest.version))
            continue
        if latest is not None:
            earlier = session.scalar(
                select(func.max(ProcessVersion.version)).where(
                    ProcessVersion.process_id == process_id, ProcessVersion.content_hash == content.content_hash
                )
            )
            if earlier is not None:
                # New instances stay where they are: the start-up deployment of bpmn/ must not undo a version an
                # administrator deployed since, and using an earlier version again asks for a reason (decision 0055).
                results.append(DeployResult(process_id, earlier, created=False, current_version=latest.version))
                continue
        version = ProcessVersion(
            process_id=process_id,
            version=(latest.version if latest is not None else 0) + 1,
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
        results.append(DeployResult(process_id, version.version, created=True, current_version=version.version))
    return results


def deploy_directory(session: Session, bpmn_dir: Path, forms_dir: Path, *, actor: User | None) -> list[DeployResult]:
    results: list[DeployResult] = []
    for bundle in bundles_from_directory(bpmn_dir):
        results.extend(deploy_bundle(session, bundle, actor=actor, forms_dir=forms_dir))
    return results


def list_versions(session: Session) -> list[ProcessVersion]:
    return list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version)))


@dataclass(frozen=True)
class VersionEntry:
    """One version of a procedure as its administrator reads it (the procedure's page, newest first)."""

    version: int
    name: str
    content_hash: str
    deployed_dt: datetime
    deployed_by: str | None  # the administrator's name; None: the system (start-up, the CLI without --as)
    running: int  # instances running on it
    same_content_as: int | None  # the first version with this content, when that is an earlier one (decision 0055)
    is_current: bool  # new instances start on it: the latest version
    holds_current_content: bool  # its content is the current version's: nothing to go back to
    retired_dt: datetime | None  # the current version's: the procedure is withdrawn from use (decision 0050)
    retired_reason: str | None


def version_history(session: Session, process_id: str) -> list[VersionEntry]:
    """Every version of the procedure, newest first (empty when it is not deployed)."""
    rows = session.execute(
        select(
            ProcessVersion.id,
            ProcessVersion.version,
            ProcessVersion.name,
            ProcessVersion.content_hash,
            ProcessVersion.deployed_dt,
            User.full_name,
            ProcessVersion.retired_dt,
            ProcessVersion.retired_reason,
        )
        .outerjoin(User, User.id == ProcessVersion.deployed_by_id)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version)
    ).all()
    if not rows:
        return []
    running: dict[int, int] = {
        version_id: count
        for version_id, count in session.execute(
            select(ProcessInstance.process_version_id, func.count())
            .where(ProcessInstance.process_id == process_id, ProcessInstance.status == InstanceStatus.RUNNING)
            .group_by(ProcessInstance.process_version_id)
        )
    }
    first_with: dict[str, int] = {}
    for row in rows:
        first_with.setdefault(row.content_hash, row.version)
    current = rows[-1]
    return [
        VersionEntry(
            version=row.version,
            name=row.name,
            content_hash=row.content_hash,
            deployed_dt=row.deployed_dt,
            deployed_by=row.full_name,
            running=running.get(row.id, 0),
            same_content_as=first_with[row.content_hash] if first_with[row.content_hash] != row.version else None,
            is_current=row is current,
            holds_current_content=row.content_hash == current.content_hash,
            retired_dt=row.retired_dt,
            retired_reason=row.retired_reason,
        )
        for row in reversed(rows)
    ]


# -- withdrawing a procedure from use (decision 0050) -------------------------------------------------------------

RETIRE_REASON_MAX = 500
RETIRED = N_("This procedure was withdrawn from use; it can no longer be started.")
RETIRE_REASON_MISSING = N_("Say why the procedure is withdrawn.")
REINSTATE_REASON_MISSING = N_("Say why the procedure is put back in use.")
UNSAFE_VERSION = N_(
    "Version %(version)d uses in its scripts what procedures may not use; it cannot be put back in use. Deploy a "
    "corrected model instead."
)


def can_retire(user: User | None) -> bool:
    return can_deploy(user)


def _latest_retirement(session: Session, process_id: str) -> tuple[datetime | None, str | None] | None:
    """(withdrawn when, why) of the procedure's latest version — (None, None) while in use; None when not deployed."""
    row = session.execute(
        select(ProcessVersion.retired_dt, ProcessVersion.retired_reason)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def in_use(session: Session, process_id: str) -> bool:
    """Deployed, and its latest version not withdrawn: what the worker asks before its scheduled starts."""
    latest = _latest_retirement(session, process_id)
    return latest is not None and latest[0] is None


@dataclass(frozen=True)
class Withdrawal:
    when: datetime
    reason: str


def withdrawal(session: Session, process_id: str) -> Withdrawal | None:
    """When and why the procedure was withdrawn from use, or None while it is in use (or not deployed): what a start
    page tells the person before they fill it in."""
    latest = _latest_retirement(session, process_id)
    if latest is None or latest[0] is None:
        return None
    return Withdrawal(latest[0], latest[1] or "")


def require_in_use(version: ProcessVersion) -> None:
    """Every start goes through here: by hand, by the API, by a month opened, by the worker's re-appointments."""
    if version.retired_dt is not None:
        raise Conflict(RETIRED)


def _reason(reason: str, missing: str) -> str:
    """The reason as recorded, its spacing tidied; `missing` is the message when there is none."""
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid(missing, [Problem(missing, field="reason")])
    if len(reason) > RETIRE_REASON_MAX:
        raise Invalid("The reason is too long.", [Problem("The reason is too long.", field="reason")])
    return reason


# Deploying, using an earlier version again, withdrawing and reinstating each read a procedure's latest version
# and write from it: the next version number, the withdrawal a rollback carries over. Two at once on PostgreSQL
# (two administrators, a start-up deployment beside an administrator) read the same latest version: the second
# then wrote the same version number again (a 500) or carried over a withdrawal the first had just changed. Locking
# the latest row does not help, since the new version is a new row the waiting statement cannot see. So they take
# turns on one transaction-level advisory lock (rare operations, held to the commit), and each reads after the one
# before it committed. SQLite already runs one writing transaction at a time (BEGIN IMMEDIATE, workflows/db.py).
DEPLOYMENT_LOCK = 0x63616E626F_01  # pg_advisory_xact_lock key: "canbo", deployments


def _take_turns(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEPLOYMENT_LOCK})


def _latest_locked(session: Session, process_id: str) -> ProcessVersion:
    _take_turns(session)
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
    Marks the latest version, so deploying newer content puts the procedure back in use (using an earlier version
    again does not: decision 0055)."""
    if not can_retire(actor):
        raise NotAllowed("only administrators may withdraw a procedure from use")
    reason = _reason(reason, RETIRE_REASON_MISSING)
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


def reinstate_process(session: Session, *, actor: User | None, process_id: str, reason: str) -> ProcessVersion:
    """New instances may start from the procedure again. Asks why, as withdrawing does (decision 0059): the reason
    is kept in the audit log only, since the version's withdrawal mark is cleared."""
    if not can_retire(actor):
        raise NotAllowed("only administrators may put a procedure back in use")
    reason = _reason(reason, REINSTATE_REASON_MISSING)
    version = _latest_locked(session, process_id)
    if version.retired_dt is None:
        raise Conflict("This procedure is in use.")
    # The same check a deployment and a rollback make: a version deployed before the check knew of a name would
    # fail every start again, in front of whoever presses "Start" (decision 0073).
    refused = sandbox_problems(dict(version.files), version.content_hash)
    if refused:
        raise Invalid(UNSAFE_VERSION, refused, {"version": version.version})
    version.retired_dt = version.retired_by_id = version.retired_reason = None
    append_event(
        session,
        SYSTEM_CHAIN,
        EventType.PROCESS_REINSTATED,
        {"process_id": process_id, "version": version.version, "reason": reason},
        actor=actor,
    )
    return version


@dataclass(frozen=True)
class UnsafeVersion:
    process_id: str
    name: str
    version: int
    problems: list[Problem]


def unsafe_versions_in_use(session: Session) -> list[UnsafeVersion]:
    """Procedures in use whose current version has a script the sandbox refuses: deployed before the deploy-time
    check knew of it, so every start or step reaching it fails (decision 0073). Listed under "Needs attention"."""
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    rows = session.execute(
        select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.name, ProcessVersion.version)
        .add_columns(ProcessVersion.content_hash)
        .join(
            latest,
            (latest.c.process_id == ProcessVersion.process_id) & (latest.c.version == ProcessVersion.version),
        )
        .where(ProcessVersion.retired_dt.is_(None))
        .order_by(ProcessVersion.process_id)
    ).all()
    unsafe = []
    for row in rows:
        problems = sandbox_checked(row.content_hash)
        if problems is None:
            files = session.scalar(select(ProcessVersion.files).where(ProcessVersion.id == row.id)) or {}
            problems = sandbox_problems(dict(files), row.content_hash)
        if problems:
            unsafe.append(UnsafeVersion(row.process_id, row.name, row.version, problems))
    return unsafe


# -- using an earlier version again (decision 0055) ----------------------------------------------------------------

REUSE_REASON_MISSING = N_("Say why the earlier version is used again.")
NO_SUCH_VERSION = N_("This procedure has no version %(version)d.")


@dataclass(frozen=True)
class RollbackResult:
    process_id: str
    version: int  # the new version, which new instances start on
    restored_version: int  # the earlier version whose content it holds
    replaced_version: int  # the version new instances started on until now
    is_withdrawn: bool  # the procedure was withdrawn from use and stays so until reinstated

    def __str__(self) -> str:
        withdrawn = "; the procedure stays withdrawn from use until reinstated" if self.is_withdrawn else ""
        return (
            f"{self.process_id} v{self.version} deployed with the content of v{self.restored_version} "
            f"(replacing v{self.replaced_version}){withdrawn}"
        )


def can_roll_back(user: User | None) -> bool:
    return can_deploy(user)


def roll_back_process(
    session: Session, *, actor: User | None, process_id: str, version: int, reason: str
) -> RollbackResult:
    """New instances start on an earlier version's content again: that content — its files and forms as stored,
    checked as a deployment is — is deployed anew as the next version, so the latest version stays the one every
    start uses. Running instances stay on their own version; a procedure withdrawn from use stays withdrawn (the
    new version carries the withdrawal) until it is reinstated. Nothing is written unless everything is right."""
    if not can_roll_back(actor):
        raise NotAllowed("only administrators may use an earlier version of a procedure again")
    reason = _reason(reason, REUSE_REASON_MISSING)
    current = _latest_locked(session, process_id)
    chosen = (
        session.scalars(
            select(ProcessVersion).where(ProcessVersion.process_id == process_id, ProcessVersion.version == version)
        ).first()
        if 0 < version <= MAX_ID
        else None
    )
    if chosen is None:
        raise Invalid(
            NO_SUCH_VERSION,
            [Problem(NO_SUCH_VERSION, field="version", message_args={"version": version})],
            {"version": version},
        )
    if chosen.id == current.id:
        raise Conflict("Version %(version)d is the one in use.", {"version": version})
    if chosen.content_hash == current.content_hash:
        raise Conflict(
            "The version in use, %(current)d, already has the content of version %(version)d.",
            {"current": current.version, "version": version},
        )
    files, forms = dict(chosen.files), dict(chosen.forms or {})
    try:
        validate_bundle(
            [BundleFile(name, text.encode("utf-8")) for name, text in files.items()],
            None,
            {name: text.encode("utf-8") for name, text in forms.items()},
        )
    except Invalid as refused:
        raise Invalid(
            "Version %(version)d does not pass today's deployment checks; it cannot be used again.",
            refused.problems,
            {"version": version},
        ) from refused
    restored = ProcessVersion(
        process_id=process_id,
        version=current.version + 1,
        name=chosen.name,
        content_hash=chosen.content_hash,
        files=files,
        forms=forms,
        deployed_by_id=actor.id if actor is not None else None,
        deployed_dt=utcnow_naive(),
        # Withdrawn stays withdrawn (decision 0055): `in_use` reads the latest version's mark.
        retired_dt=current.retired_dt,
        retired_by_id=current.retired_by_id,
        retired_reason=current.retired_reason,
    )
    session.add(restored)
    session.flush()
    append_event(
        session,
        SYSTEM_CHAIN,
        EventType.PROCESS_ROLLED_BACK,
        {
            "process_id": process_id,
            "version": restored.version,
            "restored_version": chosen.version,
            "replaced_version": current.version,
            "content_hash": restored.content_hash,
            "files": sorted(files),
            "forms": sorted(forms),
            "reason": reason,
            "withdrawn": current.retired_dt is not None,
        },
        actor=actor,
    )
    return RollbackResult(
        process_id, restored.version, chosen.version, current.version, is_withdrawn=current.retired_dt is not None
    )
