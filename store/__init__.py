"""Cordon's persistence: tables, repositories, migrations, the audit hash chain, the outbox.

`Store` bundles one repository of each kind over one `Database`:

    store = await Store.open(settings.database_url,
                             outbox_destinations=("log_analytics", "incident_comment"),
                             comment_kinds={"action_succeeded", "approval_granted"})
    if await store.incidents.claim(incident, payload_hash): ...
    await store.close()

SQLite (the default file `data/cordon.db`) suits one process; PostgreSQL (`DATABASE_URL`) is
how replicas share state, and every "exactly once" here holds across them. Imports only `core`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from store.approvals import ApprovalRepository
from store.audit import AuditLog, VerifyResult
from store.conversations import ConversationRepository
from store.database import Database, default_url, normalize_url
from store.incidents import IncidentRepository
from store.outbox import Outbox, OutboxDispatcher, OutboxItem
from store.posted_cards import PostedCardRepository
from store.runs import RunRepository
from store.state import ControlState
from store.teams_users import TeamsUserRepository


class Store:
    def __init__(self, db: Database, *, outbox_destinations: Iterable[str] = (),
                 comment_kinds: Collection[str] | None = None) -> None:
        self.db = db
        self.outbox = Outbox(db)
        self.incidents = IncidentRepository(db)
        self.runs = RunRepository(db)
        self.approvals = ApprovalRepository(db)
        self.audit = AuditLog(db, outbox_destinations=outbox_destinations,
                              comment_kinds=comment_kinds, outbox=self.outbox)
        self.state = ControlState(db)
        self.conversations = ConversationRepository(db)
        self.posted_cards = PostedCardRepository(db)
        self.teams_users = TeamsUserRepository(db)

    @classmethod
    async def open(cls, url: str = "", *, outbox_destinations: Iterable[str] = (),
                   comment_kinds: Collection[str] | None = None) -> Store:
        db = await Database.open(url)
        return cls(db, outbox_destinations=outbox_destinations, comment_kinds=comment_kinds)

    async def close(self) -> None:
        await self.db.close()


__all__ = [
    "ApprovalRepository", "AuditLog", "ControlState", "ConversationRepository", "Database",
    "IncidentRepository", "Outbox", "OutboxDispatcher", "OutboxItem", "RunRepository", "Store",
    "VerifyResult", "default_url", "normalize_url",
]
