"""The schema of Cordon's database, as SQLAlchemy Core tables.

This module only describes tables; the repositories own the statements. Alembic migrations
under `store/migrations/versions` create these tables and must be kept in step with them (the
test suite compares the migrated schema with this metadata).

Every point in time is a `UtcDateTime`. Whole domain objects that are read back as a unit
(an incident record, a run's proposed action and verdict) are JSON; whatever is filtered,
ordered or updated on the hot path has a column of its own, indexed.

The audit trail keeps its `at` and `data` as text (`at_text`, `data_text`): the hash chain covers
those exact characters, so no database or driver conversion can hide a change to them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from store.timestamps import UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# An integer key that autoincrements on both databases (SQLite only does so for INTEGER).
AutoId = BigInteger().with_variant(Integer(), "sqlite")

incident_deliveries = Table(
    "incident_deliveries", metadata,
    Column("incident_id", String, nullable=False),
    Column("revision", String, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("triaged_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("incident_id", "revision"),
    Index("ix_incident_deliveries_untriaged", "triaged_at", "lease_until"),
)

incidents = Table(
    "incidents", metadata,
    Column("id", String, primary_key=True),
    Column("number", BigInteger, nullable=True, index=True),
    Column("revision", String, nullable=False, default=""),
    Column("received_at", UtcDateTime, nullable=False, index=True),
    Column("outcome", String(32), nullable=False, index=True),
    Column("record", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

incident_entities = Table(
    "incident_entities", metadata,
    Column("key", String, nullable=False),
    Column("incident_id", String, ForeignKey("incidents.id", ondelete="CASCADE"),
           nullable=False, index=True),
    PrimaryKeyConstraint("key", "incident_id"),
)

action_runs = Table(
    "action_runs", metadata,
    Column("id", String, primary_key=True),
    Column("incident_id", String, nullable=False, index=True),
    Column("action", String(64), nullable=False),
    Column("target", String, nullable=False),
    Column("status", String(32), nullable=False),
    Column("idempotency_key", String, nullable=False, unique=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("proposed", JSON, nullable=False),
    Column("verdict", JSON, nullable=False),
    Column("request", JSON, nullable=True),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("inverse_of", String, nullable=True),
    Column("executed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_action_runs_status_updated_at", "status", "updated_at"),
    Index("ix_action_runs_executed_at_action", "executed_at", "action"),
)

approvals = Table(
    "approvals", metadata,
    Column("id", String, primary_key=True),
    Column("run_id", String, nullable=False, index=True),
    Column("incident_id", String, nullable=False, index=True),
    Column("action_hash", String(64), nullable=False),
    Column("approvers_required", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("card_activity_id", String, nullable=True),
    Column("conversation_id", String, nullable=True),
    Index("ix_approvals_status_created_at", "status", "created_at"),
)

approval_decisions = Table(
    "approval_decisions", metadata,
    Column("approval_id", String, ForeignKey("approvals.id", ondelete="CASCADE"),
           nullable=False),
    Column("approver_id", String, nullable=False),
    Column("approver_name", String, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("approval_id", "approver_id"),
)

audit_events = Table(
    "audit_events", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_text", String(32), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("actor", String, nullable=False),
    Column("incident_id", String, nullable=True, index=True),
    Column("data_text", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row (id 1): the seq and hash of the newest audit event. Appends lock it to serialize the
# chain across replicas; verify compares it with the last event to notice a cut-off tail.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("destination", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("available_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_destination_status_available_at", "destination", "status", "available_at"),
)

control_state = Table(
    "control_state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

conversations = Table(
    "conversations", metadata,
    Column("id", String, primary_key=True),
    Column("reference", JSON, nullable=False),
    Column("subscribed", Boolean, nullable=False, default=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

__all__ = [
    "metadata", "incident_deliveries", "incidents", "incident_entities", "action_runs",
    "approvals", "approval_decisions", "audit_events", "audit_head", "outbox", "control_state",
    "conversations",
]
