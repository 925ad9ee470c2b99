"""Where an incident's intake time goes: `python -m bench.stages` triages incidents in-process
and times each stage of the pipeline, then profiles the CPU by package.

A Cordon runtime (its sandbox embedded, the bench policy, SQLite or a fresh PostgreSQL) takes
unique incidents through `engine.intake(body)` (what `POST /api/incidents` calls after the
token check) at a chosen concurrency. Each stage named in STAGES is wrapped with a timer, so
the table says how many times a stage ran per incident and its wall time per incident; then the
same load runs again under cProfile and the CPU time is summed by the package of each function
(sqlalchemy, semantic_kernel, aiohttp, pydantic, Cordon's own parts…) and the functions
costing the most are listed. CPU time is the event loop thread's (`time.thread_time`): time
spent waiting on sockets is not counted, nor the work of aiosqlite's own thread.

Limitation: stages overlap (enrichment lookups run concurrently, the auto actions execute in
the background while the next incidents are triaged), so wall times are not additive; with
`--concurrency 1` and the executor drained after each incident they nearly are.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.bench_policy import write_bench_policy
from bench.incidents import IncidentFeed
from bench.measurement import quiet_logs

# (label, attribute path from the runtime, method name)
STAGES = (
    ("intake total", "engine", "intake"),
    ("claim incident", "store.incidents", "claim"),
    ("audit append", "store.audit", "append"),
    ("enrich", "skills.enricher", "enrich"),
    ("state before (overlaps enrich)", "engine.triage", "_state_before"),
    ("  enrichment lookup (kernel call)", "skills.enricher", "call"),
    ("recommend", "engine.triage", "_recommend"),
    ("decide + persist", "engine.triage", "_decide"),
    ("  breaker usage counts", "engine.decider", "usage"),
    ("  audit append_many", "store.audit", "append_many"),
    ("  runs add_many", "store.runs", "add_many"),
    ("  approvals add", "store.approvals", "add"),
    ("  save record", "store.incidents", "save_record"),
    ("execute one action (background)", "engine.executor", "execute"),
)


class StageClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(owner, name, timed)


def _resolve(runtime: Any, path: str) -> Any:
    for part in path.split("."):
        runtime = getattr(runtime, part)
    return runtime


def _package(filename: str) -> str:
    if filename == "~":
        return "C built-ins (json, sqlite3, hashlib, re…)"
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    root = Path(__file__).resolve().parents[1]
    try:
        return "cordon:" + Path(filename).resolve().relative_to(root).parts[0]
    except ValueError:
        return "python stdlib" if filename.startswith(("/", "<frozen")) else filename


async def _load(runtime: Any, bodies: list[bytes], concurrency: int) -> float:
    queue = list(bodies)

    async def worker() -> None:
        while queue:
            await runtime.engine.intake(queue.pop(0))
            if concurrency == 1:
                await runtime.engine.executor.drain(timeout=30)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await runtime.engine.executor.drain(timeout=60)
    return time.perf_counter() - started


async def profile(requests: int, concurrency: int, database: str, folder: Path) -> str:
    from app import Runtime
    from core.settings import Settings

    url = f"sqlite+aiosqlite:///{folder / 'cordon.db'}"
    if database == "postgres":
        from tests.pg import fresh_postgres_url

        url = await fresh_postgres_url("cordon_bench_stages")
        if url is None:
            return "no PostgreSQL answers"
    settings = Settings(
        database_url=url, policy_path=write_bench_policy(folder), data_dir=folder,
        sandbox_url="", client_id="", client_secret="", tenant_id="",
        use_managed_identity=False, ai_provider="", log_level="warning")
    lines: list[str] = []
    try:
        async with Runtime.embedded(settings) as runtime:
            feed = IncidentFeed()
            await _load(runtime, [d.body for d in feed.take(10)], concurrency)  # warm up
            clock = StageClock()
            for label, path, name in STAGES:
                clock.wrap(_resolve(runtime, path), name, label)
            elapsed = await _load(runtime, [d.body for d in feed.take(requests)], concurrency)
            lines += [f"{requests} incidents, concurrency {concurrency}, {database}: "
                      f"{elapsed:.2f} s, {elapsed / requests * 1000:.1f} ms per incident", "",
                      "| stage | calls per incident | wall ms per incident |", "|---|---|---|"]
            for label, _, _ in STAGES:
                lines.append(f"| {label} | {clock.calls[label] / requests:.1f} | "
                             f"{clock.seconds[label] / requests * 1000:.1f} |")

            profiler = cProfile.Profile(time.thread_time)
            bodies = [d.body for d in feed.take(requests)]
            profiler.enable()
            await _load(runtime, bodies, concurrency)
            profiler.disable()
    finally:
        if database == "postgres":
            from tests.pg import drop_postgres_database

            await drop_postgres_database(url)

    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_package[_package(filename)] += tottime
        total += tottime
    lines += ["", "| package | CPU ms per incident | share |", "|---|---|---|"]
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"| {package} | {seconds / requests * 1000:.1f} | "
                     f"{seconds / total:.0%} |")
    lines += ["", "| function (own CPU) | calls per incident | CPU ms per incident |",
              "|---|---|---|"]
    ranked = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:20]
    for (filename, line, function), (_, calls, tottime, _, _) in ranked:
        where = f"{_package(filename)}:{Path(filename).name}:{line}" if filename != "~" else ""
        lines.append(f"| {function} {where} | {calls / requests:.1f} | "
                     f"{tottime / requests * 1000:.2f} |")
    lines += ["", "| Cordon function (CPU including callees) | calls per incident | "
              "CPU ms per incident |", "|---|---|---|"]
    own = [(key, value) for key, value in stats.stats.items()
           if _package(key[0]).startswith("cordon:") and "bench" not in _package(key[0])]
    for (filename, line, function), (_, calls, _, cumtime, _) in sorted(
            own, key=lambda kv: -kv[1][3])[:25]:
        lines.append(f"| {function} {_package(filename)}:{Path(filename).name}:{line} | "
                     f"{calls / requests:.1f} | {cumtime / requests * 1000:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages",
                                     description="time the stages of Cordon's intake")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    quiet_logs()
    with tempfile.TemporaryDirectory(prefix="cordon-bench-stages-") as tmp:
        print(asyncio.run(profile(args.requests, args.concurrency, args.database, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
