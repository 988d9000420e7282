"""privacy: consent text versions, do-not-contact, muting, erasure, the audit log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 03:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_consent_version', _string(32), nullable=True))
        batch_op.add_column(sa.Column('marketing_consent_version', _string(32), nullable=True))
        batch_op.add_column(sa.Column('do_not_contact', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('do_not_contact_reason', _string(200), nullable=True))
        batch_op.add_column(sa.Column('muted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('muted_reason', _string(200), nullable=True))
        batch_op.add_column(sa.Column('erased_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.alter_column('do_not_contact', server_default=None)
        batch_op.alter_column('muted', server_default=None)

    op.create_table(
        'audit_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', _string(16), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('action', _string(32), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_customer_action', ['customer_id', 'action', 'at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_customer_action')
        batch_op.drop_index('ix_audit_at')
    op.drop_table('audit_entry')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('muted_reason')
        batch_op.drop_column('muted')
        batch_op.drop_column('do_not_contact_reason')
        batch_op.drop_column('do_not_contact')
        batch_op.drop_column('marketing_consent_version')
        batch_op.drop_column('service_consent_version')
