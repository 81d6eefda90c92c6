"""employment history: a worker's employments (enterprise, from, to) instead of one fixed enterprise

Revision ID: 2d8c5d24abd0
Revises: b8e05f3a6c21
Create Date: 2026-12-07 18:21:00

Every existing worker gets one current employment at their enterprise, starting on the day the worker was
registered (``created_at`` as a calendar day in Asia/Shanghai, the installation's default time zone).
``worker.enterprise_id`` stays: it is the current employment's enterprise, kept in step by app.people.employment.
A downgrade drops the history (each worker keeps ``worker.enterprise_id``, their current enterprise).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2d8c5d24abd0'
down_revision = 'b8e05f3a6c21'
branch_labels = None
depends_on = None

# created_at is UTC; the day it was in China (no daylight saving since 1991: a fixed +8 hours)
LOCAL_DAY = {
    "sqlite": "date(created_at, '+8 hours')",
    "postgresql": "CAST(created_at AT TIME ZONE 'Asia/Shanghai' AS DATE)",
}


def upgrade():
    op.create_table('employment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= started_on', name=op.f('ck_employment_ends_after_start')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_employment_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_employment_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employment'))
    )
    with op.batch_alter_table('employment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employment_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employment_worker_id'), ['worker_id'], unique=False)
        batch_op.create_index('uq_employment_current_worker', ['worker_id'], unique=True,
                              sqlite_where=sa.text('ended_on IS NULL'), postgresql_where=sa.text('ended_on IS NULL'))

    day = LOCAL_DAY.get(op.get_bind().dialect.name, "CAST(created_at AS DATE)")
    op.execute(f"INSERT INTO employment (worker_id, enterprise_id, started_on, created_at) "
               f"SELECT id, enterprise_id, {day}, created_at FROM worker ORDER BY id")


def downgrade():
    with op.batch_alter_table('employment', schema=None) as batch_op:
        batch_op.drop_index('uq_employment_current_worker', sqlite_where=sa.text('ended_on IS NULL'),
                            postgresql_where=sa.text('ended_on IS NULL'))
        batch_op.drop_index(batch_op.f('ix_employment_worker_id'))
        batch_op.drop_index(batch_op.f('ix_employment_enterprise_id'))

    op.drop_table('employment')
