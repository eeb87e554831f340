"""The session card: /login while connected and /status say since when WhatsApp is
connected and how long ago it last sent anything."""

from __future__ import annotations

import re

from bot.render import phone_of
from core.ids import ConnectionState
from tests.bot.conftest import ADMIN, ME, Env


async def test_login_and_status_show_connected_since_and_the_last_event(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("3EB0CARD1", "hello")
    await env.settle()
    g = env.services.gateway
    assert g.state == ConnectionState.CONNECTED
    since = f"connected since {g.state_since.astimezone(env.services.tz):%a %d %b %H:%M}"

    env.api.send_text(ADMIN, "/login")
    card = await env.api.wait_for(lambda c: "Already connected" in c.text)
    assert f"Already connected as {phone_of(ME)}: " in card.text, card.text
    assert since in card.text, card.text
    assert re.search(r"last WhatsApp event \d+ s ago", card.text), card.text

    env.api.send_text(ADMIN, "/status")
    status = await env.api.wait_for(lambda c: "<b>Status</b>" in c.text)
    assert f"<b>Status</b>: {since} · last WhatsApp event" in status.text, status.text
    assert re.search(r"last WhatsApp event \d+ s ago", status.text), status.text


async def test_before_any_event_the_card_says_so(env: Env) -> None:
    env.api.send_text(ADMIN, "/status")
    status = await env.api.wait_for(lambda c: "<b>Status</b>" in c.text)
    assert "connecting since" in status.text and "no WhatsApp event yet" in status.text
