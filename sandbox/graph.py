"""Microsoft Graph v1.0 as the sandbox serves it under `/sandbox/graph/v1.0`.

The paths, query options (`$filter`, `$select`, `$top`, `$skiptoken`, `$orderby`, `$expand`),
camelCase JSON, `@odata.context`/`value` collection envelopes, status codes and error bodies
are Graph's, so msgraph-sdk's `GraphServiceClient` works against it unchanged once its request
adapter's `base_url` points here. What it serves:

- users: `GET /users` (with `$filter`), `GET /users/{id or userPrincipalName}` (the name is
  matched without regard to case), `PATCH /users/{id}` → 204,
  `POST /users/{id}/revokeSignInSessions` → `{"value": true}` and
  `signInSessionsValidFromDateTime` becomes the time of the call,
  `/users/{id}/memberOf`, `/transitiveMemberOf` (groups with `@odata.type`), `/manager`.
  As in Graph, a user read without `$select` returns only the default properties (displayName,
  jobTitle, mail, userPrincipalName, ...); `accountEnabled`, `department` and
  `signInSessionsValidFromDateTime` must be `$select`ed.
- groups: `GET /groups`, `/groups/{id}`, `/groups/{id}/members`, `/transitiveMembers`.
- sign-ins: `GET /auditLogs/signIns` (newest first; `$filter` on userId, userPrincipalName,
  createdDateTime, ipAddress, ...; `$top`, with `@odata.nextLink` when more remain).
- Identity Protection: `GET /identityProtection/riskyUsers[/{id}]`, `POST .../confirmCompromised`
  and `.../dismiss` with `{"userIds": [...]}` → 204, changing riskLevel/riskState/riskDetail.
- threat intelligence: `GET /security/threatIntelligence/hosts/{host}/reputation`; a host the
  tenant knows nothing about is `unknown` with score 0.
- mail: `GET /security/collaboration/analyzedEmails[/{id}]`, `POST .../remediate` → 202; the
  messages' `latestDelivery.location` then reads `deletedFolder` (softDelete, hardDelete,
  moveToDeletedItems), `junkFolder` (moveToJunk) or `inbox_folder` (moveToInbox). A hard-deleted
  message cannot be moved back: moveToInbox leaves it where it is, as the real purge would.
- apps: `GET /servicePrincipals` (`$filter=appId eq '…'`), `/servicePrincipals/{id}`,
  `/servicePrincipals(appId='…')`, `/servicePrincipals/{id}/oauth2PermissionGrants`;
  `GET /oauth2PermissionGrants[/{id}]` (`$filter=clientId eq '…'`), `DELETE` → 204,
  `POST` → 201 with a new id (409 when the same client, resource and principal already have one).
- incidents: `GET /security/incidents[/{id}]`, alerts only with `$expand=alerts`; only the
  incidents a test registered (`Tenant.add_security_incident`), 404 otherwise.

Limitation: no `$search`, `$count`, `$batch` or delta queries, and `$expand` only for incident
alerts. Writes are not permission-checked: any bearer token may disable any account (the real
tenant would refuse a privileged target without a privileged role).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import structlog
from aiohttp import web

from sandbox.api_errors import ApiError, json_object
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import utc_now
from sandbox.odata import InvalidFilter, QueryOptions, query_options
from sandbox.tenant import Json, Tenant

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
V1 = "/graph/v1.0"

USER_DEFAULT_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
)
USER_WRITABLE: dict[str, type] = {
    "accountEnabled": bool, "businessPhones": list, "city": str, "companyName": str,
    "country": str, "department": str, "displayName": str, "employeeId": str, "givenName": str,
    "jobTitle": str, "mail": str, "mailNickname": str, "mobilePhone": str,
    "officeLocation": str, "passwordProfile": dict, "postalCode": str, "preferredLanguage": str,
    "state": str, "streetAddress": str, "surname": str, "usageLocation": str,
    "userPrincipalName": str, "userType": str,
}
SEED_ONLY = ("managerId", "members")
REMEDIATION_LOCATIONS = {
    "softDelete": "deletedFolder",
    "hardDelete": "deletedFolder",
    "moveToDeletedItems": "deletedFolder",
    "moveToJunk": "junkFolder",
    "moveToInbox": "inbox_folder",
}


def _tenant(request: web.Request) -> Tenant:
    return request.app[TENANT_KEY]


def _base(request: web.Request) -> str:
    return f"{request.url.origin()}{request.path.split(V1, 1)[0]}{V1}"


def _options(request: web.Request) -> QueryOptions:
    try:
        return query_options(dict(request.query))
    except InvalidFilter as exc:
        raise ApiError(400, "BadRequest", f"Invalid query: {exc}.") from None


def _not_found(what: str) -> ApiError:
    return ApiError(404, "Request_ResourceNotFound",
                    f"Resource '{what}' does not exist or one of its queried reference-property "
                    "objects are not present.")


def _public(item: Json, odata_type: str | None = None) -> Json:
    shown = {k: v for k, v in item.items() if k not in SEED_ONLY}
    if odata_type:
        shown = {"@odata.type": odata_type, **shown}
    return shown


def _user_view(user: Json, options: QueryOptions | None, typed: bool = False) -> Json:
    if options is not None and options.select:
        view = options.project(_public(user))
        view.update({k: user.get(k) for k in options.select if k not in view})
    else:
        view = {k: user.get(k, [] if k == "businessPhones" else None)
                for k in USER_DEFAULT_PROPERTIES}
    if typed:
        view = {"@odata.type": "#microsoft.graph.user", **view}
    return view


def _collection(request: web.Request, context: str, items: list[Json],
                options: QueryOptions, view: Any = None) -> web.Response:
    page, next_offset = options.apply(items)
    shown = [view(i) if view else options.project(i) for i in page]
    body: Json = {"@odata.context": f"{_base(request)}/$metadata#{context}", "value": shown}
    if next_offset is not None:
        body["@odata.nextLink"] = str(request.url.update_query({"$skiptoken": str(next_offset)}))
    return web.json_response(body)


def _entity(request: web.Request, context: str, item: Json) -> web.Response:
    body = {"@odata.context": f"{_base(request)}/$metadata#{context}/$entity", **item}
    return web.json_response(body)


def _user_or_404(request: web.Request) -> Json:
    key = request.match_info["user"]
    user = _tenant(request).user(key)
    if user is None:
        raise _not_found(key)
    return user


# Users.


@routes.get(V1 + "/users")
async def list_users(request: web.Request) -> web.Response:
    options = _options(request)
    users = [_public(u) for u in _tenant(request).users.values()]
    return _collection(request, "users", users, options,
                       view=lambda u: _user_view(u, options))


@routes.get(V1 + "/users/{user}")
async def get_user(request: web.Request) -> web.Response:
    user = _user_or_404(request)
    return _entity(request, "users", _user_view(user, _options(request)))


@routes.patch(V1 + "/users/{user}")
async def update_user(request: web.Request) -> web.Response:
    user = _user_or_404(request)
    changes = {k: v for k, v in (await json_object(request)).items() if not k.startswith("@")}

    _check_user_changes(changes)

    user.update(changes)
    log.info("sandbox user updated", user=user["userPrincipalName"], changes=sorted(changes))
    return web.Response(status=204)


def _check_user_changes(changes: Json) -> None:
    for name, value in changes.items():
        kind = USER_WRITABLE.get(name)
        if kind is None:
            raise ApiError(400, "Request_BadRequest",
                           f"Property '{name}' does not exist on type 'microsoft.graph.user' "
                           "or cannot be written.")
        if value is not None and not isinstance(value, kind):
            raise ApiError(400, "Request_BadRequest",
                           f"Property '{name}' must be of type {kind.__name__}.")
    if changes.get("accountEnabled", False) is None:
        raise ApiError(400, "Request_BadRequest", "Property 'accountEnabled' cannot be null.")
    upn = changes.get("userPrincipalName", "x@y")
    if not isinstance(upn, str) or "@" not in upn:
        raise ApiError(400, "Request_BadRequest", "Property 'userPrincipalName' needs an '@'.")


@routes.post(V1 + "/users/{user}/revokeSignInSessions")
async def revoke_sign_in_sessions(request: web.Request) -> web.Response:
    user = _user_or_404(request)
    user["signInSessionsValidFromDateTime"] = utc_now()
    log.info("sandbox sessions revoked", user=user["userPrincipalName"])
    return web.json_response({
        "@odata.context": f"{_base(request)}/$metadata#Edm.Boolean", "value": True,
    })


@routes.get(V1 + "/users/{user}/memberOf")
async def user_member_of(request: web.Request) -> web.Response:
    user = _user_or_404(request)
    groups = [_public(g, "#microsoft.graph.group") for g in _tenant(request).groups_of(user["id"])]
    return _collection(request, "directoryObjects", groups, _options(request))


@routes.get(V1 + "/users/{user}/transitiveMemberOf")
async def user_transitive_member_of(request: web.Request) -> web.Response:
    user = _user_or_404(request)
    groups = _tenant(request).transitive_groups_of(user["id"])
    shown = [_public(g, "#microsoft.graph.group") for g in groups]
    return _collection(request, "directoryObjects", shown, _options(request))


@routes.get(V1 + "/users/{user}/manager")
async def user_manager(request: web.Request) -> web.Response:
    user = _user_or_404(request)
    manager = _tenant(request).users.get(user.get("managerId") or "")
    if manager is None:
        raise _not_found("manager")
    view = _user_view(manager, _options(request), typed=True)
    return _entity(request, "directoryObjects", view)


# Groups.


def _group_or_404(request: web.Request) -> Json:
    key = request.match_info["group"]
    group = _tenant(request).groups.get(key)
    if group is None:
        raise _not_found(key)
    return group


def _member_views(tenant: Tenant, ids: list[str], options: QueryOptions) -> list[Json]:
    views = []
    for member_id in ids:
        if member_id in tenant.users:
            views.append(_user_view(tenant.users[member_id], options, typed=True))
        elif member_id in tenant.groups:
            views.append(_public(tenant.groups[member_id], "#microsoft.graph.group"))
    return views


@routes.get(V1 + "/groups")
async def list_groups(request: web.Request) -> web.Response:
    groups = [_public(g) for g in _tenant(request).groups.values()]
    return _collection(request, "groups", groups, _options(request))


@routes.get(V1 + "/groups/{group}")
async def get_group(request: web.Request) -> web.Response:
    return _entity(request, "groups", _public(_group_or_404(request)))


@routes.get(V1 + "/groups/{group}/members")
async def group_members(request: web.Request) -> web.Response:
    group, options = _group_or_404(request), _options(request)
    members = _member_views(_tenant(request), group.get("members", []), options)
    return _collection(request, "directoryObjects", members, options, view=lambda m: m)


@routes.get(V1 + "/groups/{group}/transitiveMembers")
async def group_transitive_members(request: web.Request) -> web.Response:
    tenant, group, options = _tenant(request), _group_or_404(request), _options(request)
    seen: list[str] = []
    pending = list(group.get("members", []))
    while pending:
        member_id = pending.pop(0)
        if member_id in seen:
            continue
        seen.append(member_id)
        pending.extend(tenant.groups.get(member_id, {}).get("members", []))
    members = _member_views(tenant, seen, options)
    return _collection(request, "directoryObjects", members, options, view=lambda m: m)


# Sign-ins and Identity Protection.


@routes.get(V1 + "/auditLogs/signIns")
async def list_sign_ins(request: web.Request) -> web.Response:
    options = _options(request)
    if options.order_by is None:
        options = QueryOptions(options.predicate, options.select, options.top, options.skip,
                               ("createdDateTime", True))
    return _collection(request, "auditLogs/signIns", _tenant(request).sign_ins, options)


@routes.get(V1 + "/identityProtection/riskyUsers")
async def list_risky_users(request: web.Request) -> web.Response:
    risky = list(_tenant(request).risky_users.values())
    return _collection(request, "identityProtection/riskyUsers", risky, _options(request))


@routes.get(V1 + "/identityProtection/riskyUsers/{id}")
async def get_risky_user(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    risky = _tenant(request).risky_users.get(key)
    if risky is None:
        raise _not_found(key)
    return _entity(request, "identityProtection/riskyUsers", risky)


async def _risky_user_ids(request: web.Request) -> list[str]:
    body = await json_object(request)
    ids = body.get("userIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "BadRequest", "'userIds' must be a non-empty list of user ids.")
    tenant = _tenant(request)
    unknown = [i for i in ids if i not in tenant.users]
    if unknown:
        raise ApiError(400, "BadRequest", f"Unknown user ids: {', '.join(unknown)}.")
    return ids


def _set_risk(tenant: Tenant, user_id: str, level: str, state: str, detail: str) -> None:
    user = tenant.users[user_id]
    risky = tenant.risky_users.setdefault(user_id, {
        "id": user_id,
        "userPrincipalName": user.get("userPrincipalName"),
        "userDisplayName": user.get("displayName"),
        "isDeleted": False,
        "isProcessing": False,
    })
    risky.update({"riskLevel": level, "riskState": state, "riskDetail": detail,
                  "riskLastUpdatedDateTime": utc_now()})


@routes.post(V1 + "/identityProtection/riskyUsers/confirmCompromised")
async def confirm_compromised(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    for user_id in await _risky_user_ids(request):
        _set_risk(tenant, user_id, "high", "confirmedCompromised", "adminConfirmedUserCompromised")
    return web.Response(status=204)


@routes.post(V1 + "/identityProtection/riskyUsers/dismiss")
async def dismiss_risk(request: web.Request) -> web.Response:
    tenant = _tenant(request)
    for user_id in await _risky_user_ids(request):
        _set_risk(tenant, user_id, "none", "dismissed", "adminDismissedAllRiskForUser")
    return web.Response(status=204)


# Threat intelligence.


@routes.get(V1 + "/security/threatIntelligence/hosts/{host}/reputation")
async def host_reputation(request: web.Request) -> web.Response:
    host = request.match_info["host"].strip()
    if not host or " " in host:
        raise ApiError(400, "BadRequest", f"'{host}' is not a host name or address.")
    known = _tenant(request).host_reputations.get(host.lower())
    rules = known.get("rules", []) if known else []
    body = {
        "@odata.type": "#microsoft.graph.security.hostReputation",
        "id": host,
        "classification": known["classification"] if known else "unknown",
        "score": known["score"] if known else 0,
        "rules": [{"name": r.get("name"), "description": r.get("description", r.get("name")),
                   "severity": r.get("severity"), "relatedDetailsUrl": None} for r in rules],
    }
    context = "security/threatIntelligence/hosts('{host}')/reputation"
    return web.json_response({
        "@odata.context": f"{_base(request)}/$metadata#{context.format(host=host)}", **body,
    })


# Analyzed emails.


@routes.post(V1 + "/security/collaboration/analyzedEmails/remediate")
async def remediate_emails(request: web.Request) -> web.Response:
    body = await json_object(request)
    action = body.get("action")
    if not isinstance(action, str) or action not in REMEDIATION_LOCATIONS:
        raise ApiError(400, "BadRequest",
                       f"'action' must be one of {', '.join(REMEDIATION_LOCATIONS)}; "
                       f"got {action!r}.")
    targets = body.get("analyzedEmails")
    if not isinstance(targets, list) or not targets:
        raise ApiError(400, "BadRequest", "'analyzedEmails' must be a non-empty list.")
    for required in ("displayName", "severity"):
        if not body.get(required):
            raise ApiError(400, "BadRequest", f"'{required}' is required.")

    tenant = _tenant(request)
    messages = [_email_for(tenant, t) for t in targets]
    for message in messages:
        _move(message, action)
    log.info("sandbox mail remediated", action=action, count=len(messages))
    return web.Response(status=202)


def _email_for(tenant: Tenant, target: Any) -> Json:
    if not isinstance(target, dict):
        raise ApiError(400, "BadRequest", "Each analyzedEmails entry must be an object.")
    network_id = str(target.get("networkMessageId") or "").lower()
    recipient = str(target.get("recipientEmailAddress") or "").lower()
    if not network_id or not recipient:
        raise ApiError(400, "BadRequest", "Each analyzedEmails entry needs networkMessageId "
                       "and recipientEmailAddress.")
    for message in tenant.analyzed_emails.values():
        if (message["networkMessageId"].lower() == network_id
                and message["recipientEmailAddress"].lower() == recipient):
            return message
    raise ApiError(400, "BadRequest",
                   f"No analyzed email {network_id} delivered to {recipient}.")


def _move(message: Json, action: str) -> None:
    delivery = message.setdefault("latestDelivery", {})
    if action == "moveToInbox" and message.get("_hardDeleted"):
        return
    if action == "hardDelete":
        message["_hardDeleted"] = True
    delivery["location"] = REMEDIATION_LOCATIONS[action]


def _email_view(message: Json) -> Json:
    return {k: v for k, v in message.items() if not k.startswith("_")}


@routes.get(V1 + "/security/collaboration/analyzedEmails")
async def list_analyzed_emails(request: web.Request) -> web.Response:
    emails = [_email_view(m) for m in _tenant(request).analyzed_emails.values()]
    return _collection(request, "security/collaboration/analyzedEmails", emails,
                       _options(request))


@routes.get(V1 + "/security/collaboration/analyzedEmails/{id}")
async def get_analyzed_email(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    message = _tenant(request).analyzed_emails.get(key)
    if message is None:
        raise _not_found(key)
    return _entity(request, "security/collaboration/analyzedEmails", _email_view(message))


# Service principals and delegated permission grants.


def _service_principal(request: web.Request, key: str) -> Json:
    principal = _tenant(request).service_principals.get(key)
    if principal is None:
        raise _not_found(key)
    return principal


@routes.get(V1 + "/servicePrincipals")
async def list_service_principals(request: web.Request) -> web.Response:
    principals = list(_tenant(request).service_principals.values())
    return _collection(request, "servicePrincipals", principals, _options(request))


@routes.get(V1 + "/servicePrincipals(appId='{app_id}')")
async def get_service_principal_by_app_id(request: web.Request) -> web.Response:
    app_id = request.match_info["app_id"].lower()
    for principal in _tenant(request).service_principals.values():
        if principal.get("appId", "").lower() == app_id:
            return _entity(request, "servicePrincipals", _options(request).project(principal))
    raise _not_found(app_id)


@routes.get(V1 + "/servicePrincipals/{id}")
async def get_service_principal(request: web.Request) -> web.Response:
    principal = _service_principal(request, request.match_info["id"])
    return _entity(request, "servicePrincipals", _options(request).project(principal))


@routes.get(V1 + "/servicePrincipals/{id}/oauth2PermissionGrants")
async def service_principal_grants(request: web.Request) -> web.Response:
    principal = _service_principal(request, request.match_info["id"])
    grants = [g for g in _tenant(request).grants.values() if g["clientId"] == principal["id"]]
    return _collection(request, "oauth2PermissionGrants", grants, _options(request))


@routes.get(V1 + "/oauth2PermissionGrants")
async def list_grants(request: web.Request) -> web.Response:
    grants = list(_tenant(request).grants.values())
    return _collection(request, "oauth2PermissionGrants", grants, _options(request))


@routes.get(V1 + "/oauth2PermissionGrants/{id}")
async def get_grant(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    grant = _tenant(request).grants.get(key)
    if grant is None:
        raise _not_found(key)
    return _entity(request, "oauth2PermissionGrants", grant)


@routes.delete(V1 + "/oauth2PermissionGrants/{id}")
async def delete_grant(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    grant = _tenant(request).grants.pop(key, None)
    if grant is None:
        raise _not_found(key)
    log.info("sandbox grant deleted", grant_id=key, client_id=grant["clientId"])
    return web.Response(status=204)


@routes.post(V1 + "/oauth2PermissionGrants")
async def create_grant(request: web.Request) -> web.Response:
    tenant, body = _tenant(request), await json_object(request)
    grant = _checked_grant(tenant, body)

    for existing in tenant.grants.values():
        same = all(existing.get(k) == grant[k] for k in ("clientId", "resourceId", "principalId"))
        if same:
            raise ApiError(409, "Request_MultipleObjectsWithSameKeyValue",
                           f"Permission entry already exists as grant '{existing['id']}'.")

    tenant.grants[grant["id"]] = grant
    log.info("sandbox grant created", grant_id=grant["id"], client_id=grant["clientId"])
    location = f"{_base(request)}/oauth2PermissionGrants/{grant['id']}"
    response = _entity(request, "oauth2PermissionGrants", grant)
    response.set_status(201)
    response.headers["Location"] = location
    return response


def _checked_grant(tenant: Tenant, body: Json) -> Json:
    for required in ("clientId", "consentType", "resourceId", "scope"):
        if not isinstance(body.get(required), str) or not body[required]:
            raise ApiError(400, "Request_BadRequest", f"Property '{required}' is required.")
    if body["clientId"] not in tenant.service_principals:
        raise ApiError(400, "Request_BadRequest",
                       f"clientId '{body['clientId']}' is not a service principal.")
    if body["consentType"] not in ("Principal", "AllPrincipals"):
        raise ApiError(400, "Request_BadRequest",
                       "consentType must be 'Principal' or 'AllPrincipals'.")
    principal_id = body.get("principalId")
    if principal_id is not None and not isinstance(principal_id, str):
        raise ApiError(400, "Request_BadRequest", "principalId must be a user id or null.")
    if body["consentType"] == "Principal" and principal_id not in tenant.users:
        raise ApiError(400, "Request_BadRequest",
                       "A 'Principal' grant needs principalId, the id of a user.")
    if body["consentType"] == "AllPrincipals" and principal_id:
        raise ApiError(400, "Request_BadRequest",
                       "An 'AllPrincipals' grant must not name a principalId.")
    raw_id = uuid.uuid4().bytes + uuid.uuid4().bytes[:8]
    return {
        "id": base64.urlsafe_b64encode(raw_id).decode().rstrip("="),
        "clientId": body["clientId"],
        "consentType": body["consentType"],
        "principalId": principal_id if body["consentType"] == "Principal" else None,
        "resourceId": body["resourceId"],
        "scope": body["scope"],
    }


# Security incidents (Defender XDR through Graph).


def _incident_view(incident: Json, expand: str) -> Json:
    wanted = {e.strip().lower() for e in expand.split(",") if e.strip()}
    if "alerts" in wanted:
        return incident
    return {k: v for k, v in incident.items() if k != "alerts"}


@routes.get(V1 + "/security/incidents")
async def list_security_incidents(request: web.Request) -> web.Response:
    expand = request.query.get("$expand", "")
    incidents = [_incident_view(i, expand)
                 for i in _tenant(request).security_incidents.values()]
    return _collection(request, "security/incidents", incidents, _options(request))


@routes.get(V1 + "/security/incidents/{id}")
async def get_security_incident(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    incident = _tenant(request).security_incidents.get(key)
    if incident is None:
        raise _not_found(key)
    view = _incident_view(incident, request.query.get("$expand", ""))
    return _entity(request, "security/incidents", view)
