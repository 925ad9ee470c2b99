"""The LLM reasoner: Semantic Kernel chat completion with structured output and read-only tools.

`LlmReasoner.from_settings(settings, kernel=, allowed_catalog=)` talks to:
- `CORDON_AI_PROVIDER=azure_openai`: `AzureChatCompletion` (deployment `settings.ai_model`,
  endpoint `settings.ai_endpoint`, the API key, or an Entra ID token from azure-identity's
  `DefaultAzureCredential` when no key is set);
- `CORDON_AI_PROVIDER=openai`: `OpenAIChatCompletion` over `AsyncOpenAI(base_url=
  settings.ai_base_url or OpenAI's)`, which covers Ollama, vLLM and other compatible servers.

`recommend` sends the fenced incident (`reasoning_prompt`), asks for `ModelRecommendation` as
strict JSON-schema output, validates the text again with `model_validate_json` and then with
`reasoning_model_output.usable_recommendation`. A timeout (`settings.ai_timeout_s`), a
transport error, malformed JSON, an action outside `allowed_catalog`, a target that is not an
entity of the incident, or any other failure gives a `Recommendation` with `error` set, no
actions, confidence 0 and a rationale saying why; the policy then escalates the incident.

The model may call only the read-only plugins (`READ_ONLY_PLUGINS`) of the kernel it is given:
the reasoner builds its own kernel holding just those plugins, offers them through
`FunctionChoiceBehavior.Auto(filters={"included_plugins": ...})`, and adds an
auto-function-invocation filter that refuses anything else. A tool call to an action plugin is
answered with a refusal and nothing runs.

`answer` does the same for a question about an incident record (`ModelAnswer`); an unusable
answer falls back to the built-in explainer, with `error` saying why.

After each call `last_exchange` holds `{"model", "kind", "prompt": {"system", "user"},
"answer", "tool_calls", "error"}` for the response engine to put in the audit trail; prompts are
never logged. Read it right after the awaited call returns, before awaiting anything else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.function_choice_behavior import FunctionChoiceBehavior
from semantic_kernel.contents import ChatHistory
from semantic_kernel.contents.function_call_content import FunctionCallContent
from semantic_kernel.contents.function_result_content import FunctionResultContent
from semantic_kernel.filters import FilterTypes

from core.errors import CordonError
from core.models import Enrichment, Incident, IncidentRecord, Recommendation
from core.settings import Settings
from skills.explain import answer_question
from skills.reasoner import Answer
from skills.reasoning_model_output import (
    ModelAnswer,
    ModelRecommendation,
    UnusableAnswer,
    usable_answer_ids,
    usable_recommendation,
)
from skills.reasoning_parameters import proposable_actions
from skills.reasoning_prompt import question_messages, recommendation_messages
from skills.tool_guard import READ_ONLY_PLUGINS, refuse_acting_tools

log = structlog.get_logger(__name__)

PROVIDERS = ("azure_openai", "openai")
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
RESULT_LIMIT = 2000


class ReasonerConfigurationError(CordonError):
    status = 500
    code = "reasoner_configuration"


def chat_service(settings: Settings) -> ChatCompletionClientBase:
    """The chat completion service `settings.ai_provider` names."""
    provider = settings.ai_provider.strip().lower()
    if not settings.ai_model:
        raise ReasonerConfigurationError(
            "CORDON_AI_MODEL (the model or Azure deployment name) is required when "
            "CORDON_AI_PROVIDER is set", provider=provider)

    if provider == "azure_openai":
        from semantic_kernel.connectors.ai.open_ai import AzureChatCompletion

        if not settings.ai_endpoint:
            raise ReasonerConfigurationError(
                "CORDON_AI_ENDPOINT (or AZURE_OPENAI_ENDPOINT) is required for azure_openai")
        auth: dict[str, Any] = {"api_key": settings.ai_api_key}
        if not settings.ai_api_key:
            from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

            auth = {"ad_token_provider": get_bearer_token_provider(DefaultAzureCredential(),
                                                                   COGNITIVE_SCOPE)}
        return AzureChatCompletion(deployment_name=settings.ai_model,
                                   endpoint=settings.ai_endpoint,
                                   api_version=settings.ai_api_version, **auth)

    if provider == "openai":
        from openai import AsyncOpenAI
        from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion

        client = AsyncOpenAI(base_url=settings.ai_base_url or None,
                             api_key=settings.ai_api_key or "not-needed",
                             timeout=settings.ai_timeout_s, max_retries=1)
        return OpenAIChatCompletion(ai_model_id=settings.ai_model, async_client=client)

    raise ReasonerConfigurationError(
        f"CORDON_AI_PROVIDER={settings.ai_provider!r} is not known; use one of "
        f"{', '.join(PROVIDERS)}, or leave it empty for the built-in reasoner",
        provider=provider)


def read_only_kernel(source: Any) -> Kernel:
    """A kernel holding only the read-only plugins of `source` (a Kernel or CordonSkills)."""
    source_kernel = getattr(source, "kernel", source)
    plugins = {}
    if isinstance(source_kernel, Kernel):
        plugins = {name: plugin for name, plugin in source_kernel.plugins.items()
                   if name in READ_ONLY_PLUGINS}
    kernel = Kernel(plugins=plugins)
    kernel.add_filter(FilterTypes.AUTO_FUNCTION_INVOCATION, refuse_acting_tools)
    return kernel


def _tool_calls(history: ChatHistory) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    for message in history.messages:
        for item in message.items:
            if isinstance(item, FunctionCallContent):
                calls.append({"call": item.name, "arguments": item.arguments, "id": item.id})
            elif isinstance(item, FunctionResultContent):
                calls.append({"result_of": item.name, "id": item.id,
                              "result": str(item.result)[:RESULT_LIMIT]})
    return calls


class LlmReasoner:
    """Recommendations and answers from a chat model, validated before anyone sees them."""

    def __init__(self, service: ChatCompletionClientBase, *, model: str,
                 allowed_catalog: Iterable[str] | None = None, kernel: Any = None,
                 timeout_s: float = 30.0) -> None:
        self.name = model
        self._service = service
        self._kernel = read_only_kernel(kernel)
        self._catalog = frozenset(allowed_catalog if allowed_catalog is not None
                                  else proposable_actions()) & proposable_actions()
        self._timeout_s = timeout_s
        self.last_exchange: dict[str, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, kernel: Any = None,
                      allowed_catalog: Iterable[str] | None = None) -> LlmReasoner:
        return cls(chat_service(settings), model=settings.ai_model,
                   allowed_catalog=allowed_catalog, kernel=kernel,
                   timeout_s=settings.ai_timeout_s)

    async def close(self) -> None:
        """Close the model client's connections."""
        client = getattr(self._service, "client", None)
        if client is not None:
            await client.close()

    def _settings(self, response_format: type[BaseModel]) -> Any:
        settings_class = self._service.get_prompt_execution_settings_class()
        settings = settings_class(response_format=response_format)
        tools = [name for name in READ_ONLY_PLUGINS if name in self._kernel.plugins]
        if tools:
            settings.function_choice_behavior = FunctionChoiceBehavior.Auto(
                filters={"included_plugins": tools})
        return settings

    async def _complete(self, system: str, user: str, response_format: type[BaseModel],
                        exchange: dict[str, Any]) -> str:
        history = ChatHistory(system_message=system)
        history.add_user_message(user)
        try:
            reply = await asyncio.wait_for(
                self._service.get_chat_message_content(
                    history, self._settings(response_format), kernel=self._kernel),
                timeout=self._timeout_s)
        finally:
            exchange["tool_calls"] = _tool_calls(history)
        text = (reply.content if reply is not None else "") or ""
        exchange["answer"] = text
        return text

    def _exchange(self, kind: str, system: str, user: str) -> dict[str, Any]:
        exchange = {"model": self.name, "kind": kind, "prompt": {"system": system, "user": user},
                    "answer": None, "tool_calls": [], "error": None}
        self.last_exchange = exchange
        return exchange

    async def recommend(self, incident: Incident, enrichment: Enrichment) -> Recommendation:
        system, user = recommendation_messages(incident, enrichment, self._catalog)
        exchange = self._exchange("recommendation", system, user)
        started = time.perf_counter()
        try:
            text = await self._complete(system, user, ModelRecommendation, exchange)
            parsed = ModelRecommendation.model_validate_json(text)
            recommendation = usable_recommendation(parsed, incident, enrichment, self._catalog,
                                                   self.name)
        except TimeoutError:
            recommendation = self._unusable(f"the model did not answer within "
                                            f"{self._timeout_s:g} s", exchange)
        except ValidationError as exc:
            recommendation = self._unusable(
                f"the answer is not valid JSON for the schema ({exc.error_count()} problem(s): "
                f"{exc.errors()[0]['msg']})", exchange)
        except UnusableAnswer as exc:
            recommendation = self._unusable(str(exc), exchange)
        except Exception as exc:  # any failure of the model call escalates; it never acts
            recommendation = self._unusable(f"the model call failed: {type(exc).__name__}: "
                                            f"{exc}", exchange)
        self.last_exchange = exchange
        log.info("recommendation made", incident_id=incident.id, reasoner=self.name,
                 actions=[f"{a.action}:{a.target}" for a in recommendation.actions],
                 confidence=recommendation.confidence, error=recommendation.error,
                 tool_calls=len([c for c in exchange["tool_calls"] if "call" in c]),
                 elapsed_ms=round((time.perf_counter() - started) * 1000, 1))
        return recommendation

    def _unusable(self, reason: str, exchange: dict[str, Any]) -> Recommendation:
        exchange["error"] = reason
        return Recommendation(
            actions=[], confidence=0.0, risk_score=0, reasoner=self.name, error=reason,
            rationale=(f"The model's answer was not used because {reason}. Nothing is done "
                       f"automatically; the incident is escalated to a human."),
        )

    async def answer(self, question: str, record: IncidentRecord) -> Answer:
        system, user = question_messages(question, record)
        exchange = self._exchange("question", system, user)
        known = {e.id for e in record.recommendation.evidence}
        try:
            text = await self._complete(system, user, ModelAnswer, exchange)
            parsed = ModelAnswer.model_validate_json(text)
            cited = usable_answer_ids(parsed, known)
        except TimeoutError:
            return self._fallback(question, record, exchange, "the model did not answer in time")
        except (ValidationError, UnusableAnswer) as exc:
            return self._fallback(question, record, exchange, f"the answer was unusable: {exc}")
        except Exception as exc:  # a failed model call falls back to the built-in explainer
            return self._fallback(question, record, exchange,
                                  f"the model call failed: {type(exc).__name__}")

        by_id = {e.id: e for e in record.recommendation.evidence}
        sources = list(dict.fromkeys(by_id[e].source for e in cited))
        self.last_exchange = exchange
        return Answer(text=parsed.text.strip(), evidence=cited, sources=sources,
                      answered_by=self.name)

    def _fallback(self, question: str, record: IncidentRecord, exchange: dict[str, Any],
                  reason: str) -> Answer:
        exchange["error"] = reason
        self.last_exchange = exchange
        log.warning("model answer not used", reasoner=self.name, reason=reason)
        fallback = answer_question(question, record)
        return fallback.model_copy(update={"error": reason})
