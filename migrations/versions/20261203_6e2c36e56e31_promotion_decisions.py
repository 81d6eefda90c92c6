"""promotion decisions: the organizer confirms or declines each skill-level promotion recommendation

Revision ID: 6e2c36e56e31
Revises: a3fef2f3ccef
Create Date: 2026-12-03 23:45:42.511930

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6e2c36e56e31'
down_revision = 'a3fef2f3ccef'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('promotion_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('recommended_level', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competition.id'], name=op.f('fk_promotion_decision_competition_id_competition'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_promotion_decision_decided_by_id_user')),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_promotion_decision_entry_id_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_decision')),
    sa.UniqueConstraint('competition_id', 'entry_id', name=op.f('uq_promotion_decision_competition_id_entry_id'))
    )


def downgrade():
    op.drop_table('promotion_decision')
