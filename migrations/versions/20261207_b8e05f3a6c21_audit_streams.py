"""audit log streams: one hash chain per stream ("main", and one per competition), so writers of different
competitions never wait for each other's audit appends

Revision ID: b8e05f3a6c21
Revises: 7d41c2e9a0b5
Create Date: 2026-12-07 19:10:00

Every existing entry joins the stream "main", where it keeps its number, its predecessor and its hash (the main
stream's entries hash as before). A downgrade works only while the log has that one stream.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e05f3a6c21'
down_revision = '7d41c2e9a0b5'
branch_labels = None
depends_on = None

# SQLite rebuilds the table to change its constraints, which drops its append-only triggers: made again here, as
# app/audit/models.py has them.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
]


def _sqlite_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))


def upgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream', sa.String(length=48), server_default='main', nullable=False))
        batch_op.drop_constraint('uq_audit_entry_seq', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entry_stream_seq'), ['stream', 'seq'])
    _sqlite_triggers()


def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entry_stream_seq'), type_='unique')
        batch_op.create_unique_constraint('uq_audit_entry_seq', ['seq'])
        batch_op.drop_column('stream')
    _sqlite_triggers()
