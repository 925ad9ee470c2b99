"""Text from outside Cordon, made safe to show on a card and short enough to fit.

Incident titles and descriptions, alert names, entity names, mail subjects and whatever a
model writes about them arrive from people Cordon does not trust. Adaptive Card text renders a
markdown subset, and Teams turns `<at>` tags into mentions and web addresses into links, so an
incident titled `[Verify your account](https://evil.example)` would otherwise show a clickable
phishing link on a card a SOC trusts. `plain` promises that the text it returns:

- forms no markdown link, autolink or mention: square brackets become parentheses and angle
  brackets look-alike quotation marks, which no markdown parser reads as syntax;
- carries no web address a client would link: `http://`, `https://` and `www.` are defanged
  (`hxxps://`, `www[.]`) the way security teams write indicators, and the `//` of any other
  scheme (`ftp://`, `ms-teams://`) is broken;
- decodes no HTML entity into syntax, and holds no control or invisible formatting characters
  (zero-width, bidirectional overrides) that could disguise what it says;
- is one line, at most `limit` characters, cut at a word boundary with an ellipsis.

Evidence citations (`[E1]`, `[E1, E2]`) become `(E1)`: the same reading, no bracket syntax.
It keeps emphasis characters (`*`, `_`): they can make text bold, never clickable.

Limitation: a bare domain with no scheme (`evil.example`) is left as it is, because defanging
every dotted name would mangle the account and host names the card exists to show; a client
that guesses links from bare domains can still underline it.
"""

from __future__ import annotations

import re
import unicodedata

from cards.summary import shorten

_LOOKALIKES = str.maketrans({
    "[": "(",  # no bracket, no link syntax; fullwidth look-alikes need fonts many lack
    "]": ")",
    "<": "\u2039",  # single left-pointing angle quotation mark
    ">": "\u203a",
})
_SCHEME = re.compile(r"\b(h)(tt)(ps?)(?=:)", re.IGNORECASE)
_OTHER_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)
_ENTITY = re.compile(r"&(#?\w+;)")
_SPACE = re.compile(r"\s+")
_CITATION = re.compile(r"\[(E\d+(?:\s*,\s*E\d+)*)\]")


def neutralise(text: str) -> str:
    """`text` with every way of becoming a link, mention or hidden text taken out."""
    visible = "".join(ch for ch in text if not _invisible(ch))
    visible = _SPACE.sub(" ", visible).strip()
    visible = _CITATION.sub("(\\1)", visible)
    visible = visible.translate(_LOOKALIKES)
    visible = _ENTITY.sub("\uff06\\1", visible)
    visible = _SCHEME.sub(lambda m: f"{m[1]}{'xx' if m[2].islower() else 'XX'}{m[3]}", visible)
    visible = _OTHER_SCHEME.sub(_break_scheme, visible)
    return _WWW.sub("\\1[.]", visible)


def plain(text: str | None, limit: int) -> str:
    """Untrusted `text` neutralised and shortened to `limit` characters."""
    return shorten(neutralise(text or ""), limit)


def _break_scheme(match: re.Match[str]) -> str:
    scheme = match[1]
    if scheme.lower() in ("hxxp", "hxxps"):
        return match[0]
    return f"{scheme}:/\u2215"


def _invisible(ch: str) -> bool:
    category = unicodedata.category(ch)
    if ch in "\t\n\r":
        return False
    return category in ("Cc", "Cf", "Co", "Cs")
