"""A ballot box's question as its readers are shown it: on the ballot pages, in the elector's inbox row and in the
notice that a ballot waits for them (decisions 0094, 0102, 0132); and what its results are judged by (decision
0131)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import object_session

from webapp.extensions import db
from webapp.i18n import format_fixed
from workflows.appointment.ballots import ResultRow, earlier_results, own_question
from workflows.errors import N_
from workflows.models import BallotBox
from workflows.rules.ballots import BallotRules

# Whom a ballot's share is counted of (workflows.rules.ballots.Denominator), as the minutes and the history say it.
DENOMINATOR_WORDS = {
    "members": N_("members of the collective"),
    "summoned": N_("those summoned"),
    "present": N_("those present"),
}


def box_question(box: BallotBox) -> str:
    """The box's question, followed by the earlier conferences' results its step is told (§7, §3.4 step 5), worded
    and numbered in the reader's language (decisions 0094, 0132): "… Kết quả hội nghị trước: Lê Khánh Hồng: 3/3
    (100,00%)", or with several, each conference named: "… Kết quả các hội nghị trước: Hội nghị cán bộ chủ chốt —
    Lê Khánh Hồng: 2/3 (66,67%). …". The earlier boxes are read in the box's own session: the worker words its
    notices inside its transaction."""
    earlier = earlier_results(object_session(box) or db.session, box)
    if not earlier:
        return box.question
    if len(earlier) == 1:
        return _(
            "%(question)s. Result of the previous conference: %(results)s",
            question=own_question(box.question),
            results=result_text(earlier[0].rows),
        )
    return _(
        "%(question)s. Results of the previous conferences: %(results)s",
        question=own_question(box.question),
        results=". ".join(f"{result.conference} — {result_text(result.rows)}" for result in earlier),
    )


def result_text(rows: Iterable[ResultRow]) -> str:
    """A conference's result as it is announced and summed up for the one deciding: "Lê Khánh Hồng: 2/3 (66,67%)",
    the candidates joined by "; "."""
    return "; ".join(
        _(
            "%(name)s: %(yes)s/%(of)s (%(percent)s%%)",
            name=row.name,
            yes=row.yes,
            of=row.denominator,
            percent=format_fixed(row.percent, 2),
        )
        for row in rows
    )


def box_question_in(box: BallotBox, locale: str) -> str:
    """`box_question` for a reader of `locale` outside their request: the worker's notice to each elector."""
    with force_locale(locale):
        return box_question(box)


def counting_basis(rules: BallotRules, count: int) -> str:
    """What the results above the candidates are judged by, on the minutes' page and PDF: the pass mark, or for an
    advisory ballot that it chooses nobody (decision 0131)."""
    who = _(DENOMINATOR_WORDS[str(rules.denominator)])
    if rules.advisory:
        return _(
            "An opinion that goes with the dossier and chooses nobody; each share is of %(who)s (%(count)d).",
            who=who,
            count=count,
        )
    return _(
        "A candidate passes with more than %(threshold)s of %(who)s (%(count)d).",
        threshold=rules.threshold,
        who=who,
        count=count,
    )


def passed_heading(rules: BallotRules) -> str:
    """The heading of the results' last column: whether a candidate passed, or for an advisory ballot whether the
    opinion was a majority in favour — which decides nothing."""
    if rules.advisory:
        return _("More than %(threshold)s in favour", threshold=rules.threshold)
    return _("Passed")


def rule_summary(rules: BallotRules) -> str:
    """The rule in a line, as the secretary's page states it beside the box: the pass mark and the quorum, or for an
    advisory ballot that it chooses nobody."""
    who = _(DENOMINATOR_WORDS[str(rules.denominator)])
    if rules.advisory:
        return _(
            "an opinion for the dossier that chooses nobody, each share of %(who)s; quorum %(quorum)s of those "
            "summoned",
            who=who,
            quorum=rules.quorum,
        )
    return _(
        "more than %(threshold)s of %(who)s; quorum %(quorum)s of those summoned",
        threshold=rules.threshold,
        who=who,
        quorum=rules.quorum,
    )
