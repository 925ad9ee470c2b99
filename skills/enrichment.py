"""Enrichment: what the tenant knows about an incident's entities, gathered at once.

`Enricher.enrich(incident) -> Enrichment` runs, concurrently, every lookup each entity calls for
through the read-only kernel functions (or plain plugin objects, for tests and tools):
- accounts: `Identity` user, groups, manager, sign-ins, risky user;
- hosts: `Devices` device (by Defender id, else by DNS name);
- IP addresses: `ThreatIntel` ip_reputation (internal addresses are never sent out);
- URLs and domains: `ThreatIntel` host_reputation;
- mail messages: `Mail` analyzed_email; cloud applications: `Apps` app_consents;
- and the watchlists VIPUsers, CriticalAssets and KnownVPNEgress once per incident.

`security_incident` reads a Defender XDR incident with its alerts (`Incidents`), for the triage
to complete a Sentinel incident that arrived without them.

Each lookup has its own timeout (`settings.enrichment_timeout_s`). A lookup that fails or times
out becomes a `LookupFailure` naming the lookup, the entity and the error; the rest goes on, and
the facts it would have given stay at their defaults (unknown, not VIP, not critical).

What one incident can cost is bounded: at most `settings.enrichment_concurrency` lookups are in
flight in the process (the timeout runs from a lookup's start, not from its wait for a turn), and
at most `settings.enrichment_max_entities` entities of each kind are looked up. The rest of a
kind are named in one `LookupFailure`; nothing is proposed against an account, machine or
address that was not looked up.

The facts are always those of the object the entity names, since that is what an action would
be aimed at: when an account's `aadUserId` is another user's, or a host's `MdatpDeviceId`
another machine's, the lookup is made again by name and the disagreement is kept both as a
`LookupFailure` and as the facts' `conflict` (the decider then leaves the action to a human).

Answers are kept for `settings.enrichment_cache_s` seconds and shared by the incidents of a
storm (see `skills.lookup_cache`); Cordon's own actions drop what they change.

Derived facts: `is_vip` from the VIPUsers watchlist; `is_admin` from membership of an admin group
(Domain Admins, Enterprise Admins...), a role-assignable group or a directory role; a device is
critical when tagged Tier0 or critical or listed in CriticalAssets; an address is critical when a
CriticalAssets prefix contains it, and lists every watchlist that names it (KnownVPNEgress...).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from core.models import (
    AppFacts,
    DeviceFacts,
    Enrichment,
    Entity,
    EntityKind,
    HostReputation,
    Incident,
    IpFacts,
    LookupFailure,
    MailFacts,
    UserFacts,
)
from core.settings import Settings
from skills.lookup_cache import LookupCache
from skills.lookups.threat_intel import host_of, is_internal_address

log = structlog.get_logger(__name__)

WATCHLISTS = ("VIPUsers", "CriticalAssets", "KnownVPNEgress")
ADMIN_GROUPS = frozenset({
    "domain admins", "enterprise admins", "schema admins", "administrators",
    "global administrator", "privileged role administrator", "security administrator",
})
CRITICAL_TAGS = frozenset({"tier0", "critical", "domaincontroller"})
LOOKED_UP_KINDS = frozenset({EntityKind.ACCOUNT, EntityKind.HOST, EntityKind.IP, EntityKind.URL,
                             EntityKind.DNS, EntityKind.MAIL_MESSAGE,
                             EntityKind.CLOUD_APPLICATION})


class Enricher:
    """Gathers an incident's `Enrichment` (see module docstring)."""

    def __init__(self, kernel_or_plugins: Any, settings: Settings) -> None:
        self._source = kernel_or_plugins
        self._timeout_s = settings.enrichment_timeout_s
        self._slots = asyncio.Semaphore(settings.enrichment_concurrency)
        self._max_entities = settings.enrichment_max_entities
        self.cache = LookupCache(settings.enrichment_cache_s)

    async def enrich(self, incident: Incident) -> Enrichment:
        started = time.perf_counter()
        run = _Run(self)
        watchlists = asyncio.gather(*(run.watchlist(name) for name in WATCHLISTS))
        per_entity = asyncio.gather(*(run.entity(e) for e in self._looked_up(incident, run)))
        await asyncio.gather(watchlists, per_entity)
        enrichment = run.finish()
        log.info("incident enriched", incident_id=incident.id,
                 entities=len(incident.entities), failures=len(enrichment.failures),
                 elapsed_ms=round((time.perf_counter() - started) * 1000, 1))
        return enrichment

    async def security_incident(self, incident_id: str,
                                failures: list[LookupFailure]) -> dict[str, Any] | None:
        """The Defender XDR incident `incident_id` with its alerts, read fresh (an XDR incident
        gains alerts as it grows); None, with a failure noted, when it cannot be read."""
        found = await self.lookup(
            "Incidents.security_incident", incident_id,
            lambda: self._call("Incidents", "security_incident", incident_id=incident_id),
            failures)
        if found is not None and found.get("found") is False:
            failures.append(LookupFailure(lookup="Incidents.security_incident",
                                          entity=incident_id,
                                          error="Microsoft Graph knows no such incident"))
            return None
        return found

    def _looked_up(self, incident: Incident, run: _Run) -> list[Entity]:
        """The entities to look up: the first `max_entities` of each kind; the rest of a kind
        are named in one failure."""
        kept: list[Entity] = []
        skipped: dict[str, int] = {}
        seen: dict[EntityKind, int] = {}
        for entity in incident.entities:
            seen[entity.kind] = seen.get(entity.kind, 0) + 1
            if seen[entity.kind] <= self._max_entities:
                kept.append(entity)
            elif entity.kind in LOOKED_UP_KINDS:
                skipped[entity.raw_kind] = skipped.get(entity.raw_kind, 0) + 1
        for kind, count in skipped.items():
            error = (f"not looked up: Cordon looks up at most {self._max_entities} {kind} "
                     "entities of one incident")
            log.warning("lookups skipped", incident_id=incident.id, kind=kind, skipped=count)
            run.enrichment.failures.append(LookupFailure(
                lookup=f"{kind}.facts", entity=f"{count} more {kind} entities", error=error))
        return kept

    async def call(self, plugin: str, function: str, **arguments: Any) -> Any:
        """One lookup, answered from the cache of recent identical lookups when it can be."""
        key = (plugin, function, tuple(sorted((k, str(v)) for k, v in arguments.items())))
        names = frozenset(str(v).lower() for v in arguments.values() if v)
        return await self.cache.through(
            key, names, lambda: self._call(plugin, function, **arguments))

    async def _call(self, plugin: str, function: str, **arguments: Any) -> Any:
        """One lookup through the kernel (so its filters run) or a plain plugin object."""
        if isinstance(self._source, Mapping):
            return await getattr(self._source[plugin], function)(**arguments)
        from semantic_kernel.exceptions import KernelInvokeException
        from semantic_kernel.functions import KernelArguments

        try:
            result = await self._source.invoke(plugin_name=plugin, function_name=function,
                                               arguments=KernelArguments(**arguments))
        except KernelInvokeException as exc:
            raise (exc.__cause__ or exc) from None
        return None if result is None else result.value

    async def lookup(self, name: str, entity: str, call: Callable[[], Awaitable[Any]],
                     failures: list[LookupFailure]) -> Any:
        """`call()` in its turn and within the timeout; on failure, a `LookupFailure` and None."""
        try:
            async with self._slots, asyncio.timeout(self._timeout_s):
                return await call()
        except TimeoutError:
            error = f"timed out after {self._timeout_s:g} s"
        except Exception as exc:  # a failed lookup must not stop the others
            error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        log.warning("lookup failed", lookup=name, entity=entity, error=error)
        failures.append(LookupFailure(lookup=name, entity=entity, error=error))
        return None


