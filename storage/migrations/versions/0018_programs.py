"""care programs, lifecycle triggers, RFM and customers' own preferences

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 16:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RFM = ('rfm_recency', 'rfm_frequency', 'rfm_monetary')


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('quiet_hours', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('max_messages', sa.Integer(), nullable=True))
        for name in RFM:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rfm_segment', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('rfm_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_rfm_segment'), ['rfm_segment'],
                              unique=False)
    # Customers linked before this revision: their record's creation is the best guess
    # at when, and keeps a program from greeting them all on its first day.
    op.execute("UPDATE customer SET linked_at = created_at WHERE chat_id IS NOT NULL")
    with op.batch_alter_table('business_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_cents', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
        batch_op.create_index('ix_event_type_customer', ['type', 'customer_id', 'occurred_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('business_event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_type_customer')
        batch_op.drop_column('currency')
        batch_op.drop_column('amount_cents')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_rfm_segment'))
        for name in ('rfm_at', 'rfm_segment', *reversed(RFM), 'max_messages', 'quiet_hours',
                     'linked_at'):
            batch_op.drop_column(name)
