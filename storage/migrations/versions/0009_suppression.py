"""do-not-contact that outlives erasure: the suppression list of keyed hashes; the record
a customer who first came without a link became on linking; the cases each digest lists

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:00:00
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from careloop.storage.types import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('suppression',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'digest')
    )
    with op.batch_alter_table('suppression', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suppression_customer_id'), ['customer_id'],
                              unique=False)

    op.create_table('digest_listing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['support_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('digest_listing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_listing_case_id'), ['case_id'],
                              unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_merged_into_id'), ['merged_into_id'],
                              unique=False)

    # Records linked before this revision: their "linked" note names the record they moved
    # to, so their erasure and export can find them too.
    bind = op.get_bind()
    notes = bind.execute(sa.text(
        "SELECT customer_id, data FROM interaction WHERE kind = 'linked' AND direction = 'note'"
    )).all()
    for customer_id, data in notes:
        moved_to = (json.loads(data) if isinstance(data, str) else data or {}).get("moved_to")
        if isinstance(moved_to, int):
            bind.execute(sa.text("UPDATE customer SET merged_into_id = :to WHERE id = :id"),
                         {"to": moved_to, "id": customer_id})


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_merged_into_id'))
        batch_op.drop_column('merged_into_id')
    with op.batch_alter_table('digest_listing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_listing_case_id'))
    op.drop_table('digest_listing')
    with op.batch_alter_table('suppression', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suppression_customer_id'))
    op.drop_table('suppression')
