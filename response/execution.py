"""Exactly-once execution of one action run, with retries, dry runs and an audit of each step.

The state machine is the store's: `pending` (or `pending_approval` once granted) →
`executing` → `succeeded | failed | dry_run`, and `succeeded → rolled_back` when its inverse
succeeds. The step into `executing` is a conditional update in the shared database, so of any
number of callers on any number of replicas exactly one executes a run; the others return.

While `executing`, the run holds a live authorization (see `authorization.py`); the action
plugin is invoked through the kernel with it. A 429 or 5xx is retried with exponential backoff
that honours `Retry-After`; anything else fails the run with the API's reason. A run never
executes again after success: a retry only happens inside the one claim.

An approved run is judged by the policy again before it is handed here (`approvals.py`); this
module executes what it is given and judges nothing.

When an automatic run is claimed, the policy is asked again with the current counts
(`verdict_recheck`), in the claiming transaction and under a lock all replicas' automatic claims
share: a limit used up since triage, a pause or observe mode hands the run to people (or stops
it) instead of executing it, and two runs racing for a limit's last place get one place between
them. Undo runs were judged when they were asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from core.errors import CordonError, NotAuthorizedToAct, UpstreamError
from core.models import ActionRun, RunStatus

log = structlog.get_logger(__name__)

MAX_BACKOFF_S = 30.0
AUTOMATIC_CLAIMS = "cordon: automatic claims"

RunListener = Callable[[ActionRun], Awaitable[None]]


class Executor:
    def __init__(self, *, store, skills, authorizer, recheck=None, max_attempts: int = 4,
                 base_backoff_s: float = 0.5) -> None:
        self._recheck = recheck
        self._store = store
        self._skills = skills
        self._authorizer = authorizer
        self._max_attempts = max(1, max_attempts)
        self._base_backoff_s = base_backoff_s
        self._listeners: list[RunListener] = []
        self._tasks: set[asyncio.Task] = set()

    def on_run_finished(self, listener: RunListener) -> None:
        self._listeners.append(listener)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        """Run a coroutine in the background and keep a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for background executions (used on shutdown and by the CLI)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def execute(self, run_id: str, *, from_statuses: set[RunStatus], actor: str,
                      dry_run: bool, record=None) -> ActionRun | None:
        """Claim the run and execute it; None when another caller has it already, or when the
        policy, asked again, no longer lets an automatic run go ahead on its own."""
        run, moved = await self._claim(run_id, from_statuses, actor, dry_run, record)
        if moved is not None:
            await self._notify(moved)
        if run is None:
            log.info("run not claimed", run_id=run_id, reason="already taken, not ready or "
                     "no longer automatic")
            return None
        finished = await self._attempt(run, actor=actor, dry_run=dry_run)
        await self._notify(finished)
        return finished

    async def _claim(self, run_id: str, from_statuses: set[RunStatus], actor: str,
                     dry_run: bool, record) -> tuple[ActionRun | None, ActionRun | None]:
        """(claimed run, run handed over to people), at most one of them, in one transaction.

        An automatic run is judged again inside the transaction that claims it, under a lock
        every replica's automatic claims take: the limits it is counted against include every
        run claimed before it, here or elsewhere, and no two runs take a limit's last place."""
        automatic = await self._automatic(run_id, from_statuses)
        now = datetime.now(UTC)
        async with self._store.db.transaction() as session:
            if automatic is not None:
                await self._store.db.serialize(session, AUTOMATIC_CLAIMS)
                verdict = await self._recheck.now(automatic, record, session=session)
                if verdict.verdict != "auto":
                    return None, await self._recheck.hand_over(automatic, verdict,
                                                               session=session)
            run = await self._store.runs.transition(
                run_id, from_statuses, RunStatus.EXECUTING, executed_at=now, updated_at=now,
                session=session)
            if run is not None:
                await self._store.audit.append("action executing", actor, run.incident_id, {
                    "run_id": run.id, "action": run.proposed.action,
                    "target": run.proposed.target, "dry_run": dry_run,
                    "idempotency_key": run.idempotency_key,
                }, session=session)
        return run, None

    async def _automatic(self, run_id: str, from_statuses: set[RunStatus]) -> ActionRun | None:
        """The run, if it is an automatic one the policy must judge again before it runs."""
        if self._recheck is None or from_statuses != {RunStatus.PENDING}:
            return None
        run = await self._store.runs.get(run_id)
        if run is None or run.status != RunStatus.PENDING or run.inverse_of:
            return None  # the claim decides; undo runs were judged when asked for
        return run

    async def _notify(self, run: ActionRun) -> None:
        for listener in self._listeners:
            try:
                await listener(run)
            except Exception:  # a listener (a card update) must not undo an execution
                log.exception("run listener failed", run_id=run.id)

    async def _attempt(self, run: ActionRun, *, actor: str, dry_run: bool) -> ActionRun:
        token = self._authorizer.mint(run.id, run.proposed.action, run.proposed.target)
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = await self._skills.execute(
                    run.proposed.action, run.proposed.target, run.proposed.parameters,
                    authorization=token, dry_run=dry_run,
                )
            except UpstreamError as exc:
                if exc.retryable and attempts < self._max_attempts:
                    delay = self._backoff(attempts, exc.retry_after)
                    log.info("action retry", run_id=run.id, action=run.proposed.action,
                             attempt=attempts, delay_s=delay, error=exc.message)
                    await self._store.audit.append("action retry", "cordon", run.incident_id, {
                        "run_id": run.id, "attempt": attempts, "delay_s": delay,
                        "error": exc.message,
                    })
                    await asyncio.sleep(delay)
                    continue
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=exc.message, facts=exc.facts)
            except NotAuthorizedToAct as exc:
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=exc.message)
            except CordonError as exc:
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=exc.message, facts=exc.facts)
            except Exception as exc:  # an unexpected client failure is a failed run, not a crash
                log.exception("action crashed", run_id=run.id, action=run.proposed.action)
                return await self._finish(run, RunStatus.FAILED, actor, attempts,
                                          error=f"{type(exc).__name__}: {exc}")

            status = RunStatus.DRY_RUN if dry_run else RunStatus.SUCCEEDED
            return await self._finish(run, status, actor, attempts, outcome=outcome)

    async def _mark_rolled_back(self, undo: ActionRun, actor: str, session) -> None:
        """An undo that succeeded rolls its original back, whoever ran it (a click, recovery)."""
        original = await self._store.runs.transition(
            undo.inverse_of, {RunStatus.SUCCEEDED}, RunStatus.ROLLED_BACK, session=session,
            updated_at=datetime.now(UTC))
        if original is None:
            return
        await self._store.audit.append("action rolled back", actor, undo.incident_id, {
            "run_id": original.id, "undo_run_id": undo.id, "action": original.proposed.action,
            "target": original.proposed.target}, session=session)
        log.info("action rolled back", run_id=original.id, undo_run_id=undo.id, actor=actor)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(float(retry_after), MAX_BACKOFF_S)
        return min(self._base_backoff_s * (2 ** (attempt - 1)), MAX_BACKOFF_S)

    async def _finish(self, run: ActionRun, status: RunStatus, actor: str, attempts: int, *,
                      outcome: dict[str, Any] | None = None, error: str | None = None,
                      facts: dict[str, Any] | None = None) -> ActionRun:
        outcome = outcome or {}
        kind = {RunStatus.SUCCEEDED: "action succeeded", RunStatus.DRY_RUN: "action dry run",
                RunStatus.FAILED: "action failed"}[status]
        async with self._store.db.transaction() as session:
            updated = await self._store.runs.transition(
                run.id, {RunStatus.EXECUTING}, status, session=session,
                attempts=run.attempts + attempts,
                request=outcome.get("request"),
                result={"response": outcome.get("response"),
                        "inverse_parameters": outcome.get("inverse_parameters") or {}}
                if outcome else None,
                error=error,
                updated_at=datetime.now(UTC),
            )
            await self._store.audit.append(kind, actor, run.incident_id, {
                "run_id": run.id, "action": run.proposed.action, "target": run.proposed.target,
                "attempts": attempts, "request": outcome.get("request"),
                "response": outcome.get("response"), "error": error, "details": facts or {},
            }, session=session)
            if updated is not None and status == RunStatus.SUCCEEDED and run.inverse_of:
                await self._mark_rolled_back(run, actor, session)
        final = updated or run
        log.info(kind, run_id=run.id, action=run.proposed.action, target=run.proposed.target,
                 attempts=attempts, error=error)
        return final
