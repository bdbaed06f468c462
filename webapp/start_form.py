"""What the start pages of the appointment and the rotation share: the unit picker (the active units the person may
start for), the post picker (the posts of the chosen unit: in the page when it is rendered — a "Show the posts of
this unit" button re-renders it without JavaScript — and as JSON for static/post_picker.js), the cadre suggestions,
the cadre search (JSON for static/cadre_search.js, which asks it as a code or a name is typed), and a refusal
shown on the fields it concerns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.query_args import parse_id
from workflows.access import oversees_unit, units_under_roles
from workflows.instances import search_startable_subjects, startable_subjects
from workflows.registry.models import Cadre, OrgUnit
from workflows.registry.posts import PostChoice, unit_posts
from workflows.registry.units import in_tree_order

# The submit button that re-renders the page with the posts of the chosen unit (the way without JavaScript).
SHOW_POSTS = "show_posts"


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


@dataclass
class PostPicker:
    """The two selects of a start page: `units` in scope, the `unit_id` chosen (None: none, or one out of scope)
    and the `posts` of that unit."""

    units: list[Choice]
    unit_id: int | None
    posts: list[Choice]


def post_label(post: PostChoice) -> str:
    return _("%(title)s (occupied)", title=post.title) if post.is_occupied else post.title


def _unit_choices(units: list[OrgUnit]) -> list[Choice]:
    """Units in tree order, each indented under its parent."""
    return [Choice(unit.id, label) for unit, label in unit_tree(units)]


def unit_tree(units: list[OrgUnit]) -> list[tuple[OrgUnit, str]]:
    """Every list of units a page offers (filters, pickers): in tree order, each indented under its parent, a merged
    or dissolved one marked — so a commune's offices sit under it and two units of one name are told apart."""
    return [
        (unit, "— " * depth + (unit.name if unit.is_active else _("%(name)s (merged)", name=unit.name)))
        for unit, depth in in_tree_order(list(units))
    ]


def post_picker(roles: Iterable[str], raw_unit: Any) -> PostPicker:
    units = units_under_roles(db.session, current_user, roles)
    chosen = parse_id(raw_unit)
    unit_id = chosen if chosen in {unit.id for unit in units} else None
    posts = [Choice(post.id, post_label(post)) for post in unit_posts(db.session, unit_id)] if unit_id else []
    return PostPicker(_unit_choices(units), unit_id, posts)


def showing_posts() -> bool:
    """Whether this POST only asks for the posts of the chosen unit (nothing is started)."""
    return request.method == "POST" and SHOW_POSTS in request.form


def posts_json(roles: Iterable[str]) -> Response:
    """The posts of `?unit=` as JSON; 404 for a unit that is not active and in the person's scope for `roles`."""
    unit_id = parse_id(request.args.get("unit"))
    unit = db.session.get(OrgUnit, unit_id) if unit_id else None
    if unit is None or not unit.is_active or not oversees_unit(db.session, current_user, unit.id, roles):
        abort(404)
    posts = unit_posts(db.session, unit.id)
    return jsonify(
        {
            "unit": unit.id,
            "posts": [
                {"id": p.id, "title": p.title, "is_occupied": p.is_occupied, "label": post_label(p)} for p in posts
            ],
        }
    )


def cadre_suggestions() -> list[Any]:
    return startable_subjects(db.session, current_user)


# Longer than any code or name: what is typed past it cannot narrow a search further.
MAX_SEARCH_LENGTH = 100


def cadres_json() -> Response:
    """The cadres of the start pages' scope that `?q=` finds (code prefix, or name with marks and case ignored), as
    JSON; the page's own guard runs first. Up to `SUBJECT_SEARCH_LIMIT` of them: typing more narrows the list."""
    typed = request.args.get("q", "")[:MAX_SEARCH_LENGTH]
    return found_cadres_json(search_startable_subjects(db.session, current_user, typed))


def found_cadres_json(found: Iterable[Cadre]) -> Response:
    """What a cadre search answers static/cadre_search.js: each cadre's code, name, unit and the line listed."""
    return jsonify(
        {
            "cadres": [
                {
                    "code": cadre.code,
                    "name": cadre.full_name,
                    "unit": cadre.unit.name,
                    "label": f"{cadre.code} — {cadre.full_name} — {cadre.unit.name}",
                }
                for cadre in found
            ]
        }
    )
