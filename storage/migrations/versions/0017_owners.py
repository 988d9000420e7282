"""customers can have an owner: the staff member who follows them up

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 16:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A staff member's id without a declared foreign key: declaring one would make SQLite
    # rebuild the customer table, which every other table references.
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_owner_id'), ['owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_owner_id'))
        batch_op.drop_column('owner_id')
