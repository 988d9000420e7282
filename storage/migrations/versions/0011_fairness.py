"""updates stored on arrival, until handled: read ahead of one chat's backlog

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id')
    )


def downgrade() -> None:
    op.drop_table('inbound_update')
