"""Two WhatsApp accounts for the bot tests of issue 21: the people who write to each and how
the "work" account is added through /accounts and linked (shared by those tests)."""

from __future__ import annotations

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
