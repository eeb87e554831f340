"""Telegram HTML of a digest (``core.digest_report``): the header, "Needs you", one block per
chat with its Open-chat buttons, the scams, the footer, and pages under 4096 characters.
Every string of the report is escaped here."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from assistant.triage import SCAM_MARK
from bot import keyboards, render
from bot.callbacks import ChatAction
from bot.render_messages import account_tag
from core.digest_report import DigestChat, DigestLine, DigestReport

esc = render.esc
TITLES = {"catchup": "Catch-up", "manual": "Digest", "daily": "Daily digest"}


def _who(line: DigestLine) -> str:
    return "" if line.who is None else esc(line.who) + ": "


def _chat(name: str, is_group: bool | None, account: str) -> str:
    """A chat's bold name; with several accounts, after its account ("💼 Work · 👤 Anna")."""
    if not account:
        return f"<b>{esc(name)}</b>"
    icon = "" if is_group is None else ("👥 " if is_group else "👤 ")
    return f"{account_tag(account)}{icon}<b>{esc(name)}</b>"


def header(r: DigestReport) -> str:
    """The title, since when, and how many messages in how many chats."""
    return (
        f"<b>{TITLES.get(r.kind, 'Digest')}</b> — since {esc(r.since)}\n"
        f"{r.incoming} new message(s) in {r.chats_seen} chat(s)"
    )


def needs(r: DigestReport) -> str:
    """Questions and requests to the owner across chats ("" when none)."""
    if not r.needs_total:
        return ""
    lines = [f"<b>🙋 Needs you</b> ({r.needs_total})"]
    for n in r.needs:
        chat = _chat(n.chat, n.who is not None, n.account)
        lines.append(f"• {chat}: {_who(n)}{esc(n.text)} <i>({esc(n.when)})</i>")
    if r.needs_total > len(r.needs):
        lines.append(f"… and {r.needs_total - len(r.needs)} more in the chats below")
    return "\n".join(lines)


def section(c: DigestChat) -> str:
    """One chat's block."""
    kind = "group" if c.is_group else "person"
    head = f"{_chat(c.name, c.is_group, c.account)} ({kind}) — {c.count} message(s)"
    if c.is_group and c.senders:
        head += f" from {esc(', '.join(c.senders[:4]))}"
    lines = [head]
    if c.summary:
        lines.append(f"📝 {esc(c.summary)}")
    for m in c.top:
        score = f"[{m.score}] " if m.score is not None else ""
        lines.append(f"• {score}{_who(m)}{esc(m.text)}")
    if c.asks:
        lines.append(f"🙋 {c.asks} question(s) or request(s) to you — under Needs you")
    if c.waiting_hours is not None:
        lines.append(f"⏳ waiting for your answer for {c.waiting_hours} h")
    return "\n".join(lines)


def scams(r: DigestReport) -> str:
    """What looked like a scam, counted, with a few examples ("" when none)."""
    if not r.scams_total:
        return ""
    lines = [f"<b>{SCAM_MARK}</b> — {r.scams_total} message(s), left out above"]
    lines += [
        f"⚠️ {_chat(s.chat, s.who is not None, s.account)}: {_who(s)}{esc(s.text)}" for s in r.scams
    ]
    return "\n".join(lines)


def footer(r: DigestReport) -> str:
    """What was left out, plain text."""
    parts = []
    if r.rest:
        parts.append(f"{r.rest} more message(s) in {r.quieter} quieter chat(s)")
    if r.skipped:
        parts.append(f"{r.skipped} from muted or excluded chats left out")
    if not r.chats and not r.rest:
        parts.append("Nothing new. Enjoy the quiet.")
    return "\n".join(parts)


def text(r: DigestReport) -> str:
    """The whole digest as one HTML text (stored, shown again by /digest last)."""
    blocks = [header(r), needs(r), *(section(c) for c in r.chats), scams(r), footer(r)]
    return "\n\n".join(b for b in blocks if b).strip()


def pages(r: DigestReport) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Pack the digest into messages under 4096 characters, each with Open-chat buttons."""
    out: list[tuple[str, InlineKeyboardMarkup | None]] = []
    page, chats = header(r), []
    blocks = [(needs(r), None), *((section(c), c) for c in r.chats), (scams(r), None)]
    for block, chat in blocks:
        if not block:
            continue
        block = render.split(block, render.LIMIT - 200)[0]  # tag-safe; a block is short
        if len(page) + len(block) + 2 > render.LIMIT - 100 or len(chats) >= 8:
            out.append((page, _markup(chats)))
            page, chats = "", []
        page = f"{page}\n\n{block}".strip()
        if chat is not None:
            chats.append(chat)
    if foot := footer(r):
        page = f"{page}\n\n<i>{esc(foot)}</i>".strip()
    out.append((page, _markup(chats)))
    return out


def _markup(chats: list[DigestChat]) -> InlineKeyboardMarkup | None:
    if not chats:
        return None
    rows = [
        [
            InlineKeyboardButton(
                f"📂 {c.name[:40]}", callback_data=ChatAction(c.chat_id, "open").pack()
            ),
            InlineKeyboardButton(
                keyboards.URGENT_ASK, callback_data=ChatAction(c.chat_id, "urgent").pack()
            ),
        ]
        for c in chats
    ]
    return InlineKeyboardMarkup(rows)
