"""The catalogs' Python extractor finds the messages Babel's own misses: those of a keyword's call inside another's."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract

from webapp.i18n_extract import extract as canbo_extract

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "Invalid": None, "Problem": None, "NotFound": None}
SOURCE = b"""
raise Invalid("the token name is too long", [Problem("at most 120 characters", field="name")])
raise Invalid("outer", [Problem(_("inner, translated at once"))])
missing = N_("kept in a variable")
flash(ngettext("%(num)d task approved.", "%(num)d tasks approved.", done))
raise NotFound(f"task {task_id} does not exist")
problem = Problem(message_chosen_elsewhere)
"""


def _messages(method: object) -> set[object]:
    return {message for _line, message, _comments, _context in extract(method, BytesIO(SOURCE), KEYWORDS)}


def test_nested_messages_are_extracted_as_well_as_babels_own() -> None:
    found = _messages(canbo_extract)
    assert found == {
        "the token name is too long",
        "at most 120 characters",
        "outer",
        "inner, translated at once",
        "kept in a variable",
        ("%(num)d task approved.", "%(num)d tasks approved."),
    }
    # What the project's extractor adds is exactly what Babel's own missed.
    assert found - _messages("python") == {"at most 120 characters", "inner, translated at once"}


def test_the_catalogs_are_extracted_with_it() -> None:
    config = (Path(__file__).resolve().parents[2] / "babel.cfg").read_text(encoding="utf-8")
    assert "webapp.i18n_extract:extract" in config
    assert "[canbo_python: webapp/**.py]" in config and "[canbo_python: workflows/**.py]" in config
