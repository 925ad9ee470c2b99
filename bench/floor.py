"""The floor: the least an intake endpoint can do, served alone for comparison with Cordon.

`python -m bench.floor --port N --database-url URL` serves `POST /api/incidents` (read the
body, `json.loads` it, insert one row `(id, received_at, body)` with SQLAlchemy async, answer
201 with the id) and `GET /readyz`. The database is the same kind Cordon is measured on: a
SQLite file (WAL, synchronous=NORMAL, as Cordon sets it) or PostgreSQL through asyncpg. It
checks no token and keeps nothing else: any time Cordon spends beyond this is its own.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

metadata = MetaData()
received = Table(
    "received", metadata,
    Column("id", String(64), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
)

ENGINE_KEY = web.AppKey("engine", AsyncEngine)


def _engine(url: str) -> AsyncEngine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url)

    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


async def post_incident(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        json.loads(body)
    except ValueError:
        return web.json_response({"error": "invalid_json"}, status=400)

    row_id = str(uuid.uuid4())
    async with request.app[ENGINE_KEY].begin() as conn:
        await conn.execute(received.insert().values(
            id=row_id, received_at=datetime.now(UTC), body=body.decode()))
    return web.json_response({"id": row_id}, status=201)


async def readyz(_request: web.Request) -> web.Response:
    return web.json_response({"ready": True})


def build_floor_app(database_url: str) -> web.Application:
    app = web.Application(client_max_size=1_048_576)
    app.router.add_post("/api/incidents", post_incident)
    app.router.add_get("/readyz", readyz)

    async def on_startup(app: web.Application) -> None:
        app[ENGINE_KEY] = _engine(database_url)
        async with app[ENGINE_KEY].begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def on_cleanup(app: web.Application) -> None:
        await app[ENGINE_KEY].dispose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor",
                                     description="the bare intake handler Cordon is compared to")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True,
                        help="sqlite+aiosqlite:///FILE or postgresql+asyncpg://…")
    args = parser.parse_args(argv)
    web.run_app(build_floor_app(args.database_url), host="127.0.0.1", port=args.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
