"""credentials.last_step (the time step of the last accepted one-time code, so a code is
accepted once), and TOTP secrets stored before encryption at rest sealed with the accounts
key (AES-GCM).

A database with no such secrets (a new one) needs no key here. One that has them takes the
key from the configuration the services read (``ACCOUNTS_SECRET_KEY`` or
``ACCOUNTS_SECRET_KEY_FILE``), and the migration stops with that error when it is missing.

Revision ID: a0002
Revises: a0001
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "a0002"
down_revision = "a0001"
branch_labels = None
depends_on = None

_credentials = sa.table("credentials", sa.column("credential_id", sa.String), sa.column("kind", sa.String),
                        sa.column("secret", sa.Text))
_TOTP_KINDS = ("totp", "totp_pending")


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("last_step", sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_credentials.c.credential_id, _credentials.c.secret)
                        .where(_credentials.c.kind.in_(_TOTP_KINDS))).all()
    plain = [row for row in rows if not row.secret.startswith("aesgcm1:")]
    if not plain:
        return
    from kernel.config import load_config
    from services.accounts.rules import secret_box
    box = secret_box(load_config())
    for row in plain:
        conn.execute(sa.update(_credentials).where(_credentials.c.credential_id == row.credential_id)
                     .values(secret=box.seal(row.secret, row.credential_id)))


def downgrade() -> None:
    # Sealed secrets stay sealed: a downgrade would need the key to undo that, and the old code
    # would then read ciphertext as a TOTP secret. Only the column goes.
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("last_step")
