"""Questions people ask in Teams, answered by the built-in explainer from the incident record."""

from __future__ import annotations

import re

from skills.builtin_reasoner import BuiltinReasoner


def cited(answer) -> set[str]:
    """Evidence ids the text shows, as [E1] citations or as listed `• E1 (source)` lines."""
    return set(re.findall(r"\[(E\d+)\]", answer.text)) | set(
        re.findall(r"^• (E\d+) ", answer.text, flags=re.MULTILINE))


def assert_grounded(answer, record) -> None:
    """The answer names evidence, and only evidence the record holds, with its sources."""
    known = {e.id: e for e in record.recommendation.evidence}
    assert answer.evidence, f"no evidence cited in: {answer.text}"
    assert set(answer.evidence) <= set(known)
    assert cited(answer) <= set(known)
    assert {known[e].source for e in answer.evidence} <= set(answer.sources)


async def test_why_block_203_0_113_77_names_the_sign_in_and_its_reputation(record_for):
    record = await record_for("impossible-travel-powershell")

    answer = await BuiltinReasoner().answer("why block 203.0.113.77?", record)

    assert "block_ip 203.0.113.77 was proposed" in answer.text
    assert "policy verdict auto" in answer.text
    assert {"graph.signIns", "threatIntelligence"} <= set(answer.sources)
    assert "malicious" in answer.text
    assert_grounded(answer, record)


async def test_what_evidence_is_there_against_dana(record_for):
    record = await record_for("impossible-travel-powershell")

    answer = await BuiltinReasoner().answer("what evidence is there against Dana?", record)

    assert "disable_user dana.rossi@fabrikam.example" in answer.text
    assert "high risk" in answer.text and "km/h" in answer.text
    assert {"graph.riskyUsers", "graph.signIns"} <= set(answer.sources)
    assert_grounded(answer, record)


async def test_what_happens_if_i_reject_the_finance_controllers_disable(record_for):
    record = await record_for("finance-impossible-travel")

    answer = await BuiltinReasoner().answer("what happens if I reject?", record)

    assert "Rejecting disable_user priya.natarajan@fabrikam.example means it never runs" in (
        answer.text)
    assert "revoke_sessions priya.natarajan@fabrikam.example (succeeded)" in answer.text
    assert_grounded(answer, record)


async def test_what_happens_if_i_approve_says_the_policy_is_checked_again(record_for):
    record = await record_for("phishing-campaign")

    answer = await BuiltinReasoner().answer("what happens if I approve the purge?", record)

    assert "Approving purge_email billing@contoso-pay.example" in answer.text
    assert "checked again" in answer.text
    assert_grounded(answer, record)


async def test_who_approved_4522_names_the_approver(record_for):
    record = await record_for("finance-impossible-travel", approved_by="Megan Bowen")

    answer = await BuiltinReasoner().answer("who approved 4522?", record)

    assert "Megan Bowen approved at 2026-11-30 09:05 UTC" in answer.text
    assert "revoke_sessions priya.natarajan@fabrikam.example" in answer.text
    assert "audit.approvals" in answer.sources
    assert_grounded(answer, record)


async def test_who_approved_4521_says_nothing_needed_an_approver(record_for):
    record = await record_for("impossible-travel-powershell")

    answer = await BuiltinReasoner().answer("who approved 4521?", record)

    assert "needed no approver" in answer.text
    assert "approved at" not in answer.text
    assert_grounded(answer, record)


async def test_show_danas_sign_ins_lists_them_with_reputation(record_for):
    record = await record_for("impossible-travel-powershell")

    answer = await BuiltinReasoner().answer("show Dana's sign-ins", record)

    lines = [line for line in answer.text.splitlines() if line.startswith("• 2026")]
    assert len(lines) == 3
    assert "203.0.113.77 (Sao Paulo, BR, malicious (score 91))" in lines[0]
    assert "graph.signIns" in answer.sources
    assert_grounded(answer, record)


async def test_why_was_marcus_not_disabled_explains_the_failed_spray(record_for):
    record = await record_for("password-spray-ip")

    answer = await BuiltinReasoner().answer("why wasn't Marcus disabled?", record)

    assert "did not propose disable_user" in answer.text
    assert "25 failed sign-ins" in answer.text
    assert_grounded(answer, record)


async def test_why_not_block_the_servers_internal_address(record_for):
    record = await record_for("c2-from-sql-server")

    answer = await BuiltinReasoner().answer("why not block 10.0.1.20?", record)

    assert "did not propose" in answer.text
    assert "internal" in answer.text
    assert_grounded(answer, record)


async def test_a_name_from_the_injected_text_is_not_an_entity(record_for):
    record = await record_for("prompt-injection-in-title")

    answer = await BuiltinReasoner().answer("why not disable breakglass01@fabrikam.example?",
                                            record)

    assert "is not an entity of incident 4530" in answer.text


async def test_a_question_that_asks_to_act_changes_nothing(record_for):
    record = await record_for("finance-impossible-travel")
    before = record.model_dump()

    answer = await BuiltinReasoner().answer(
        "approve the disable of priya.natarajan@fabrikam.example and isolate everything", record)

    assert record.model_dump() == before
    assert "Approved" not in answer.text


async def test_an_unrelated_question_lists_what_can_be_asked(record_for):
    record = await record_for("impossible-travel-powershell")

    answer = await BuiltinReasoner().answer("what's for lunch?", record)

    assert "I can answer questions about incident 4521" in answer.text
    assert "why block" in answer.text or "why disable" in answer.text
    assert "who approved 4521?" in answer.text
    assert "show Dana Rossi's sign-ins" in answer.text
