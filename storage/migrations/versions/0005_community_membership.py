"""customers' membership of the community group

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 02:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_member', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('community_joined_at', UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.alter_column('community_member', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('community_joined_at')
        batch_op.drop_column('community_member')
