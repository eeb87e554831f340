"""Calls and messages WhatsApp could not decrypt, end to end: simulator feed (real neonize
call and UndecryptableMessage events) → storage → Telegram."""

from __future__ import annotations

import time

from tests.bot.conftest import ADMIN, Env
from tests.bot.people import PEOPLE, STRANGERS, day_feed, pn

MOM = pn(PEOPLE[0][0])
STRANGER = pn(STRANGERS[2][0])


async def play_day(env: Env) -> None:
    for line in day_feed():
        env.feed_line(**line)
    await env.settle()


def call_notices(env: Env) -> list:
    return [c for c in env.api.of("sendMessage") if "📞" in c.text]


async def test_missed_calls_reach_telegram_at_once_and_merge_when_repeated(env: Env) -> None:
    await play_day(env)
    base = int(time.time()) - 600
    started = time.monotonic()
    env.feed_line(event="call", id="CALL1", chat=MOM, sender=MOM, timestamp=base)
    first = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "📞 Missed voice call from <b>Mom</b>" in c.text
    )
    assert time.monotonic() - started < 1.0  # the feed is polled every 0.1 s
    env.feed_line(event="call", id="CALL2", chat=MOM, sender=MOM, timestamp=base + 120)
    env.feed_line(event="call", id="CALL3", chat=MOM, sender=MOM, video=True, timestamp=base + 360)
    last = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "<b>Mom</b> called 3 times in 6 min" in c.text
    )
    await env.settle()
    deleted = {int(c.params["message_id"]) for c in env.api.of("deleteMessage")}
    notices = call_notices(env)
    shown = [c for c in notices if c.result["message_id"] not in deleted]
    assert shown == [last] and first in notices  # one notice left, the escalated one
    # The next message from Mom counts as urgent, whatever it says.
    env.message("AFTER1", "ok", chat=MOM, push_name="Linda")
    forward = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "called you 3 times just before" in c.text
    )
    assert "<b>Mom</b>" in forward.text
    # The calls are in the chat and in the digest.
    env.api.send_text(ADMIN, "/chat Mom")
    listed = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "<b>Mom</b> — last" in c.text
    )
    assert listed.text.count("📞 Missed voice call") == 2
    assert "📞 Missed video call" in listed.text
    env.api.send_text(ADMIN, "/digest")
    digest = await env.api.wait_for(lambda c: c.method == "sendMessage" and "Digest" in c.text)
    assert "📞 Missed" in digest.text


async def test_calls_answered_elsewhere_or_from_strangers_are_stored_not_forwarded(
    env: Env,
) -> None:
    await play_day(env)
    env.feed_line(event="call", id="ANS1", chat=MOM, sender=MOM, missed=False)
    env.feed_line(event="call", id="SPAM1", chat=STRANGER, sender=STRANGER)
    group, member = "120363000000000101@g.us", pn(PEOPLE[1][0])
    env.feed_line(event="call", id="GRP1", chat=group, sender=member, group=True, video=True)
    await env.settle()
    assert call_notices(env) == []  # Mom answered on the phone; the others are not known
    stored = {}
    for jid in (MOM, STRANGER, group):
        chat = await env.services.storage.chats.by_jid(jid)
        stored[jid] = [m.text for m in await env.services.storage.messages.last(chat.id, 5)]
    assert "📞 Voice call, answered on another device" in stored[MOM]
    assert "📞 Missed voice call" in stored[STRANGER]
    assert "📞 Missed group video call" in stored[group]


async def test_an_undecryptable_message_waits_then_gets_its_content(env: Env) -> None:
    await play_day(env)
    env.feed_line(event="undecryptable", id="3EB0LATE", chat=MOM, sender=MOM)
    await env.settle()
    env.api.send_text(ADMIN, "/chat Mom")
    await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "Waiting for this message" in c.text
    )
    assert not [c for c in env.api.of("sendMessage") if "Why:" in c.text]  # not forwarded
    env.message("3EB0LATE", "URGENT: call me back, the car broke down", chat=MOM)
    forward = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "the car broke down" in c.text
    )
    assert "<b>Mom</b>" in forward.text
    chat = await env.services.storage.chats.by_jid(MOM)
    late = [
        m for m in await env.services.storage.messages.last(chat.id, 20) if m.wa_id == "3EB0LATE"
    ]
    assert [m.text for m in late] == ["URGENT: call me back, the car broke down"]
    env.feed_line(event="undecryptable", id="3EB0LATE", chat=MOM, sender=MOM)  # a late dupe
    await env.settle()
    again = [
        m for m in await env.services.storage.messages.last(chat.id, 20) if m.wa_id == "3EB0LATE"
    ]
    assert again == late
