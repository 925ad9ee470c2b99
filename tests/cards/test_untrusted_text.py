"""Text from an incident cannot become a link, a mention or hidden text on a card."""

from __future__ import annotations

from cards.summary import and_more, shorten
from cards.untrusted_text import neutralise, plain


def test_markdown_link_becomes_plain_text():
    shown = neutralise("Reset your password [here](https://evil.example/reset)")

    assert "](" not in shown
    assert "https://" not in shown
    assert shown == "Reset your password (here)(hxxps://evil.example/reset)"


def test_autolinks_mentions_and_entities_are_broken():
    shown = neutralise("<https://evil.example> <at>Megan Bowen</at> &#91;x&#93; www.evil.example")

    assert "<" not in shown and ">" not in shown
    assert "&#91;" not in shown
    assert "www[.]evil.example" in shown


def test_other_schemes_lose_their_slashes():
    assert "ftp://" not in neutralise("ftp://files.evil.example/a")
    assert "HTTPS://" not in neutralise("HTTPS://EVIL.EXAMPLE")


def test_hidden_characters_and_line_breaks_are_removed():
    shown = neutralise("Approve\u202e\u200b now\n\nApproved by Megan Bowen")

    assert shown == "Approve now Approved by Megan Bowen"


def test_evidence_citations_stay_readable():
    assert neutralise("high risk [E2] and travel [E1, E3]") == "high risk (E2) and travel (E1, E3)"


def test_long_text_is_cut_at_a_word_with_an_ellipsis():
    text = "Impossible travel followed by suspicious PowerShell on a finance laptop"

    cut = shorten(text, 40)

    assert cut == "Impossible travel followed by\u2026"
    assert len(cut) <= 40
    assert plain("a" * 100, 10) == "a" * 9 + "\u2026"


def test_counts_of_what_was_left_out():
    assert and_more(497, "account") == "and 497 more accounts"
    assert and_more(1, "IP address", "IP addresses") == "and 1 more IP address"
    assert and_more(0, "account") == ""
