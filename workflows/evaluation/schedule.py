"""The scheduled start of the monthly evaluation: on the policy's opening day (default the 20th, domain rules §6.3
[U]) the worker opens the month for the configured units, as a personnel officer would by hand.

Run on every worker loop, so it must be cheap when there is nothing to do: a worker cursor per unit remembers the
last month opened completely, and only a month after it is planned. Opening is idempotent (business keys), so two
workers racing over the same chunk cost one of them a refused chunk, never a duplicate; the next loop finishes it.

Cadres without a login account are skipped unless the setting says otherwise (decision 0068, as the page does since
0065): their self-assessment would reach nobody's inbox. The cursor still marks the month done — re-planning a
province on every poll until they get a login would cost more than it helps — so theirs are opened by hand once they
have one (the page or `canbo evaluation open`, which open only what is missing).

A cadre whose start fails in a script of the model is left out of its chunk, the others opened (decision 0080): the
month is then not marked done, so the next loop tries the failed ones again (noted once a day).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflows.db import transaction
from workflows.deployment.operations import in_use
from workflows.engine.operations import record_start_failure
from workflows.engine.runtime import ProcessEngine
from workflows.errors import ScriptFailure, WorkflowError
from workflows.evaluation import PROCESS_ID
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import WorkerCursor
from workflows.registry.records import local_today
from workflows.rules.evaluation import EvaluationPolicy

log = logging.getLogger(__name__)
_WITHDRAWN_SAID: set[str] = set()


@dataclass(frozen=True)
class ScheduledOpening:
    unit_code: str
    month: str
    opened: int
    # Cadres without a login account left out (skip_without_account): opened later by hand, once they have one.
    skipped_without_account: int = 0
    # Of those opened, the cadres without a login account (opened on request): nobody receives theirs yet.
    opened_without_account: int = 0


def _cursor_name(unit_code: str) -> str:
    return f"evaluation_open:{unit_code}"[:60]


def _month_number(day: date) -> int:
    return day.year * 100 + day.month


def open_scheduled_months(
    session_factory: sessionmaker[Session],
    engine: ProcessEngine,
    *,
    unit_codes: Iterable[str],
    policy: EvaluationPolicy,
    today: date | None = None,
    chunk: int = 1000,
    skip_without_account: bool = True,
) -> list[ScheduledOpening]:
    """Open this month for each unit (and the units below it) once the opening day has come; what was opened."""
    today = today or local_today()
    if today.day < policy.open_day:
        return []
    month, number = today.strftime("%Y-%m"), _month_number(today)
    with session_factory() as session:
        if not in_use(session, PROCESS_ID):
            if month not in _WITHDRAWN_SAID:  # once per worker and month, not at every poll
                _WITHDRAWN_SAID.add(month)
                log.warning("the monthly evaluation is withdrawn from use: %s not opened", month)
            return []
    done: list[ScheduledOpening] = []
    for unit_code in unit_codes:
        with session_factory() as session:
            cursor = session.get(WorkerCursor, _cursor_name(unit_code))
            if cursor is not None and cursor.position >= number:
                continue
            try:
                plan = plan_month(session, actor=None, month=month, unit_code=unit_code)
            except WorkflowError as error:  # a unit removed from the tree: say so, keep the worker running
                log.error("scheduled evaluation opening for %s failed: %s", unit_code, error)
                continue
            session.rollback()
            cadres = plan.cadres_to_open(skip_without_account=skip_without_account)
            opened = opened_without_account = 0
            complete, failed = True, False
            for offset in range(0, len(cadres), chunk):
                try:
                    with transaction(session):
                        result = open_for_cadres(
                            session,
                            engine,
                            actor=None,
                            plan=plan,
                            cadres=cadres[offset : offset + chunk],
                            policy=policy,
                        )
                    opened += result.opened
                    opened_without_account += result.without_account
                    if result.refused:
                        # Cadres in a closed unit, which an ordinary start refuses too: said, not retried by the
                        # worker (only moving them to an open unit helps; the officer then opens them by hand).
                        log.warning(
                            "scheduled evaluation opening of %s for %s left out %d cadres an ordinary start refuses "
                            "(%s): %s",
                            month,
                            unit_code,
                            len(result.refused),
                            ", ".join(list(result.refused)[:20]) + (" …" if len(result.refused) > 20 else ""),
                            "; ".join(sorted(set(result.refused.values()))),
                        )
                    if result.failed:
                        # Those cadres are left out, the failure noted (`open_for_cadres`); the others of the chunk
                        # are open. The month stays due: the next loop tries them again (decision 0080).
                        complete, failed = False, True
                        by_step: dict[str | None, list[str]] = {}
                        for code, failure in result.failed.items():
                            by_step.setdefault(failure.element_id, []).append(code)
                        for codes in by_step.values():
                            log.error(
                                "scheduled evaluation opening of %s for %s failed for %d cadres (%s): %s",
                                month,
                                unit_code,
                                len(codes),
                                ", ".join(codes[:20]) + (" …" if len(codes) > 20 else ""),
                                result.failed[codes[0]],
                            )
                except IntegrityError:  # another worker opened some of this chunk meanwhile
                    complete = False
                except ScriptFailure as failure:
                    # The chunk is rolled back whole; noted for /admin's "Needs attention" as a start from a page is
                    # (decision 0073). The rest of this unit would fail the same way: the next loop retries it.
                    with transaction(session):
                        record_start_failure(session, actor=None, error=failure)
                    log.error("scheduled evaluation opening of %s for %s failed: %s", month, unit_code, failure)
                    complete, failed = False, True
                    session.expunge_all()
                    break
                session.expunge_all()
            if complete:
                with transaction(session):
                    row = session.get(WorkerCursor, _cursor_name(unit_code))
                    if row is None:
                        session.add(WorkerCursor(name=_cursor_name(unit_code), position=number))
                    else:
                        row.position = number
            if opened or not failed:  # a failure alone is said once, by the log line above
                done.append(
                    ScheduledOpening(unit_code, month, opened, len(plan.to_open) - len(cadres), opened_without_account)
                )
    return done
