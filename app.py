"""Cordon's command line and composition root.

`python app.py` (or `python app.py serve`) reads the settings, builds every part and serves
HTTP on PORT: `/api/incidents`, `/api/messages`, `/healthz`, `/readyz`, and, with no Microsoft
credentials set, the sandbox tenant under `/sandbox`. Other subcommands:

    python app.py triage FILE [--policy FILE]   triage one incident payload, print the result
    python app.py policy check FILE              name every mistake in a policy file
    python app.py audit verify                   check the audit hash chain
    python app.py audit export [--since TIME]    write the audit trail as JSON lines
    python app.py manifest --app-id GUID --out cordon.zip

This module wires parts together and owns no behaviour of its own beyond the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import structlog
from aiohttp import web

from core.settings import Settings

log = structlog.get_logger("cordon")

RUNTIME_KEY = web.AppKey("runtime", object)


def _configure_logging(level: str) -> None:
    import logging

    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(message)s")
    # Libraries log every HTTP request and kernel call at INFO; Cordon's own events say more.
    for noisy in ("httpx", "semantic_kernel", "azure", "aiohttp.access", "kernel"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Cordon: policy-gated "
                                     "autonomous response for Microsoft Sentinel")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP (the default)")

    triage = sub.add_parser("triage", help="triage one incident payload file")
    triage.add_argument("file", type=Path)
    triage.add_argument("--policy", type=Path, help="policy file (default: CORDON_POLICY)")
    triage.add_argument("--wait", type=float, default=30.0,
                        help="seconds to wait for auto actions to finish (default 30)")

    policy = sub.add_parser("policy", help="policy file tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="report every mistake in a policy file")
    check.add_argument("file", type=Path)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check the hash chain; names the first broken record")
    export = audit_sub.add_parser("export", help="write the audit trail as JSON lines")
    export.add_argument("--since", help="ISO time or date, e.g. 2026-11-30 or 2026-11-30T08:00Z")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")

    manifest = sub.add_parser("manifest", help="write the Teams app package")
    manifest.add_argument("--app-id", required=True)
    manifest.add_argument("--out", type=Path, default=Path("cordon.zip"))

    args = parser.parse_args(argv)
    settings = Settings()
    _configure_logging(settings.log_level)

    if args.command == "policy":
        return _policy_check(args.file)
    if args.command == "manifest":
        return _manifest(args.app_id, args.out)
    if args.command == "triage":
        return asyncio.run(_triage(settings, args.file, args.policy, args.wait))
    if args.command == "audit":
        if args.audit_command == "verify":
            return asyncio.run(_audit_verify(settings))
        return asyncio.run(_audit_export(settings, args.since, args.out))

    return serve(settings)


def _policy_check(path: Path) -> int:
    from policy import run_check

    code, text = run_check(path)
    print(text)
    return code


def _manifest(app_id: str, out: Path) -> int:
    from manifest.package import build_package

    try:
        written = build_package(app_id, out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0


async def _triage(settings: Settings, file: Path, policy_path: Path | None, wait: float) -> int:
    from core.errors import CordonError
    from policy import PolicyError, load_policy

    if policy_path is not None:
        settings = settings.model_copy(update={"policy_path": policy_path})
    try:
        body = file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        load_policy(settings.policy_path)
    except PolicyError as exc:
        print(f"error: the policy {settings.policy_path} has mistakes:\n{exc}", file=sys.stderr)
        return 2

    async with Runtime.embedded(settings) as runtime:
        try:
            result = await runtime.engine.intake(body)
        except CordonError as exc:
            print(json.dumps(exc.to_json(), indent=2), file=sys.stderr)
            return 2
        await runtime.engine.executor.drain(timeout=wait)
        final = await runtime.engine.get(result.incident_id)
        final.duplicate = result.duplicate
        print(final.model_dump_json(indent=2))
    return 0


async def _audit_verify(settings: Settings) -> int:
    from store import Store

    store = await Store.open(settings.effective_database_url)
    try:
        result = await store.audit.verify()
    finally:
        await store.close()
    if result.ok:
        print(f"audit trail intact: {result.checked} records verified")
        return 0
    print(f"audit trail BROKEN at record {result.first_broken_seq}: {result.reason} "
          f"({result.checked} records checked)")
    return 1


async def _audit_export(settings: Settings, since: str | None, out: Path | None) -> int:
    from store import Store

    start = None
    if since:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            print(f"error: --since {since!r} is not an ISO date or time", file=sys.stderr)
            return 2
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)

    store = await Store.open(settings.effective_database_url)
    stream = sys.stdout
    count = 0
    try:
        if out:
            stream = out.open("w", encoding="utf-8")
        async for event in store.audit.export(start):
            stream.write(json.dumps(event, default=str, separators=(",", ":")) + "\n")
            count += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
        await store.close()
    print(f"exported {count} audit records", file=sys.stderr)
    return 0


class Runtime:
    """Every part of Cordon, built once from the settings, in dependency order."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = None
        self.policy = None
        self.skills = None
        self.reasoner = None
        self.engine = None
        self.bot = None
        self.dispatcher = None
        self._sandbox_runner = None

    async def start(self, *, with_bot: bool = False) -> Runtime:
        from policy import catalog_ids, load_policy
        from response.authorization import RunAuthorizer
        from response.directory import GraphDirectory
        from response.engine import ResponseEngine
        from response.incident_comments import COMMENT_KINDS
        from skills.kernel import build_kernel
        from skills.lookups.identity import IdentityLookups
        from skills.reasoner import build_reasoner
        from store import OutboxDispatcher, Store

        settings = self.settings
        self.policy = load_policy(settings.policy_path)
        self.store = await Store.open(settings.effective_database_url,
                                      outbox_destinations=("log_analytics", "incident_comment"),
                                      comment_kinds=COMMENT_KINDS)
        authorizer = RunAuthorizer(self.store.runs)
        self.skills = build_kernel(settings, authorizer)
        self.reasoner = build_reasoner(settings, self.skills.kernel,
                                       allowed_catalog=set(catalog_ids()))
        self.engine = ResponseEngine(
            settings=settings, store=self.store, skills=self.skills, reasoner=self.reasoner,
            policy=self.policy, directory=GraphDirectory(IdentityLookups(self.skills.graph)),
            authorizer=authorizer)
        self.dispatcher = OutboxDispatcher(self.store.outbox, {
            "log_analytics": self._export_logs,
            "incident_comment": self._comment,
        })
        if with_bot:
            from bot import build_bot

            self.bot = await build_bot(settings, self.engine, self.store)
        await self.engine.start()
        self.dispatcher.start()
        log.info("cordon started", mode=self.policy.mode, dry_run=self.policy.dry_run,
                 sandbox=settings.sandbox_mode, database=self.store.db.dialect,
                 reasoner=getattr(self.reasoner, "name", "?"))
        return self

    async def _export_logs(self, events: list[dict]) -> None:
        if self.skills.exporter.configured:
            await self.skills.exporter.send_logs(events)

    async def _comment(self, events: list[dict]) -> None:
        from response.incident_comments import comment_text, is_sentinel_incident

        for event in events:
            text = comment_text(event)
            if text and is_sentinel_incident(event.get("incident_id")):
                await self.skills.commenter.comment(event["incident_id"], text)

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
        if self.bot is not None:
            await self.bot.drain(timeout=5)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        close_reasoner = getattr(self.reasoner, "close", None)
        if close_reasoner is not None:
            await close_reasoner()
        if self.skills is not None:
            await self.skills.close()
        if self.store is not None:
            await self.store.close()
        if self._sandbox_runner is not None:
            await self._sandbox_runner.cleanup()

    @classmethod
    @contextlib.asynccontextmanager
    async def embedded(cls, settings: Settings):
        """A runtime for one command: serves a private sandbox when no other is configured."""
        runner = None
        if settings.sandbox_mode and not settings.sandbox_url:
            from sandbox import build_sandbox_app

            root = web.Application()
            root.add_subapp("/sandbox", build_sandbox_app())
            runner = web.AppRunner(root)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            settings = settings.model_copy(
                update={"sandbox_url": f"http://127.0.0.1:{port}/sandbox"})
        runtime = cls(settings)
        runtime._sandbox_runner = runner
        try:
            await runtime.start()
            yield runtime
        finally:
            await runtime.stop()


