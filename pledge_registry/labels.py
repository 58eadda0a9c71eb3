"""The look-up of display labels, and their one registration as template globals.

Each feature keeps the labels of its stored codes in its own labels module (registry,
pledges, complaints, nominations, ratings, compliance, publication, scan_reports, auth's
roles, and the spike alerts' analysis/alert_labels), as lazy translations; `label` turns a table and a
code into the text, and `register` gives templates every feature's look-ups (create_app).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask


def label(table: Mapping[str, object], code: str | None) -> str:
    """The translated label for a stored code; the code itself if it has none."""
    if code is None:
        return ""
    return str(table.get(code, code))


def register(app: Flask) -> None:
    """Make every feature's label look-ups available to every template."""
    from .analysis import alert_labels
    from .auth import labels as auth
    from .complaints import labels as complaints
    from .compliance import labels as compliance
    from .nominations import labels as nominations
    from .pledges import labels as pledges
    from .publication import labels as publication
    from .ratings import labels as ratings
    from .registry import labels as registry
    from .scan_reports import labels as scan_reports

    for feature in (registry, pledges, complaints, nominations, ratings, compliance, publication, scan_reports,
                    alert_labels, auth):
        clash = app.jinja_env.globals.keys() & feature.TEMPLATE_GLOBALS.keys()
        if clash:
            raise RuntimeError(f"two template globals named {sorted(clash)}")
        app.jinja_env.globals.update(feature.TEMPLATE_GLOBALS)
