"""the weeks whose KPI digest went out

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('weekly_digest',
    sa.Column('week', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('queued_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('week')
    )


def downgrade() -> None:
    op.drop_table('weekly_digest')
