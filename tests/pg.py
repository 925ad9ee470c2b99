"""Throwaway PostgreSQL databases for tests, reusable by every test folder.

    url = await fresh_postgres_url()   # postgresql+asyncpg://postgres@127.0.0.1:5432/cordon_test_…
    ...                                # None when no server answers
    await drop_postgres_database(url)

The server is the one of `CORDON_TEST_POSTGRES` (an admin URL, any of the postgresql://,
postgres:// or postgresql+asyncpg:// forms), else `postgresql://postgres@127.0.0.1:5432/postgres`.
Each call creates a new, empty database named `<prefix>_<random hex>` and returns its URL in
the asyncpg form `store.Database.open` takes. When the server cannot be reached the answer is
None, so the caller can skip; but when `CORDON_REQUIRE_POSTGRES` is set (CI sets it) the
connection error is raised instead, and the tests fail rather than skip.
"""

from __future__ import annotations

import os
import secrets

import asyncpg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_required() -> bool:
    return os.environ.get("CORDON_REQUIRE_POSTGRES", "").strip().lower() not in (
        "", "0", "false", "no",
    )


def _admin_dsn() -> str:
    url = os.environ.get("CORDON_TEST_POSTGRES") or DEFAULT_ADMIN_URL
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def _with_database(dsn: str, name: str) -> str:
    """The asyncpg-driver URL of database `name` on the server of `dsn`."""
    rest = dsn.partition("://")[2]
    server = rest.split("/", 1)[0]
    query = rest.partition("?")[2]
    return f"postgresql+asyncpg://{server}/{name}" + (f"?{query}" if query else "")


async def _admin_connection() -> asyncpg.Connection | None:
    try:
        return await asyncpg.connect(_admin_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        if postgres_required():
            raise
        return None


async def fresh_postgres_url(prefix: str = "cordon_test") -> str | None:
    """A new empty database's URL, or None if no PostgreSQL answers (and none is required)."""
    connection = await _admin_connection()
    if connection is None:
        return None
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return _with_database(_admin_dsn(), name)


async def drop_postgres_database(url: str) -> None:
    """Drop the database `url` names, closing whatever connections are still open to it."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    connection = await _admin_connection()
    if connection is None:
        return
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