class _Run:
    """The state of one enrichment: what each lookup found, merged when all are done."""

    def __init__(self, enricher: Enricher) -> None:
        self._e = enricher
        self.enrichment = Enrichment()

    async def _lookup(self, plugin: str, function: str, entity: str, **arguments: Any) -> Any:
        return await self._e.lookup(
            f"{plugin}.{function}", entity,
            lambda: self._e.call(plugin, function, **arguments), self.enrichment.failures,
        )

    async def watchlist(self, name: str) -> None:
        found = await self._lookup("Watchlists", "watchlist", name, name=name)
        if found is not None:
            self.enrichment.watchlists[name] = list(found.get("items", []))

    async def entity(self, entity: Entity) -> None:
        handlers = {
            EntityKind.ACCOUNT: self.account, EntityKind.HOST: self.host, EntityKind.IP: self.ip,
            EntityKind.URL: self.url, EntityKind.DNS: self.url,
            EntityKind.MAIL_MESSAGE: self.mail, EntityKind.CLOUD_APPLICATION: self.app,
        }
        handler = handlers.get(entity.kind)
        if handler is None or not entity.key:
            return
        try:
            await handler(entity)
        except Exception as exc:  # an answer of an unexpected shape spoils one entity, not all
            error = f"unexpected answer: {type(exc).__name__}: {exc}"
            log.warning("lookup failed", lookup=f"{entity.raw_kind}.facts", entity=entity.key,
                        error=error)
            self.enrichment.failures.append(LookupFailure(
                lookup=f"{entity.raw_kind}.facts", entity=entity.key, error=error))

    async def account(self, entity: Entity) -> None:
        key = entity.key
        object_id = str(entity.properties.get("aadUserId") or "")
        facts = UserFacts(upn=key, id=object_id)
        self.enrichment.users[key] = facts
        await self._fill_account(facts, key, ref=object_id or key, object_id=object_id)
        found = str(facts.user.get("userPrincipalName") or "").lower()
        if not (facts.found and "@" in key and found and found != key):
            return

        # The entity names one account and its aadUserId another: the facts must be those of
        # the account an action would be aimed at, so look again by name, and say so.
        conflict = (f"the entity names {key} but its aadUserId {object_id} is {found} in "
                    "Entra ID")
        self._conflict("Identity.user", key, conflict)
        facts = UserFacts(upn=key, conflict=conflict)
        self.enrichment.users[key] = facts
        await self._fill_account(facts, key, ref=key, object_id="")

    async def _fill_account(self, facts: UserFacts, key: str, *, ref: str,
                            object_id: str) -> None:
        async def by_id() -> tuple[Any, Any]:
            user_id = object_id
            if not user_id:
                user = await user_task
                user_id = (user or {}).get("id", "")
            if not user_id:
                return None, None
            return await asyncio.gather(
                self._lookup("Identity", "sign_ins", key, user_id=user_id),
                self._lookup("Identity", "risky_user", key, user_id=user_id),
            )

        user_task = asyncio.ensure_future(self._lookup("Identity", "user", key, user=ref))
        groups, manager, (sign_ins, risky) = await asyncio.gather(
            self._lookup("Identity", "groups", key, user=ref),
            self._lookup("Identity", "manager", key, user=ref),
            by_id(),
        )
        user = await user_task

        if user and user.get("id"):
            facts.found, facts.user, facts.id = True, user, user["id"]
        if groups:
            facts.groups = list(groups.get("groups", []))
            facts.is_admin = _is_admin(groups)
        if manager:
            facts.manager = manager
        if sign_ins:
            facts.sign_ins = list(sign_ins.get("sign_ins", []))
        if risky:
            facts.risk_level = str(risky.get("riskLevel") or "none")
            facts.risk_state = str(risky.get("riskState") or "none")

    async def host(self, entity: Entity) -> None:
        extra = entity.properties.get("additionalData") or {}
        device_id = str(extra.get("MdatpDeviceId") or "") if isinstance(extra, dict) else ""
        facts = DeviceFacts(name=entity.key, id=device_id)
        self.enrichment.devices[entity.key] = facts
        machine = await self._lookup("Devices", "device", entity.key,
                                     device_id=device_id, dns_name=entity.key)
        found = str((machine or {}).get("computerDnsName") or "").lower()
        if device_id and machine and machine.get("id") and not _same_host(found, entity.key):
            # As for accounts: the facts are those of the machine the entity names.
            facts.conflict = (f"the entity names {entity.key} but its MdatpDeviceId "
                              f"{device_id} is {found} in Defender for Endpoint")
            self._conflict("Devices.device", entity.key, facts.conflict)
            facts.id = ""
            machine = await self._lookup("Devices", "device", entity.key,
                                         device_id="", dns_name=entity.key)
        if machine and machine.get("id"):
            facts.found, facts.machine, facts.id = True, machine, str(machine["id"])
            facts.machine_tags = [str(t) for t in machine.get("machineTags") or []]

    def _conflict(self, lookup: str, entity: str, error: str) -> None:
        log.warning("entity identity conflict", lookup=lookup, entity=entity, error=error)
        self.enrichment.failures.append(LookupFailure(lookup=lookup, entity=entity, error=error))

    async def ip(self, entity: Entity) -> None:
        facts = IpFacts(address=entity.key, internal=is_internal_address(entity.key))
        self.enrichment.ips[entity.key] = facts
        found = await self._lookup("ThreatIntel", "ip_reputation", entity.key,
                                   address=entity.key)
        if found:
            facts.internal = bool(found.get("internal", facts.internal))
            facts.reputation = str(found.get("classification") or "unknown")
            facts.score = int(found.get("score") or 0)
            facts.rules = [str(r) for r in found.get("rules") or []]

    async def url(self, entity: Entity) -> None:
        host = host_of(entity.key)
        facts = HostReputation(host=host)
        self.enrichment.hosts[host] = facts
        found = await self._lookup("ThreatIntel", "host_reputation", host, host=host)
        if found:
            facts.reputation = str(found.get("classification") or "unknown")
            facts.score = int(found.get("score") or 0)
            facts.rules = [str(r) for r in found.get("rules") or []]

    async def mail(self, entity: Entity) -> None:
        message_id = str(entity.properties.get("networkMessageId") or entity.key)
        recipient = str(entity.properties.get("recipient") or "")
        facts = MailFacts(network_message_id=message_id, recipient=recipient)
        self.enrichment.mails[entity.key] = facts
        found = await self._lookup("Mail", "analyzed_email", entity.key,
                                   network_message_id=message_id, recipient=recipient)
        messages = (found or {}).get("messages") or []
        if messages:
            facts.found, facts.message = True, messages[0]
            facts.recipient = recipient or str(messages[0].get("recipientEmailAddress") or "")

    async def app(self, entity: Entity) -> None:
        app_id = str(entity.properties.get("appId") or entity.key)
        facts = AppFacts(app_id=app_id)
        self.enrichment.apps[entity.key] = facts
        found = await self._lookup("Apps", "app_consents", entity.key, app_id=app_id)
        if found and found.get("found"):
            facts.found = True
            facts.service_principal = found.get("servicePrincipal") or {}
            facts.grants = list(found.get("grants") or [])

    def finish(self) -> Enrichment:
        """Apply the watchlists to the facts, once every lookup is done."""
        lists = self.enrichment.watchlists
        vips = {str(row.get("UserPrincipalName", "")).lower() for row in lists.get("VIPUsers", [])}
        critical = [str(row.get("Asset", "")).lower() for row in lists.get("CriticalAssets", [])]
        for upn, user in self.enrichment.users.items():
            user.is_vip = upn in vips or str(user.user.get("userPrincipalName", "")).lower() in vips
        for name, device in self.enrichment.devices.items():
            tags = {t.lower() for t in device.machine_tags}
            short = name.split(".", 1)[0]
            device.is_critical = bool(tags & CRITICAL_TAGS) or name in critical or short in critical
        for address, ip in self.enrichment.ips.items():
            ip.watchlists = [n for n, rows in lists.items() if _names_address(rows, address)]
            ip.is_critical = "CriticalAssets" in ip.watchlists
        return self.enrichment


def _is_admin(groups: dict[str, Any]) -> bool:
    for membership in groups.get("memberships", []):
        name = str(membership.get("displayName") or "").lower()
        if name in ADMIN_GROUPS or membership.get("isAssignableToRole"):
            return True
        if membership.get("type") == "directoryRole":
            return True
    return False


def _same_host(dns_name: str, key: str) -> bool:
    """True when a Defender machine's DNS name is the host an entity names. Host names are
    compared without their domains, which Sentinel and Defender do not always agree on."""
    return dns_name.split(".", 1)[0] == key.split(".", 1)[0]


def _names_address(rows: list[dict[str, Any]], address: str) -> bool:
    """True when any value of any row is this address or a prefix containing it."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for row in rows:
        for value in row.values():
            if not isinstance(value, str) or not value or not value[0].isalnum():
                continue
            try:
                network = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                continue
            if network.version == ip.version and ip in network:
                return True
    return False
