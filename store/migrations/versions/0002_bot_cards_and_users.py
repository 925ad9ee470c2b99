"""The Teams bot's tables: posted incident cards and the Teams users seen.

Revision ID: 0002_bot
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.timestamps import UtcDateTime

revision: str = "0002_bot"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posted_cards",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("activity_id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "activity_id", name=op.f("pk_posted_cards")),
    )
    op.create_index(op.f("ix_posted_cards_incident_id"), "posted_cards", ["incident_id"])

    op.create_table(
        "teams_users",
        sa.Column("teams_id", sa.String(), nullable=False),
        sa.Column("aad_object_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("teams_id", name=op.f("pk_teams_users")),
    )
    op.create_index(op.f("ix_teams_users_aad_object_id"), "teams_users", ["aad_object_id"])
    op.create_index(op.f("ix_teams_users_seen_at"), "teams_users", ["seen_at"])


def downgrade() -> None:
    op.drop_table("teams_users")
    op.drop_table("posted_cards")
