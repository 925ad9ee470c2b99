"""Microsoft Sentinel incidents and their comments, as ARM serves them (`arm.py` routes here).

An incident is addressed by its ARM id, `{workspaceId}/providers/Microsoft.SecurityInsights/
Incidents/{name}`. Any incident id under the tenant's Sentinel workspace is accepted: an
incident nobody registered is created on first touch (status New, severity Medium), so the
incidents of the shared scenarios need no setup. Ids are matched without regard to case, as ARM
matches them.

- `GET {incident}` → the incident with its `etag`.
- `PUT {incident}` `{"etag"?, "properties": {...}}` → 200 (201 when new) with a fresh etag. The
  etag may come in the body or in `If-Match`; a stale one gets 412 `PreconditionFailed`, an
  absent one means last writer wins, as in Sentinel. `status` is required; `Closed` requires a
  `classification`; leaving Closed clears the classification fields.
- `PUT {incident}/comments/{commentId}` `{"properties": {"message"}}` → 201 (200 when the
  comment existed); `GET {incident}/comments` → `{"value": [...]}` oldest first;
  `GET`/`DELETE {incident}/comments/{commentId}`.

Limitation: properties the real service computes (alerts, entities, related analytic rules)
stay as registered; incident numbers count up from 1000 across the process (a reset does not
restart them).
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.api_errors import ApiError
from sandbox.clock import utc_now

Json = dict[str, Any]

STATUSES = ("New", "Active", "Closed")
SEVERITIES = ("High", "Medium", "Low", "Informational")
CLASSIFICATIONS = ("Undetermined", "TruePositive", "BenignPositive", "FalsePositive")
CLASSIFICATION_REASONS = ("SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic",
                          "InaccurateData")
MAX_COMMENT = 30_000

_numbers = iter(range(1000, 10**9))


def _etag() -> str:
    return f'"{uuid.uuid4()}"'


def new_sentinel_incident(arm_id: str, properties: Json | None = None) -> Json:
    """A Sentinel incident resource at `arm_id`, defaults overridden by `properties`."""
    now = utc_now()
    name = arm_id.rstrip("/").rsplit("/", 1)[-1]
    defaults: Json = {
        "title": f"Incident {name}",
        "description": "",
        "severity": "Medium",
        "status": "New",
        "owner": {"objectId": None, "email": None, "assignedTo": None,
                  "userPrincipalName": None},
        "labels": [],
        "incidentNumber": next(_numbers),
        "incidentUrl": f"https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/"
                       f"Incident{arm_id}",
        "providerName": "Azure Sentinel",
        "providerIncidentId": None,
        "createdTimeUtc": now,
        "lastModifiedTimeUtc": now,
        "firstActivityTimeUtc": now,
        "lastActivityTimeUtc": now,
        "additionalData": {"alertsCount": 0, "bookmarksCount": 0, "commentsCount": 0,
                           "alertProductNames": [], "tactics": []},
        "relatedAnalyticRuleIds": [],
    }
    return {
        "id": arm_id,
        "name": name,
        "type": "Microsoft.SecurityInsights/Incidents",
        "etag": _etag(),
        "properties": {**defaults, **(properties or {})},
    }


def incident_at(tenant: Any, arm_id: str) -> Json:
    """The incident at `arm_id`, created on first touch."""
    key = arm_id.lower()
    if key not in tenant.sentinel_incidents:
        tenant.sentinel_incidents[key] = new_sentinel_incident(arm_id)
    return tenant.sentinel_incidents[key]


def put_incident(tenant: Any, arm_id: str, body: Json, if_match: str | None) -> tuple[int, Json]:
    """Replace the incident's properties; returns the status (200 or 201) and the incident."""
    key = arm_id.lower()
    created = key not in tenant.sentinel_incidents
    incident = incident_at(tenant, arm_id)

    sent_etag = body.get("etag") or if_match
    if sent_etag is not None and not isinstance(sent_etag, str):
        raise ApiError(400, "BadRequest", "'etag' must be the text the incident was read with.")
    if sent_etag and not created and sent_etag.strip() not in ("*", incident["etag"]):
        raise ApiError(412, "PreconditionFailed",
                       f"The etag {sent_etag} does not match the incident's current etag "
                       f"{incident['etag']}; read the incident again and retry.")

    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ApiError(400, "BadRequest", "The body needs 'properties', an object.")
    merged = {**incident["properties"], **properties}
    _check_incident(merged)
    if merged["status"] != "Closed":
        for field in ("classification", "classificationReason", "classificationComment"):
            merged.pop(field, None)

    merged["lastModifiedTimeUtc"] = utc_now()
    incident["properties"] = merged
    incident["etag"] = _etag()
    return (201 if created else 200), incident


def _check_incident(properties: Json) -> None:
    if properties.get("status") not in STATUSES:
        raise ApiError(400, "BadRequest",
                       f"'status' must be one of {', '.join(STATUSES)}; "
                       f"got {properties.get('status')!r}.")
    if properties.get("severity") not in SEVERITIES:
        raise ApiError(400, "BadRequest", f"'severity' must be one of {', '.join(SEVERITIES)}.")
    if not properties.get("title"):
        raise ApiError(400, "BadRequest", "'title' is required.")
    if properties["status"] != "Closed":
        return
    if properties.get("classification") not in CLASSIFICATIONS:
        raise ApiError(400, "BadRequest",
                       "Closing an incident requires 'classification', one of "
                       f"{', '.join(CLASSIFICATIONS)}.")
    reason = properties.get("classificationReason")
    if reason is not None and reason not in CLASSIFICATION_REASONS:
        allowed = ", ".join(CLASSIFICATION_REASONS)
        raise ApiError(400, "BadRequest", f"'classificationReason' must be one of {allowed}.")


def comments_of(tenant: Any, arm_id: str) -> dict[str, Json]:
    """The comments on the incident at `arm_id`, by lower-case comment name."""
    incident_at(tenant, arm_id)
    return tenant.incident_comments.setdefault(arm_id.lower(), {})


def put_comment(tenant: Any, arm_id: str, name: str, body: Json,
                author: Json) -> tuple[int, Json]:
    """Create or replace a comment; returns the status (201 or 200) and the comment."""
    properties = body.get("properties")
    message = properties.get("message") if isinstance(properties, dict) else None
    if not isinstance(message, str) or not message.strip():
        raise ApiError(400, "BadRequest", "The body needs 'properties.message', non-empty text.")
    if len(message) > MAX_COMMENT:
        raise ApiError(400, "BadRequest",
                       f"A comment holds at most {MAX_COMMENT} characters; got {len(message)}.")

    comments = comments_of(tenant, arm_id)
    existing = comments.get(name.lower())
    now = utc_now()
    comment = {
        "id": f"{arm_id}/comments/{name}",
        "name": name,
        "type": "Microsoft.SecurityInsights/Incidents/Comments",
        "etag": _etag(),
        "properties": {
            "message": message,
            "createdTimeUtc": existing["properties"]["createdTimeUtc"] if existing else now,
            "lastModifiedTimeUtc": now,
            "author": author,
        },
    }
    comments[name.lower()] = comment
    incident = incident_at(tenant, arm_id)
    incident["properties"]["additionalData"]["commentsCount"] = len(comments)
    return (200 if existing else 201), comment
