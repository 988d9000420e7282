"""staff members can be removed: a departed member's row stays for the history, inactive

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
