"""Telegram and WhatsApp faults, bad input, strangers: nothing lost, no one let in."""

from __future__ import annotations

import contextlib
import json
import random
import re

import pytest

from bot.callbacks import ChatAction, ChatList, DigestAction, ForwardAction, SessionAction
from core.events import OutgoingMessage
from tests.bot.conftest import ADMIN, ME, STRANGER, Env
from tests.fakes.bot_api import CHAOS_KINDS
from tests.support import wait_until
from tests.texts import urgent
from whatsapp import protos, protos_messages

ALICE = "15550000002@s.whatsapp.net"
CHATS = [f"1555700{i:04d}@s.whatsapp.net" for i in range(3)]


async def connect(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()


async def test_telegram_chaos_every_forward_arrives_in_order(env: Env) -> None:
    await connect(env)
    env.api.chaos(0.3, seed=7)
    total = 45
    for i in range(total):
        chat = CHATS[i % 3]
        env.feed_line(
            event="message",
            id=f"C{i}",
            chat=chat,
            sender=chat,
            text=urgent(f"item {i}"),
            push_name=f"Chat{i % 3}",
        )
        await env.settle()  # one at a time: a forward each, so every kind of fault is met
    seen: list[int] = []

    async def all_forwarded() -> bool:
        await env.settle()
        seen[:] = [
            int(n)
            for c in env.api.of("sendMessage")
            for n in re.findall(r"URGENT item (\d+):", c.text)
        ]
        return set(seen) == set(range(total))

    with contextlib.suppress(AssertionError):  # the assert below says what was lost
        await wait_until(all_forwarded, timeout=90, every=0.5)
    assert set(seen) == set(range(total)), "a forward was lost"
    for k in range(3):  # in order per WhatsApp chat (first appearance)
        firsts = list(dict.fromkeys(n for n in seen if n % 3 == k))
        log = [
            (c.method, re.findall(r"URGENT item (\d+):", c.text))
            for c in env.api.calls
            if "sendMessage" in c.method
        ]
        assert firsts == sorted(firsts), log
    duplicated = len(seen) - len(set(seen))
    assert set(env.api.chaos_counts) == set(CHAOS_KINDS)  # every kind of fault was met
    accepted = env.api.chaos_counts.get("accepted_reset", 0) + env.api.chaos_counts.get(
        "accepted_timeout", 0
    )
    assert duplicated <= 25 * accepted  # a duplicate only where Telegram took it
    print(
        f"telegram chaos: faults {env.api.chaos_counts}, forwards {total}, lost 0, "
        f"duplicated {duplicated} (accepted, then reset or timed out: {accepted})"
    )
    env.api._chaos = None  # the storm is over: the bot is not wedged, commands answer
    env.api.send_text(ADMIN, "/help")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "/chats" in c.text, 30)


async def test_disconnect_during_100_sends_delivers_all_once_in_order(env: Env) -> None:
    await connect(env)
    sending = env.services.sending
    results = []
    for i in range(100):
        if i == 40:
            await env.services.gateway.play({"event": "disconnected"})
            await env.services.gateway.drain()
        results.append(await sending.send(OutgoingMessage(to=ALICE, text=f"out {i}")))
    assert [r.status.value for r in results[:40]] == ["sent"] * 40
    assert {r.status.value for r in results[40:]} == {"queued"}
    await env.services.gateway.play({"event": "connected", "jid": ME})
    await env.settle()
    texts = [x["text"] for x in env.sent()]
    assert texts == [f"out {i}" for i in range(100)]
    assert len({x["id"] for x in env.sent()}) == 100


@pytest.mark.parametrize("event", ["logged_out", "stream_replaced", "client_outdated"])
async def test_terminal_events_notify_once_without_a_loop(env: Env, event: str) -> None:
    await connect(env)
    env.feed_line(event=event)
    for _ in range(3):
        env.feed_line(event="disconnected")
    await env.settle()
    notices = [c for c in env.api.sent_to(ADMIN) if "WhatsApp:" in c.text]
    assert len(notices) == 1
    words = {
        "logged_out": "/login",
        "stream_replaced": "Another device",
        "client_outdated": "Upgrade",
    }[event]
    assert words in notices[0].text


