"""Deliveries keep their body and whether they were triaged, so an accepted incident is never lost.

Revision ID: 0003_delivery_queue
Revises: 0002_bot
Create Date: 2026-12-03

`payload` is the body as received; `lease_until` is when the replica triaging it is presumed
gone; `triaged_at` is set in the triage's own transaction. Deliveries received before this
revision were triaged by the request that received them (or failed it, and Sentinel redelivered),
so they are marked triaged as of their arrival.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.timestamps import UtcDateTime

revision: str = "0003_delivery_queue"
down_revision: str | Sequence[str] | None = "0002_bot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident_deliveries") as table:
        table.add_column(sa.Column("payload", sa.Text(), nullable=True))
        table.add_column(sa.Column("lease_until", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("triaged_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE incident_deliveries SET triaged_at = received_at")
    op.create_index("ix_incident_deliveries_untriaged", "incident_deliveries",
                    ["triaged_at", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_incident_deliveries_untriaged", "incident_deliveries")
    with op.batch_alter_table("incident_deliveries") as table:
        table.drop_column("triaged_at")
        table.drop_column("lease_until")
        table.drop_column("payload")
