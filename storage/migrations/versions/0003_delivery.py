"""delivery: touch categories, the due index in scan order, reply order per chat, event source ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='service'))
        batch_op.drop_index('ix_touch_due')
        batch_op.create_index('ix_touch_due', ['state', 'due_at', 'id'], unique=False)
        batch_op.drop_index('ix_touch_customer_id')
        batch_op.create_index('ix_touch_customer_due', ['customer_id', 'state', 'due_at'],
                                 unique=False)
    # Surveys scheduled before categories existed are surveys.
    op.execute("UPDATE touch SET category = 'survey' WHERE survey_key IS NOT NULL")
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.alter_column('category', server_default=None)

    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_chat', ['chat_id', 'state', 'id'], unique=False)

    with op.batch_alter_table('business_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(length=128),
                                      nullable=True))
        batch_op.create_unique_constraint('uq_business_event_source_id', ['source_id'])


def downgrade() -> None:
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_chat')

    with op.batch_alter_table('business_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_business_event_source_id', type_='unique')
        batch_op.drop_column('source_id')

    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_customer_due')
        batch_op.create_index('ix_touch_customer_id', ['customer_id'], unique=False)
        batch_op.drop_index('ix_touch_due')
        batch_op.create_index('ix_touch_due', ['state', 'due_at'], unique=False)
        batch_op.drop_column('category')
