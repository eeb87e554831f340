"""Removing a linked WhatsApp account from the bot (🗑 in /accounts): its session is
unlinked and stopped, its chats, messages, contacts and queued sends are deleted, and so are
its files (session, journal, and the downloaded media no other account uses). The first
account cannot be removed — it keeps the paths a single-account install always had — but
can be logged out."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from bot.context import Account, Services
from bot.keyboards_accounts import FIRST
from bot.render import esc, title
from core.errors import AppError
from core.ids import ConnectionState

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CANNOT = "The first account cannot be removed; 🚪 Log out unlinks it."


async def question(s: Services, account: Account) -> str:
    """What removing ``account`` deletes, asked before it is done."""
    if account.id == FIRST:
        return CANNOT
    store = s.storage.for_account(account.id)
    chats = (await store.chats.list_page()).total
    messages = await store.messages.count_since(EPOCH)
    queued = await store.whatsapp_outbox.depth()
    waiting = f", and {queued} message(s) still waiting to be sent" if queued else ""
    return (
        f"Remove 💼 {esc(title(account.label))} from this bot? It is unlinked from WhatsApp, "
        f"and its {chats} chat(s) and {messages} message(s) stored here are deleted with the "
        f"media only it downloaded{waiting}. This cannot be undone."
    )


async def remove(s: Services, account: Account) -> str:
    """Unlink, stop and delete ``account``; the answer for the owner."""
    if account.id == FIRST:
        return CANNOT
    name = esc(title(account.label))
    s.accounts.remove(account.id)  # from now on nothing is sent or fetched through it
    if account.starting is not None and not account.starting.done():
        account.starting.cancel()  # still replaying its journal: it never starts now
        await asyncio.wait({account.starting}, timeout=5)
    unlinked = await _unlink(account)
    await account.gateway.stop()
    await account.ingest.stop()
    try:
        files = await s.storage.accounts.remove(account.id)
    except AppError as exc:
        logger.error("WhatsApp account %d stopped but its data not deleted", account.id)
        return (
            f"❌ {name} is stopped, but its data could not be deleted ({esc(str(exc))}); "
            "it comes back at the next start."
        )
    await asyncio.to_thread(s.factory.forget, account.id, files)
    logger.info("WhatsApp account %d removed (%d media file(s))", account.id, len(files))
    return f"🗑 {name} is removed with its chats and messages.{unlinked}{_stuck(account)}"


def _stuck(account: Account) -> str:
    """What the owner should know when the session's library call did not end ("" when it
    did): its thread stays until the next restart; the other accounts are not touched."""
    if not account.gateway.stuck:
        return ""
    return (
        " Its WhatsApp connection did not end (an unused login still waits inside the "
        "WhatsApp library); the other accounts are not affected. Restart wa-secretary "
        "when convenient to free it."
    )


async def _unlink(account: Account) -> str:
    """Log the account out on WhatsApp when it is connected; what the owner must do on the
    phone when that was not possible ("" when it was)."""
    on_phone = "remove this bot under WhatsApp → Linked devices on that phone"
    if account.gateway.state != ConnectionState.CONNECTED:
        return f" It was not connected: if that phone still lists this bot, {on_phone}."
    try:
        await account.gateway.logout()
    except AppError as exc:
        return f" WhatsApp did not confirm the unlink ({esc(str(exc))}): {on_phone}."
    return ""
