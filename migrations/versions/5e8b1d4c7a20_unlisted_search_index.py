"""merchant search index of the shops that are not listed, for the staff search

The directory's index holds the listed (approved) shops only; staff search every shop,
whatever its status. The others (waiting for review, rejected, closed) get their own grams
and text here, so that the two sets together hold every shop once, and the directory's
rows and queries stay as they were. Filled for the existing merchants in the upgrade.

Revision ID: 5e8b1d4c7a20
Revises: 9a4f1c2e7b31
Create Date: 2026-12-02 14:20:00

"""
import sqlalchemy as sa
from alembic import op

from pledge_registry.search.index import Searchable, fill

revision = '5e8b1d4c7a20'
down_revision = '9a4f1c2e7b31'
branch_labels = None
depends_on = None

# The declaration as it stood at this revision (the model's may change later).
SEARCHABLE = Searchable(text=("shop_name", "legal_name", "address", "credit_code"),
                        filters=("town_id", "area_id", "category"), listed=("status", "approved"))


def upgrade():
    op.create_table(
        'merchant_unlisted_gram',
        sa.Column('gram', sa.String(length=2), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'],
                                name=op.f('fk_merchant_unlisted_gram_merchant_id_merchant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('gram', 'merchant_id', name=op.f('pk_merchant_unlisted_gram')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'merchant_unlisted_text',
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'],
                                name=op.f('fk_merchant_unlisted_text_merchant_id_merchant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_merchant_unlisted_text')),
    )
    fill(op.get_bind(), SEARCHABLE, listed=False)


def downgrade():
    op.drop_table('merchant_unlisted_text')
    op.drop_table('merchant_unlisted_gram')
