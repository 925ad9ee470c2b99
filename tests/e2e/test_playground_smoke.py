"""The Playground harness drives a Teams conversation end to end, with the throwaway echo bot.

Alex Wilber, Megan Bowen and Adele Vance are Fabrikam people with the Playground's object ids;
the echo bot writes the clicker's name and aadObjectId into the card it answers with, which is
how these tests see who the bot believes acted.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.playground import Playground, PlaygroundPage

pytestmark = pytest.mark.e2e

ALEX_OID = "00000000-0000-0000-0000-0000000000020"
MEGAN_OID = "00000000-0000-0000-0000-0000000000021"


def test_alex_says_hello_in_personal_chat_and_gets_an_echo(teams: PlaygroundPage) -> None:
    teams.open_chat("personal").send("hello")

    teams.wait_for_text("Echo: hello")


def test_alex_approves_a_card_and_sees_it_replaced(teams: PlaygroundPage) -> None:
    teams.open_chat("personal").send("card")
    teams.card("Waiting for a click")

    answer = teams.click_card_button("Approve", within_card_containing="Waiting for a click")

    assert answer.status == 200
    assert answer.kind == "application/vnd.microsoft.card.adaptive"
    teams.card(f"Approved by Alex Wilber ({ALEX_OID})")
    assert teams.invoke_note(ALEX_OID) == "Your response was sent to the app"


def test_megan_acts_in_the_group_chat_and_adele_is_refused(teams: PlaygroundPage) -> None:
    teams.open_chat("group").as_user("Megan Bowen").send("card")
    teams.card("Waiting for a click")

    teams.click_card_button("Update for all", within_card_containing="Waiting for a click")
    teams.card("Updated for everyone by Megan Bowen")
    assert teams.invoke_note("Updated for everyone by Megan Bowen") == "Card updated"

    teams.as_user("Adele Vance").send("card")
    answer = teams.click_card_button("Refuse", within_card_containing="Waiting for a click")

    assert answer.kind == "application/vnd.microsoft.error"
    assert teams.invoke_note("Waiting for a click") == "Adele Vance may not do that"


def test_a_proactive_post_lands_in_the_channel_and_takes_replies(teams: PlaygroundPage) -> None:
    teams.open_chat("channel", "Incidents").send("new post")
    teams.card("Posted on its own")

    teams.reply("why?", in_post_containing="Posted on its own")

    teams.wait_for_text("Echo: why?")


@pytest.fixture
def megans_playground(bot_url: str) -> Iterator[Playground]:
    with Playground.start(bot_url, current_user="Megan Bowen") as running:
        yield running


def test_megan_chats_one_to_one_on_a_playground_of_her_own(
    browser: Browser, megans_playground: Playground
) -> None:
    megan = PlaygroundPage.open(browser, megans_playground)
    try:
        megan.open_chat("personal").send("card")
        megan.click_card_button("Approve", within_card_containing="Waiting for a click")

        megan.card(f"Approved by Megan Bowen ({MEGAN_OID})")
    finally:
        megan.close()
