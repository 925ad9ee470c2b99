"""The results as a markdown table a reader can paste into an issue, and as JSON.

One column per database, the target the issue set, and whether each database met it. Policy
evaluation runs once, in-process and without a database, so its numbers are the same in every
column. A database that was skipped says why instead of numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[str, Callable[[dict], str], str, Callable[[dict], bool | None] | None]


def _ms(part: dict | None) -> str:
    if not part or part.get("p50") is None:
        return "n/a"
    return f"{part['p50']:.1f} / {part['p99']:.1f}"


def _get(result: dict, *path: str) -> Any:
    for key in path:
        if not isinstance(result, dict):
            return None
        result = result.get(key)
    return result


def ratio(result: dict, part: str, *phase: str) -> float | None:
    """Cordon's p50 over the floor's, for `part` (cordon_intake, cordon_accept) in `phase`."""
    cordon = _get(result, part, *phase, "latency_ms", "p50")
    floor = _get(result, "floor_intake", *phase, "latency_ms", "p50")
    return cordon / floor if cordon and floor else None


def _times(value: float | None) -> str:
    return f"{value:.1f}×" if value else "n/a"


def _below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


ACCEPT = "Cordon intake with Prefer: respond-async (202, triaged in the background)"
ANSWER = "Cordon intake answering with the verdicts (201)"

ROWS: list[Row] = [
    ("floor intake latency, one at a time, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "floor_intake", "paced", "latency_ms")), "", None),
    (f"{ACCEPT}, one at a time, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "cordon_accept", "paced", "latency_ms")), "", None),
    ("respond-async p50 ÷ floor p50, one at a time",
     lambda r: _times(ratio(r, "cordon_accept", "paced")), "≤ 3×",
     lambda r: _below(ratio(r, "cordon_accept", "paced"), 3.0)),
    (f"{ANSWER}, one at a time, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "cordon_intake", "paced", "latency_ms")), "", None),
    ("answering p50 ÷ floor p50, one at a time",
     lambda r: _times(ratio(r, "cordon_intake", "paced")), "", None),
    ("throughput (req/s), N in flight: floor / respond-async / answering",
     lambda r: " / ".join(str(_get(r, part, "throughput_rps"))
                          for part in ("floor_intake", "cordon_accept", "cordon_intake")),
     "", None),
    ("floor intake latency, N in flight, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "floor_intake", "latency_ms")), "", None),
    ("respond-async latency, N in flight, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "cordon_accept", "latency_ms")), "", None),
    ("answering latency, N in flight, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "cordon_intake", "latency_ms")), "", None),
    ("p50 ÷ floor p50, N in flight: respond-async / answering",
     lambda r: f"{_times(ratio(r, 'cordon_accept'))} / {_times(ratio(r, 'cordon_intake'))}",
     "", None),
    ("arrival → auto actions executed, answering, one at a time, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "arrival_to_executed", "latency_ms")), "p99 ≤ 2000 ms",
     lambda r: _below(_get(r, "arrival_to_executed", "latency_ms", "p99"), 2000)),
    ("arrival → auto actions executed, respond-async, one at a time, p50 / p99 (ms)",
     lambda r: _ms(_get(r, "accepted_to_executed", "latency_ms")), "p99 ≤ 2000 ms",
     lambda r: _below(_get(r, "accepted_to_executed", "latency_ms", "p99"), 2000)),
    ("arrival → auto actions executed, N in flight, p50 / p99 (ms): answering",
     lambda r: _ms(_get(r, "arrival_to_executed", "loaded", "latency_ms")), "", None),
    ("arrival → auto actions executed, N in flight, p50 / p99 (ms): respond-async",
     lambda r: _ms(_get(r, "accepted_to_executed", "loaded", "latency_ms")), "", None),
    ("approval click → answer p50 / p99 (ms)",
     lambda r: _ms(_get(r, "approval_clicks", "latency_ms")), "", None),
    ("policy evaluation per action p50 / p99 (µs)",
     lambda r: _ms(_get(r, "policy", "latency_us")), "p99 < 100 µs",
     lambda r: _below(_get(r, "policy", "latency_us", "p99"), 100)),
    ("Cordon peak RSS (MB)",
     lambda r: f"{r['cordon_peak_rss_mb']:.0f}" if r.get("cordon_peak_rss_mb") else "n/a",
     "< 300 MB", lambda r: _below(r.get("cordon_peak_rss_mb"), 300)),
]


def _verdict(results: dict[str, dict], check: Callable[[dict], bool | None] | None) -> str:
    if check is None:
        return ""
    marks = []
    for name, result in results.items():
        if "skipped" in result:
            continue
        ok = check(result)
        marks.append(f"{name}: {'n/a' if ok is None else 'yes' if ok else 'NO'}")
    return ", ".join(marks)


def markdown(run: dict[str, Any]) -> str:
    results: dict[str, dict] = run["databases"]
    names = list(results)
    lines = [
        f"Cordon bench — per target {run.get('paced', 0)} incidents one at a time, then "
        f"{run['requests']} with N = {run['concurrency']} in flight; "
        f"{run['clicks']} approval clicks, {run['policy_iterations']} "
        f"policy iterations per context; {run['cpus']} CPUs, Python {run['python']}, "
        f"commit {run['commit']}",
        "",
        "| metric | " + " | ".join(names) + " | target | ok |",
        "|---|" + "---|" * len(names) + "---|---|",
    ]
    for label, show, target, check in ROWS:
        cells = [results[n]["skipped"] if "skipped" in results[n] else show(results[n])
                 for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} | "
                     f"{_verdict(results, check)} |")
    lines += ["", *_notes(run)]
    return "\n".join(lines)


def _notes(run: dict[str, Any]) -> list[str]:
    notes = [
        "Intake: unique incidents cycling through the ten shared scenarios, POSTed to "
        "/api/incidents; the floor is a bare aiohttp handler that parses the same payload and "
        "inserts one row in the same kind of database. One at a time: the next POST is sent "
        "once the previous incident is settled (triaged, its auto actions executed, its audit "
        "delivered) and no sooner than 250 ms after the previous one, for the floor too; N in "
        "flight: back to back, so triage and execution of earlier incidents share the CPU "
        "with intake. respond-async results are polled between deliveries one at a time "
        "and after the load N in flight, never while a POST is timed. Arrival → executed: "
        "from the POST's start to the last `auto` run's `succeeded` stamp. Clicks: Alex "
        "approves Priya's `disable_user` on finance-impossible-travel incidents (Teams "
        "invoke on /api/messages). "
        "The load runs the shared policy with its limits and cool-off raised out of reach.",
    ]
    for name, result in run["databases"].items():
        if "skipped" in result:
            continue
        notes.append(
            f"{name}: floor statuses {_get(result, 'floor_intake', 'statuses')}, Cordon statuses "
            f"{_get(result, 'cordon_intake', 'statuses')} answering, "
            f"{_get(result, 'cordon_accept', 'statuses')} respond-async (all settled: "
            f"{_get(result, 'cordon_intake', 'settled')} / "
            f"{_get(result, 'cordon_accept', 'settled')}), auto runs "
            f"{_get(result, 'arrival_to_executed', 'run_statuses')} / "
            f"{_get(result, 'accepted_to_executed', 'run_statuses')}, clicks approved "
            f"{_get(result, 'approval_clicks', 'approved')}/"
            f"{_get(result, 'approval_clicks', 'clicks')}, max latencies (ms): floor "
            f"{_max(result, 'floor_intake')}, Cordon {_max(result, 'cordon_intake')} answering, "
            f"{_max(result, 'cordon_accept')} respond-async, "
            f"executed {_max(result, 'arrival_to_executed')}, click "
            f"{_max(result, 'approval_clicks')}")
    return notes


def _max(result: dict, part: str) -> str:
    value = _get(result, part, "latency_ms", "max")
    return "n/a" if value is None else f"{value:.0f}"


def policy_table(policy: dict[str, Any]) -> str:
    lines = ["| scenario : action | verdict | p50 (µs) | p99 (µs) |", "|---|---|---|---|"]
    for key, part in policy.get("per_action", {}).items():
        lines.append(f"| {key} | {part['verdict']} | {part['p50']:.1f} | {part['p99']:.1f} |")
    return "\n".join(lines)
