"""drop ix_mark_current: the unique (entry, aspect, judge, revision) serves the same seeks, and every judge's mark
paid for writing a second index

Revision ID: 3c1f0b7a9d42
Revises: de8fea20302e
Create Date: 2026-12-04 19:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c1f0b7a9d42'
down_revision = 'de8fea20302e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mark', schema=None) as batch_op:
        batch_op.drop_index('ix_mark_current')


def downgrade():
    with op.batch_alter_table('mark', schema=None) as batch_op:
        batch_op.create_index('ix_mark_current', ['entry_id', 'aspect_id', 'judge_id', 'is_current'], unique=False)