def fuzz_lines(rnd: random.Random, n: int) -> list[str]:
    kinds = [
        "text",
        "image",
        "video",
        "audio",
        "voice",
        "document",
        "sticker",
        "location",
        "contact",
        "poll",
        "hologram",
        5,
        None,
    ]
    junk = ["", "null", "[]", "{", "{}", '{"event": 1}', "\x00\x01\x02", "🙂" * 50]
    out = []
    for i in range(n):
        r = rnd.random()
        if r < 0.15:
            out.append(rnd.choice(junk))
            continue
        obj = {
            "event": rnd.choice(
                [
                    "message",
                    "reaction",
                    "edit",
                    "revoke",
                    "history_sync",
                    "contact",
                    "group",
                    "qr",
                    "bogus",
                    7,
                ]
            )
        }
        for key in ("id", "chat", "sender", "text", "target_id", "emoji", "jid", "name"):
            if rnd.random() < 0.8:
                obj[key] = rnd.choice(
                    [
                        f"F{i}",
                        ALICE,
                        "x@y",
                        "@",
                        "not a jid",
                        12,
                        None,
                        ["list"],
                        "A" * rnd.randint(0, 70_000),
                        "\u202e\u0000<b>hi</b>&amp;",
                        f"{rnd.randint(0, 10**18)}@g.us",
                        f"{rnd.randint(0, 10**15)}@lid",
                    ]
                )
        obj["kind"] = rnd.choice(kinds)
        if rnd.random() < 0.2:
            obj["messages"] = rnd.choice([[], [obj.copy()], "no", [1, 2]])
        if rnd.random() < 0.1:
            obj["timestamp"] = rnd.choice([-1, 10**12, "soon", 1.5])
        out.append(json.dumps(obj)[:100_000] if rnd.random() < 0.95 else json.dumps(obj)[:40])
    return out


async def test_fuzzed_feed_and_protobufs_never_crash(env: Env, caplog) -> None:
    await fuzz(env, caplog, 1000)


@pytest.mark.slow
async def test_fuzzed_feed_and_protobufs_never_crash_long(env: Env, caplog) -> None:
    await fuzz(env, caplog, 5000)


async def fuzz(env: Env, caplog, n: int) -> None:
    """``n`` hostile feed lines and ``n`` well-formed protobufs with hostile values: nothing
    crashes, every well-formed message is stored, the bad ones are skipped with a log line,
    and the bot still answers."""
    await connect(env)
    gateway = env.services.gateway
    rnd = random.Random(11)
    lines = fuzz_lines(rnd, n)
    for number, line in enumerate(lines):
        await gateway.play_line(line, number)
    msg = protos_messages.content({"text": "seed"})
    for i in range(n):  # well-formed protobufs with hostile values
        chat = rnd.choice([ALICE, "1@g.us", "x@broadcast", "status@broadcast", "9@lid"])
        ev = protos_messages.message_event(
            msg, chat, chat, mid=f"P{i}", ts_ms=rnd.choice([0, -5, 10**13])
        )
        ev.Message.conversation = "".join(
            chr(rnd.randint(1, 0x2FFF)) for _ in range(rnd.randint(0, 300))
        )
        if rnd.random() < 0.1:
            ev.Message.Clear()
        gateway.submit("message", protos.roundtrip(ev))
    await env.settle()
    stored = await env.services.storage.messages.count()
    skipped = sum("skipped" in r.getMessage() for r in caplog.records)
    assert stored >= 0.8 * n  # every well-formed message stored (as text or "other")
    assert skipped > 0
    assert env.services.gateway.state.value == "connected"
    env.api.send_text(ADMIN, "/status")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Status" in c.text, 30)
    print(f"fuzz: {2 * n} events, stored {stored}, logged skips {skipped}")


async def test_every_command_and_button_is_refused_for_strangers(env: Env) -> None:
    await connect(env)
    commands = [
        "/start",
        "/help",
        "/status",
        "/login",
        "/pair +15550000001",
        "/logout",
        "/chats",
        "/chat Alice",
        "/send Alice hi",
        "/search x",
        "/digest",
        "/catchup 3",
        "/settings",
        "/settings threshold 0",
        "/unknown",
        "hello",
    ]
    buttons = [
        ChatAction(1, "trusted").pack(),
        ChatAction(1, "ai").pack(),
        ChatList(0, "").pack(),
        ForwardAction(1, "noimp").pack(),
        SessionAction("logout_yes").pack(),
        DigestAction(1).pack(),
        "dr:1:send",
        "st:threshold:0",
        "garbage",
    ]
    for text in commands:
        env.api.send_text(STRANGER, text)
    qids = [env.api.press(STRANGER, data) for data in buttons]
    await env.api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == qids[-1]
        ),
        30,
    )
    await env.handled()
    answers = [
        c for c in env.api.of("answerCallbackQuery") if c.params.get("callback_query_id") in qids
    ]
    assert len(answers) == len(buttons) and all("private" in c.params["text"] for c in answers)
    assert [c.text for c in env.api.sent_to(STRANGER)] == ["Sorry, this is a private bot."]
    assert env.services.prefs.current.threshold == 7
    assert env.services.gateway.state.value == "connected"
    assert env.sent() == []


async def test_oversized_send_is_refused_with_a_clear_answer(env: Env) -> None:
    await connect(env)
    env.feed_line(event="message", id="M1", chat=ALICE, sender=ALICE, text="hi", push_name="Alice")
    await env.settle()
    env.api.send_text(ADMIN, "/send Alice " + "x" * 70_000)
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "too long" in c.text, 30)
    assert env.sent() == []


