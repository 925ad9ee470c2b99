"""Things that change between a verdict and the action: the policy looks again before anything
runs, an approval stays bound to its action, and an undo finishes its original wherever it ran."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import ApprovalRefused, Unauthorized
from core.models import RunStatus
from response.intake_auth import IntakeAuth
from tests.response.conftest import Held, scenario

MEGAN = "00000000-0000-0000-0000-0000000000021"
ALEX = "00000000-0000-0000-0000-0000000000020"


async def test_an_automatic_action_waits_for_people_when_automation_was_paused_since(cordon):
    held = Held(cordon.engine.executor)
    status, result = await cordon.post(scenario("password-spray-ip"))
    assert status == 201 and result["actions"][0]["verdict"] == "auto"

    await cordon.engine.set_paused(True, MEGAN)
    await held.run_all()

    record = await cordon.engine.record(result["incident_id"])
    run = record.runs[0]
    assert run.status == RunStatus.PENDING_APPROVAL
    assert any("paused" in reason for reason in run.verdict.reasons), run.verdict.reasons
    assert [a.run_id for a in record.approvals] == [run.id]
    assert await cordon.calls() == []


async def test_an_approval_does_not_follow_a_changed_action(cordon):
    status, result = await cordon.post(scenario("finance-impossible-travel"))
    record = await cordon.engine.record(result["incident_id"])
    approval = record.approvals[0]
    run = next(r for r in record.runs if r.id == approval.run_id)

    changed = run.proposed.model_copy(update={"target": "olivia.grant@fabrikam.example"})
    await cordon.runtime.store.runs.transition(run.id, {RunStatus.PENDING_APPROVAL},
                                               RunStatus.PENDING_APPROVAL, proposed=changed)

    with pytest.raises(ApprovalRefused, match="no longer the one"):
        await cordon.engine.decide(approval.id, approval.action_hash, ALEX, "approve")
    await cordon.engine.executor.drain()
    assert [c for c in await cordon.calls() if c["method"] == "PATCH"] == [], (
        "nobody's account was disabled")


async def test_an_undo_resumed_elsewhere_still_rolls_its_original_back(cordon):
    status, result = await cordon.post(scenario("malware-workstation"))
    record = await cordon.settled(result["incident_id"])
    isolate = next(a for a in record["actions"] if a["action"] == "isolate_device")

    held = Held(cordon.engine.executor)
    undo_run, _ = await cordon.engine.undo(isolate["id"], ALEX)
    held.coroutines.clear()  # as if the process had stopped before running it
    await cordon.engine.executor.execute(undo_run.id, from_statuses={RunStatus.PENDING},
                                         actor="cordon (recovery)", dry_run=False)

    original = await cordon.runtime.store.runs.get(isolate["id"])
    assert original.status == RunStatus.ROLLED_BACK
    with pytest.raises(ApprovalRefused, match="itself an undo"):
        await cordon.engine.undo(undo_run.id, ALEX)


async def test_an_entra_token_from_another_tenant_is_refused(monkeypatch):
    auth = IntakeAuth(token="secret", audience="api://cordon", tenant_id="tenant-a")
    claims = {"iss": "https://login.microsoftonline.com/tenant-b/v2.0", "tid": "tenant-b",
              "aud": "api://cordon"}

    class Key:
        key = "k"

    class Keys:
        def get_signing_key_from_jwt(self, token):
            return Key()

    auth._jwks = Keys()
    monkeypatch.setattr("jwt.decode", lambda *a, **k: claims)
    with pytest.raises(Unauthorized, match="another tenant"):
        await auth.check("Bearer a.b.c")

    claims.update(tid="tenant-a", iss="https://login.microsoftonline.com/tenant-a/v2.0")
    assert await auth.check("Bearer a.b.c") == "entra"


async def test_a_model_too_slow_to_answer_is_replaced_by_the_builtin_explanation(cordon):
    status, result = await cordon.post(scenario("password-spray-ip"))
    record = await cordon.engine.record(result["incident_id"])

    async def never(question, record):
        await asyncio.sleep(30)

    cordon.engine.reasoner.answer = never
    answer = await asyncio.wait_for(
        cordon.engine.answer("why block 203.0.113.45?", record, within=0.2), timeout=5)
    assert "203.0.113.45" in answer.text
    assert answer.evidence, "the built-in explanation still names its evidence"
    assert "did not answer" in answer.error


async def test_a_rule_raised_to_four_eyes_after_the_card_went_out_still_needs_two(cordon,
                                                                                  tmp_path):
    from policy import load_policy
    from tests.response.conftest import POLICY

    status, result = await cordon.post(scenario("finance-impossible-travel"))
    record = await cordon.engine.record(result["incident_id"])
    approval = record.approvals[0]
    assert approval.approvers_required == 1

    raised = tmp_path / "policy.yaml"
    raised.write_text(POLICY.read_text().replace(
        '      condition: user.department == "Finance"\n',
        '      condition: user.department == "Finance"\n      approvers: 2\n'))
    cordon.engine._policy = load_policy(raised)  # as after a restart with the edited file

    first = await cordon.engine.decide(approval.id, approval.action_hash, ALEX, "approve")
    assert "1 of 2" in first.message and not first.executing
    second = await cordon.engine.decide(approval.id, approval.action_hash, MEGAN, "approve")
    assert second.executing


async def test_an_undo_the_policy_wants_two_people_for_waits_for_the_second(tmp_path,
                                                                           database_url):
    import aiohttp

    from tests.response.conftest import POLICY, Cordon, start_cordon

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.read_text().replace(
        "  requires_approval:\n",
        "  requires_approval:\n    - action: unisolate_device\n      condition: 'true'\n"
        "      approvers: 2\n", 1).replace("    - isolate_device\n",
                                           "    - isolate_device\n    - unisolate_device\n", 1))
    runner, base, app = await start_cordon(tmp_path, database_url, policy=policy)
    try:
        async with aiohttp.ClientSession() as session:
            cordon = Cordon(base, session, app)
            _, result = await cordon.post(scenario("malware-workstation"))
            record = await cordon.settled(result["incident_id"])
            isolate = next(a for a in record["actions"] if a["action"] == "isolate_device")

            undo_run, message = await cordon.engine.undo(isolate["id"], ALEX)
            assert undo_run.status == RunStatus.PENDING_APPROVAL and "1 of 2" in message
            current = await cordon.engine.record(result["incident_id"])
            approval = next(a for a in current.approvals if a.run_id == undo_run.id)
            assert [c for c in await cordon.calls() if c["path"].endswith("/unisolate")] == []

            with pytest.raises(ApprovalRefused, match="already decided"):
                await cordon.engine.decide(approval.id, approval.action_hash, ALEX, "approve")
            outcome = await cordon.engine.decide(approval.id, approval.action_hash, MEGAN,
                                                 "approve")
            assert outcome.executing
            await cordon.engine.executor.drain()
            original = await cordon.runtime.store.runs.get(isolate["id"])
            assert original.status == RunStatus.ROLLED_BACK
    finally:
        await runner.cleanup()
