"""transfers between employers: a new employer's request to take over a worker's record, until the worker or
the current employer's HR decides

Revision ID: 1ba239d748e3
Revises: 2d8c5d24abd0
Create Date: 2026-12-07 18:26:58

A new table only; at most one pending transfer per worker (a partial unique index).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1ba239d748e3'
down_revision = '2d8c5d24abd0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('from_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('to_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('name_given', sa.String(length=64), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_transfer_decided_by_id_user')),
    sa.ForeignKeyConstraint(['from_enterprise_id'], ['enterprise.id'], name=op.f('fk_transfer_from_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_transfer_requested_by_id_user')),
    sa.ForeignKeyConstraint(['to_enterprise_id'], ['enterprise.id'], name=op.f('fk_transfer_to_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_transfer_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer'))
    )
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_from_enterprise_id'), ['from_enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_to_enterprise_id'), ['to_enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_worker_id'), ['worker_id'], unique=False)
        batch_op.create_index('uq_transfer_pending_worker', ['worker_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))



def downgrade():
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.drop_index('uq_transfer_pending_worker', sqlite_where=sa.text("status = 'pending'"),
                            postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_transfer_worker_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_to_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_from_enterprise_id'))

    op.drop_table('transfer')
