"""Forged and stale badges: scans of unknown codes and of badges that are not valid, the
shoppers' reports of where such a sticker hangs, the alerts they raise and staff's page.

The scan page hands a suspicious scan to its worker's recorder (recorder.py), which writes
them in one batch a second; valid badges write nothing. `flask scans alert` raises alerts,
`flask scans purge` keeps 30 days at most.
"""

from flask import Blueprint

bp = Blueprint("scan_reports", __name__)

from . import views  # noqa: E402,F401
