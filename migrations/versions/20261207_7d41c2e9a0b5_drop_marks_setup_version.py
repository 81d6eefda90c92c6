"""drop the marks setup version and its SQLite triggers: the judges' token lane that kept reads while it stood is
gone, and every mark is checked against the database as it stands

Revision ID: 7d41c2e9a0b5
Revises: 3c1f0b7a9d42
Create Date: 2026-12-07 18:40:00

Data: no stored row was written under the old reading of a NULL ``divergence_threshold`` (the marks service read
it as 1 when showing and checking divergences; results always read NULL as "never"). What that reading caused was
refused locks and divergence decisions the chief judge was asked for; those decisions are real, audited acts and
stay as they are.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d41c2e9a0b5'
down_revision = '3c1f0b7a9d42'
branch_labels = None
depends_on = None


# table → trigger events, as migration de8fea20302e made them
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
    if op.get_bind().dialect.name == "sqlite":
        for name, _table, _event in _triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('marks_setup_version')


def downgrade():
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
