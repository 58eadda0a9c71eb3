"""Staff: the registry exported to CSV or Excel with the directory's filters."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from ..i18n import select_locale
from ..registry.export import export
from ..search.directory import query_from_request
from ..security import security_event, staff_required
from ..spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE
from . import bp


@bp.route("/registry/export")
@staff_required
def registry_export():
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    query = query_from_request()  # the directory page's filters, read as that page reads them
    body, count = export(current_user, query, fmt, select_locale() == "en")
    security_event("registry_export", rows=count, format=fmt, town=query.town_id)
    return Response(body, mimetype=XLSX_MIMETYPE if fmt == "xlsx" else CSV_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="registry.{fmt}"'})