def build_web_app(settings: Settings, *, with_bot: bool = True) -> web.Application:
    """The aiohttp application `serve` runs; tests run it in-process too."""
    from sqlalchemy import text as sql_text

    from response.http_api import (
        AUTH_KEY,
        ENGINE_KEY,
        MAX_BYTES_KEY,
        READY_KEY,
        add_routes,
        json_errors,
    )
    from response.intake_auth import IntakeAuth, ensure_intake_token

    app = web.Application(middlewares=[json_errors], client_max_size=settings.intake_max_bytes)
    app[MAX_BYTES_KEY] = settings.intake_max_bytes
    add_routes(app)
    if settings.sandbox_mode and not settings.sandbox_url:
        from sandbox import build_sandbox_app

        app.add_subapp("/sandbox", build_sandbox_app())

    runtime = Runtime(settings)
    app[RUNTIME_KEY] = runtime
    app[AUTH_KEY] = IntakeAuth(
        token=ensure_intake_token(settings.intake_token, settings.data_dir),
        audience=settings.intake_audience, tenant_id=settings.tenant_id,
        jwks_url=settings.intake_jwks_url)

    async def on_startup(app: web.Application) -> None:
        await runtime.start(with_bot=with_bot)
        app[ENGINE_KEY] = runtime.engine

    async def messages(request: web.Request) -> web.StreamResponse:
        if runtime.bot is None:
            return web.json_response({"error": "starting", "message": "Cordon is starting"},
                                     status=503)
        return await runtime.bot.handle(request)

    app.router.add_post("/api/messages", messages)

    async def ready() -> list[str]:
        if runtime.engine is None:
            return ["starting"]
        try:
            async with runtime.store.db.session() as session:
                await session.execute(sql_text("SELECT 1"))
        except Exception as exc:
            return [f"database unreachable: {type(exc).__name__}"]
        return []

    async def on_cleanup(app: web.Application) -> None:
        await runtime.stop()

    app[READY_KEY] = ready
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def serve(settings: Settings) -> int:
    from policy import PolicyError, load_policy

    try:
        load_policy(settings.policy_path)
    except PolicyError as exc:
        print(f"Cordon did not start: the policy {settings.policy_path} has mistakes:\n{exc}",
              file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_web_app(settings)
    token_at = ("CORDON_INTAKE_TOKEN" if settings.intake_token
                else settings.data_dir / "intake-token")
    tenant = "the sandbox tenant" if settings.sandbox_mode else "the Microsoft cloud"
    print(f"Cordon on http://{settings.host}:{settings.port} with {tenant}; "
          f"intake token in {token_at}", file=sys.stderr)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