async def test_full_disk_is_reported_and_nothing_is_lost_when_space_returns(env: Env) -> None:
    from core.errors import StorageError

    await connect(env)
    repo = env.services.storage.messages
    real_store = repo.store
    failures = {"left": 2}

    async def full_disk(messages, history=False):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise StorageError("database or disk is full")
        return await real_store(messages, history)

    object.__setattr__(repo, "store", full_disk)
    try:
        env.feed_line(
            event="message", id="D1", chat=ALICE, sender=ALICE, text="first", push_name="Alice"
        )
        env.feed_line(
            event="message", id="D2", chat=ALICE, sender=ALICE, text="second", push_name="Alice"
        )
        await env.api.wait_for(
            lambda c: c.method == "sendMessage" and "cannot write" in c.text, 30
        )
        await env.api.wait_for(lambda c: c.method == "sendMessage" and "works again" in c.text, 30)
        await env.settle()
    finally:
        object.__setattr__(repo, "store", real_store)
    chat = await env.services.storage.chats.by_jid(ALICE)
    assert [m.text for m in await repo.last(chat.id)] == ["first", "second"]  # in order
    notices = [c for c in env.api.sent_to(ADMIN) if "cannot write" in c.text]
    assert len(notices) == 1  # told once, not once per retry
    assert env.services.gateway.state.value == "connected"


async def test_database_locked_by_another_writer_holds_messages_until_it_lets_go(
    env: Env,
) -> None:
    import sqlite3

    from storage import db as storage_db
    from storage.db import db

    await connect(env)
    await storage_db.run(lambda: db.execute_sql("PRAGMA busy_timeout = 300"))
    env.feed_line(event="message", id="K0", chat=ALICE, sender=ALICE, text="before", push_name="A")
    await env.settle()
    other = sqlite3.connect(env.data / "secretary.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock, for a while
    try:
        for i in range(1, 4):
            env.feed_line(event="message", id=f"K{i}", chat=ALICE, sender=ALICE, text=f"m{i}")
        await env.api.wait_for(
            lambda c: c.method == "sendMessage" and "cannot write" in c.text, 30
        )
        env.api.send_text(ADMIN, "/status")  # commands keep answering meanwhile
        await env.api.wait_for(lambda c: c.method == "sendMessage" and "Status" in c.text, 30)
    finally:
        other.rollback()
        other.close()
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "works again" in c.text, 60)
    await env.settle()
    chat = await env.services.storage.chats.by_jid(ALICE)
    texts = [m.text for m in await env.services.storage.messages.last(chat.id)]
    assert texts == ["before", "m1", "m2", "m3"]  # each once, in order
    assert len([c for c in env.api.sent_to(ADMIN) if "cannot write" in c.text]) == 1


async def test_real_full_disk_is_reported_and_every_message_stored_when_space_returns(
    tmp_path, small_disk
) -> None:
    import sqlite3

    from tests.bot.conftest import settings_for, start_app, stop_app
    from tests.fakes.bot_api import FakeBotApi
    from tests.reliability.conftest import fill

    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"  # the feed is elsewhere: WhatsApp keeps talking
    feed.write_text("")
    app = await start_app(settings_for(small_disk, api, feed))
    env = Env(api, app, feed, small_disk / "data")
    try:
        await connect(env)
        env.feed_line(event="message", id="F0", chat=ALICE, sender=ALICE, text="before")
        await env.settle()
        filler = fill(small_disk)
        big = "long message " * 4000  # 52 KB each: more than the database has spare
        for i in range(1, 6):
            env.feed_line(event="message", id=f"F{i}", chat=ALICE, sender=ALICE, text=f"{i} {big}")
        await api.wait_for(lambda c: c.method == "sendMessage" and "cannot write" in c.text, 60)
        env.api.send_text(ADMIN, "/status")  # commands keep answering on a full disk
        await api.wait_for(lambda c: c.method == "sendMessage" and "Status" in c.text, 30)
        filler.unlink()  # space returns
        await api.wait_for(lambda c: c.method == "sendMessage" and "works again" in c.text, 90)
        await env.settle()
        chat = await env.services.storage.chats.by_jid(ALICE)
        texts = [m.text.split(" ")[0] for m in await env.services.storage.messages.last(chat.id)]
        assert texts == ["before", "1", "2", "3", "4", "5"]  # each once, in order, whole
        assert len([c for c in api.sent_to(ADMIN) if "cannot write" in c.text]) == 1
    finally:
        await stop_app(app)
        await api.stop()
    check = sqlite3.connect(small_disk / "data" / "secretary.db")
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert check.execute("SELECT count(*) FROM messages").fetchone() == (6,)
    check.close()
