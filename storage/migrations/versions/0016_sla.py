"""three SLA levels with a resolution deadline, and promises made in cases

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolve_due_at', UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('resolve_alerted_at', UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        'case_promise',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('due_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('made_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('kept_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('reminded_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('overdue_alerted_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['support_case.id']),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('case_promise', schema=None) as batch_op:
        batch_op.create_index('ix_case_promise_open', ['kept_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_promise_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_promise_customer_id'), ['customer_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_promise', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_promise_customer_id'))
        batch_op.drop_index(batch_op.f('ix_case_promise_case_id'))
        batch_op.drop_index('ix_case_promise_open')
    op.drop_table('case_promise')
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_column('resolve_alerted_at')
        batch_op.drop_column('resolve_due_at')
