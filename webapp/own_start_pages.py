"""Procedures started on a page of their own, never by the generic start (the /instances/start page, the API's
POST /api/v1/instances): their pages gather the data they start with (the post and the source, the unit and the
term, the month, the year...) and check it; started without it they fail at their first gateway. Which page serves
which process is the web layer's knowledge, so it lives here and not in workflows/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, flash, request, url_for
from flask_babel import gettext as _

from workflows import appointment, evaluation, planning, rotation
from workflows.access import role_units
from workflows.appointment.service import STARTING_ROLES as APPOINTMENT_ROLES
from workflows.deployment.operations import withdrawal
from workflows.evaluation.annual import PROCESS_ID as ANNUAL_GRADING
from workflows.evaluation.opening import OPENING_ROLES
from workflows.instances import ProcessChoice
from workflows.planning.service import STARTING_ROLES as PLANNING_ROLES
from workflows.rotation.service import STARTING_ROLES as ROTATION_ROLES


@dataclass(frozen=True)
class OwnStartPage:
    endpoint: str
    # The roles the page itself asks for (held in some unit; the page then checks the unit chosen).
    roles: tuple[str, ...]
    # Its command in the shell, which asks for the same data (`canbo instances start` refuses these processes too).
    command: str


OWN_START_PAGES: dict[str, OwnStartPage] = {
    appointment.PROCESS_ID: OwnStartPage("appointment.start", APPOINTMENT_ROLES, "canbo appointment start"),
    planning.PROCESS_ID: OwnStartPage("planning.start", PLANNING_ROLES, "canbo planning start"),
    rotation.PROCESS_ID: OwnStartPage("rotation.start", ROTATION_ROLES, "canbo rotation start"),
    evaluation.PROCESS_ID: OwnStartPage("evaluation.open_page", OPENING_ROLES, "canbo evaluation open"),
    ANNUAL_GRADING: OwnStartPage("evaluation.annual_page", OPENING_ROLES, "canbo evaluation annual"),
}


@dataclass(frozen=True)
class OwnPageLink:
    name: str
    url: str


def own_start_page(process_id: Any) -> OwnStartPage | None:
    return OWN_START_PAGES.get(process_id) if isinstance(process_id, str) else None


def can_use_page(user: Any, page: OwnStartPage) -> bool:
    return any(role in page.roles for role, _unit in role_units(user))


def own_page_links(user: Any, processes: list[ProcessChoice]) -> list[OwnPageLink]:
    """Links to the own pages of the deployed processes this user may start there."""
    links = []
    for process in processes:
        page = own_start_page(process.process_id)
        if page is not None and can_use_page(user, page):
            links.append(OwnPageLink(process.name, url_for(page.endpoint)))
    return links


def refusal_message(page: OwnStartPage) -> str:
    return _(
        "This procedure is started on its own page, which asks for what it needs: %(url)s",
        url=url_for(page.endpoint),
    )


def init_app(app: Flask) -> None:
    """A start page of a withdrawn procedure says so when it opens, with the reason, instead of after the person
    has filled it in (the start itself is refused either way: `require_in_use`)."""
    process_of_page = {page.endpoint: process_id for process_id, page in OWN_START_PAGES.items()}

    @app.before_request
    def warn_when_withdrawn() -> None:
        process_id = process_of_page.get(request.endpoint or "")
        if process_id is None or request.method != "GET":
            return
        from flask_login import current_user

        from webapp.extensions import db

        if not current_user.is_authenticated:
            return  # the sign-in page comes first; it would otherwise show the notice

        withdrawn = withdrawal(db.session, process_id)
        if withdrawn is not None:
            when = current_app.jinja_env.filters["localdatetime"](withdrawn.when)
            flash(
                _(
                    "This procedure was withdrawn from use on %(when)s (%(reason)s): no new case can be started. "
                    "Ask an administrator if it should be put back in use.",
                    when=when,
                    reason=withdrawn.reason,
                ),
                "error",
            )
