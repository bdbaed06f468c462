"""Opening a month from the web page or the CLI: plan it, then start the instances a chunk per transaction.

A province's month is ~50,000 instances: one transaction for all of them would hold the write lock for minutes
and lose everything on one failure. Each chunk commits on its own; re-running picks up where a failed run stopped,
because `open_for_cadres` never duplicates a cadre already open for the month. Bad input (a month in the future,
a unit outside the actor's scope) is refused by `plan_month` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webapp.evaluation import evaluation_policy
from webapp.extensions import db
from webapp.http import act, process_engine
from workflows.evaluation.opening import (
    CadreToOpen,
    MonthPlan,
    OpenResult,
    open_for_cadres,
    plan_month,
    plan_refusals,
)
from workflows.registry.models import User

CHUNK = 500


@dataclass(frozen=True)
class OpeningSummary:
    month: str
    unit_code: str
    unit_name: str
    include_subunits: bool
    opened: int
    already_open: int
    without_account: int
    # Cadres without an account left out on request: a later opening of the same month starts them.
    skipped_without_account: int = 0
    # Cadre codes of the assigned-products file this opening did not open (unknown, outside the unit, inactive, or
    # already open for the month): their rows were not used, and the person who sent the file must hear it.
    products_not_used: tuple[str, ...] = ()
    # Cadres not opened because a script of the model failed for them, each with the step's name (the failure is
    # noted for the administrators; the others were opened). Opening the month again, once it is fixed, opens them.
    failed: tuple[tuple[str, str], ...] = ()
    # Cadres not opened because an ordinary start would refuse them, each with its reason (a msgid of
    # `operations.start_refusal`: the unit was closed, the person opening does not cover the unit above a head).
    refused: tuple[tuple[str, str], ...] = ()

    def failed_by_step(self) -> dict[str, list[str]]:
        """{step name: the codes of the cadres whose start failed there}, in the order they were met."""
        return _codes_by(self.failed)

    def refused_by_reason(self) -> dict[str, list[str]]:
        """{reason (msgid): the codes of the cadres refused for it}, in the order they were met."""
        return _codes_by(self.refused)


def _codes_by(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for code, key in pairs:
        grouped.setdefault(key, []).append(code)
    return grouped


SHOWN_CODES = 20


def shown_codes(codes: Sequence[str]) -> tuple[str, int]:
    """The first SHOWN_CODES codes, comma-separated, and how many more there are (a message stays readable)."""
    return ", ".join(codes[:SHOWN_CODES]), max(0, len(codes) - SHOWN_CODES)


@dataclass(frozen=True)
class OpeningPreview:
    """What opening a month would do, before anything is opened: the plan, and who of it the opening will leave out
    as an ordinary start would refuse them ({cadre code: reason msgid}, decision 0104) — said ahead (decision 0119)."""

    plan: MonthPlan
    refused: dict[str, str]

    def count_to_open(self, *, skip_without_account: bool) -> int:
        """How many evaluations the opening would start, with or without the cadres who have no login: the plan's,
        less those refused."""
        cadres = self.plan.cadres_to_open(skip_without_account=skip_without_account)
        return sum(1 for cadre in cadres if cadre.code not in self.refused)

    def refused_by_reason(self) -> dict[str, list[CadreToOpen]]:
        """{reason (msgid): the cadres it refuses}, in the plan's order, as the opening's flash groups them."""
        grouped: dict[str, list[CadreToOpen]] = {}
        for cadre in self.plan.to_open:
            if cadre.code in self.refused:
                grouped.setdefault(self.refused[cadre.code], []).append(cadre)
        return grouped


def preview_month(*, actor: User | None, month: str, unit_code: str, include_subunits: bool) -> OpeningPreview:
    """What opening would do, with nothing written: who would be opened, how many have no account, how many are
    already open, who would be refused and why. Raises what `plan_month` raises."""
    plan = act(
        lambda: plan_month(db.session, actor=actor, month=month, unit_code=unit_code, include_subunits=include_subunits)
    )
    return OpeningPreview(plan, plan_refusals(plan, actor))


def open_month(
    *,
    actor: User | None,
    month: str,
    unit_code: str,
    include_subunits: bool,
    skip_without_account: bool = False,
    chunk: int = CHUNK,
    products: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    on_planned: Callable[[MonthPlan], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> OpeningSummary:
    """Raises what `plan_month` raises (Invalid, NotFound, NotAllowed) with nothing written. `on_planned` hears
    the plan (how many to open), `on_chunk` how many cadres each committed chunk handled."""
    policy = evaluation_policy()
    engine = process_engine()
    plan = act(
        lambda: plan_month(db.session, actor=actor, month=month, unit_code=unit_code, include_subunits=include_subunits)
    )
    unit_code, unit_name = plan.unit.code, plan.unit.name
    if on_planned is not None:
        on_planned(plan)
    cadres = plan.cadres_to_open(skip_without_account=skip_without_account)
    opened = raced = missing = 0
    failed: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    for start in range(0, len(cadres), chunk):
        part = cadres[start : start + chunk]

        def work(part: list[CadreToOpen] = part) -> tuple[OpenResult, int]:
            result = open_for_cadres(
                db.session, engine, actor=actor, plan=plan, cadres=part, policy=policy, products=products
            )
            # The plan already knows who has no active account: no second query per chunk.
            return result, sum(1 for cadre in part if cadre.user_id is None)

        result, part_missing = act(work)
        failed.extend((code, error.element_name or error.element_id or "?") for code, error in result.failed.items())
        refused.extend(result.refused.items())
        not_opened = result.failed.keys() | result.refused.keys()
        part_missing -= sum(1 for cadre in part if cadre.code in not_opened and cadre.user_id is None)
        opened += result.opened
        raced += result.already_open  # opened by someone else since the plan was made
        missing += part_missing
        if on_chunk is not None:
            on_chunk(len(part))
    return OpeningSummary(
        month=plan.month,
        unit_code=unit_code,
        unit_name=unit_name,
        include_subunits=include_subunits,
        opened=opened,
        already_open=plan.already_open + raced,
        without_account=missing,
        skipped_without_account=len(plan.to_open) - len(cadres),
        products_not_used=tuple(sorted(set(products or {}) - {cadre.code for cadre in cadres})),
        failed=tuple(failed),
        refused=tuple(refused),
    )
