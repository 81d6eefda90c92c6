"""marks setup version: a counter that SQLite triggers bump whenever a table that judges' marks are checked against
changes (the token lane keeps those reads while it stands: competitions.services.marks_setup)

Revision ID: de8fea20302e
Revises: 6e2c36e56e31
Create Date: 2026-12-04 16:19:45.892688

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'de8fea20302e'
down_revision = '6e2c36e56e31'
branch_labels = None
depends_on = None


# table → trigger events, as competitions.models.SETUP_TABLES had them at this revision
WATCHED = {
    'api_token': ('INSERT', 'UPDATE', 'DELETE'),
    'user': ('INSERT', 'UPDATE', 'DELETE'),
    'user_role': ('INSERT', 'UPDATE', 'DELETE'),
    'competition': ('INSERT', 'UPDATE', 'DELETE'),
    'module': ('INSERT', 'UPDATE', 'DELETE'),
    'criterion': ('INSERT', 'UPDATE', 'DELETE'),
    'aspect': ('INSERT', 'UPDATE', 'DELETE'),
    'panel': ('INSERT', 'UPDATE', 'DELETE'),
    'panel_judge': ('INSERT', 'UPDATE', 'DELETE'),
    'entry': ('INSERT', 'UPDATE', 'DELETE'),
    'module_code': ('INSERT', 'UPDATE', 'DELETE'),
    'declared_conflict': ('INSERT', 'UPDATE', 'DELETE'),
    'judge_profile': ('INSERT', 'UPDATE', 'DELETE'),
    'chain_member': ('INSERT', 'UPDATE', 'DELETE'),
    'worker': ('UPDATE OF enterprise_id', 'DELETE'),
}


def _triggers():
    for table, events in WATCHED.items():
        for event in events:
            yield f"marks_setup_{table}_{event.split()[0].lower()}", table, event


def upgrade():
    op.create_table('marks_setup_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marks_setup_version'))
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO marks_setup_version (id, n) VALUES (1, 0)")
        for name, table, event in _triggers():
            op.execute(f'CREATE TRIGGER {name} AFTER {event} ON "{table}" '
                       "BEGIN UPDATE marks_setup_version SET n = n + 1 WHERE id = 1; END")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name, _table, _event in _triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('marks_setup_version')
