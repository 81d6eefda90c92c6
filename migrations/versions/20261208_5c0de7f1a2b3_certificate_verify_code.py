"""certificate verification code: a random code per certificate, carried in its QR address, without which the
public page shows neither the holder's masked name nor the achievement (serials are sequential and can be walked)

Revision ID: 5c0de7f1a2b3
Revises: 9238f665874e
Create Date: 2026-12-08 01:30:00

Every existing certificate gets a code of its own. Its printed QR code still holds ``/v/<serial>`` without it, so
those pages show validity, kind, issuer and date until the PDF is rendered again (or the holder shares the link
from "My certificates", which carries the code).
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c0de7f1a2b3'
down_revision = '9238f665874e'
branch_labels = None
depends_on = None

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # certificates.domain.VERIFY_CODE_ALPHABET, as of this revision


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_code', sa.String(length=16), nullable=True))
    bind = op.get_bind()
    table = sa.table('certificate', sa.column('id', sa.Integer), sa.column('verify_code', sa.String))
    ids = [row[0] for row in bind.execute(sa.select(table.c.id))]
    for cid in ids:
        code = "".join(secrets.choice(ALPHABET) for _ in range(10))
        bind.execute(table.update().where(table.c.id == cid).values(verify_code=code))
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.alter_column('verify_code', existing_type=sa.String(length=16), nullable=False)


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('verify_code')
