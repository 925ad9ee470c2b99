"""The effect probe answers from where a purged message now is, whatever Graph calls it."""

from __future__ import annotations

import pytest

from skills.effects import EffectProbe

PHISH = {"networkMessageId": "aafd294e-fce8-51d9-b452-250fb756a312",
         "recipientEmailAddress": "sara.kim@fabrikam.example"}


def _probe_seeing(location: str) -> EffectProbe:
    probe = EffectProbe(graph=None, api=None, default_nsg_id="")  # type: ignore[arg-type]

    async def analyzed_email(network_message_id: str, recipient: str) -> dict:
        return {"networkMessageId": network_message_id, "recipientEmailAddress": recipient,
                "latestDelivery": {"location": location}}

    probe._analyzed_email = analyzed_email  # type: ignore[method-assign]
    return probe


@pytest.mark.parametrize("location", ["inboxFolder", "inbox_folder", "Inbox"])
async def test_message_still_in_the_inbox_is_not_purged(location):
    probe = _probe_seeing(location)

    assert await probe.in_place("purge_email", "billing@contoso-pay.example",
                                {"messages": [PHISH]}) is False


@pytest.mark.parametrize("location", ["deletedFolder", "deleted_folder", "junkFolder",
                                      "quarantine"])
async def test_message_out_of_the_inbox_is_purged(location):
    probe = _probe_seeing(location)

    assert await probe.in_place("purge_email", "billing@contoso-pay.example",
                                {"messages": [PHISH]}) is True


@pytest.mark.parametrize("location", ["unknown", "others", ""])
async def test_message_whose_place_is_unknown_is_left_to_a_human(location):
    probe = _probe_seeing(location)

    assert await probe.in_place("purge_email", "billing@contoso-pay.example",
                                {"messages": [PHISH]}) is None
