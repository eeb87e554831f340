"""Telegram HTML made safe to cut: pages that never end inside a tag or an entity.

A page is cut only between tags, entities and characters; tags still open at a cut are
closed at the end of the page and opened again at the start of the next, so every page is
balanced on its own. Sizes are counted as Telegram counts them, in UTF-16 code units.
Everything here is pure and knows nothing of PTB.
"""

from __future__ import annotations

import html
import re

LIMIT = 4096
#: A tag, an entity, a run of plain text, or a stray "<" / "&" (already-escaped input has none).
TOKEN = re.compile(r"<[^<>]{0,500}>|&#?\w{1,10};|[^<&]+|[<&]")
TAG_NAME = re.compile(r"</?([a-zA-Z-]+)")


def utf16_len(text: str) -> int:
    """Length as Telegram measures it (characters outside the BMP count twice)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, room: int) -> int:
    """Return how many characters of ``text`` fit into ``room`` UTF-16 units."""
    if text.isascii():
        return min(len(text), room)
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            return i
    return len(text)


def _cut_at(text: str, n: int) -> int:
    """Best cut in ``text[:n]``: a blank line, a line end, a space, else ``n``."""
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, 0, n)
        if at > n // 4:
            return at
    return n


class _Pages:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pages: list[str] = []
        self.parts: list[str] = []
        self.size = 0
        self.open: list[tuple[str, str]] = []  # (name, the opening tag as written)

    def closing(self) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(self.open))

    def room(self) -> int:
        return self.limit - self.size - utf16_len(self.closing())

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.size += utf16_len(piece)

    def turn(self) -> None:
        page = ("".join(self.parts).rstrip() + self.closing()).strip()
        if page:
            self.pages.append(page)
        reopen = "".join(tag for _, tag in self.open)
        self.parts, self.size = [reopen], utf16_len(reopen)

    def closes(self, token: str) -> bool:
        """True when ``token`` closes the innermost open tag."""
        match = TAG_NAME.match(token)
        return bool(self.open) and bool(match) and self.open[-1][0] == match.group(1).lower()

    def tag(self, token: str) -> None:
        match = TAG_NAME.match(token)
        name = match.group(1).lower() if match else ""
        if token.startswith("</"):
            if self.open and self.open[-1][0] == name:
                self.open.pop()
        elif not token.endswith("/>"):
            self.open.append((name, token))


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut Telegram HTML into pages of at most ``limit`` UTF-16 units, preferring blank
    lines, then line ends, then spaces, each page balanced on its own."""
    if utf16_len(text) <= limit:
        return [text]
    pages = _Pages(limit)
    for token in TOKEN.findall(text):
        if len(token) > 1 and token[0] in "<&":  # a tag or an entity: never cut
            if token.startswith("</") and not pages.closes(token):
                continue  # its opening was dropped with a page too small for it (below)
            closes = token[0] == "<" and not token.startswith("</")
            if utf16_len(token) + (len(token) if closes else 0) > pages.room():
                pages.turn()
            pages.add(token)
            if token.startswith("<"):
                pages.tag(token)
            continue
        rest = token
        while rest:
            n = _fit(rest, pages.room())
            if n >= len(rest):
                pages.add(rest)
                break
            cut = _cut_at(rest, n) if n > 0 else 0
            pages.add(rest[:cut])
            pages.turn()
            rest = rest[cut:].lstrip("\n ")
            if cut == 0 and pages.room() <= 0:  # tags alone fill a page: drop the reopening
                pages.open.clear()
                pages.parts, pages.size = [], 0
    pages.turn()
    return pages.pages or [""]


def truncate(text: str, limit: int) -> str:
    """The first page of ``text`` within ``limit`` units, marked "…" when something was cut."""
    if utf16_len(text) <= limit:
        return text
    return split(text, limit - 1)[0] + "…"


def to_plain(text: str) -> str:
    """The text of Telegram HTML without its markup (for a plain-text retry)."""
    return html.unescape(re.sub(r"<[^<>]{0,500}>", "", text))
