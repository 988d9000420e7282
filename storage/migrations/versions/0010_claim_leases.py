"""claims with an owner and a lease, and the attempt in flight, on touches and stored replies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('touch', 'outbound_message')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(
                'claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
            batch_op.add_column(sa.Column(
                'lease_until', UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column(
                'attempted_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('attempted_at')
            batch_op.drop_column('lease_until')
            batch_op.drop_column('claimed_by')
