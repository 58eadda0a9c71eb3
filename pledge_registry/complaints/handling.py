"""What the merchant's and the officers' complaint screens share: the workflow's refusals
as they read them, and the clock.

Views stay thin: the rules (which move is legal, who may make it, when a note is needed)
live in complaints.workflow; a refusal comes back as a WorkflowError code that is shown
as a sentence, with nothing changed.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from ..refusals import Table, bad_input, conflict, forbidden

# Refusal codes of complaints.workflow, as merchants and officers read them.
REFUSALS: Table = {
    "not_owner": forbidden(_l("This case is not about one of your shops.")),
    "not_officer": forbidden(_l("You cannot handle this case.")),
    "not_assigned": forbidden(_l("Only the officer assigned to this case can see the full phone number.")),
    "reply_required": bad_input(_l("Write your answer.")),
    "proposal_kind": bad_input(_l("Choose what you propose.")),
    "reject_reason": bad_input(_l("Choose a reason from the list.")),
    "outcome": bad_input(_l("Choose resolved or not resolved.")),
    "advice_required": bad_input(_l("Give the advice: arbitration or court.")),
    "amount": bad_input(_l("The amount cannot be negative.")),
    "not_duplicate": bad_input(_l("Only another case about the same shop can be linked.")),
    "illegal_transition": conflict(
        _l("That is not possible in the case's current state. Reload the page to see it.")),
    "anonymised": conflict(_l("The shopper's contact details have been deleted (retention period).")),
    "closed": conflict(_l("This case is closed.")),
    "not_station_case": forbidden(_l("Only the station handling this case can hand it to the bureau.")),
    "reason_required": bad_input(_l("Give the reason.")),
    "pause_reason": bad_input(_l("Choose why the clock stops.")),
    "already_paused": conflict(_l("The clock of this case is already stopped.")),
    "not_paused": conflict(_l("The clock of this case is running.")),
}


def is_overdue(due: datetime | None, at: datetime) -> bool:
    return due is not None and due < at
