"""Recovery: finishing what a stopped process left half done, without doing anything twice.

Incidents accepted but never triaged (their process died first) are triaged by whichever
replica takes them over once their lease has run out (`resume_untriaged`, from the engine).

Runs a process leaves behind are found by age (`updated_at` older than the execution lease):

- `pending` runs (an `auto` verdict or an undo that never started) are executed now; the
  executor's conditional claim makes sure only one replica does it;
- `executing` runs may or may not have reached the API before the process died. The action's
  effect is probed with a read (is the user disabled, the machine isolated, the rule there?): if
  it is in place the run is marked succeeded without calling again; if it is certainly not, the
  run is executed again; if the probe cannot tell, the run fails with a reason asking a human to
  check, rather than risk acting twice.

Pending approvals need no recovery: they are rows, and a click after a restart finds them.
Approvals past their expiry are expired here too, so a card never offers a dead button for long.

Limitation: a stale `executing` run is taken over after the lease (default 60 s), so a single
action that legitimately runs longer than the lease on a live replica could be probed while it
is still in flight; the probe then usually reports "not in place" and the run is executed a
second time. Keep the lease above the longest retry budget.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog

from core.models import RunStatus

log = structlog.get_logger(__name__)


class Recovery:
    def __init__(self, *, store, executor, approvals, skills, policy_source,
                 lease: timedelta, on_change=None, resume_untriaged=None) -> None:
        self._store = store
        self._executor = executor
        self._approvals = approvals
        self._skills = skills
        self._policy_source = policy_source
        self._lease = lease
        self._on_change = on_change
        self._resume_untriaged = resume_untriaged
        self._task: asyncio.Task | None = None

    async def sweep(self) -> int:
        """One pass; returns how many runs or approvals it settled."""
        settled = await self._resume_untriaged() if self._resume_untriaged else 0
        cutoff = datetime.now(UTC) - self._lease
        for run in await self._store.runs.stuck(cutoff):
            if run.status == RunStatus.PENDING:
                settled += await self._resume_pending(run)
            elif run.status == RunStatus.EXECUTING:
                settled += await self._resume_executing(run)
        for approval in await self._store.approvals.expired(datetime.now(UTC)):
            if await self._approvals.expire(approval):
                settled += 1
                if self._on_change:
                    run = await self._store.runs.get(approval.run_id)
                    if run:
                        await self._on_change(run)
        return settled

    async def _resume_pending(self, run) -> int:
        log.info("run resumed", run_id=run.id, action=run.proposed.action)
        self._executor.spawn(self._executor.execute(
            run.id, from_statuses={RunStatus.PENDING}, actor="cordon (recovery)",
            dry_run=self._policy_source().dry_run))
        return 1

    async def _resume_executing(self, run) -> int:
        probe = getattr(self._skills, "probe", None)
        in_place = None
        if probe is not None:
            try:
                in_place = await probe(run.proposed.action, run.proposed.target,
                                       run.proposed.parameters, since=run.executed_at)
            except Exception as exc:
                log.warning("probe failed", run_id=run.id, error=str(exc))

        now = datetime.now(UTC)
        if in_place is True:
            done = await self._store.runs.transition(
                run.id, {RunStatus.EXECUTING}, RunStatus.SUCCEEDED, updated_at=now,
                error=None, result={"response": {"recovered": True}, "inverse_parameters": {}})
            if done:
                await self._store.audit.append("action recovered", "cordon", run.incident_id, {
                    "run_id": run.id, "action": run.proposed.action,
                    "target": run.proposed.target,
                    "finding": "the effect was already in place; not executed again"})
                await self._changed(done)
            return int(done is not None)

        if in_place is False:
            reset = await self._store.runs.transition(run.id, {RunStatus.EXECUTING},
                                                      RunStatus.PENDING, updated_at=now)
            if reset:
                await self._store.audit.append("action resumed", "cordon", run.incident_id, {
                    "run_id": run.id, "finding": "the effect was not in place; executing again"})
                self._executor.spawn(self._executor.execute(
                    run.id, from_statuses={RunStatus.PENDING}, actor="cordon (recovery)",
                    dry_run=self._policy_source().dry_run))
            return int(reset is not None)

        failed = await self._store.runs.transition(
            run.id, {RunStatus.EXECUTING}, RunStatus.FAILED, updated_at=now,
            error="interrupted while executing and its effect could not be checked; "
                  "verify by hand before acting again")
        if failed:
            await self._store.audit.append("action interrupted", "cordon", run.incident_id, {
                "run_id": run.id, "action": run.proposed.action, "target": run.proposed.target})
            await self._changed(failed)
        return int(failed is not None)

    async def _changed(self, run) -> None:
        if self._on_change:
            await self._on_change(run)

    def start(self, interval: float = 15.0) -> None:
        async def loop() -> None:
            while True:
                try:
                    await self.sweep()
                except Exception:
                    log.exception("recovery sweep failed")
                await asyncio.sleep(interval)

        self._task = asyncio.ensure_future(loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
