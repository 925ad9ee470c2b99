"""Alembic environment for Cordon's store, for both ways migrations run.

- From `Database.open` (the usual way): the caller hands over a live synchronous connection in
  `config.attributes["connection"]`, already inside a transaction (and, on PostgreSQL, holding
  the migration advisory lock); migrations run on it and commit with it.
- From the `alembic` command line (`alembic upgrade head` at the repository root): the URL is
  `-x url=…`, else `sqlalchemy.url` of alembic.ini, else `DATABASE_URL` read through Cordon's
  settings, else the default SQLite file; it is normalized to an async driver and run with an
  async engine.

SQLite migrations render in batch mode, since SQLite cannot alter most of a table in place.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import store  # noqa: F401 - importing the package defines every table on the metadata
from store.database import normalize_url
from store.tables import metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        from core.settings import Settings

        url = Settings().database_url
    return normalize_url(url or "")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    _run_offline()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    asyncio.run(_run_async(_url()))
