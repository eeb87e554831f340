"""Ticks over real HTTP: a message sent from Telegram shows ✓ sent, then ✓✓ delivered and
👁 read as the simulator feed reports WhatsApp's receipts, edited in place on the bot's
confirmation — once per state, never backwards, retried while Telegram fails, and not
again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.bot.conftest import ADMIN, ME, Env, settings_for, start_app, stop_app
from tests.fakes.bot_api import FakeBotApi
from tests.texts import urgent

ALICE = "15550000002@s.whatsapp.net"
BOB = "15550000003@s.whatsapp.net"
NEVER = datetime(2100, 1, 1, tzinfo=UTC)  # "due by then": every pending item


async def connect(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()


def edits(api: FakeBotApi) -> list[str]:
    return [c.text for c in api.of("editMessageText")]


async def reply_to_alice(env: Env, text: str) -> tuple[int, str]:
    """Reply to a forward of Alice's; return the confirmation's Telegram id and the
    WhatsApp id of what went out."""
    env.message("IN1", urgent("IN1"))
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "URGENT IN1" in c.text)
    forward = next(c for c in env.api.of("sendMessage") if "URGENT IN1" in c.text)
    env.api.send_text(ADMIN, text, reply_to=forward.result["message_id"])
    confirmation = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and c.text.startswith("✓ Sent")
    )
    assert confirmation.text == "✓ Sent → Alice"
    [out] = [s for s in env.sent() if s["text"] == text]
    return confirmation.result["message_id"], out["id"]


async def test_a_reply_shows_sent_then_delivered_then_read(env: Env) -> None:
    await connect(env)
    env.message("B1", "hello", chat=BOB, push_name="Bob")  # another chat the store knows
    confirmation, wa_id = await reply_to_alice(env, "On my way")
    # Our id reported read in another chat, and an id nobody sent: no edit.
    env.feed_line(event="receipt", chat=BOB, sender=BOB, ids=[wa_id], type="read")
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=["3EB0NOBODY"], type="read")
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="delivered")
    delivered = await env.api.wait_for(lambda c: c.method == "editMessageText")
    assert delivered.text == "✓✓ Delivered → Alice"
    assert int(delivered.params["message_id"]) == confirmation
    assert int(delivered.params["chat_id"]) == ADMIN
    # The same receipt again edits nothing either.
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="delivered")
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="read")
    await env.api.wait_for(lambda c: c.text == "👁 Read → Alice")
    # A played receipt after read, and a late delivered one, do not move it back.
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="played")
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="delivered")
    await env.settle()
    assert edits(env.api) == ["✓✓ Delivered → Alice", "👁 Read → Alice"]
    [msg] = [m for m in await env.services.storage.messages.search("On my way")]
    assert msg.delivery == "played"  # the stored message keeps the furthest receipt


async def test_read_before_delivered_jumps_to_read_and_send_gets_ticks(env: Env) -> None:
    await connect(env)
    env.message("M1", "hi", push_name="Alice Smith")
    await env.settle()
    env.api.send_text(ADMIN, "/send Alice Smith see you at 8")
    await env.api.wait_for(lambda c: c.text == "✓ Sent → Alice Smith")
    [out] = env.sent()
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[out["id"]], type="played")
    await env.api.wait_for(lambda c: c.method == "editMessageText")
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[out["id"]], type="delivered")
    await env.settle()
    assert edits(env.api) == ["👁 Read → Alice Smith"]  # a voice note played = read


async def test_bad_receipt_lines_are_skipped_and_the_feed_goes_on(env: Env) -> None:
    await connect(env)
    _, wa_id = await reply_to_alice(env, "Fine")
    bad = [
        {"type": "seen", "ids": [wa_id]},  # an unknown type
        {"type": "read", "ids": wa_id},  # not a list
        {"type": "read", "ids": [wa_id] * 257},  # too many
        {"type": "read", "ids": ["x" * 129]},  # an id too long
        {"type": "read", "ids": [wa_id], "timestamp": "soon"},
    ]
    for fields in bad:
        env.feed_line(event="receipt", chat=ALICE, sender=ALICE, **fields)
    env.feed_line(event="receipt", chat=ALICE, sender=BOB, ids=[wa_id], type="read")  # not her
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="delivered")
    await env.api.wait_for(lambda c: c.method == "editMessageText")
    await env.settle()
    assert edits(env.api) == ["✓✓ Delivered → Alice"]
    assert env.services.gateway.lines_played >= len(bad) + 2


async def test_an_edit_is_retried_while_telegram_fails_and_not_repeated_after_restart(
    tmp_path,
) -> None:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    settings = settings_for(tmp_path, api, feed)
    app = await start_app(settings)
    env = Env(api, app, feed, tmp_path / "data")
    try:
        await connect(env)
        _, wa_id = await reply_to_alice(env, "Later")
        api.fail("editMessageText", status=502, count=2)
        env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="delivered")
        await api.wait_for(lambda c: c.method == "editMessageText", timeout=20)
        assert len(api.of("!editMessageText")) == 2 and edits(api) == ["✓✓ Delivered → Alice"]
    finally:
        await stop_app(app)
    # After a restart the whole feed plays again: its receipt is no news.
    app = await start_app(settings)
    env = Env(api, app, feed, tmp_path / "data")
    try:
        await env.settle()  # waits until the whole feed is played again
        assert edits(api) == ["✓✓ Delivered → Alice"]
        env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="read")
        await api.wait_for(lambda c: c.text == "👁 Read → Alice")
        assert edits(api) == ["✓✓ Delivered → Alice", "👁 Read → Alice"]
    finally:
        await stop_app(app)
        await api.stop()


async def test_states_that_waited_for_telegram_become_one_edit(env: Env) -> None:
    await connect(env)
    _, wa_id = await reply_to_alice(env, "Soon")
    env.api.fail("editMessageText", status=502, count=1000)
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="delivered")
    await env.api.wait_for(lambda c: c.method == "!editMessageText")
    env.feed_line(event="receipt", chat=ALICE, sender=ALICE, ids=[wa_id], type="read")
    await env.settle()
    waiting = [
        i for i in await env.services.storage.telegram_outbox.due(NEVER) if i.kind == "ticks"
    ]
    assert [i.payload["state"] for i in waiting] == ["delivered", "read"]
    env.api.faults.clear()
    await env.api.wait_for(lambda c: c.method == "editMessageText", timeout=20)
    await env.settle()
    assert edits(env.api) == ["👁 Read → Alice"]
    assert not [
        i for i in await env.services.storage.telegram_outbox.due(NEVER) if i.kind == "ticks"
    ]
