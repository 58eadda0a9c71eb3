"""scan page notifications: NOTIFY merchant_public_page when a page's version changes

Revision ID: 7c1e9a0d5b42
Revises: 7c3e51a0b9d2
Create Date: 2026-12-02 06:00:00

PostgreSQL only. A trigger on the merchant table, not the application, sends the
notification: it then also covers SQL run outside the app (a fix in psql, a bulk script),
and pg_notify inside the writing transaction is delivered only if, and when, it commits.
Statement-level with transition tables, so the nightly rating recompute's one UPDATE of
thousands of merchants sends a few batched notifications, not one per row.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c1e9a0d5b42'
down_revision = '7c3e51a0b9d2'
branch_labels = None
depends_on = None

# The payload is the merchant ids, comma-separated, 500 to a notification (at most about
# 5.5 KB, under PostgreSQL's 8,000-byte payload limit). public/scan_listener.py reads them.
_FUNCTION = """
CREATE FUNCTION merchant_public_page_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    batch text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR batch IN
            SELECT string_agg(id::text, ',') FROM (
                SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS part FROM old_rows) AS o
            GROUP BY part
        LOOP
            PERFORM pg_notify('merchant_public_page', batch);
        END LOOP;
    ELSE
        FOR batch IN
            SELECT string_agg(id::text, ',') FROM (
                SELECT n.id, (row_number() OVER (ORDER BY n.id) - 1) / 500 AS part
                FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
                WHERE n.public_version IS DISTINCT FROM o.public_version
                   OR n.badge_code IS DISTINCT FROM o.badge_code) AS c
            GROUP BY part
        LOOP
            PERFORM pg_notify('merchant_public_page', batch);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    # Transition tables allow one event per trigger, and no column list: two triggers.
    op.execute("CREATE TRIGGER merchant_public_page_update AFTER UPDATE ON merchant "
               "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION merchant_public_page_notify()")
    op.execute("CREATE TRIGGER merchant_public_page_delete AFTER DELETE ON merchant "
               "REFERENCING OLD TABLE AS old_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION merchant_public_page_notify()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER merchant_public_page_delete ON merchant")
    op.execute("DROP TRIGGER merchant_public_page_update ON merchant")
    op.execute("DROP FUNCTION merchant_public_page_notify()")
