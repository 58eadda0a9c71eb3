"""The shopper's report of where a sticker with an unknown code hangs: no personal data asked."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from ..forms import BaseForm, text_field


class StickerReportForm(BaseForm):
    town = SelectField(_l("Town or district"), coerce=int, default=0)
    place = text_field(_l("Where: mall, street or market"), max_length=100, area=False)
    shop_name = text_field(_l("Shop name on the sign"), max_length=100, area=False)
    note = text_field(_l("Anything else (optional)"), max_length=500)
    submit = SubmitField(_l("Send the report"))

    def set_towns(self, towns: list[tuple[int, str]]) -> StickerReportForm:
        self.town.choices = [SelectChoice(0, _l("Not sure")), *(SelectChoice(i, name) for i, name in towns)]
        return self

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and not (self.place.data or self.shop_name.data):
            self.place.errors = [*self.place.errors, str(_l("Say where you saw it: the place or the shop's name."))]
            return False
        return ok
