"""audit keyed hashes: each entry says by which rule its hash was made — 1, the old SHA-256 over most columns
(every existing entry, which keeps its hash and so still verifies), 2, HMAC-SHA256 under AUDIT_HMAC_KEY over every
column (every new entry)

Revision ID: e9c370fba309
Revises: 411dda53e5ad
Create Date: 2026-12-07 21:17:40

A plain ADD COLUMN with a constant default on both databases: no table rebuild (SQLite keeps its append-only
triggers, PostgreSQL rewrites no row). A downgrade works only while no entry is keyed: the old code would take a
keyed entry's hash for a broken one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9c370fba309'
down_revision = '411dda53e5ad'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_entry', sa.Column('hash_version', sa.SmallInteger(), server_default='1', nullable=False))


def downgrade():
    keyed = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_entry WHERE hash_version <> 1")).scalar_one()
    if keyed:
        raise RuntimeError(f"{keyed} audit entries are keyed (hash_version 2): the previous revision cannot verify them")
    op.execute("ALTER TABLE audit_entry DROP COLUMN hash_version")
