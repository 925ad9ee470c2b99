"""One bench run: for each database kind, the floor and then Cordon, under the same load.

Each target is measured twice with the same client: one delivery at a time (`--paced`
incidents, the next sent once the previous one is settled, its triage done, its `auto`
actions executed and its audit delivered, and no sooner than PERIOD_S after the previous one,
for the floor too: the latency an incident meets on an idle server,
and the time until its `auto` actions are done) and then `--concurrency` deliveries in
flight, sent back to back (`--requests` incidents: throughput, and latency under that load,
where a request mostly waits for the CPU the others use). Cordon is measured both ways it can
answer: with the verdicts (201), and with `Prefer: respond-async` (202 at once, the triage in
the background).

`measure(options)` returns every number as a dict (what `--json` writes); `main(argv)` is the
command line behind `python -m bench`. PostgreSQL runs on fresh databases from
`tests.pg.fresh_postgres_url()` (dropped afterwards) and is skipped, with a note in the table,
when no server answers. Every server is stopped, and every file kept in a temporary folder,
whatever happens; `--keep` keeps the folder (with the servers' logs) and prints where.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.approval_clicks import measure_clicks
from bench.bench_policy import write_bench_policy
from bench.execution_times import (
    arrival_to_executed,
    await_results,
    outbox_drained,
    wait_settled,
)
from bench.incidents import IncidentFeed
from bench.load import post_all
from bench.policy_timing import measure_policy
from bench.processes import INTAKE_TOKEN, ROOT, start_cordon, start_floor
from bench.report import markdown, policy_table


@dataclass(frozen=True)
class Options:
    requests: int = 200
    paced: int = 60
    concurrency: int = 8
    warmup: int = 10
    clicks: int = 50
    click_concurrency: int = 2
    policy_iterations: int = 2000
    databases: tuple[str, ...] = ("sqlite", "postgres")
    max_seconds: float = 300.0


async def _database_urls(kind: str, folder: Path) -> tuple[str, str] | None:
    if kind == "sqlite":
        return (f"sqlite+aiosqlite:///{folder / 'cordon.db'}",
                f"sqlite+aiosqlite:///{folder / 'floor.db'}")
    from tests.pg import fresh_postgres_url

    cordon = await fresh_postgres_url("cordon_bench")
    if cordon is None:
        return None
    return cordon, await fresh_postgres_url("cordon_bench_floor")


async def _drop(kind: str, urls: tuple[str, str]) -> None:
    if kind != "postgres":
        return
    from tests.pg import drop_postgres_database

    for url in urls:
        await drop_postgres_database(url)


PERIOD_S = 0.25


def one_per_period(settle=None):
    """The one-at-a-time pacing both targets get: after a delivery is answered, wait until
    the target is idle (`settle`), and in any case until PERIOD_S after that delivery was
    sent. Both then meet each request after the same kind of pause: a server woken from
    idle answers slower than one kept busy, and the floor, which is idle at once, would
    otherwise be timed hot against a Cordon timed after a pause."""
    async def after(sample) -> None:
        if settle is not None:
            await settle(sample)
        await asyncio.sleep(max(0.0, sample.started_wall + PERIOD_S - time.time()))
    return after


async def measure_floor(url: str, folder: Path, options: Options) -> dict[str, Any]:
    floor = start_floor(url, folder)
    try:
        await floor.wait_ready()
        target = f"{floor.base}/api/incidents"
        await post_all(target, IncidentFeed(first_number=900_000).take(options.warmup),
                       concurrency=options.concurrency)
        paced = await post_all(target, IncidentFeed(first_number=700_000).take(options.paced),
                               concurrency=1, max_seconds=options.max_seconds,
                               after=one_per_period())
        result = await post_all(target, IncidentFeed().take(options.requests),
                                concurrency=options.concurrency,
                                max_seconds=options.max_seconds)
        return {**result.report(), "paced": paced.report()}
    finally:
        floor.stop()


async def measure_cordon(url: str, folder: Path, options: Options) -> dict[str, Any]:
    cordon = start_cordon(url, write_bench_policy(folder), folder)
    try:
        await cordon.wait_ready()
        warm = await post_all(f"{cordon.base}/api/incidents",
                              IncidentFeed(first_number=900_000).take(options.warmup),
                              concurrency=options.concurrency, token=INTAKE_TOKEN)
        await wait_settled(cordon.base, INTAKE_TOKEN, warm.ok)
        # Answered with the verdicts (DESIGN's default), then accepted at once and triaged
        # in the background (`Prefer: respond-async`): each one at a time, then N in flight.
        answered = await _cordon_intake(cordon.base, url, options, prefer="",
                                        numbers=(700, 100))
        accepted = await _cordon_intake(cordon.base, url, options, prefer="respond-async",
                                        numbers=(600, 200))
        executed = {}
        for name, part in (("answered", answered), ("accepted", accepted)):
            executed[name] = await arrival_to_executed(url, part.pop("paced_samples"))
            executed[name]["loaded"] = await arrival_to_executed(url, part.pop("samples"))
        clicks = await measure_clicks(cordon.base, INTAKE_TOKEN, url, clicks=options.clicks,
                                      concurrency=options.click_concurrency,
                                      first_number=500_000)
        return {"cordon_intake": answered, "cordon_accept": accepted,
                "arrival_to_executed": executed["answered"],
                "accepted_to_executed": executed["accepted"],
                "approval_clicks": clicks, "cordon_peak_rss_mb": cordon.peak_rss_mb()}
    except Exception as exc:
        raise RuntimeError(f"{exc}\n--- cordon log ---\n{cordon.tail()}") from exc
    finally:
        cordon.stop()


async def _cordon_intake(base: str, database_url: str, options: Options, *, prefer: str,
                         numbers: tuple[int, int]) -> dict[str, Any]:
    """One at a time, then N in flight, each load left to settle before the next starts."""
    from store.database import Database

    target = f"{base}/api/incidents"
    settled_each: list[bool] = []
    db = await Database.open(database_url, migrate=False)

    async def settle(sample) -> None:
        """Until Cordon is idle again: triaged, auto actions executed, audit delivered."""
        ready = await await_results(base, INTAKE_TOKEN, [sample])
        settled_each.append(ready and await wait_settled(base, INTAKE_TOKEN, [sample])
                            and await outbox_drained(db))

    try:
        paced = await post_all(target, IncidentFeed(first_number=numbers[0] * 1000).take(
            options.paced), concurrency=1, token=INTAKE_TOKEN, max_seconds=options.max_seconds,
            prefer=prefer, after=one_per_period(settle))
    finally:
        await db.close()
    load = await post_all(target, IncidentFeed(first_number=numbers[1] * 1000).take(
        options.requests), concurrency=options.concurrency, token=INTAKE_TOKEN,
        max_seconds=options.max_seconds, prefer=prefer)
    ready = await await_results(base, INTAKE_TOKEN, load.ok)
    settled = await wait_settled(base, INTAKE_TOKEN, load.ok)
    return {**load.report(), "paced": paced.report(),
            "settled": all(settled_each) and ready and settled,
            "paced_samples": paced.ok, "samples": load.ok}


async def measure_database(kind: str, folder: Path, options: Options) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    urls = await _database_urls(kind, folder)
    if urls is None:
        return {"skipped": "skipped: no PostgreSQL answers on the configured server"}
    try:
        floor = await measure_floor(urls[1], folder, options)
        cordon = await measure_cordon(urls[0], folder, options)
    finally:
        await _drop(kind, urls)
    return {"floor_intake": floor, **cordon}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def measure(options: Options, folder: Path) -> dict[str, Any]:
    policy = await measure_policy(options.policy_iterations)
    databases: dict[str, dict[str, Any]] = {}
    for kind in options.databases:
        result = await measure_database(kind, folder / kind, options)
        if "skipped" not in result:
            result["policy"] = policy
        databases[kind] = result
    return {"requests": options.requests, "paced": options.paced,
            "concurrency": options.concurrency,
            "clicks": options.clicks, "policy_iterations": options.policy_iterations,
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "commit": _commit(), "policy": policy, "databases": databases}


def _parse(argv: list[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="measure Cordon's intake, execution, approval "
        "clicks, policy evaluation and memory beside a bare handler, on SQLite and PostgreSQL")
    parser.add_argument("--requests", type=int, default=200, help="incidents per target")
    parser.add_argument("--paced", type=int, default=60,
                        help="incidents sent one at a time, for latency")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=10, help="uncounted incidents first")
    parser.add_argument("--clicks", type=int, default=50, help="approval clicks to time")
    parser.add_argument("--click-concurrency", type=int, default=2)
    parser.add_argument("--policy-iterations", type=int, default=2000,
                        help="evaluations of each scenario action's context")
    parser.add_argument("--databases", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop sending a load after this long")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (databases, server logs)")
    args = parser.parse_args(argv)
    kinds = tuple(k.strip() for k in args.databases.split(",") if k.strip())
    unknown = [k for k in kinds if k not in ("sqlite", "postgres")]
    if unknown or not kinds:
        parser.error(f"--databases takes sqlite and/or postgres, not {unknown or 'nothing'}")
    options = Options(requests=args.requests, paced=args.paced,
                      concurrency=args.concurrency, warmup=args.warmup,
                      clicks=args.clicks, click_concurrency=args.click_concurrency,
                      policy_iterations=args.policy_iterations, databases=kinds,
                      max_seconds=args.max_seconds)
    return options, args


def quiet_logs() -> None:
    """Cordon's parts running in this process (for policy contexts) log warnings only, to
    standard error, so standard output is the table alone."""
    import logging

    import structlog

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))


def main(argv: list[str] | None = None) -> int:
    options, args = _parse(argv)
    quiet_logs()
    folder = Path(tempfile.mkdtemp(prefix="cordon-bench-"))
    try:
        run = asyncio.run(measure(options, folder))
    finally:
        if args.keep:
            print(f"work folder kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(markdown(run))
    print()
    print("Policy evaluation per scenario action:")
    print()
    print(policy_table(run["policy"]))
    if args.json:
        args.json.write_text(json.dumps(run, indent=2, default=str))
    return 0
