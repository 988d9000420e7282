"""marketing campaigns: definitions, runs, responses; campaign messages in the outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 03:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'campaign',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('spec', sa.JSON(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_run_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_occurrence', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['staff_member.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_campaign_next', 'campaign', ['state', 'next_run_at'], unique=False)
    op.create_table(
        'campaign_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('occurrence', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('planned_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('targeted', sa.Integer(), nullable=False),
        sa.Column('excluded', sa.JSON(), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=True),
        sa.Column('pinned', sa.Boolean(), nullable=False),
        sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'occurrence'),
    )
    op.create_index(op.f('ix_campaign_run_campaign_id'), 'campaign_run', ['campaign_id'],
                    unique=False)
    op.create_table(
        'campaign_response',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('variant', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id']),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.ForeignKeyConstraint(['run_id'], ['campaign_run.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'customer_id', 'kind'),
    )
    op.create_index(op.f('ix_campaign_response_campaign_id'), 'campaign_response',
                    ['campaign_id'], unique=False)
    op.create_table(
        'campaign_draft',
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id']),
        sa.PrimaryKeyConstraint('staff_id'),
    )
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('variant', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.create_foreign_key('fk_touch_campaign_run', 'campaign_run',
                                    ['campaign_run_id'], ['id'])
        batch_op.create_index('ix_touch_run', ['campaign_run_id', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_run')
        batch_op.drop_constraint('fk_touch_campaign_run', type_='foreignkey')
        batch_op.drop_column('variant')
        batch_op.drop_column('campaign_run_id')
    op.drop_table('campaign_draft')
    op.drop_index(op.f('ix_campaign_response_campaign_id'), table_name='campaign_response')
    op.drop_table('campaign_response')
    op.drop_index(op.f('ix_campaign_run_campaign_id'), table_name='campaign_run')
    op.drop_table('campaign_run')
    op.drop_index('ix_campaign_next', table_name='campaign')
    op.drop_table('campaign')
