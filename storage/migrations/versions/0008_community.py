"""the community group: members by Telegram account, joins and leaves, welcomes; help
requests as cases

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 03:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('community_member',
    sa.Column('telegram_user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('member', sa.Boolean(), nullable=False),
    sa.Column('joined_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('left_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('welcome_pending', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('telegram_user_id')
    )
    with op.batch_alter_table('community_member', schema=None) as batch_op:
        batch_op.create_index('ix_community_welcome', ['welcome_pending', 'joined_at'],
                              unique=False)

    op.create_table('community_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_event_at'), ['at'], unique=False)

    op.create_table('community_welcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbound_id', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('posted_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbound_id'], ['outbound_message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=4096),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_column('question')

    op.drop_table('community_welcome')
    with op.batch_alter_table('community_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_event_at'))
    op.drop_table('community_event')
    with op.batch_alter_table('community_member', schema=None) as batch_op:
        batch_op.drop_index('ix_community_welcome')
    op.drop_table('community_member')
