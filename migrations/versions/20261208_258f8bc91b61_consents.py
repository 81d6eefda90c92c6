"""consents as rows: one row per consent given or withdrawn (purpose, scope, notice version, actor), instead of a
column per purpose on the worker plus a separate history

Revision ID: 258f8bc91b61
Revises: 1ba239d748e3
Create Date: 2026-12-07 18:35:07

Data: every ``consent_event`` becomes a ``consent`` row (scope "all", notice version "1", the event's time and
actor). Where a worker's column disagrees with the latest event (data written without its event), a row with no
actor makes the column's state the current one: a grant at the column's time, or a withdrawal at the worker's last
update. Then the event table and the two columns go.

Downgrade: the columns come back as the latest "all" row's grant time (NULL when withdrawn or never given), and
the events as the "all" rows of the two purposes; rows of a narrower scope and the notice versions are lost.

The worker's columns are dropped and added with plain ALTER TABLE (SQLite ≥ 3.35): a batch copy of the worker table
would drop it, and with it every row that references a worker.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '258f8bc91b61'
down_revision = '1ba239d748e3'
branch_labels = None
depends_on = None

COLUMNS = {"publicity": "publicity_consent_at", "talent_pool": "talent_pool_consent_at"}
NOTICE_VERSION = "1"  # the notices as they were when these consents were given (app/people/labels.py)


def _latest(column: str) -> str:
    return (f"(SELECT c.{column} FROM consent c WHERE c.worker_id = w.id AND c.purpose = :purpose "
            f"ORDER BY c.at DESC, c.id DESC LIMIT 1)")


def upgrade():
    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('is_granted', sa.Boolean(), nullable=False),
    sa.Column('notice_version', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_consent_actor_id_user')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_consent_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ix_consent_worker_purpose_scope', ['worker_id', 'purpose', 'scope', 'at'], unique=False)

    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO consent (worker_id, purpose, scope, is_granted, notice_version, at, actor_id) "
        "SELECT worker_id, purpose, 'all', is_granted, :version, at, actor_id FROM consent_event ORDER BY at, id"),
        {"version": NOTICE_VERSION})
    for purpose, column in COLUMNS.items():
        state = (f"SELECT w.id AS worker_id, w.{column} AS given_at, w.updated_at AS updated_at, "
                 f"{_latest('is_granted')} AS last_granted, {_latest('at')} AS last_at FROM worker w")
        for granted, where, at in (
                (True, "s.given_at IS NOT NULL AND (s.last_granted IS NULL OR s.last_granted = FALSE)", "s.given_at"),
                (False, "s.given_at IS NULL AND s.last_granted = TRUE", "s.updated_at")):
            bind.execute(sa.text(
                f"INSERT INTO consent (worker_id, purpose, scope, is_granted, notice_version, at, actor_id) "
                f"SELECT s.worker_id, :purpose, 'all', :granted, :version, "
                f"CASE WHEN s.last_at IS NOT NULL AND s.last_at > {at} THEN s.last_at ELSE {at} END, NULL "
                f"FROM ({state}) s WHERE {where} ORDER BY s.worker_id"),
                {"purpose": purpose, "granted": granted, "version": NOTICE_VERSION})

    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_event_worker_id'))
    op.drop_table('consent_event')
    for column in COLUMNS.values():
        op.drop_column('worker', column)


def downgrade():
    for column in COLUMNS.values():
        op.add_column('worker', sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.create_table('consent_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('is_granted', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_consent_event_actor_id_user')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_consent_event_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event'))
    )
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_event_worker_id'), ['worker_id'], unique=False)

    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO consent_event (worker_id, purpose, is_granted, at, actor_id) "
        "SELECT worker_id, purpose, is_granted, at, actor_id FROM consent "
        "WHERE scope = 'all' AND purpose IN ('publicity', 'talent_pool') ORDER BY at, id"))
    for purpose, column in COLUMNS.items():
        bind.execute(sa.text(
            f"UPDATE worker SET {column} = (SELECT CASE WHEN c.is_granted THEN c.at END FROM consent c "
            f"WHERE c.worker_id = worker.id AND c.purpose = :purpose AND c.scope = 'all' "
            f"ORDER BY c.at DESC, c.id DESC LIMIT 1)"), {"purpose": purpose})

    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_worker_purpose_scope')
    op.drop_table('consent')
