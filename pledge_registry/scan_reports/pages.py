"""The unknown-code page, shown by the scan page and again by the report form with its errors."""

from __future__ import annotations

from flask import render_template

from ..models.scans import CODE_LENGTH
from .forms import StickerReportForm
from .services import town_choices


def unknown_badge_page(code: str, form: StickerReportForm | None = None) -> str:
    """The page of a code nobody issued, with the form to say where the sticker hangs."""
    if form is None:
        form = StickerReportForm(formdata=None).set_towns(town_choices())
    return render_template("public/unknown_badge.html", code=code[:CODE_LENGTH], report_form=form)
