"""A database of each kind for every store test, and the shared scenarios' incidents as data.

`db_url` runs each test twice: on a fresh SQLite file and on a fresh PostgreSQL database (from
`tests.pg`; skipped only when no server answers and `CORDON_REQUIRE_POSTGRES` is unset).
`store` is a `Store` opened on it. The incidents come from `../shared/scenarios/`: their ARM
ids, numbers, titles, revisions and entities, as intake would have parsed them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.models import (
    ActionRun,
    Enrichment,
    Entity,
    EntityKind,
    Incident,
    IncidentRecord,
    ProposedAction,
    Recommendation,
    RunStatus,
    Verdict,
)
from store import Store
from tests.pg import drop_postgres_database, fresh_postgres_url

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT.parent / "shared" / "scenarios"
if not SCENARIOS.is_dir():
    SCENARIOS = Path("/work/shared/scenarios")


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cordon.db'}"
        return

    url = await fresh_postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 (set CORDON_REQUIRE_POSTGRES to fail)")
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


def _entity(raw: dict) -> Entity | None:
    kind, props = raw["kind"], raw.get("properties", {})
    if kind == "Ip":
        return Entity(kind=EntityKind.IP, raw_kind=kind, key=props["address"])
    if kind == "Account" and props.get("upnSuffix"):
        upn = f"{props['accountName']}@{props['upnSuffix']}".lower()
        return Entity(kind=EntityKind.ACCOUNT, raw_kind=kind, key=upn,
                      name=props.get("displayName", ""))
    if kind == "Host" and props.get("dnsDomain"):
        dns = f"{props['hostName']}.{props['dnsDomain']}".lower()
        return Entity(kind=EntityKind.HOST, raw_kind=kind, key=dns)
    return None


def scenario_incident(name: str) -> Incident:
    """The incident of `../shared/scenarios/<name>.json`, as intake would parse it."""
    payload = json.loads((SCENARIOS / f"{name}.json").read_text())
    arm, props = payload["object"], payload["object"]["properties"]
    entities = [e for e in (_entity(raw) for raw in props.get("relatedEntities", [])) if e]
    return Incident(id=arm["id"], number=props["incidentNumber"], title=props["title"],
                    severity=props["severity"], revision=props["lastModifiedTimeUtc"],
                    entities=entities)


def proposed_run(incident: Incident, action: str, target: str,
                 status: RunStatus = RunStatus.PENDING, verdict: str = "auto") -> ActionRun:
    run_id = uuid.uuid4().hex
    return ActionRun(
        id=run_id, incident_id=incident.id,
        proposed=ProposedAction(action=action, target=target),
        verdict=Verdict(verdict=verdict, reasons=[f"scenario rule for {action}"]),
        status=status, idempotency_key=f"{incident.id}:{action}:{target}:{run_id}",
    )


def incident_record(incident: Incident, runs: list[ActionRun],
                    outcome: str = "contained") -> IncidentRecord:
    return IncidentRecord(
        incident=incident, enrichment=Enrichment(),
        recommendation=Recommendation(confidence=0.93, risk_score=87,
                                      rationale="sign-ins from two countries an hour apart"),
        runs=runs, outcome=outcome, risk_score=87,
    )
