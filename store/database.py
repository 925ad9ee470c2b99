"""The connection to Cordon's database: SQLite by default, PostgreSQL when replicas share one.

`Database.open(url)` normalizes the URL, creates the async engine and brings the schema to the
newest Alembic revision before returning, so every caller sees the tables it expects.

- `sqlite+aiosqlite:///data/cordon.db` (the default, also for an empty URL): the file's folder
  is created and put in WAL mode; `synchronous=NORMAL`, a 30 s busy timeout and foreign keys
  are set on every connection. Every transaction starts with `BEGIN IMMEDIATE`, so SQLite's single
  writer lock is taken up front: a read-then-write transaction (the audit chain, an approval
  decision, an outbox claim) can never fail half-way with a stale snapshot, and concurrent
  writers queue on the busy timeout instead of erroring.
- `postgresql+asyncpg://…`, and `postgresql://…` / `postgres://…` (rewritten to asyncpg; a
  `sslmode` query parameter becomes asyncpg's `ssl`). Two processes starting at once both run
  the upgrade inside a transaction holding one `pg_advisory_xact_lock`: the second waits, then
  finds the schema at head and does nothing.

`session()` gives an `AsyncSession` for the caller to begin and commit; `transaction()` gives
one already inside a transaction that commits when the block ends (rolls back on error). On
SQLite, `transaction()`s of one process queue on an asyncio lock before `BEGIN IMMEDIATE`, so
they take turns without SQLite's busy-wait sleeps; across processes the busy timeout applies.
Never open a `transaction()` inside another in the same task on SQLite: the inner one cannot
start until the outer one ends (it fails after the busy timeout). Repositories take `session=`
where a caller needs several writes in one transaction.

`insert(table)` is the dialect's INSERT construct, which has `on_conflict_do_nothing` and
`on_conflict_do_update` on both databases.

Limitation: on SQLite a `Database` belongs to the event loop that first contends for its
transaction lock; open one per loop (as the app and each test do), not one shared by several.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

log = structlog.get_logger(__name__)

DEFAULT_URL = "sqlite+aiosqlite:///data/cordon.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
WAL_SWITCH_ATTEMPTS = 200

# One fixed key for the migration lock, the same in every process.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"cordon:migrations").digest()[:8], "big", signed=True
)


def default_url(data_dir: Path | str) -> str:
    """The SQLite URL of the database file in `data_dir`."""
    return f"sqlite+aiosqlite:///{Path(data_dir) / 'cordon.db'}"


def normalize_url(url: str) -> str:
    """The async-driver form of a database URL Cordon accepts; empty means the default."""
    if not url:
        return DEFAULT_URL

    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}; expected sqlite:// or postgresql://")
    backend = scheme.split("+", 1)[0].lower()
    if backend in ("postgres", "postgresql"):
        parsed = make_url(f"postgresql+asyncpg://{rest}")
        if "sslmode" in parsed.query:
            mode = parsed.query["sslmode"]
            parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})
        return parsed.render_as_string(hide_password=False)
    if backend == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(f"unsupported database {scheme!r}; use sqlite or postgresql")


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade_to_head(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Database:
    """An async engine with its session factory; the one handle every repository takes."""

    def __init__(self, engine: AsyncEngine, url: str,
                 read_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.url = url
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # Reads on a SQLite file use connections of their own that never BEGIN IMMEDIATE: in WAL
        # mode they see the last commit without waiting for, or blocking, the writer.
        self._read_engine = read_engine
        self._read_sessions = (async_sessionmaker(read_engine, expire_on_commit=False)
                               if read_engine is not None else None)
        # SQLite has one writer and every transaction here takes it up front; queueing this
        # process's transactions on a lock spares them SQLite's sleeping busy handler.
        self._writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    async def open(cls, url: str = "", *, migrate: bool = True) -> Database:
        url = normalize_url(url)
        engine = cls._create_engine(url)
        read_engine = None
        if make_url(url).get_backend_name() == "sqlite" and _sqlite_file(url) is not None:
            read_engine = create_async_engine(url, pool_reset_on_return=None,
                                              connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        db = cls(engine, url, read_engine)
        try:
            if db.dialect == "sqlite" and _sqlite_file(url) is not None:
                await db._use_wal()
            if migrate:
                await db.upgrade()
        except BaseException:
            await engine.dispose()
            raise
        log.info("database opened", dialect=db.dialect,
                 url=make_url(url).render_as_string(hide_password=True))
        return db

    @staticmethod
    def _create_engine(url: str) -> AsyncEngine:
        if make_url(url).get_backend_name() != "sqlite":
            return create_async_engine(url, pool_pre_ping=True)

        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Every transaction here ends in COMMIT or ROLLBACK, so the pool's extra reset
            # ROLLBACK (a thread round trip per checkout in aiosqlite) is skipped.
            engine = create_async_engine(url, pool_reset_on_return=None,
                                         connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        else:
            engine = create_async_engine(
                url, poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            )
        _configure_sqlite(engine)
        return engine

    async def _use_wal(self) -> None:
        """Put the file in WAL mode (it stays so). Switching needs a moment with no other
        connection holding a lock, and SQLite does not wait for it: retry for a while."""
        async with self.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            for attempt in range(WAL_SWITCH_ATTEMPTS):
                try:
                    cursor = await raw.execute("PRAGMA journal_mode=WAL")
                    mode = (await cursor.fetchone())[0]
                    await cursor.close()
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.05)
                    continue
                if mode.lower() != "wal":
                    log.warning("sqlite journal mode not wal", mode=mode)
                return

    async def upgrade(self) -> None:
        """Run Alembic `upgrade head`, serialized across processes on PostgreSQL."""
        async with self.engine.begin() as conn:
            if self.is_postgres:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(_upgrade_to_head)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT for `table`, with its ON CONFLICT clauses."""
        if self.is_postgres:
            return postgresql.insert(table)
        return sqlite.insert(table)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only. On a SQLite file it takes no write lock and waits for no
        writer (WAL); elsewhere it is an ordinary transaction. Never write through it."""
        if self._read_sessions is None:
            async with self.transaction() as session:
                yield session
            return
        async with self._read_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self._writer is None:
            async with self._sessions() as session, session.begin():
                yield session
            return

        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_S):
                await self._writer.acquire()
        except TimeoutError:
            raise TimeoutError(
                f"no SQLite transaction could start within {SQLITE_BUSY_TIMEOUT_S} s: is a "
                "transaction() opened inside another one in the same task?"
            ) from None
        try:
            async with self._sessions() as session, session.begin():
                yield session
        finally:
            self._writer.release()

    @asynccontextmanager
    async def reading(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        """`session` when the caller is inside a transaction, else a session of `read()`."""
        if session is not None:
            yield session
            return
        async with self.read() as own:
            yield own

    @asynccontextmanager
    async def writing(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        """`session` when the caller is inside a transaction, else a `transaction()`."""
        if session is not None:
            yield session
            return
        async with self.transaction() as own:
            yield own

    async def serialize(self, session: AsyncSession, name: str) -> None:
        """Hold, until `session`'s transaction ends, a lock every replica taking the same
        `name` waits for. On PostgreSQL an advisory transaction lock; a SQLite transaction
        already holds the database's one write lock from its BEGIN IMMEDIATE."""
        if not self.is_postgres:
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def close(self) -> None:
        await self.engine.dispose()
        if self._read_engine is not None:
            await self._read_engine.dispose()
