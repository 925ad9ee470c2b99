"""The Semantic Kernel for Cordon: clients, enrichment and action plugins, and the filters that
keep the two apart.

`build_kernel(settings, authorizer, *, credential=None) -> CordonSkills` builds, once per
process (msgraph is slow to import and its client is meant to live long):
- the credential (`skills.credentials`), the Graph client (`skills.graph`), the aiohttp client
  for Defender, ARM, Log Analytics and ServiceNow (`skills.api_client`);
- a `semantic_kernel.Kernel` with the read-only plugins `READ_ONLY_PLUGINS` (Identity, Devices,
  ThreatIntel, Watchlists, Mail, Apps) and the action plugins `ACTION_PLUGINS`
  (IdentityResponse, DeviceResponse, NetworkResponse, MailResponse, AppResponse, ItsmResponse,
  SentinelResponse), whose functions are named by canonical action id (`ACTIONS` maps each id
  to its plugin);
- the `Enricher`, and the audit exporters (Log Analytics rows, incident comments).

Two filters guard the kernel:
- FUNCTION_INVOCATION: a call to an action-plugin function runs only if the authorizer accepts
  its `authorization` argument for exactly that action and target; otherwise
  `NotAuthorizedToAct` is raised and the function never starts. The plugin checks again inside.
- AUTO_FUNCTION_INVOCATION: a model's tool call to anything but a read-only plugin is refused
  and the tool result says so (`skills.tool_guard`). A model may look, never act.

`CordonSkills.execute(action, target, parameters, authorization=, dry_run=)` runs one action
through `kernel.invoke`, so the filter runs. Parameter names may be camelCase as the APIs spell
them (see `parameter_name`); parameters the function does not take are ignored and logged. It
returns the action outcome dict described in `skills.actions` and raises `NotAuthorizedToAct`,
`InvalidActionRequest` or `UpstreamError` (the response engine retries the retryable ones and
records each attempt). It never decides whether an action may happen: that is the policy's
verdict, carried by the authorization.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from azure.core.credentials_async import AsyncTokenCredential
from semantic_kernel import Kernel
from semantic_kernel.exceptions import FunctionExecutionException, KernelInvokeException
from semantic_kernel.filters import FilterTypes
from semantic_kernel.filters.functions.function_invocation_context import (
    FunctionInvocationContext,
)
from semantic_kernel.functions import KernelArguments

from core.ports import Authorizer
from core.settings import Settings
from skills.actions import ActionGuard, InvalidActionRequest
from skills.actions.app import AppResponse
from skills.actions.device import DeviceResponse
from skills.actions.identity import IdentityResponse
from skills.actions.itsm import ItsmResponse
from skills.actions.mail import MailResponse
from skills.actions.network import NetworkResponse
from skills.actions.sentinel import SentinelResponse
from skills.api_client import ApiClient
from skills.audit_export import IncidentCommenter, LogAnalyticsExporter
from skills.credentials import build_credential
from skills.effects import EffectProbe
from skills.enrichment import Enricher
from skills.graph import GraphClient
from skills.lookups.apps import AppLookups
from skills.lookups.devices import DeviceLookups
from skills.lookups.identity import IdentityLookups
from skills.lookups.incidents import IncidentLookups
from skills.lookups.mail import MailLookups
from skills.lookups.threat_intel import ThreatIntelLookups
from skills.lookups.watchlists import WatchlistLookups
from skills.tool_guard import READ_ONLY_PLUGINS, refuse_acting_tools

log = structlog.get_logger(__name__)

ACTION_PLUGINS = ("IdentityResponse", "DeviceResponse", "NetworkResponse", "MailResponse",
                  "AppResponse", "ItsmResponse", "SentinelResponse")
ACTIONS: dict[str, str] = {
    "disable_user": "IdentityResponse", "enable_user": "IdentityResponse",
    "revoke_sessions": "IdentityResponse", "confirm_compromised": "IdentityResponse",
    "dismiss_risk": "IdentityResponse",
    "isolate_device": "DeviceResponse", "unisolate_device": "DeviceResponse",
    "stop_and_quarantine_file": "DeviceResponse", "deallocate_vm": "DeviceResponse",
    "start_vm": "DeviceResponse",
    "block_ip": "NetworkResponse", "unblock_ip": "NetworkResponse",
    "block_indicator": "NetworkResponse", "delete_indicator": "NetworkResponse",
    "purge_email": "MailResponse", "restore_email": "MailResponse",
    "revoke_app_consent": "AppResponse", "restore_app_consent": "AppResponse",
    "create_ticket": "ItsmResponse", "notify": "ItsmResponse",
    "close_incident": "SentinelResponse", "reopen_incident": "SentinelResponse",
}
_CALL_ARGUMENTS = frozenset({"target", "authorization", "dry_run"})
# Parameter names as proposals and Microsoft's APIs spell them, mapped to the plugins' own.
_PARAMETER_ALIASES = {"machine_id": "device_id", "network_message_ids": "messages"}
_ACTION_PARAMETER_ALIASES = {("block_indicator", "action"): "indicator_action"}

Next = Callable[[Any], Awaitable[None]]


@dataclass
class CordonSkills:
    """Everything `skills` offers the rest of Cordon, built once (see module docstring)."""

    kernel: Kernel
    graph: GraphClient
    api: ApiClient
    credential: AsyncTokenCredential
    enricher: Enricher
    exporter: LogAnalyticsExporter
    commenter: IncidentCommenter
    effects: EffectProbe | None = None
    owns_credential: bool = False
    READ_ONLY_PLUGINS: tuple[str, ...] = READ_ONLY_PLUGINS
    ACTION_PLUGINS: tuple[str, ...] = ACTION_PLUGINS
    ACTIONS: dict[str, str] = field(default_factory=lambda: dict(ACTIONS))

    async def execute(self, action: str, target: str, parameters: dict[str, Any], *,
                      authorization: str, dry_run: bool) -> dict[str, Any]:
        """Run one action (or inverse) through the kernel; its outcome, or an error."""
        plugin = ACTIONS.get(action)
        if plugin is None:
            raise InvalidActionRequest(
                f"{action!r} is not an action Cordon can execute; known: {sorted(ACTIONS)}",
                action=action)
        function = self.kernel.get_function(plugin, action)
        accepted = {p.name for p in function.parameters} - _CALL_ARGUMENTS
        named = {parameter_name(action, k): v for k, v in parameters.items()}
        ignored = sorted(set(named) - accepted)
        if ignored:
            log.info("action parameters ignored", action=action, target=target,
                     parameters=ignored)
        arguments = KernelArguments(
            **{k: v for k, v in named.items() if k in accepted},
            target=target, authorization=authorization, dry_run=bool(dry_run),
        )
        try:
            result = await self.kernel.invoke(function=function, arguments=arguments)
        except KernelInvokeException as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, FunctionExecutionException):
                raise InvalidActionRequest(f"{action} parameters do not fit: {cause}",
                                           action=action) from cause
            raise cause from None
        if not dry_run:
            # What the action changed must be read fresh by the next incident.
            self.enricher.cache.forget(target, *(str(v) for v in parameters.values()
                                                 if isinstance(v, str | int)))
        log.info("action executed", action=action, target=target, dry_run=bool(dry_run))
        return result.value if result is not None else {}

    async def probe(self, action: str, target: str, parameters: dict[str, Any],
                    since: datetime | None = None) -> bool | None:
        """Whether an action's effect is already in place (see `skills.effects`)."""
        if self.effects is None:
            return None
        return await self.effects.in_place(action, target, parameters, since)

    async def close(self) -> None:
        await self.exporter.close()
        await self.api.close()
        await self.graph.close()
        if self.owns_credential:
            await self.credential.close()


