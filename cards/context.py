"""What a card needs to know besides the incident: who looks at it, when, and what to say.

`CardContext` is built by the bot for each card it sends or refreshes. Cards are pure: the same
record and context give the same card. The viewer decides the buttons: only a viewer who is an
approver sees Approve, Reject and Undo; the card everyone else sees shows the state alone.
The card never decides who may act; it only hides buttons from those the server would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

MAX_REFRESH_USERS = 60
"""Teams runs a card's automatic refresh for at most 60 listed users."""

REVERSIBLE_ACTIONS = frozenset({
    "disable_user", "confirm_compromised", "isolate_device", "block_ip", "block_indicator",
    "purge_email", "revoke_app_consent", "deallocate_vm", "close_incident",
})
"""Catalog actions that have an inverse (policy's catalog is the authority; the bot may pass
its own set)."""

TRUSTED_LINK_HOSTS = frozenset({
    "portal.azure.com", "portal.azure.us", "portal.azure.cn", "security.microsoft.com",
    "security.microsoft.us",
})
"""Hosts an incident link may open: the Sentinel and Defender portals."""

BannerStyle = Literal["default", "emphasis", "good", "attention", "warning", "accent"]


@dataclass(frozen=True)
class Viewer:
    """The person the card is rendered for, from the invoke's `from.aadObjectId`."""

    aad_object_id: str
    is_approver: bool = False
    name: str = ""


@dataclass(frozen=True)
class Banner:
    """A line at the top of the card: the answer to a click, or an error."""

    text: str
    style: BannerStyle = "accent"

    @classmethod
    def error(cls, text: str) -> Banner:
        return cls(text=text, style="attention")


@dataclass(frozen=True)
class CardContext:
    now: datetime
    viewer: Viewer | None = None
    approver_user_ids: tuple[str, ...] = ()
    undo_window: timedelta = timedelta(hours=24)
    bot_name: str = "Cordon"
    banner: Banner | None = None
    reversible_actions: frozenset[str] = REVERSIBLE_ACTIONS
    trusted_link_hosts: frozenset[str] = field(default=TRUSTED_LINK_HOSTS)

    @property
    def viewer_approves(self) -> bool:
        return bool(self.viewer and self.viewer.is_approver)
