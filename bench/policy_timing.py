"""Policy evaluation per proposed action, in-process: `Policy.decide(context, usage)` alone.

The contexts are the ones Cordon's triage builds: every scenario is parsed, enriched against
the sandbox tenant and reasoned about by a Cordon runtime in this process, and each proposed
action the policy would be asked about (known action, target among the incident's entities)
becomes a context through `response.context.build_context`. The policy is the shared one as
shipped, with nothing executed yet. Each context is judged `iterations` times, interleaved.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.incidents import SCENARIO_ORDER, SCENARIOS, SHARED_POLICY
from bench.latency import summary


async def scenario_contexts(workdir: Path) -> tuple[Any, list[tuple[str, str, dict]]]:
    """The shared policy and (scenario, action, context) for every action it would judge."""
    from app import Runtime
    from core.settings import Settings
    from policy import resolve_action
    from response.context import build_context
    from response.decisions import known_targets
    from response.intake import parse_incident

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'contexts.db'}", policy_path=SHARED_POLICY,
        data_dir=workdir, sandbox_url="", client_id="", client_secret="", tenant_id="",
        use_managed_identity=False, ai_provider="", log_level="warning")
    found: list[tuple[str, str, dict]] = []
    async with Runtime.embedded(settings) as runtime:
        for name in SCENARIO_ORDER:
            incident = parse_incident(json.loads((SCENARIOS / f"{name}.json").read_text()))
            enrichment = await runtime.skills.enricher.enrich(incident)
            recommendation = await runtime.reasoner.recommend(incident, enrichment)
            targets = known_targets(incident, enrichment)
            for proposed in recommendation.actions:
                spec = resolve_action(proposed.action)
                if spec is None:
                    continue
                if spec.target_kind != "none" and proposed.target.lower() not in targets:
                    continue
                context = build_context(incident, enrichment, recommendation, proposed,
                                        target_kind=spec.target_kind, impact=spec.impact,
                                        reversible=spec.reversible)
                found.append((name, proposed.action, context))
        return runtime.policy, found


async def measure_policy(iterations: int) -> dict[str, Any]:
    from policy import Usage

    with tempfile.TemporaryDirectory(prefix="cordon-bench-policy-") as tmp:
        policy, contexts = await scenario_contexts(Path(tmp))
    usage = Usage.nothing_executed(policy)

    for _, _, context in contexts:
        policy.decide(context, usage)  # warm the compiled conditions
    per_action: dict[str, list[float]] = {}
    every: list[float] = []
    verdicts: dict[str, str] = {}
    for _ in range(iterations):
        for name, action, context in contexts:
            started = time.perf_counter_ns()
            decision = policy.decide(context, usage)
            micros = (time.perf_counter_ns() - started) / 1000
            every.append(micros)
            per_action.setdefault(f"{name}:{action}", []).append(micros)
            verdicts[f"{name}:{action}"] = decision.verdict
    return {"contexts": len(contexts), "iterations": iterations,
            "latency_us": summary(every),
            "per_action": {key: {"verdict": verdicts[key], **summary(values)}
                           for key, values in per_action.items()}}
