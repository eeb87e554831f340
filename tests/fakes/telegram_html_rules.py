"""Telegram's HTML parse mode rules, checked independently of the code that produces it:
only the tags Telegram knows, balanced and properly nested, every "&" a valid entity,
every "<" the start of a tag, and at most 4096 UTF-16 code units of text."""

from __future__ import annotations

import html
import re

ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}
TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


def problems(page: str, limit: int = 4096) -> list[str]:
    """Return what Telegram would refuse in ``page`` (empty when it is fine)."""
    found: list[str] = []
    stack: list[str] = []
    i = 0
    text_parts: list[str] = []
    while i < len(page):
        ch = page[i]
        if ch == "<":
            m = TAG.match(page, i)
            if m is None:
                found.append(f"a '<' that starts no tag at {i}")
                break
            closing, name = m.group(1), m.group(2)
            if name not in ALLOWED:
                found.append(f"unknown tag {name}")
            if closing:
                if not stack or stack[-1] != name:
                    found.append(f"</{name}> does not close the open tag {stack[-1:]}")
                    break
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = ENTITY.match(page, i)
            if m is None:
                found.append(f"a '&' that starts no entity at {i}")
                break
            text_parts.append(html.unescape(m.group(0)))
            i = m.end()
        else:
            text_parts.append(ch)
            i += 1
    if stack:
        found.append(f"tags left open: {stack}")
    text = "".join(text_parts)
    units = len(text.encode("utf-16-le")) // 2
    if units > limit:
        found.append(f"{units} UTF-16 units, more than {limit}")
    return found
