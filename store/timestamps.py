"""Timestamps as the store keeps them: always UTC, always timezone-aware when read back.

`UtcDateTime` is the column type for every point in time. On PostgreSQL it is `timestamptz`.
On SQLite it is SQLAlchemy's fixed-width text form (`YYYY-MM-DD HH:MM:SS.ffffff`) holding the
UTC wall time, so text comparison in SQL is time comparison. A naive datetime handed to the
store is taken to be UTC already; an aware one in any zone is converted. Reads always come back
aware, in UTC, on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same instant, aware and in UTC; a naive value is read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """Fixed-width ISO 8601 text in UTC with microseconds, so text order is time order."""
    return as_utc(value).isoformat(timespec="microseconds")


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        instant = as_utc(value)
        if dialect.name == "sqlite":
            return instant.replace(tzinfo=None)
        return instant

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return as_utc(value)