def build_kernel(settings: Settings, authorizer: Authorizer, *,
                 credential: AsyncTokenCredential | None = None,
                 graph_retries: int = 2) -> CordonSkills:
    """The kernel with every plugin and both filters, and the clients behind them."""
    owns_credential = credential is None
    credential = credential or build_credential(settings)
    urls = settings.api_urls()
    graph = GraphClient(urls["graph"], credential, retries=graph_retries)
    api = ApiClient(settings, credential)
    guard = ActionGuard(authorizer)

    kernel = Kernel()
    kernel.add_plugin(IdentityLookups(graph), plugin_name="Identity")
    kernel.add_plugin(DeviceLookups(api), plugin_name="Devices")
    kernel.add_plugin(ThreatIntelLookups(graph), plugin_name="ThreatIntel")
    kernel.add_plugin(WatchlistLookups(api, settings.workspace_id), plugin_name="Watchlists")
    kernel.add_plugin(MailLookups(graph), plugin_name="Mail")
    kernel.add_plugin(AppLookups(graph), plugin_name="Apps")
    kernel.add_plugin(IncidentLookups(graph), plugin_name="Incidents")

    kernel.add_plugin(IdentityResponse(graph, guard), plugin_name="IdentityResponse")
    kernel.add_plugin(DeviceResponse(api, guard), plugin_name="DeviceResponse")
    kernel.add_plugin(NetworkResponse(api, guard, settings.block_ip_nsg_id),
                      plugin_name="NetworkResponse")
    kernel.add_plugin(MailResponse(graph, guard), plugin_name="MailResponse")
    kernel.add_plugin(AppResponse(graph, guard), plugin_name="AppResponse")
    kernel.add_plugin(ItsmResponse(api, guard), plugin_name="ItsmResponse")
    kernel.add_plugin(SentinelResponse(api, guard), plugin_name="SentinelResponse")

    kernel.add_filter(FilterTypes.FUNCTION_INVOCATION, _authorization_filter(guard))
    kernel.add_filter(FilterTypes.AUTO_FUNCTION_INVOCATION, refuse_acting_tools)

    return CordonSkills(
        kernel=kernel, graph=graph, api=api, credential=credential,
        enricher=Enricher(kernel, settings),
        exporter=LogAnalyticsExporter(settings, credential),
        commenter=IncidentCommenter(api), owns_credential=owns_credential,
        effects=EffectProbe(graph, api, settings.block_ip_nsg_id),
    )


def _authorization_filter(guard: ActionGuard) -> Callable[..., Awaitable[None]]:
    async def action_authorization(context: FunctionInvocationContext, next: Next) -> None:
        if context.function.plugin_name in ACTION_PLUGINS:
            await guard.check(str(context.arguments.get("authorization") or ""),
                              context.function.name, str(context.arguments.get("target") or ""))
        await next(context)

    return action_authorization


def parameter_name(action: str, name: str) -> str:
    """A proposal's parameter name as the plugin function spells it.

    Proposals may use the APIs' camelCase (`machineId`, `userId`, `grantIds`,
    `servicePrincipalId`); the plugins use snake_case and call a Defender machine id
    `device_id`. A bare `action` parameter of block_indicator is the indicator's action.
    """
    if (action, name) in _ACTION_PARAMETER_ALIASES:
        return _ACTION_PARAMETER_ALIASES[(action, name)]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return _PARAMETER_ALIASES.get(snake, snake)


def plugin_parameters(skills: CordonSkills, action: str) -> list[str]:
    """The parameter names an action accepts beyond target, authorization and dry_run."""
    function = skills.kernel.get_function(ACTIONS[action], action)
    return [p.name for p in function.parameters if p.name not in _CALL_ARGUMENTS]
