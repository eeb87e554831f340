"""Telegram outbox rows from before notifications were typed still reach the owner as they
were made, and a row that fits no kind is given up without holding the others back."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, Env


async def test_an_old_draft_row_goes_out_with_its_html_and_buttons(env: Env) -> None:
    markup = {"inline_keyboard": [[{"text": "✅ Send", "callback_data": "dr:1:send"}]]}
    payload = {"text": "🤖 Draft reply — <b>Al</b>\n\nsee you at 5", "markup": markup}
    await env.services.storage.telegram_outbox.add_row(ADMIN, "draft", payload)
    env.services.notifier.wake()
    sent = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "see you at 5" in c.text, timeout=10
    )
    assert sent.text == payload["text"]  # the HTML made then, sent as it was
    assert [b["text"] for b in sent.buttons()] == ["✅ Send"]


async def test_an_unreadable_row_is_given_up_and_the_next_one_still_goes(env: Env) -> None:
    outbox = env.services.storage.telegram_outbox
    bad = await outbox.add_row(ADMIN, "forward", {"message_id": "not a number"})
    await outbox.add_row(ADMIN, "notice", {"v": 2, "text": "after the bad one"})
    env.services.notifier.wake()
    await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "after the bad one" in c.text, timeout=10
    )
    item = await outbox.get(bad)
    assert item is not None and item.state.value == "failed"
    assert "unreadable" in (item.last_error or "")
