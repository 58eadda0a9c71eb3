"""Hand-written INSERTs stay in step with their tables, on both engines.

The filing path, the outbox and the rating recompute write rows with statements built once
(Core `insert()` given explicit parameters, or plain text), not through the ORM. A NOT NULL
column added to one of those tables would then fail only at run time, on the hot path;
these tests fail first. A Core INSERT gets the columns' Python defaults from SQLAlchemy,
a text one does not: for it every NOT NULL column without a server default must be named.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.complaints import filing
from pledge_registry.complaints.uploads import StoredPhoto
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, ComplaintEvent, ComplaintPhoto, OutboxMessage, Rating
from pledge_registry.outbox import _INSERT as OUTBOX_INSERT
from pledge_registry.ratings import services as rating_services
from tests.factories import make_merchant, new_complaint

_HEAD = re.compile(r'\s*INSERT INTO "?(\w+)"? \(([^)]*)\)')


def inserted_columns(sql: str) -> tuple[str, list[str]]:
    """(table, columns) named by an INSERT's SQL."""
    head = _HEAD.match(sql)
    assert head is not None, sql
    return head.group(1), [name.strip().strip('"') for name in head.group(2).split(",")]


def problems(table: sa.Table, table_name: str, columns: list[str], python_defaults_apply: bool) -> list[str]:
    """What is wrong with an INSERT into `table` naming `columns`; [] when nothing."""
    found = [f"writes {table_name}, not {table.name}"] if table_name != table.name else []
    found += [f"names {name}, which {table.name} lacks" for name in columns if name not in table.c]
    for column in table.columns:
        if column.nullable or column.server_default is not None or column is table.autoincrement_column:
            continue
        if python_defaults_apply and column.default is not None:
            continue
        if column.name not in columns:
            found.append(f"leaves out {column.name} (NOT NULL, no default)")
    return found


def compiled(statement: Any, row: dict[str, Any]) -> str:
    """The SQL a Core statement runs with these parameters, on the test's engine."""
    return str(statement.compile(dialect=db.engine.dialect, column_keys=list(row)))


@pytest.fixture
def plan(app: Any) -> filing.ComplaintPlan:
    return filing.plan_complaint(new_complaint(make_merchant()))


def test_the_filing_inserts_name_every_required_column_and_no_other(plan: filing.ComplaintPlan) -> None:
    photo = StoredPhoto("0" * 32 + ".jpg", 640, 480, 12345)
    for statement, table, row in (
        (filing.INSERT_COMPLAINT, Complaint.__table__, filing.complaint_row(plan)),
        (filing.INSERT_PHOTO, ComplaintPhoto.__table__, filing.photo_row(1, photo)),
        (filing.INSERT_EVENT, ComplaintEvent.__table__, filing.first_event_row(1, plan)),
    ):
        name, columns = inserted_columns(compiled(statement, row))
        assert problems(table, name, columns, python_defaults_apply=True) == []


@pytest.mark.usefixtures("app")
def test_the_text_inserts_name_every_required_column_and_no_other() -> None:
    rating_sql = rating_services._INSERT.format(breakdown=":breakdown")
    for sql, table in ((OUTBOX_INSERT.text, OutboxMessage.__table__), (rating_sql, Rating.__table__)):
        name, columns = inserted_columns(sql)
        assert problems(table, name, columns, python_defaults_apply=False) == []
    # PostgreSQL writes new ratings with COPY, naming its columns itself.
    copy_columns = list(rating_services._COLUMNS)
    assert problems(Rating.__table__, "rating", copy_columns, python_defaults_apply=False) == []


def test_a_new_required_column_is_caught(plan: filing.ComplaintPlan) -> None:
    """The check above fails for a NOT NULL column the INSERT does not know, and for a
    column the table does not have."""
    widened = Complaint.__table__.to_metadata(sa.MetaData())
    widened.append_column(sa.Column("shop_receipt_number", sa.String(40), nullable=False))
    name, columns = inserted_columns(compiled(filing.INSERT_COMPLAINT, filing.complaint_row(plan)))
    assert problems(widened, name, columns, python_defaults_apply=True) == [
        "leaves out shop_receipt_number (NOT NULL, no default)"]
    assert problems(Complaint.__table__, name, [*columns, "receipt"], python_defaults_apply=True) == [
        "names receipt, which complaint lacks"]


def test_the_prebuilt_inserts_write_a_whole_case(plan: filing.ComplaintPlan) -> None:
    """And they run: the planned case, its photo and first event are stored as planned."""
    photo = StoredPhoto("a" * 32 + ".jpg", 640, 480, 12345)
    filed = filing.record_complaint(plan, [photo])
    c = db.session.get_one(Complaint, filed.id)
    assert (c.tracking_code, c.received_at, c.wants) == (plan.tracking_code, plan.received_at, ["refund"])
    assert [(p.stored_name, p.width, p.height, p.size_bytes) for p in c.photos] == [
        (photo.stored_name, 640, 480, 12345)]
    assert [e.kind for e in c.events] == ["received"]
    assert c.received_at <= datetime.now(UTC)
