"""Intake: a Sentinel playbook payload or a Graph security incident becomes an `Incident`.

The parser accepts the body the "Microsoft Sentinel incident" trigger hands a playbook
(`{"object": {"id", "properties": {...}}}`), the bare ARM incident (`{"id", "properties"}`) and a
Microsoft Graph security incident (`displayName`, `alerts[].evidence[]`). It promises:

- a wrong shape is refused with `InvalidIncident` naming the field that was wrong and what was
  expected, and so is a body nested more than `MAX_DEPTH` deep (alert custom details nested
  that deep are dropped); nothing about the incident is stored by the parser;
- entity kinds it does not know are kept (kind `Other`, their original kind in `raw_kind`);
- keys are read case-insensitively where Sentinel is known to vary (`alerts` / `Alerts`);
- every string is kept as data: nothing in a title or description is interpreted (a U+0000,
  which no database Cordon runs on can store, becomes U+FFFD).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from core.errors import InvalidIncident
from core.models import Alert, Entity, EntityKind, Incident

SEVERITIES = {"informational": "Informational", "low": "Low", "medium": "Medium",
              "high": "High", "unknownfuturevalue": "Informational", "unknown": "Informational"}

_KINDS = {k.value.lower(): k for k in EntityKind}

MAX_ENTITIES = 2000
MAX_ALERTS = 1000
MAX_NUMBER = 2**63 - 1  # numbers are stored as 64-bit integers
MAX_DEPTH = 64  # Sentinel and Graph bodies nest about ten deep; the record must serialize


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parse_incident(payload: Any) -> Incident:
    """Turn a decoded JSON payload into an Incident, or raise InvalidIncident saying why."""
    if not isinstance(payload, dict):
        raise InvalidIncident(
            f"expected a JSON object, got {type(payload).__name__}",
            expected="a Sentinel incident trigger body or a Graph security incident",
        )
    _not_too_deep(payload)
    payload = _without_nul(payload)

    if isinstance(payload.get("object"), dict):
        return _parse_sentinel(payload["object"], "object")
    if isinstance(payload.get("properties"), dict):
        return _parse_sentinel(payload, "")
    if "displayName" in payload and ("alerts" in payload or "incidentWebUrl" in payload
                                     or "severity" in payload):
        return _parse_graph(payload)
    raise InvalidIncident(
        "the body is neither a Sentinel incident nor a Graph security incident",
        expected="`object.properties` (Sentinel playbook trigger), `properties` (ARM incident) "
                 "or `displayName` with `alerts` (Graph security incident)",
        found_keys=sorted(payload)[:20],
    )


def _not_too_deep(payload: Any) -> None:
    """Refuse a body nested deeper than the record and audit trail can be serialized."""
    if _too_deep(payload):
        raise InvalidIncident(f"the body nests objects and lists more than {MAX_DEPTH} deep; "
                              "a Sentinel or Graph incident never does", max_depth=MAX_DEPTH)


def _without_nul(value: Any) -> Any:
    """The payload with every U+0000 in its strings and keys replaced by U+FFFD. JSON allows
    the character (a captured command line may hold one) but PostgreSQL stores it in neither
    text nor jsonb, so it is marked, not kept; the stored body and its hash are untouched."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list))
    return False


def _get(d: dict[str, Any], key: str, default: Any = None) -> Any:
    """Read a key case-insensitively: Sentinel sends `alerts` and `Alerts` alike."""
    if key in d:
        return d[key]
    lower = key.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == lower:
            return v
    return default


def _text(value: Any, field: str, *, required: bool = False, limit: int = 10_000) -> str:
    if value is None:
        if required:
            raise InvalidIncident(f"`{field}` is required", field=field)
        return ""
    if not isinstance(value, str | int | float):
        raise InvalidIncident(f"`{field}` must be a string, got {type(value).__name__}",
                              field=field)
    return str(value)[:limit]


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidIncident(f"`{field}` must be a list, got {type(value).__name__}", field=field)
    return value


def _severity(value: Any, field: str) -> str:
    text = _text(value, field) or "Informational"
    severity = SEVERITIES.get(text.lower())
    if severity is None:
        raise InvalidIncident(
            f"`{field}` is {text!r}; expected one of Informational, Low, Medium, High",
            field=field,
        )
    return severity


