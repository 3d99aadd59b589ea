"""Accounts tables: people, grants, sessions, API tokens, sign-in failures, address
throttles, department changes (projections); credentials and session activity.

Revision ID: a0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "a0001"
down_revision = None
branch_labels = ("accounts",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("home_jurisdiction", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("second_factor", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("locked_until", sa.String(32)),
    )
    op.create_index("ix_people_home", "people", ["home_jurisdiction"])
    op.create_table(
        "grants",
        sa.Column("grant_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(48), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_grants_person", "grants", ["person_id"])
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32)),
        sa.Column("end_reason", sa.String(32)),
    )
    op.create_index("ix_sessions_person", "sessions", ["person_id"])
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
    )
    op.create_index("ix_api_tokens_person", "api_tokens", ["person_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64)),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("failed_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_sign_in_failures_address", "sign_in_failures", ["client_address", "failed_at"])
    op.create_table(
        "address_throttles",
        sa.Column("client_address", sa.String(64), primary_key=True),
        sa.Column("until", sa.String(32), nullable=False),
    )
    op.create_table(
        "department_changes",
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("credential_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32)),
        sa.Column("used_at", sa.String(32)),
    )
    op.create_table(
        "session_activity",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("last_seen_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("session_activity", "credentials", "department_changes", "address_throttles", "sign_in_failures",
                  "api_tokens", "sessions", "grants", "people"):
        op.drop_table(table)
