"""Teams conversation ids and references as the bot stores them.

A reply in a channel thread arrives with `;messageid=<root>` after the channel's conversation
id. The bot keys conversations and posted cards by the id without it (`base_id`), so a card
posted to a channel is found again from any reply in its thread, and `thread_root` names the
message the thread hangs from. `reference_of(activity)` is the serialized conversation
reference for proactive posts, pointed at the channel rather than at a thread.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference

_THREAD = ";messageid="


def base_id(conversation_id: str) -> str:
    return (conversation_id or "").split(_THREAD, 1)[0]


def thread_root(conversation_id: str) -> str | None:
    if _THREAD not in (conversation_id or ""):
        return None
    return conversation_id.split(_THREAD, 1)[1] or None


def reference_of(activity: Activity) -> dict[str, Any]:
    reference = TurnContext.get_conversation_reference(activity)
    reference.conversation.id = base_id(reference.conversation.id)
    reference.activity_id = None
    return reference.serialize()


def reference_from(stored: dict[str, Any]) -> ConversationReference:
    return ConversationReference().deserialize(stored)
