"""The tally minutes (biên bản kiểm phiếu) as a PDF, with the same content and the same UI strings as the printable
page (templates/ballots/minutes.html), so the Vietnamese catalog serves both.

fpdf2's core fonts know only Latin-1; Vietnamese needs a Unicode TrueType font. MINUTES_PDF_FONT (and
MINUTES_PDF_FONT_BOLD) name it — by default DejaVu Sans from Debian's fonts-dejavu-core. Without the font the PDF is
not offered (the printable page remains): `pdf_font` says whether it can be made.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from webapp.ballots.wording import counting_basis, passed_heading
from webapp.i18n import case_reference
from workflows.ballots import TallyMinutes

FAMILY = "minutes"


def _nfc(text: Any) -> str:
    """Precomposed letters: the font has glyphs for "ế", not always for "e" + two combining marks."""
    return unicodedata.normalize("NFC", str(text))


class _Minutes(FPDF):
    def paragraph(self, text: str, *, bold: bool = False, align: str = "L", size: float = 11) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, 6, _nfc(text), align=align, new_x="LMARGIN", new_y="NEXT")


def minutes_pdf(
    minutes: TallyMinutes,
    fonts: tuple[Path, Path],
    labels: Mapping[str, Mapping[str, Any]],
    localdatetime: Callable[[datetime | None], str],
) -> bytes:
    """The PDF of `minutes`; `labels` are the page's outcome / denominator / mode labels."""
    m = minutes
    pdf = _Minutes(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.add_font(FAMILY, "", str(fonts[0]))
    pdf.add_font(FAMILY, "B", str(fonts[1]))
    pdf.set_title(_nfc(_("Tally minutes")))
    pdf.add_page()

    pdf.paragraph(m.unit_name, align="C")
    pdf.paragraph(_("TALLY MINUTES"), bold=True, align="C", size=14)
    pdf.paragraph(m.question, align="C")
    pdf.ln(3)
    intro = _(
        "Procedure: %(ref)s; step: %(step)s. Ballot: %(mode)s.",
        ref=case_reference(m.process_name, m.instance_id),
        step=m.step_name,
        mode=labels["mode"][m.mode],
    )
    if m.subject_name:
        intro += " " + _("Concerning: %(name)s.", name=m.subject_name)
    pdf.paragraph(intro)
    pdf.paragraph(
        _("Opened %(opened)s, closed %(closed)s.", opened=localdatetime(m.opened_dt), closed=localdatetime(m.closed_dt))
    )

    pdf.ln(2)
    pdf.paragraph(_("Attendance and ballots"), bold=True, size=12)
    quorum = _("Reached") if m.quorum_met else _("Not reached")
    rows = [
        (_("Members of the collective"), m.members),
        (_("Summoned"), m.summoned),
        (_("Present"), m.present),
        (_("Absent"), m.absent),
        (_("Quorum (%(quorum)s of those summoned)", quorum=m.rules.quorum), quorum),
        (_("Ballots issued"), m.issued),
        (_("Ballots returned"), m.returned),
        (_("Valid ballots"), m.valid),
        (_("Invalid ballots"), m.invalid),
    ]
    if m.signed:
        rows.append((_("Signed ballots"), m.signed))
    pdf.set_font(FAMILY, "", 11)
    with pdf.table(col_widths=(120, 50), text_align=("LEFT", "RIGHT"), first_row_as_headings=False) as table:
        for name, value in rows:
            row = table.row()
            row.cell(_nfc(name))
            row.cell(_nfc(value))

    pdf.ln(3)
    pdf.paragraph(_("Results"), bold=True, size=12)
    pdf.paragraph(counting_basis(m.rules, m.denominator))
    pdf.set_font(FAMILY, "", 10)
    headings = (_("Candidate"), _("Agree"), _("Disagree"), _("Abstain"), "%", passed_heading(m.rules))
    with pdf.table(
        col_widths=(60, 20, 22, 20, 20, 28),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        headings_style=FontFace(emphasis="BOLD"),
    ) as table:
        heading = table.row()
        for text in headings:
            heading.cell(_nfc(text))
        for c in m.candidates:
            passed = _("Yes") if c.passed else _("Exactly at the threshold") if c.at_threshold else _("No")
            row = table.row()
            for value in (c.name, c.yes, c.no, c.abstain, f"{c.percent:.2f}", passed):
                row.cell(_nfc(value))

    pdf.ln(3)
    result = f"{_('Result')}: {labels['outcome'][m.outcome]}"
    for names in (m.elected, m.head_decides, m.runoff):
        if names:
            result += " — " + ", ".join(names)
    pdf.paragraph(result, bold=True)
    if m.rules.announce:
        pdf.paragraph(_("The result is announced to the conference."))
    else:
        pdf.paragraph(_("The result is not announced to the conference; these minutes go to the competent authority."))
    if m.absent_names:
        pdf.paragraph(_("Absent: %(names)s.", names=", ".join(m.absent_names)))

    pdf.ln(12)
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    top = pdf.get_y()
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(half, 6, _nfc(_("The tally committee")), align="C")
    pdf.set_xy(pdf.l_margin + half, top)
    pdf.multi_cell(half, 6, _nfc(f"{_('Secretary')}\n\n\n\n{m.secretary_name or ''}"), align="C")
    return bytes(pdf.output())
