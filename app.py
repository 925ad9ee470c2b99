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
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import structlog

from core.settings import Settings

log = structlog.get_logger("cordon")


def _configure_logging(level: str) -> None:
    import logging

    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
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

    from web.server import serve

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
    from web.runtime import Runtime

    if policy_path is not None:
        settings = settings.model_copy(update={"policy_path": policy_path})
    try:
        body = file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {file}: {exc.strerror}", file=sys.stderr)
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
    stream = out.open("w", encoding="utf-8") if out else sys.stdout
    count = 0
    try:
        async for event in store.audit.export(start):
            stream.write(json.dumps(event, default=str, separators=(",", ":")) + "\n")
            count += 1
    finally:
        if out:
            stream.close()
        await store.close()
    print(f"exported {count} audit records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
