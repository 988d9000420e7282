"""cases know what opened them (survey, inquiry, community, outreach) and their team; an
outreach message can wait for the customer's quiet hours to end

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 16:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False,
                                      server_default='survey'))
        batch_op.add_column(sa.Column('team', sa.String(length=32), nullable=False,
                                      server_default='desk'))
        batch_op.add_column(sa.Column('held_until', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_support_case_kind', ['kind'], unique=False)
        batch_op.create_index('ix_support_case_team', ['team'], unique=False)
    # Until now a case without a survey answer was a question from the community group.
    op.execute("UPDATE support_case SET kind = 'community' WHERE answer_id IS NULL")
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('team', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('support_case', schema=None) as batch_op:
        batch_op.drop_index('ix_support_case_team')
        batch_op.drop_index('ix_support_case_kind')
        batch_op.drop_column('held_until')
        batch_op.drop_column('team')
        batch_op.drop_column('kind')
