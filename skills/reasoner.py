"""The reasoner interface: one incident and its enrichment in, one validated recommendation out.

Two reasoners stand behind `Reasoner`: the built-in one (deterministic rules over the
enrichment, the default) and the LLM one (Semantic Kernel chat completion). Both return a
`core.models.Recommendation` whose every proposed action is aimed at an entity of the incident
and whose rationale cites the evidence it rests on, and both answer questions about an incident
record with an `Answer` that names the evidence it cites. A reasoner never acts and never
decides whether an action may run: that is the policy's verdict and the response engine's
execution. An unusable answer (malformed, out of catalog, aimed at something the incident does
not contain) is a recommendation with `error` set and no actions, which the policy escalates.

`build_reasoner(settings, kernel, allowed_catalog)` picks the built-in reasoner when
`settings.ai_provider` is empty and the LLM reasoner otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from core.models import Enrichment, Incident, IncidentRecord, Recommendation
from core.settings import Settings

if TYPE_CHECKING:
    from semantic_kernel import Kernel


class Answer(BaseModel):
    """An answer to a question about an incident, with the evidence it rests on.

    `evidence` are the recommendation's evidence ids the answer cites (`E1`, ...); `sources`
    the lookups those came from (`graph.signIns`, `threatIntelligence`, ...) plus any record the
    answer read (`audit.approvals`, `policy.verdicts`). `error` is set when an LLM answer was
    unusable and the built-in answer was given instead.
    """

    text: str
    evidence: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    answered_by: str = "builtin"
    error: str | None = None


@runtime_checkable
class Reasoner(Protocol):
    name: str

    async def recommend(self, incident: Incident, enrichment: Enrichment) -> Recommendation:
        """Propose actions for the incident, citing the enrichment behind each."""
        ...

    async def answer(self, question: str, record: IncidentRecord) -> Answer:
        """Answer a question about an incident record; never acts."""
        ...


def build_reasoner(settings: Settings, kernel: Kernel | None = None,
                   allowed_catalog: Iterable[str] | None = None) -> Reasoner:
    """The configured reasoner: built-in unless `settings.ai_provider` names a model provider.

    `allowed_catalog` is the policy's canonical action ids (the LLM reasoner refuses anything
    else); `kernel` carries the read-only enrichment plugins the model may call.
    """
    from skills.builtin_reasoner import BuiltinReasoner

    if not settings.ai_provider.strip():
        return BuiltinReasoner()

    from skills.llm_reasoner import LlmReasoner

    return LlmReasoner.from_settings(settings, kernel=kernel, allowed_catalog=allowed_catalog)