def _time(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidIncident(f"`{field}` must be an ISO 8601 time string", field=field)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidIncident(f"`{field}` is not an ISO 8601 time: {value!r}",
                              field=field) from exc


def _number(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise InvalidIncident(f"`{field}` must be a whole number", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidIncident(f"`{field}` must be a whole number, got {str(value)[:40]!r}",
                              field=field) from exc
    if not 0 <= number <= MAX_NUMBER:
        raise InvalidIncident(f"`{field}` must be a whole number from 0 to {MAX_NUMBER}",
                              field=field)
    return number


def _str_list(value: Any, field: str) -> list[str]:
    return [str(x)[:200] for x in _list(value, field) if isinstance(x, str | int)]


def _parse_sentinel(obj: dict[str, Any], prefix: str) -> Incident:
    at = f"{prefix}." if prefix else ""
    props = obj["properties"]
    arm_id = _text(obj.get("id"), f"{at}id", required=True)
    title = _text(props.get("title"), f"{at}properties.title", required=True, limit=1000)
    extra = props.get("additionalData") or {}
    if not isinstance(extra, dict):
        raise InvalidIncident(f"`{at}properties.additionalData` must be an object")

    alerts_raw = _list(_get(props, "alerts"), f"{at}properties.alerts")[:MAX_ALERTS]
    alerts = [_sentinel_alert(a, f"{at}properties.alerts[{i}]") for i, a in enumerate(alerts_raw)]

    entities_raw = _list(_get(props, "relatedEntities"), f"{at}properties.relatedEntities")
    entities = _dedupe([
        _sentinel_entity(e, f"{at}properties.relatedEntities[{i}]")
        for i, e in enumerate(entities_raw[:MAX_ENTITIES])
    ])

    labels = []
    for i, label in enumerate(_list(props.get("labels"), f"{at}properties.labels")):
        if isinstance(label, dict):
            labels.append(_text(label.get("labelName"), f"{at}properties.labels[{i}].labelName"))
        elif isinstance(label, str):
            labels.append(label)

    tactics = _str_list(extra.get("tactics"), f"{at}properties.additionalData.tactics")
    for alert in alerts:
        tactics.extend(t for t in alert.tactics if t not in tactics)
    products = _str_list(extra.get("alertProductNames"),
                         f"{at}properties.additionalData.alertProductNames")
    for alert in alerts:
        if alert.product and alert.product not in products:
            products.append(alert.product)

    modified = _text(props.get("lastModifiedTimeUtc"), f"{at}properties.lastModifiedTimeUtc")
    return Incident(
        id=arm_id,
        number=_number(props.get("incidentNumber"), f"{at}properties.incidentNumber"),
        title=title,
        description=_text(props.get("description"), f"{at}properties.description"),
        severity=_severity(props.get("severity"), f"{at}properties.severity"),
        status=_text(props.get("status"), f"{at}properties.status") or "New",
        provider=_text(props.get("providerName"), f"{at}properties.providerName"),
        provider_incident_id=_text(props.get("providerIncidentId"),
                                   f"{at}properties.providerIncidentId"),
        url=_https_url(_text(props.get("incidentUrl"), f"{at}properties.incidentUrl")),
        source="sentinel",
        created=_time(props.get("createdTimeUtc"), f"{at}properties.createdTimeUtc"),
        revision=modified,
        labels=labels,
        tactics=tactics,
        products=products,
        alert_count=_number(extra.get("alertsCount"), "alertsCount") or len(alerts),
        alerts=alerts,
        entities=entities,
    )


def _https_url(url: str) -> str:
    """Only https links reach a card; anything else is dropped rather than shown clickable."""
    return url if url.startswith("https://") else ""


def _sentinel_alert(raw: Any, field: str) -> Alert:
    if not isinstance(raw, dict):
        raise InvalidIncident(f"`{field}` must be an object", field=field)
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else raw
    details: dict[str, Any] = {}
    extra = props.get("additionalData")
    if isinstance(extra, dict):
        custom = extra.get("Custom Details")
        if isinstance(custom, str):
            try:
                parsed = json.loads(custom)
                details = parsed if isinstance(parsed, dict) and not _too_deep(parsed) else {}
            except (ValueError, RecursionError):
                details = {}
        elif isinstance(custom, dict):
            details = custom
    return Alert(
        id=_text(props.get("systemAlertId") or raw.get("id"), f"{field}.id") or field,
        name=_text(props.get("alertDisplayName") or props.get("friendlyName"), f"{field}.name",
                   limit=500),
        severity=_severity(props.get("severity"), f"{field}.properties.severity"),
        product=_text(props.get("productName"), f"{field}.properties.productName"),
        tactics=_str_list(props.get("tactics"), f"{field}.properties.tactics"),
        start_time=_time(props.get("startTimeUtc"), f"{field}.properties.startTimeUtc"),
        custom_details=details,
    )


def _sentinel_entity(raw: Any, field: str) -> Entity:
    if not isinstance(raw, dict):
        raise InvalidIncident(f"`{field}` must be an object", field=field)
    raw_kind = _text(raw.get("kind"), f"{field}.kind") or "Unknown"
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    kind = _KINDS.get(raw_kind.lower(), EntityKind.OTHER)
    key, name = _sentinel_key(kind, props)
    if not key:
        key = _text(raw.get("id") or props.get("friendlyName"), f"{field}.id") or raw_kind
        kind = EntityKind.OTHER if kind != EntityKind.OTHER else kind
    return Entity(kind=kind, raw_kind=raw_kind, key=key[:500], name=name[:200],
                  properties=props)


def _s(props: dict[str, Any], *names: str) -> str:
    for name in names:
        value = props.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _sentinel_key(kind: EntityKind, p: dict[str, Any]) -> tuple[str, str]:
    """The entity's key (see core.models.Entity) and a display name."""
    if kind == EntityKind.ACCOUNT:
        account, suffix = _s(p, "accountName"), _s(p, "upnSuffix")
        upn = _s(p, "userPrincipalName") or (f"{account}@{suffix}" if account and suffix else "")
        key = upn.lower() or _s(p, "aadUserId").lower() or account.lower()
        return key, _s(p, "displayName", "friendlyName") or key
    if kind == EntityKind.HOST:
        host, domain = _s(p, "hostName"), _s(p, "dnsDomain")
        fqdn = _s(p, "fqdn") or (f"{host}.{domain}" if host and domain else host)
        return fqdn.lower(), host or fqdn
    if kind == EntityKind.IP:
        address = _s(p, "address")
        return address, address
    if kind == EntityKind.URL:
        url = _s(p, "url")
        return (urlparse(url).hostname or url).lower(), url
    if kind == EntityKind.DNS:
        domain = _s(p, "domainName")
        return domain.lower(), domain
    if kind == EntityKind.FILE_HASH:
        value = _s(p, "hashValue")
        return value.lower(), f"{_s(p, 'algorithm')} {value}".strip()
    if kind == EntityKind.MAIL_MESSAGE:
        return _s(p, "networkMessageId").lower(), _s(p, "subject")
    if kind == EntityKind.MAILBOX:
        address = _s(p, "mailboxPrimaryAddress", "upn")
        return address.lower(), _s(p, "displayName") or address
    if kind == EntityKind.CLOUD_APPLICATION:
        app_id = _s(p, "appId") or str(p.get("appId") or "")
        return app_id.lower(), _s(p, "appName") or app_id
    if kind == EntityKind.FILE:
        name = _s(p, "fileName", "name")
        return name.lower(), name
    if kind == EntityKind.PROCESS:
        cmd = _s(p, "commandLine", "processId")
        return cmd[:200], cmd[:200]
    return _s(p, "friendlyName", "name"), _s(p, "friendlyName", "name")


def _dedupe(entities: list[Entity]) -> list[Entity]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for entity in entities:
        ident = (entity.raw_kind.lower(), entity.key)
        if ident in seen:
            continue
        seen.add(ident)
        kept.append(entity)
    return kept


# Graph's `serviceSource` values, named as Sentinel names the same products.
_GRAPH_PRODUCTS = {
    "microsoftdefenderforendpoint": "Microsoft Defender for Endpoint",
    "microsoftdefenderforidentity": "Microsoft Defender for Identity",
    "microsoftdefenderforoffice365": "Microsoft Defender for Office 365",
    "microsoftdefenderforcloudapps": "Microsoft Defender for Cloud Apps",
    "microsoftdefenderforcloud": "Microsoft Defender for Cloud",
    "azureadidentityprotection": "Microsoft Entra ID Protection",
    "microsoftsentinel": "Azure Sentinel",
    "microsoft365defender": "Microsoft 365 Defender",
    "microsoftdefenderxdr": "Microsoft Defender XDR",
}

_GRAPH_EVIDENCE = {
    "#microsoft.graph.security.userevidence": EntityKind.ACCOUNT,
    "#microsoft.graph.security.deviceevidence": EntityKind.HOST,
    "#microsoft.graph.security.ipevidence": EntityKind.IP,
    "#microsoft.graph.security.urlevidence": EntityKind.URL,
    "#microsoft.graph.security.analyzedmessageevidence": EntityKind.MAIL_MESSAGE,
    "#microsoft.graph.security.mailboxevidence": EntityKind.MAILBOX,
    "#microsoft.graph.security.cloudapplicationevidence": EntityKind.CLOUD_APPLICATION,
    "#microsoft.graph.security.fileevidence": EntityKind.FILE_HASH,
    "#microsoft.graph.security.processevidence": EntityKind.PROCESS,
}


def _parse_graph(payload: dict[str, Any]) -> Incident:
    incident_id = _text(payload.get("id"), "id", required=True)
    title = _text(payload.get("displayName"), "displayName", required=True, limit=1000)
    alerts: list[Alert] = []
    entities: list[Entity] = []
    for i, raw in enumerate(_list(payload.get("alerts"), "alerts")[:MAX_ALERTS]):
        if not isinstance(raw, dict):
            raise InvalidIncident(f"`alerts[{i}]` must be an object", field=f"alerts[{i}]")
        category = _text(raw.get("category"), f"alerts[{i}].category")
        tactics = [category] if category else []
        alerts.append(Alert(
            id=_text(raw.get("id"), f"alerts[{i}].id") or f"alert-{i}",
            name=_text(raw.get("title"), f"alerts[{i}].title", limit=500),
            severity=_severity(raw.get("severity"), f"alerts[{i}].severity"),
            product=_graph_product(_text(raw.get("serviceSource") or raw.get("productName"),
                                         f"alerts[{i}].serviceSource")),
            tactics=tactics,
            start_time=_time(raw.get("firstActivityDateTime"),
                             f"alerts[{i}].firstActivityDateTime"),
        ))
        for j, ev in enumerate(_list(raw.get("evidence"), f"alerts[{i}].evidence")):
            entity = _graph_entity(ev, f"alerts[{i}].evidence[{j}]")
            if entity is not None:
                entities.append(entity)

    tactics: list[str] = []
    for alert in alerts:
        tactics.extend(t for t in alert.tactics if t not in tactics)
    return Incident(
        id=incident_id,
        number=_graph_number(incident_id),
        title=title,
        description=_text(payload.get("description"), "description"),
        severity=_severity(payload.get("severity"), "severity"),
        status=_text(payload.get("status"), "status") or "active",
        provider="Microsoft Defender XDR",
        provider_incident_id=incident_id,
        url=_https_url(_text(payload.get("incidentWebUrl"), "incidentWebUrl")),
        source="graph",
        created=_time(payload.get("createdDateTime"), "createdDateTime"),
        revision=_text(payload.get("lastUpdateDateTime"), "lastUpdateDateTime"),
        labels=_str_list(payload.get("tags") or payload.get("customTags"), "tags"),
        tactics=tactics,
        products=sorted({a.product for a in alerts if a.product}),
        alert_count=len(alerts),
        alerts=alerts,
        entities=_dedupe(entities),
    )


XDR_PROVIDERS = frozenset({"microsoftxdr", "microsoftdefenderxdr", "microsoft365defender"})


def wants_xdr_details(incident: Incident) -> bool:
    """True for a Sentinel incident that Defender XDR raised and that arrived without its
    alerts or entities: Graph holds them (`completed_from_graph`)."""
    provider = incident.provider.lower().replace(" ", "")
    return (incident.source == "sentinel" and provider in XDR_PROVIDERS
            and bool(incident.provider_incident_id)
            and not (incident.alerts and incident.entities))


def completed_from_graph(incident: Incident, payload: Any) -> Incident:
    """The Sentinel incident with the alerts and evidence of its Defender XDR incident (a Graph
    security incident) added; its id, number, title and revision stay Sentinel's. Raises
    InvalidIncident when the payload is not a Graph security incident."""
    xdr = parse_incident(payload)
    if xdr.source != "graph":
        raise InvalidIncident("expected a Graph security incident, got another shape")
    alerts = incident.alerts or xdr.alerts
    return incident.model_copy(update={
        "description": incident.description or xdr.description,
        "alerts": alerts,
        "alert_count": max(incident.alert_count, len(alerts)),
        "entities": _dedupe([*incident.entities, *xdr.entities])[:MAX_ENTITIES],
        "tactics": list(dict.fromkeys([*incident.tactics, *xdr.tactics])),
        "products": list(dict.fromkeys([*incident.products, *xdr.products])),
    })


def _graph_number(incident_id: str) -> int | None:
    """A Graph incident's id doubles as its number when it is a plain decimal that fits."""
    if not (incident_id.isascii() and incident_id.isdigit()) or len(incident_id) > 18:
        return None
    return int(incident_id)


def _graph_product(source: str) -> str:
    return _GRAPH_PRODUCTS.get(source.lower(), source)


def _graph_entity(ev: Any, field: str) -> Entity | None:
    if not isinstance(ev, dict):
        raise InvalidIncident(f"`{field}` must be an object", field=field)
    odata = _text(ev.get("@odata.type"), f"{field}.@odata.type")
    kind = _GRAPH_EVIDENCE.get(odata.lower(), EntityKind.OTHER)
    raw_kind = odata.rsplit(".", 1)[-1] or "unknown"
    if kind == EntityKind.ACCOUNT:
        acct = ev.get("userAccount") if isinstance(ev.get("userAccount"), dict) else {}
        upn = _s(acct, "userPrincipalName")
        if not upn and _s(acct, "accountName") and _s(acct, "domainName"):
            upn = f"{_s(acct, 'accountName')}@{_s(acct, 'domainName')}"
        props = {"accountName": _s(acct, "accountName"), "upnSuffix": upn.partition("@")[2],
                 "aadUserId": _s(acct, "azureAdUserId"), "displayName": _s(acct, "displayName")}
        key = upn.lower() or props["aadUserId"]
        return Entity(kind=kind, raw_kind="Account", key=key,
                      name=props["displayName"] or key, properties=props) if key else None
    if kind == EntityKind.HOST:
        dns = _s(ev, "deviceDnsName").lower()
        host, _, domain = dns.partition(".")
        props = {"hostName": host.upper(), "dnsDomain": domain,
                 "additionalData": {"MdatpDeviceId": _s(ev, "mdeDeviceId")}}
        return Entity(kind=kind, raw_kind="Host", key=dns, name=host.upper(),
                      properties=props) if dns else None
    if kind == EntityKind.IP:
        address = _s(ev, "ipAddress")
        props = {"address": address, "location": {"countryCode": _s(ev, "countryLetterCode")}}
        return Entity(kind=kind, raw_kind="Ip", key=address, name=address,
                      properties=props) if address else None
    if kind == EntityKind.URL:
        url = _s(ev, "url")
        return Entity(kind=kind, raw_kind="Url", key=(urlparse(url).hostname or url).lower(),
                      name=url, properties={"url": url}) if url else None
    if kind == EntityKind.MAIL_MESSAGE:
        sender = ev.get("p1Sender") if isinstance(ev.get("p1Sender"), dict) else {}
        props = {"networkMessageId": _s(ev, "networkMessageId"),
                 "recipient": _s(ev, "recipientEmailAddress"),
                 "p1Sender": _s(sender, "emailAddress"), "subject": _s(ev, "subject")}
        key = props["networkMessageId"].lower()
        return Entity(kind=kind, raw_kind="MailMessage", key=key, name=props["subject"],
                      properties=props) if key else None
    if kind == EntityKind.CLOUD_APPLICATION:
        app_id = str(ev.get("appId") or "")
        props = {"appId": app_id, "appName": _s(ev, "displayName")}
        return Entity(kind=kind, raw_kind="CloudApplication", key=app_id.lower(),
                      name=props["appName"] or app_id, properties=props) if app_id else None
    if kind == EntityKind.FILE_HASH:
        details = ev.get("fileDetails") if isinstance(ev.get("fileDetails"), dict) else {}
        value = _s(details, "sha256", "sha1")
        props = {"algorithm": "SHA256" if _s(details, "sha256") else "SHA1", "hashValue": value,
                 "fileName": _s(details, "fileName")}
        return Entity(kind=kind, raw_kind="FileHash", key=value.lower(),
                      name=props["fileName"] or value, properties=props) if value else None
    if kind == EntityKind.MAILBOX:
        address = _s(ev, "primaryAddress")
        return Entity(kind=kind, raw_kind="Mailbox", key=address.lower(), name=address,
                      properties={"mailboxPrimaryAddress": address}) if address else None
    props = {k: v for k, v in ev.items() if isinstance(v, str | int | float | bool)}
    key = _s(ev, "displayName", "name") or raw_kind
    return Entity(kind=EntityKind.OTHER, raw_kind=raw_kind, key=key[:500], name=key[:200],
                  properties=props)
