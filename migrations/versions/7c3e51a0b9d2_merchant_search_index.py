"""merchant search index: grams and normalised text of every listed shop

Revision ID: 7c3e51a0b9d2
Revises: 1f5c2a34bc57
Create Date: 2026-12-02 05:50:00

The index is filled for the existing merchants here, in the upgrade's transaction (a province
of 500,000 shops takes a few minutes); `flask search rebuild` does the same at any time.
"""
import sqlalchemy as sa
from alembic import op

from pledge_registry.search.index import Searchable, fill

# revision identifiers, used by Alembic.
revision = '7c3e51a0b9d2'
down_revision = '1f5c2a34bc57'
branch_labels = None
depends_on = None

# The declaration as it stood at this revision (the model's may change later).
SEARCHABLE = Searchable(text=("shop_name", "legal_name", "address", "credit_code"),
                        filters=("town_id", "area_id", "category"), listed=("status", "approved"))


def upgrade():
    op.create_table(
        'merchant_search_gram',
        sa.Column('gram', sa.String(length=2), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('town_id', sa.Integer(), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=True),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'],
                                name=op.f('fk_merchant_search_gram_merchant_id_merchant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('gram', 'merchant_id', name=op.f('pk_merchant_search_gram')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'merchant_search_text',
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('town_id', sa.Integer(), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=True),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'],
                                name=op.f('fk_merchant_search_text_merchant_id_merchant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_merchant_search_text')),
    )
    for name, columns in [("town", ["town_id", "merchant_id"]),
                          ("town_category", ["town_id", "category", "merchant_id"]),
                          ("area", ["area_id", "merchant_id"]), ("category", ["category", "merchant_id"])]:
        op.create_index(f"ix_merchant_search_text_{name}", "merchant_search_text", columns)
    fill(op.get_bind(), SEARCHABLE)


def downgrade():
    op.drop_table('merchant_search_text')
    op.drop_table('merchant_search_gram')
