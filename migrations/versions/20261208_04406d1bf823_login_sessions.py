"""login sessions: a browser session ends at its logout (its ``login_session`` row goes) or when the user's
``session_generation`` is raised (log out everywhere, a new password, a role removed, the account disabled)

Revision ID: 04406d1bf823
Revises: e9c370fba309
Create Date: 2026-12-07 21:21:52

A new table and a column with a default. Session cookies issued before this revision name no session row, so
everyone logs in again once. The user table is altered in place (``ALTER TABLE … ADD/DROP COLUMN``, SQLite ≥ 3.35),
not copied by a batch: dropping the old copy would take every row that references a user with it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '04406d1bf823'
down_revision = 'e9c370fba309'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_session',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_login_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_login_session'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)
    op.add_column('user', sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    op.drop_column('user', 'session_generation')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
    op.drop_table('login_session')
