"""The `Mail` plugin: a delivered message as Defender for Office 365 analysed it.

Reads Graph `GET /security/collaboration/analyzedEmails?$filter=networkMessageId eq '…'`: one
message id is one copy per recipient; with a recipient given, that recipient's copy comes first.
"""

from __future__ import annotations

from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from skills.graph import GraphClient
from skills.odata import eq


class MailLookups:
    """Analysed e-mail: sender, delivery location, URLs, threats."""

    def __init__(self, graph: GraphClient) -> None:
        self._graph = graph

    @kernel_function(name="analyzed_email",
                     description="A message by network message id: sender, URLs, delivery.")
    async def analyzed_email(
        self,
        network_message_id: Annotated[str, "The message's network message id"],
        recipient: Annotated[str, "The recipient's address, if known"] = "",
    ) -> dict[str, Any]:
        request = self._graph.get_request(
            self._graph.service.security.collaboration.analyzed_emails,
            filter=eq("networkMessageId", network_message_id),
        )
        page = await self._graph.send(request) or {}
        messages = list(page.get("value", []))
        wanted = recipient.lower()
        messages.sort(key=lambda m: str(m.get("recipientEmailAddress", "")).lower() != wanted)
        return {"network_message_id": network_message_id, "messages": messages}
