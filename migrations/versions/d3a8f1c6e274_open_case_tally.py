"""open cases counted by the local day of each deadline, for the late counts of the analysis pages

The staff analysis pages count the open cases past a deadline. They read them from this
table (the cases due before today's local day) and count live only those due today.
The table is filled here from the open cases as they stand, with the rule of
analysis/tally.py (`_open_contribution`) as it is at this revision: per deadline, dimension
and scope, one row per due day, day of receipt and key.

Revision ID: d3a8f1c6e274
Revises: b6ccf00ced46
Create Date: 2026-12-04 02:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd3a8f1c6e274'
down_revision = 'b6ccf00ced46'
branch_labels = None
depends_on = None

ALL_TOWNS = 0
# deadline: (which open cases wait on it, its column)
DEADLINES = {
    "acceptance": ("c.status = 'received'", "c.acceptance_due_at"),
    "completion": ("c.status <> 'closed'", "c.completion_due_at"),
}


def _id_text(column: str) -> str:
    return f"COALESCE(CAST({column} AS VARCHAR), '')"


# name, key, counted across towns as well as in the town
DIMENSIONS = (
    ("all", "''", True),
    ("category", "m.category", True),
    ("problem_type", "c.problem_type", True),
    ("channel", "c.channel", True),
    ("town", _id_text("m.town_id"), False),
    ("area", _id_text("m.area_id"), False),
    ("station", _id_text("c.station_id"), False),
    ("merchant", _id_text("c.merchant_id"), False),
    ("business", "m.credit_code", True),
)


def _local_day(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"CAST(timezone('Asia/Shanghai', {column}) AS DATE)"
    return f"date({column}, '+8 hours')"


def upgrade():
    op.create_table(
        'open_case_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('request_type', sa.String(length=16), nullable=False),
        sa.Column('deadline', sa.String(length=16), nullable=False),
        sa.Column('scope_town_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.CheckConstraint("deadline IN ('acceptance', 'completion')", name=op.f('ck_open_case_tally_deadline')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open_case_tally')),
        sa.UniqueConstraint('dimension', 'request_type', 'deadline', 'scope_town_id', 'due_on', 'received_on',
                            'key', name='uq_open_case_tally_key'),
    )
    op.create_index('ix_open_case_tally_key', 'open_case_tally',
                    ['dimension', 'request_type', 'key', 'due_on', 'received_on', 'deadline', 'scope_town_id',
                     'cases'], unique=False)
    op.create_index('ix_open_case_tally_spent', 'open_case_tally', ['id'], unique=False,
                    sqlite_where=sa.text('cases = 0'), postgresql_where=sa.text('cases = 0'))
    dialect = op.get_bind().dialect.name
    received_on = _local_day("c.received_at", dialect)
    for deadline, (waiting, due) in DEADLINES.items():
        due_on = _local_day(due, dialect)
        for name, key, crosses_towns in DIMENSIONS:
            for scope in ("m.town_id", str(ALL_TOWNS)) if crosses_towns else ("m.town_id",):
                # A constant in GROUP BY would be read as a column's position: left out.
                grouped = ", ".join(e for e in ("c.request_type", scope, due_on, received_on, key)
                                    if e not in (str(ALL_TOWNS), "''"))
                op.execute(sa.text(
                    "INSERT INTO open_case_tally (dimension, request_type, deadline, scope_town_id, due_on, "
                    "received_on, key, cases) "
                    f"SELECT '{name}', c.request_type, '{deadline}', {scope}, {due_on}, {received_on}, {key}, "
                    "COUNT(*) FROM complaint c JOIN merchant m ON m.id = c.merchant_id "
                    f"WHERE {waiting} GROUP BY {grouped}"))


def downgrade():
    op.drop_index('ix_open_case_tally_key', table_name='open_case_tally')
    op.drop_index('ix_open_case_tally_spent', table_name='open_case_tally',
                  sqlite_where=sa.text('cases = 0'), postgresql_where=sa.text('cases = 0'))
    op.drop_table('open_case_tally')
