"""complaint publication (消费投诉公示): quarters, entries per merchant, their events

Revision ID: b4e2d9c17a30
Revises: d9f988d93fb8
Create Date: 2026-12-02 07:59:27.868509

"""
import sqlalchemy as sa
from alembic import op

import pledge_registry.database

revision = 'b4e2d9c17a30'
down_revision = 'd9f988d93fb8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaint_publication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notified_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notice_ends_on', sa.Date(), nullable=True),
    sa.Column('published_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'published') = (published_at IS NOT NULL)", name=op.f('ck_complaint_publication_published_at')),
    sa.CheckConstraint("status = 'draft' OR notified_at IS NOT NULL", name=op.f('ck_complaint_publication_notified_at')),
    sa.CheckConstraint("status IN ('draft', 'notice', 'published')", name=op.f('ck_complaint_publication_status')),
    sa.CheckConstraint('period_start < period_end', name=op.f('ck_complaint_publication_period')),
    sa.CheckConstraint('quarter BETWEEN 1 AND 4', name=op.f('ck_complaint_publication_quarter')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_complaint_publication_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_complaint_publication_published_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_publication')),
    sa.UniqueConstraint('year', 'quarter', name=op.f('uq_complaint_publication_year_quarter'))
    )
    op.create_table('publication_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('shop_name', sa.String(length=100), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('mediation_ended', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('statement', sa.String(length=200), nullable=False),
    sa.Column('statement_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=False),
    sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f('ck_publication_entry_decided')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'withheld')", name=op.f('ck_publication_entry_status')),
    sa.CheckConstraint('accepted >= 0 AND accepted <= received', name=op.f('ck_publication_entry_accepted')),
    sa.CheckConstraint('length(statement) <= 200', name=op.f('ck_publication_entry_statement_length')),
    sa.CheckConstraint('resolved >= 0 AND resolved <= mediation_ended AND mediation_ended <= accepted', name=op.f('ck_publication_entry_resolved')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_publication_entry_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_publication_entry_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['publication_id'], ['complaint_publication.id'], name=op.f('fk_publication_entry_publication_id_complaint_publication')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_publication_entry_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_entry')),
    sa.UniqueConstraint('publication_id', 'merchant_id', name=op.f('uq_publication_entry_publication_id_merchant_id'))
    )
    with op.batch_alter_table('publication_entry', schema=None) as batch_op:
        batch_op.create_index('ix_publication_entry_merchant', ['merchant_id', 'publication_id'], unique=False)
        batch_op.create_index('ix_publication_entry_list', ['publication_id', 'status', 'id'], unique=False)

    op.create_table('publication_entry_event',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_publication_entry_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['publication_entry.id'], name=op.f('fk_publication_entry_event_entry_id_publication_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_entry_event'))
    )
    with op.batch_alter_table('publication_entry_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_entry_event_entry_id'), ['entry_id'], unique=False)



def downgrade():
    with op.batch_alter_table('publication_entry_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_entry_event_entry_id'))

    op.drop_table('publication_entry_event')
    with op.batch_alter_table('publication_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_publication_entry_list')
        batch_op.drop_index('ix_publication_entry_merchant')

    op.drop_table('publication_entry')
    op.drop_table('complaint_publication')
