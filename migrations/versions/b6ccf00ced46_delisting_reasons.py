"""delisting reasons as keys and values, not an English sentence

A named unit's delisting flag was stored as one English line ("rating B below A; 2
complaint(s) overdue") and shown as it was to Chinese and English readers alike. It becomes
`nomination.delisting_reasons`, JSON: failed rule -> the values its reason is worded from,
NULL while the unit meets its rules; the page words the reasons in the reader's language.
The timeline's notes that the application wrote itself ("flagged for delisting: ...",
"meets the rules again: ...", "renewed until ...: <officer's reason>", "title term ended")
become `nomination_event.system_note`, JSON, beside the officer's own words in `note`.

Existing rows are converted: the old lines came from a fixed set of patterns, read back
here. A part of a line that matches none (only a line cut at its 300 characters could hold
one) is dropped; the unit stays flagged, and the next daily standing review writes its
reasons whole. The downgrade writes the English lines again.

Revision ID: b6ccf00ced46
Revises: a7d2c4e9b615
Create Date: 2026-12-03 14:30:00

"""
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = 'b6ccf00ced46'
down_revision = 'a7d2c4e9b615'
branch_labels = None
depends_on = None

# The old lines' patterns as they stood (nominations.services.FLAG_TEXT before this revision).
FLAG_PATTERNS = (
    ("registration", re.compile(r"registration no longer approved")),
    ("grade", re.compile(r"rating (?P<grade>.+) below (?P<required>\S+)")),
    ("pledges", re.compile(r"pledges required: (?P<required>\d+), active long enough: (?P<long_enough>\d+)")),
    ("penalty", re.compile(r"penalty decided on (?P<last>.+)")),
    ("complaints", re.compile(r"(?P<overdue>\d+) complaint\(s\) overdue")),
)
FLAGGED = "flagged for delisting: "
CLEARED = "meets the rules again: delisting flag cleared"
RENEWED = re.compile(r"renewed until (?P<until>\d{4}-\d{2}-\d{2}): (?P<reason>.*)", re.DOTALL)
EXPIRED = "title term ended"

nomination = sa.table(
    'nomination', sa.column('id', sa.Integer()), sa.column('delisting_flag', sa.String()),
    sa.column('delisting_reasons', sa.JSON(none_as_null=True)))
event = sa.table(
    'nomination_event', sa.column('id', sa.Integer()), sa.column('from_status', sa.String()),
    sa.column('to_status', sa.String()), sa.column('actor_id', sa.Integer()), sa.column('note', sa.String()),
    sa.column('system_note', sa.JSON(none_as_null=True)))


def reasons_of(line: str) -> dict[str, dict[str, Any]]:
    """An old flag line as rule -> values (nominations.rules.flag_reasons)."""
    reasons: dict[str, dict[str, Any]] = {}
    for part in line.split("; "):
        for rule, pattern in FLAG_PATTERNS:
            found = pattern.fullmatch(part.strip())
            if found is None:
                continue
            values: dict[str, Any] = found.groupdict()
            if rule == "grade" and values["grade"] in ("not rated", "NR"):
                values["grade"] = None
            for number in ("required", "long_enough", "overdue"):
                if number in values and rule != "grade":
                    values[number] = int(values[number])
            reasons[rule] = values
            break
    return reasons


def line_of(reasons: dict[str, dict[str, Any]]) -> str:
    """rule -> values as an old flag line, for the downgrade."""
    texts = {
        "registration": lambda v: "registration no longer approved",
        "grade": lambda v: f"rating {v.get('grade') or 'not rated'} below {v.get('required')}",
        "pledges": lambda v: f"pledges required: {v.get('required')}, active long enough: {v.get('long_enough')}",
        "penalty": lambda v: f"penalty decided on {v.get('last')}",
        "complaints": lambda v: f"{v.get('overdue')} complaint(s) overdue",
    }
    return "; ".join(texts[k](v) for k, v in reasons.items() if k in texts)[:300]


def _event_note(row: Any) -> tuple[str, dict[str, Any] | None] | None:
    """An old timeline row's (note, system_note); None when a person wrote its note."""
    note = row.note or ""
    if row.actor_id is None and row.from_status == row.to_status == "approved":
        if note.startswith(FLAGGED):
            return "", {"kind": "flagged", "reasons": reasons_of(note[len(FLAGGED):])}
        if note == CLEARED:
            return "", {"kind": "cleared"}
    if row.actor_id is None and row.to_status == "expired" and note == EXPIRED:
        return "", None
    if row.actor_id is not None and row.from_status == row.to_status == "approved":
        renewed = RENEWED.fullmatch(note)
        if renewed:
            return renewed["reason"], {"kind": "renewed", "until": renewed["until"]}
    return None


def upgrade():
    with op.batch_alter_table('nomination_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_note', sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delisting_reasons', sa.JSON(none_as_null=True), nullable=True))

    bind = op.get_bind()
    for row in bind.execute(sa.select(nomination.c.id, nomination.c.delisting_flag)
                            .where(nomination.c.delisting_flag != "")).all():
        bind.execute(nomination.update().where(nomination.c.id == row.id)
                     .values(delisting_reasons=reasons_of(row.delisting_flag)))
    for row in bind.execute(sa.select(event).where(event.c.note != "")).all():
        converted = _event_note(row)
        if converted is not None:
            bind.execute(event.update().where(event.c.id == row.id)
                         .values(note=converted[0], system_note=converted[1]))

    # SQLite rebuilds the table to drop the column; the partial unique index is reflected
    # and written out again with it.
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.drop_column('delisting_flag')


def downgrade():
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delisting_flag', sa.String(length=300), nullable=False,
                                      server_default=""))
    bind = op.get_bind()
    for row in bind.execute(sa.select(nomination.c.id, nomination.c.delisting_reasons)
                            .where(nomination.c.delisting_reasons.is_not(None))).all():
        bind.execute(nomination.update().where(nomination.c.id == row.id)
                     .values(delisting_flag=line_of(row.delisting_reasons)))
    for row in bind.execute(sa.select(event).where(event.c.system_note.is_not(None))).all():
        kind = row.system_note.get("kind")
        if kind == "flagged":
            note = FLAGGED + line_of(row.system_note.get("reasons") or {})
        elif kind == "cleared":
            note = CLEARED
        elif kind == "renewed":
            note = f"renewed until {row.system_note.get('until')}: {row.note}"
        else:
            continue
        bind.execute(event.update().where(event.c.id == row.id).values(note=note[:1000]))
    bind.execute(event.update().where(event.c.actor_id.is_(None), event.c.to_status == "expired",
                                      event.c.note == "").values(note=EXPIRED))

    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.alter_column('delisting_flag', existing_type=sa.String(length=300), server_default=None)
        batch_op.drop_column('delisting_reasons')
    with op.batch_alter_table('nomination_event', schema=None) as batch_op:
        batch_op.drop_column('system_note')
