"""Opening the database: URL forms, migrations at start, and two replicas starting at once."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from store import Database, Store, normalize_url
from store.database import DEFAULT_URL, MIGRATIONS
from store.tables import metadata


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


@pytest.mark.parametrize(("given", "expected"), [
    ("", DEFAULT_URL),
    ("postgres://cordon:s3cret@db.fabrikam.example:5432/cordon",
     "postgresql+asyncpg://cordon:s3cret@db.fabrikam.example:5432/cordon"),
    ("postgresql://postgres@127.0.0.1/test", "postgresql+asyncpg://postgres@127.0.0.1/test"),
    ("postgresql+psycopg2://postgres@127.0.0.1/test",
     "postgresql+asyncpg://postgres@127.0.0.1/test"),
    ("postgresql://cordon@db.fabrikam.example/cordon?sslmode=require",
     "postgresql+asyncpg://cordon@db.fabrikam.example/cordon?ssl=require"),
    ("sqlite:///data/cordon.db", "sqlite+aiosqlite:///data/cordon.db"),
])
def test_every_accepted_url_form_becomes_an_async_driver_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_an_unknown_database_is_refused_with_what_would_be_accepted() -> None:
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        normalize_url("mysql://root@127.0.0.1/cordon")


async def test_the_migrated_schema_is_exactly_the_tables_the_repositories_use(
        db_url: str) -> None:
    db = await Database.open(db_url)
    try:
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await db.close()
    assert differences == []


async def test_two_replicas_starting_at_once_both_come_up_on_one_schema(db_url: str) -> None:
    first, second = await asyncio.gather(Database.open(db_url), Database.open(db_url))
    try:
        async with first.session() as session:
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        assert version == head_revision()

        store = Store(second)
        await store.audit.append("replica_started", "cordon", None, {"replica": 2})
        assert (await Store(first).audit.verify()).ok
    finally:
        await first.close()
        await second.close()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    db = await Database.open(f"sqlite:///{tmp_path / 'data' / 'cordon.db'}")
    try:
        async with db.engine.connect() as conn:
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    finally:
        await db.close()
    assert (tmp_path / "data" / "cordon.db").exists()
    assert journal == "wal"
    assert timeout >= 5000
