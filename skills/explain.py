"""Answers to questions about an incident, from its record alone: the built-in explainer.

`answer_question(question, record)` answers what people ask in Teams: why an action was
proposed ("why block 203.0.113.77?"), what evidence there is against an entity ("what evidence
is there against Dana?"), what rejecting or approving would do ("what happens if I reject?"),
who decided ("who approved 4521?") and what the sign-ins of a user look like ("show Dana's
sign-ins"). Every answer names the evidence it rests on (the recommendation's `E` ids and
their sources) or the record it read (`policy.verdicts`, `audit.approvals`). A question it
cannot place gets the list of questions it can answer, with examples from this incident.

It reads the record and nothing else; it never acts, never calls an API and never changes the
record, whatever the question says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.models import (
    ActionRun,
    Evidence,
    IncidentRecord,
    ProposedAction,
    RunStatus,
    UserFacts,
    Verdict,
)
from skills.reasoner import Answer
from skills.reasoning_evidence import cite, evidence_order
from skills.reasoning_subjects import actions_in, subjects_in
from skills.reasoning_travel import parse_time, stamp, succeeded

SIGN_IN_LINES = 12
PAST = {"approve": "approved", "reject": "rejected"}
SIGN_INS = re.compile(r"sign[- ]?ins?\b|log[- ]?ins?\b|logons?\b")
WHO_DECIDED = re.compile(r"\bwho\b.*\b(approv|reject|decid|sign(ed)? off)")
WHAT_IF = re.compile(r"what (happens|if|would)|\bif (i|we) (reject|approve|deny)|consequence")
EVIDENCE = re.compile(r"\bevidence\b|\bagainst\b|\bknow about\b")
WHY = re.compile(r"\bwhy\b|\bevidence\b|\bagainst\b|\bexplain\b|\breason|\bbasis\b|\bjustif")
STATUS = re.compile(r"\bstatus\b|\bwhat (was|has been|did|got) ")


class _Citations:
    """The evidence an answer cites, and the records it read."""

    def __init__(self, record: IncidentRecord) -> None:
        self._by_id = {e.id: e for e in record.recommendation.evidence}
        self.ids: list[str] = []
        self.sources: list[str] = []

    def evidence(self, ids: Iterable[str]) -> list[Evidence]:
        items = [self._by_id[i] for i in ids if i in self._by_id]
        for item in items:
            if item.id not in self.ids:
                self.ids.append(item.id)
            if item.source not in self.sources:
                self.sources.append(item.source)
        return items

    def read(self, source: str) -> None:
        if source not in self.sources:
            self.sources.append(source)

    def lines(self, ids: Iterable[str]) -> list[str]:
        ordered = sorted(set(ids), key=evidence_order)
        return [f"• {e.id} ({e.source}): {e.fact}" for e in self.evidence(ordered)]

    def answer(self, text: str) -> Answer:
        return Answer(text=text, evidence=sorted(self.ids, key=evidence_order),
                      sources=self.sources)


def _runs(record: IncidentRecord) -> list[tuple[ProposedAction, Verdict | None, ActionRun | None]]:
    if record.runs:
        return [(run.proposed, run.verdict, run) for run in record.runs if not run.inverse_of]
    return [(action, None, None) for action in record.recommendation.actions]


def _verdict_text(verdict: Verdict | None, run: ActionRun | None) -> str:
    if verdict is None:
        return "not yet judged by the policy"
    reasons = "; ".join(verdict.reasons) or "no reason recorded"
    status = f", status {run.status.value}" if run is not None else ""
    return f"policy verdict {verdict.verdict} ({reasons}){status}"


def _incident_label(record: IncidentRecord) -> str:
    number = record.incident.number
    return f"incident {number}" if number is not None else "this incident"


def _explain_actions(record: IncidentRecord, subjects: list[str], named: set[str],
                     cites: _Citations) -> Answer | None:
    runs = [(p, v, r) for p, v, r in _runs(record)
            if (not subjects or p.target.lower() in subjects) and (not named or p.action in named)]
    if not runs:
        return None

    cites.read("policy.verdicts")
    parts: list[str] = []
    for proposed, verdict, run in runs:
        cites.evidence(proposed.evidence)
        because = (proposed.rationale or "the recommendation asked for it").rstrip(". ")
        parts.append(f"{proposed.action} {proposed.target} was proposed because {because}; "
                     f"{_verdict_text(verdict, run)}.")
    cited = [e for proposed, _, _ in runs for e in proposed.evidence]
    parts.append("Evidence:")
    parts.extend(cites.lines(cited))
    return cites.answer("\n".join(parts))


def _explain_subject(record: IncidentRecord, subject: str, named: set[str],
                     cites: _Citations) -> Answer:
    names = {subject}
    if subject in record.enrichment.users:
        names.add(_user_name(subject, record.enrichment.users[subject]).lower())
    about = [e.id for e in record.recommendation.evidence
             if e.entity.lower() == subject or any(n in e.fact.lower() for n in names)]
    aimed = [(p, v, r) for p, v, r in _runs(record) if p.target.lower() == subject]
    cited = about + [e for p, _, _ in aimed for e in p.evidence]
    lines: list[str] = []
    if named and not any(p.action in named for p, _, _ in aimed):
        lines.append(f"Cordon did not propose {' or '.join(sorted(named))} for {subject} in "
                     f"{_incident_label(record)}.")
    for proposed, verdict, run in aimed:
        cites.read("policy.verdicts")
        lines.append(f"Proposed: {proposed.action} {proposed.target} "
                     f"{cite(proposed.evidence)}; {_verdict_text(verdict, run)}.")
    if not aimed and not named:
        lines.append(f"Cordon proposed no action against {subject} in "
                     f"{_incident_label(record)}.")
    said = [s for s in re.split(r"(?<=\.)\s+", record.recommendation.rationale)
            if any(n in s.lower() for n in names) and re.search(r"\[E\d+\]", s)]
    if said:
        lines.append("The recommendation says: " + " ".join(said))
        cites.evidence(e for s in said for e in re.findall(r"\[(E\d+)\]", s))
    if not cited:
        lines.append(f"The recommendation records no evidence about {subject}.")
        return cites.answer("\n".join(lines))
    return cites.answer("\n".join([*lines, f"Evidence about {subject}:", *cites.lines(cited)]))


def _unknown_subject(record: IncidentRecord, literal: str, cites: _Citations) -> Answer:
    mentioned = [e.id for e in record.recommendation.evidence if literal in e.fact.lower()]
    head = (f"{literal} is not an entity of {_incident_label(record)}, so Cordon proposes no "
            f"action against it: actions are only ever aimed at the incident's own entities.")
    if not mentioned:
        return cites.answer(head)
    return cites.answer("\n".join([head, f"Evidence that mentions {literal}:",
                                   *cites.lines(mentioned)]))


def _literals(question: str) -> list[str]:
    """Addresses, mail addresses and host names written out in the question."""
    pattern = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[\w-]+(?:\.[\w-]+){2,}\b"
    return [m.lower() for m in re.findall(pattern, question)]


def _explain(question: str, record: IncidentRecord, cites: _Citations) -> Answer:
    subjects = subjects_in(question, record)
    named = actions_in(question)
    unknown = [literal for literal in _literals(question) if literal not in subjects]
    if unknown and not subjects:
        return _unknown_subject(record, unknown[0], cites)
    if subjects and EVIDENCE.search(question.lower()):
        return _explain_subject(record, subjects[0], named, cites)
    explained = _explain_actions(record, subjects, named, cites)
    if explained is not None:
        return explained
    if subjects:
        return _explain_subject(record, subjects[0], named, cites)

    rec = record.recommendation
    cites.evidence(e.id for e in rec.evidence)
    text = [f"{_incident_label(record).capitalize()}: {rec.rationale}", "Evidence:",
            *cites.lines(e.id for e in rec.evidence)]
    return cites.answer("\n".join(text))


def _consequences(question: str, record: IncidentRecord, cites: _Citations) -> Answer:
    subjects, named = subjects_in(question, record), actions_in(question)
    approving = "approve" in question.lower() and "reject" not in question.lower()
    waiting = [(p, v, r) for p, v, r in _runs(record)
               if r is not None and r.status == RunStatus.PENDING_APPROVAL
               and (not subjects or p.target.lower() in subjects)
               and (not named or p.action in named)]
    cites.read("policy.verdicts")
    if not waiting:
        return cites.answer(f"Nothing in {_incident_label(record)} is waiting for approval, so "
                            f"there is nothing to {'approve' if approving else 'reject'}.")

    lines = []
    for proposed, verdict, _ in waiting:
        cites.evidence(proposed.evidence)
        needed = verdict.approvers_required if verdict else 1
        if approving:
            lines.append(f"Approving {proposed.action} {proposed.target} lets it run once "
                         f"{needed} approver(s) agree; the policy is checked again before it "
                         f"runs and the card shows the result {cite(proposed.evidence)}.")
        else:
            lines.append(f"Rejecting {proposed.action} {proposed.target} means it never runs: "
                         f"the run is marked rejected and nothing is sent to the API "
                         f"{cite(proposed.evidence)}.")
    waiting_ids = {run.id for _, _, run in waiting if run is not None}
    others = [f"{p.action} {p.target} ({r.status.value})" for p, _, r in _runs(record)
              if r is not None and r.id not in waiting_ids]
    if others:
        lines.append(f"The other actions are unaffected: {', '.join(others)}.")
    if not approving:
        lines.append("The evidence stays on record and the incident stays open for an analyst.")
    return cites.answer("\n".join(lines))


def _decisions(question: str, record: IncidentRecord, cites: _Citations) -> Answer:
    cites.read("audit.approvals")
    lines = []
    asked = re.findall(r"\b\d{3,}\b", question)
    number = record.incident.number
    if asked and number is not None and str(number) not in asked:
        lines.append(f"This is incident {number}, not {', '.join(asked)}; here is who decided "
                     f"on {number}.")

    by_run = {run.id: run for run in record.runs}
    for approval in record.approvals:
        run = by_run.get(approval.run_id)
        what = f"{run.proposed.action} {run.proposed.target}" if run else approval.run_id
        if not approval.decisions:
            lines.append(f"{what}: no decision yet ({approval.status}, needs "
                         f"{approval.approvers_required}).")
            continue
        who = "; ".join(f"{d.approver_name} {PAST[d.decision]} at {stamp(d.at)}"
                        for d in approval.decisions)
        cited = cite(run.proposed.evidence) if run else ""
        if run:
            cites.evidence(run.proposed.evidence)
        lines.append(f"{what} {cited}: {who} (approval {approval.status}).")
    for run in record.runs:
        if run.verdict.verdict == "auto" and not run.inverse_of:
            cites.read("policy.verdicts")
            cites.evidence(run.proposed.evidence)
            lines.append(f"{run.proposed.action} {run.proposed.target} "
                         f"{cite(run.proposed.evidence)} needed no approver: the "
                         f"policy allowed it automatically ({'; '.join(run.verdict.reasons)}), "
                         f"status {run.status.value}.")
    if not lines or (len(lines) == 1 and asked):
        lines.append(f"Nobody has approved or rejected anything in {_incident_label(record)}.")
    return cites.answer("\n".join(lines))


def _sign_in_line(sign_in: dict, record: IncidentRecord) -> str:
    at = parse_time(sign_in.get("createdDateTime"))
    location = sign_in.get("location") or {}
    where = ", ".join(str(location[k]) for k in ("city", "countryOrRegion") if location.get(k))
    address = str(sign_in.get("ipAddress") or "unknown address")
    facts = record.enrichment.ips.get(address)
    reputation = f", {facts.reputation} (score {facts.score})" if facts else ""
    result = "success" if succeeded(sign_in) else (
        f"failure {(sign_in.get('status') or {}).get('errorCode')}")
    app = sign_in.get("appDisplayName") or "unknown app"
    return (f"• {stamp(at) if at else 'unknown time'}: {result} from {address} "
            f"({where or 'unknown place'}{reputation}) to {app}")


def _sign_ins(question: str, record: IncidentRecord, cites: _Citations) -> Answer:
    users = record.enrichment.users
    subjects = [s for s in subjects_in(question, record) if s in users]
    if not subjects and len(users) == 1:
        subjects = list(users)
    if not subjects:
        names = ", ".join(_user_name(upn, f) for upn, f in users.items()) or "nobody"
        return cites.answer(f"Whose sign-ins? {_incident_label(record).capitalize()} has "
                            f"sign-ins for: {names}.")

    lines: list[str] = []
    for upn in subjects:
        facts = users[upn]
        ordered = sorted(facts.sign_ins, key=lambda s: str(s.get("createdDateTime", "")),
                         reverse=True)
        lines.append(f"{_user_name(upn, facts)}: {len(ordered)} sign-in(s) fetched, latest "
                     f"first.")
        lines.extend(_sign_in_line(s, record) for s in ordered[:SIGN_IN_LINES])
        if len(ordered) > SIGN_IN_LINES:
            lines.append(f"… and {len(ordered) - SIGN_IN_LINES} earlier.")
        related = [e.id for e in record.recommendation.evidence
                   if e.source == "graph.signIns" and e.entity.lower() == upn]
        addresses = {str(s.get("ipAddress")) for s in ordered}
        related += [e.id for e in record.recommendation.evidence
                    if e.source in ("threatIntelligence", "watchlist.KnownVPNEgress")
                    and e.entity in addresses]
        cites.read("graph.signIns")
        if related:
            lines.append("What the recommendation drew from them:")
            lines.extend(cites.lines(related))
    return cites.answer("\n".join(lines))


def _user_name(upn: str, facts: UserFacts) -> str:
    return str(facts.user.get("displayName") or upn)


def _status(record: IncidentRecord, cites: _Citations) -> Answer:
    cites.read("policy.verdicts")
    lines = [f"{_incident_label(record).capitalize()}: outcome {record.outcome}, risk "
             f"{record.risk_score}, confidence {record.recommendation.confidence:.2f}."]
    for proposed, verdict, run in _runs(record):
        cites.evidence(proposed.evidence)
        lines.append(f"• {proposed.action} {proposed.target}: {_verdict_text(verdict, run)} "
                     f"{cite(proposed.evidence)}")
    return cites.answer("\n".join(lines))


def help_text(record: IncidentRecord) -> str:
    """What can be asked, with examples drawn from this incident."""
    actions = [p for p, _, _ in _runs(record)]
    users = [_user_name(upn, f) for upn, f in record.enrichment.users.items()]
    action = actions[0] if actions else None
    examples = [
        f"why {action.action.split('_')[0]} {action.target}?" if action else "why no action?",
        f"what evidence is there against {users[0] if users else 'this incident'}?",
        "what happens if I reject?",
        f"who approved {record.incident.number or 'this incident'}?",
        f"show {users[0]}'s sign-ins" if users else "show the sign-ins",
        "status",
    ]
    return (f"I can answer questions about {_incident_label(record)} from its recommendation, "
            f"enrichment and audit trail. Try:\n" + "\n".join(f"• {e}" for e in examples))


def answer_question(question: str, record: IncidentRecord) -> Answer:
    """The built-in answer to a question about one incident record."""
    cites = _Citations(record)
    text = question.strip().lower()
    if SIGN_INS.search(text):
        return _sign_ins(question, record, cites)
    if WHO_DECIDED.search(text):
        return _decisions(question, record, cites)
    if WHAT_IF.search(text):
        return _consequences(question, record, cites)
    if WHY.search(text) or subjects_in(question, record) or actions_in(question):
        return _explain(question, record, cites)
    if STATUS.search(text):
        return _status(record, cites)
    return cites.answer(help_text(record))
