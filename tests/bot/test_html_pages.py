"""Telegram refusing a page's HTML does not lose it: it goes once more as plain text. (The
fake Bot API refuses any HTML that breaks Telegram's rules, so every end-to-end test also
checks that what the bot renders is valid.)"""

from __future__ import annotations

from tests.bot.conftest import ME, Env


async def test_a_page_telegram_cannot_parse_goes_again_as_plain_text(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    env.api.fail(
        "sendMessage", status=400, description="Bad Request: can't parse entities: at byte 9"
    )
    env.feed_line(
        event="message",
        id="H1",
        chat="15550000002@s.whatsapp.net",
        sender="15550000002@s.whatsapp.net",
        text="URGENT: call me <now> & then",
        push_name="Al",
    )
    plain = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "call me" in c.text, timeout=10
    )
    assert plain.params.get("parse_mode") in (None, "")
    assert "<now> & then" in plain.text and "<b>" not in plain.text  # the words, no markup
    assert len(env.api.of("!sendMessage")) == 1
