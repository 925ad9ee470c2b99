"""Who may talk to the bot: Bot Framework authentication of every request to /api/messages.

`BotConfig(settings)` carries the attribute names botbuilder's
`ConfigurationBotFrameworkAuthentication` reads (`APP_ID`, `APP_PASSWORD`, `APP_TYPE`,
`APP_TENANTID`). `ChannelAuth.authenticate(activity, header)` validates the bearer token
against the Bot Framework's published signing keys, the app id as audience and the activity's
`serviceUrl`, and answers with the result the adapter needs, or raises `Unauthorized`.

With an app id set, every failure is a 401: a missing header, a header that is not a JWT
(botbuilder 4.17.1 lets that decode error escape, which would be a 500), a token signed by a key
the Bot Framework does not publish (4.17.1 fails that lookup with an IndexError), an expired
token, a wrong audience or issuer. With an empty app id nothing is checked: that is the Agents
Playground's local mode and must never face the internet.

Limitation: botbuilder fetches the signing keys with a blocking HTTP call (at most once an hour,
once a day when they are found); the event loop waits for it.
"""

from __future__ import annotations

from typing import Any

import structlog
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult

from core.errors import Unauthorized

log = structlog.get_logger(__name__)


class BotConfig:
    """Settings in the shape botbuilder's configuration reader expects."""

    def __init__(self, settings: Any) -> None:
        self.APP_ID = settings.app_id
        self.APP_PASSWORD = settings.app_password
        self.APP_TYPE = settings.app_type or "MultiTenant"
        self.APP_TENANTID = settings.app_tenant_id


class ChannelAuth:
    def __init__(self, settings: Any) -> None:
        self.app_id = settings.app_id
        self.framework = ConfigurationBotFrameworkAuthentication(BotConfig(settings))

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    async def authenticate(self, activity: Activity, header: str) -> AuthenticateRequestResult:
        if self.enabled and not header:
            raise Unauthorized("a Bot Framework bearer token is required")
        try:
            return await self.framework.authenticate_request(activity, header)
        except Exception as exc:
            log.warning("bot request refused", reason=type(exc).__name__,
                        channel=activity.channel_id, service_url=activity.service_url)
            raise Unauthorized("the Bot Framework token is missing, malformed or not valid "
                               "for this bot") from exc
