"""surveys' reminders, expiry and reasons; the case desk: card queue, forum topics, SLA alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('survey_invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('survey_answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))

    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', UTCDateTime(timezone=True), nullable=True))
        # Cases opened before the desk had their cards posted at once.
        batch_op.add_column(sa.Column('card_state', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='posted'))
        batch_op.add_column(sa.Column('topic_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('overdue_alerted_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_case_card', ['card_state', 'id'], unique=False)
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.alter_column('card_state', server_default=None)

    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_column('username')

    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_card')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('overdue_alerted_at')
        batch_op.drop_column('topic_id')
        batch_op.drop_column('card_state')
        batch_op.drop_column('first_response_at')

    with op.batch_alter_table('survey_answer', schema=None) as batch_op:
        batch_op.drop_column('reason')

    with op.batch_alter_table('survey_invitation', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('reminded_at')
