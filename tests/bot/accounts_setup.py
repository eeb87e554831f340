"""Two WhatsApp accounts for the bot tests of issue 21: the people who write to each and how
the "work" account is added through /accounts and linked (shared by those tests)."""

from __future__ import annotations

import asyncio

import pytest

from assistant.pipeline import IngestService
from tests.bot.conftest import ADMIN, ME, Env

WORK_ME = "15550009999@s.whatsapp.net"
ANNA = "15550000003@s.whatsapp.net"  # writes to the personal number
BOSS = "15550000004@s.whatsapp.net"  # writes to the work number


async def add_work_account(env: Env) -> None:
    """Connect the first account, then add "work" through /accounts and link it."""
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(lambda c: "WhatsApp accounts" in c.text)
    add = next(b for b in listing.buttons() if "Add account" in b["text"])
    env.api.press(ADMIN, add["callback_data"])
    prompt = await env.api.wait_for(lambda c: "New WhatsApp account" in c.text)
    env.api.send_text(ADMIN, "Work", reply_to=prompt.result["message_id"])
    await env.api.wait_for(lambda c: "Work added" in c.text)
    env.feed_line(event="qr", codes=["2@WORK,a,b,c"], account="work")
    qr = await env.api.wait_for(lambda c: c.method == "sendPhoto")
    assert "Work" in qr.text
    env.feed_line(event="connected", jid=WORK_ME, account="work")
    await env.api.wait_for(lambda c: "WhatsApp connected as" in c.text and "Work" in c.text)
    await env.settle()


def hold_replay(
    monkeypatch: pytest.MonkeyPatch, account_id: int, fail: bool = False
) -> tuple[asyncio.Event, asyncio.Event]:
    """Make account ``account_id``'s journal replay at start wait until the second event is
    set (the first is set once it waits), or fail at once when ``fail``; the other accounts
    replay as usual."""
    replaying, release = asyncio.Event(), asyncio.Event()
    recover = IngestService.recover

    async def held(ingest: IngestService) -> int:
        if ingest.storage.account_id == account_id:
            if fail:
                raise OSError("its journal cannot be read")
            replaying.set()
            await release.wait()
        return await recover(ingest)

    monkeypatch.setattr(IngestService, "recover", held)
    return replaying, release
