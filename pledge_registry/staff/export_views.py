"""Staff: the registry exported to CSV or Excel with the directory's filters."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from ..forms import query_int, query_text
from ..i18n import select_locale
from ..models import CATEGORIES, PledgeKind
from ..registry.export import export
from ..search.directory import DirectoryQuery
from ..security import security_event, staff_required
from ..spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE
from ..urls import MAX_ID
from . import bp


@bp.route("/registry/export")
@staff_required
def registry_export():
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    category = request.args.get("category", "")
    pledge = request.args.get("pledge", "")
    query = DirectoryQuery(query_text("q"), query_int("town", None, 1, MAX_ID), query_int("area", None, 1, MAX_ID),
                           category if category in CATEGORIES else "",
                           pledge if pledge in (PledgeKind.GENUINE, PledgeKind.RETURNS) else "")
    body, count = export(current_user, query, fmt, select_locale() == "en")
    security_event("registry_export", rows=count, format=fmt, town=query.town_id)
    return Response(body, mimetype=XLSX_MIMETYPE if fmt == "xlsx" else CSV_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="registry.{fmt}"'})
