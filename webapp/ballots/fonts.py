"""Which fonts the tally minutes' PDF would be made with, answered without importing fpdf2 (decision 0117): the
minutes page asks on every view whether to offer the PDF, and only the PDF itself needs the library."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def pdf_font() -> tuple[Path, Path] | None:
    """The regular and bold font files, or None when the regular one is missing (bold falls back to regular)."""
    regular = Path(current_app.config.get("MINUTES_PDF_FONT") or DEFAULT_FONT)
    bold = Path(current_app.config.get("MINUTES_PDF_FONT_BOLD") or DEFAULT_BOLD_FONT)
    if not regular.is_file():
        return None
    return regular, (bold if bold.is_file() else regular)
