"""A finding: what one rule concluded about one entity, with the weighted signals behind it.

A rule of the built-in reasoner looks at one kind of problem (a compromised account, a
credential attack, malware on an endpoint, a phishing campaign, a suspicious app consent) and
returns findings. Each `Signal` carries a weight in [0, 1] for how strongly it alone points at
the problem and the evidence ids it rests on; a finding's strength combines its signals as
independent indications (1 - product of (1 - weight)), so two moderate signals together
outweigh either alone and no signal count reaches certainty. A finding proposes actions only
when its strength reaches `ACTION_THRESHOLD`; weaker findings are still explained.

`Observation`s are sentences about what was looked at and found reassuring or insufficient;
they keep the rationale honest about why nothing was done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import ProposedAction
from skills.reasoning_evidence import sentence

ACTION_THRESHOLD = 0.5
MAX_CONFIDENCE = 0.99


@dataclass(frozen=True)
class Signal:
    weight: float
    text: str
    evidence: tuple[str, ...]

    def sentence(self) -> str:
        return sentence(self.text, self.evidence)


@dataclass(frozen=True)
class Observation:
    text: str
    evidence: tuple[str, ...]

    def sentence(self) -> str:
        return sentence(self.text, self.evidence)


@dataclass
class Finding:
    problem: str
    subject: str
    signals: list[Signal] = field(default_factory=list)
    actions: list[ProposedAction] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    impact_bonus: int = 0

    def add(self, weight: float, text: str, *evidence: str) -> None:
        self.signals.append(Signal(weight=weight, text=text, evidence=tuple(evidence)))

    def observe(self, text: str, *evidence: str) -> None:
        self.observations.append(Observation(text=text, evidence=tuple(evidence)))

    @property
    def strength(self) -> float:
        remaining = 1.0
        for signal in self.signals:
            remaining *= 1.0 - max(0.0, min(1.0, signal.weight))
        return round(min(MAX_CONFIDENCE, 1.0 - remaining), 2)

    @property
    def actionable(self) -> bool:
        return self.strength >= ACTION_THRESHOLD

    @property
    def evidence(self) -> list[str]:
        ids: list[str] = []
        for item in [*self.signals, *self.observations]:
            ids.extend(e for e in item.evidence if e not in ids)
        return ids

    @property
    def risk_score(self) -> int:
        return max(0, min(100, round(self.strength * 100) + self.impact_bonus))
