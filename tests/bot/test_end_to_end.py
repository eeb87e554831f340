"""End to end over real HTTP: fake Bot API ⇄ python-telegram-bot ⇄ app ⇄ simulator feed."""

from __future__ import annotations

import re

from assistant.features import Facts
from tests.bot.conftest import ADMIN, ME, STRANGER, Env, settings_for, start_app, stop_app
from tests.support import wait_until
from tests.texts import quiet, urgent

ALICE = "15550000002@s.whatsapp.net"
GROUP = "120363000000000001@g.us"


async def connect(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()


async def test_menu_is_registered_and_start_shows_next_step(env: Env) -> None:
    call = await env.api.wait_for(lambda c: c.method == "setMyCommands")
    names = {c["command"] for c in __import__("json").loads(call.params["commands"])}
    assert {
        "start",
        "help",
        "status",
        "login",
        "pair",
        "logout",
        "chats",
        "chat",
        "send",
        "search",
        "digest",
        "catchup",
        "settings",
    } <= names
    env.api.send_text(ADMIN, "/start")
    reply = await env.api.wait_for(lambda c: c.method == "sendMessage" and "secretary" in c.text)
    assert "/login" in reply.text


async def test_stranger_is_refused_once_and_sees_no_data(env: Env) -> None:
    await connect(env)
    env.feed_line(
        event="message", id="M1", chat=ALICE, sender=ALICE, text="secret", push_name="Alice"
    )
    await env.settle()
    for text in ("/chats", "/status", "hello"):
        env.api.send_text(STRANGER, text)
    qid = env.api.press(STRANGER, "ca:1:trusted")
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == qid
    )
    await env.handled()
    to_stranger = env.api.sent_to(STRANGER)
    assert [c.text for c in to_stranger] == ["Sorry, this is a private bot."]
    chat = await env.services.storage.chats.by_jid(ALICE)
    assert chat is not None and not chat.trusted


async def test_login_qr_photo_is_refreshed_in_place_then_says_connected(env: Env) -> None:
    env.api.send_text(ADMIN, "/login")
    await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "Waiting for a login QR" in c.text
    )
    env.feed_line(event="qr", codes=["2@FIRST,a,b,c"])
    photo = await env.api.wait_for(lambda c: c.method == "sendPhoto")
    assert photo.files["photo"].startswith(b"\x89PNG") and "Linked devices" in photo.text
    env.feed_line(event="qr", codes=["2@SECOND,a,b,c"])
    edit = await env.api.wait_for(lambda c: c.method == "editMessageMedia")
    assert edit.files  # a new PNG replaced the photo in place
    env.feed_line(event="connected", jid=ME)
    done = await env.api.wait_for(
        lambda c: c.method == "editMessageCaption" and "connected" in c.text
    )
    assert "+1 555-000-1111" in done.text  # the number formatted for reading
    env.api.send_text(ADMIN, "/pair +15550001111")
    await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "only while the login QR" in c.text
    )


async def test_chat_list_pages_and_card_toggles_trusted_and_ai(env: Env) -> None:
    await connect(env)
    for i in range(11):
        jid = f"1555000{i:04d}@s.whatsapp.net"
        env.feed_line(
            event="message",
            id=f"M{i}",
            chat=jid,
            sender=jid,
            text="hi",
            push_name=f"Person {i:02d}",
            timestamp=1_780_000_000 + i,
        )
    await env.settle()
    env.api.send_text(ADMIN, "/chats")
    first = await env.api.wait_for(lambda c: c.method == "sendMessage" and "page 1/2" in c.text)
    labels = [b["text"] for b in first.buttons()]
    assert labels[0].startswith("👤 Person 10") and "▶" in labels
    nxt = next(b for b in first.buttons() if b["text"] == "▶")
    env.api.press(ADMIN, nxt["callback_data"])
    second = await env.api.wait_for(
        lambda c: c.method == "editMessageText" and "page 2/2" in c.text
    )
    assert "◀" in [b["text"] for b in second.buttons()]
    person = next(b for b in second.buttons() if "Person" in b["text"])
    env.api.press(ADMIN, person["callback_data"])
    card = await env.api.wait_for(
        lambda c: c.method == "editMessageText" and "Trusted: off" in c.text
    )
    trusted = next(b for b in card.buttons() if "Trusted" in b["text"])
    ai = next(b for b in card.buttons() if b["text"].endswith(" AI"))
    assert trusted["text"].startswith("⬜") and ai["text"].startswith("⬜")
    env.api.press(ADMIN, trusted["callback_data"])
    after = await env.api.wait_for(
        lambda c: c.method == "editMessageText" and "Trusted: on" in c.text
    )
    assert next(b for b in after.buttons() if "Trusted" in b["text"])["text"].startswith("✅")
    env.api.press(ADMIN, ai["callback_data"])
    await env.api.wait_for(lambda c: c.method == "editMessageText" and "AI replies: on" in c.text)
    chat_id = int(trusted["callback_data"].split(":")[1])
    chat = await env.services.storage.chats.get(chat_id)
    assert chat.trusted and chat.ai_enabled
    env.api.press(ADMIN, "ca:99999:open")
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "expired" in str(c.params.get("text"))
    )
    qid = env.api.press(ADMIN, "zz:forged")  # no handler knows it: still answered
    await env.api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery"
            and c.params.get("callback_query_id") == qid
            and "expired" in str(c.params.get("text"))
        )
    )


async def test_forward_then_telegram_reply_lands_quoted_in_whatsapp(env: Env) -> None:
    await connect(env)
    env.feed_line(
        event="message",
        id="3EB0URGENT",
        chat=ALICE,
        sender=ALICE,
        text="URGENT <b>call me</b> please",
        push_name="Alice",
    )
    await env.settle()
    fwd = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "Alice" in c.text and "Why:" in c.text
    )
    assert "&lt;b&gt;call me&lt;/b&gt;" in fwd.text  # WhatsApp HTML is escaped
    labels = [b["text"] for b in fwd.buttons()]
    assert any("Reply" in t for t in labels) and any("Not important" in t for t in labels)
    forwarded_id = await linked_forward(env, "3EB0URGENT")  # the Telegram id shows that message
    env.api.send_text(ADMIN, "On my way", reply_to=forwarded_id)
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Sent" in c.text)
    [out] = env.sent()
    assert out["to"] == ALICE and out["text"] == "On my way" and out["quoted_id"] == "3EB0URGENT"
    item = await env.services.storage.whatsapp_outbox.get(1)  # the quote bubble's text went too
    assert item.payload["quoted_text"] == "URGENT <b>call me</b> please"
    # Answering marked Alice's message read on WhatsApp (her blue ticks) ...
    await wait_until(lambda: env.services.gateway.read_marks)
    assert env.services.gateway.read_marks == [(ALICE, ALICE, ["3EB0URGENT"])]
    env.api.send_text(ADMIN, "/settings read_on_reply off")  # ... unless switched off
    await env.api.wait_for(lambda c: "read_on_reply = off" in c.text)
    env.api.send_text(ADMIN, "Coming", reply_to=forwarded_id)
    await env.api.wait_for(lambda c: "Sent" in c.text and len(env.sent()) == 2)
    assert env.sent()[-1]["text"] == "Coming" and len(env.services.gateway.read_marks) == 1


async def test_send_by_name_queues_while_disconnected(env: Env) -> None:
    await connect(env)
    env.feed_line(
        event="message", id="M1", chat=ALICE, sender=ALICE, text="hi", push_name="Alice Smith"
    )
    env.feed_line(event="disconnected")
    await env.settle()
    env.api.send_text(ADMIN, "/send Alice Smith see you at 8")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Queued" in c.text)
    assert env.sent() == []
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    assert [x["text"] for x in env.sent()] == ["see you at 8"]
    queued = await env.api.wait_for(lambda c: c.method == "sendMessage" and "Queued" in c.text)
    # The confirmation itself turns from 🕓 to ✓: edited in place, no second message.
    edit = await env.api.wait_for(lambda c: c.method == "editMessageText")
    assert edit.text == "✓ Sent → Alice Smith"
    assert int(edit.params["message_id"]) == queued.result["message_id"]
    assert not [c for c in env.api.calls if "Queued WhatsApp message" in c.text]


async def test_429_is_retried_and_the_forward_arrives(env: Env) -> None:
    await connect(env)
    env.api.fail("sendMessage", status=429, count=1, retry_after=1)
    env.feed_line(
        event="message", id="U1", chat=ALICE, sender=ALICE, text=urgent("U1"), push_name="Alice"
    )
    await env.settle()

    async def delivered_after_the_wait() -> bool:  # Telegram asked for 1 s
        await env.services.notifier.drain_once()
        return any("URGENT U1" in c.text for c in env.api.of("sendMessage"))

    await wait_until(delivered_after_the_wait, what="the forward after Retry-After")
    assert env.api.of("!sendMessage")


async def test_burst_of_forwards_is_merged(env: Env) -> None:
    await connect(env)
    for i in range(30):
        env.feed_line(
            event="message",
            id=f"B{i}",
            chat=ALICE,
            sender=ALICE,
            text=urgent(f"#{i}"),
            push_name="Alice",
        )
    await env.settle()
    forwards = [c for c in env.api.of("sendMessage") if "URGENT" in c.text]
    assert 1 <= len(forwards) <= 10  # merged while a send is in flight, not 30 messages
    shown = [int(n) for c in forwards for n in re.findall(r"URGENT #(\d+):", c.text)]
    assert sorted(shown) == list(range(30))  # every message, once


async def test_unknown_command_and_plain_text_get_help(env: Env) -> None:
    env.api.send_text(ADMIN, "/frobnicate")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Unknown command" in c.text)
    env.api.send_text(ADMIN, "/send")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Usage: /send" in c.text)


async def test_pending_telegram_outbox_survives_restart(tmp_path) -> None:
    from tests.fakes.bot_api import FakeBotApi

    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    settings = settings_for(tmp_path, api, feed)
    app = await start_app(settings)
    services = app.bot_data["services"]
    api.fail("sendMessage", status=500, count=100)
    await services.notifier.notice("survives a restart")
    await services.notifier.drain_once()
    await stop_app(app)
    assert await_count(api, "survives") == 0
    api.faults.clear()
    app = await start_app(settings)
    try:
        await api.wait_for(
            lambda c: c.method == "sendMessage" and "survives a restart" in c.text, timeout=15
        )
    finally:
        await stop_app(app)
        await api.stop()


def await_count(api, needle: str) -> int:
    return sum(1 for c in api.of("sendMessage") if needle in c.text)


async def linked_forward(env: Env, wa_id: str) -> int:
    for candidate in range(1000, 1300):
        linked = await env.services.storage.messages.linked(ADMIN, candidate)
        if linked is not None and linked.wa_id == wa_id:
            return candidate
    raise AssertionError(f"no Telegram message shows {wa_id}")


async def test_not_important_and_thumbs_up_shift_the_chat_score(env: Env) -> None:
    from tests.fakes.bot_api import reaction_update

    await connect(env)
    env.feed_line(
        event="message", id="F1", chat=ALICE, sender=ALICE, text=urgent("one"), push_name="Alice"
    )
    await env.settle()
    fwd = await env.api.wait_for(lambda c: c.method == "sendMessage" and "URGENT one" in c.text)
    noimp = next(b for b in fwd.buttons() if "Not important" in b["text"])
    env.api.press(ADMIN, noimp["callback_data"])
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "score lower" in str(c.params.get("text"))
    )
    chat = await env.services.storage.chats.by_jid(ALICE)
    assert chat.score_bias == -1
    reaction_update(env.api, ADMIN, await linked_forward(env, "F1"), "👍")
    reaction_update(env.api, ADMIN, await linked_forward(env, "F1"), "👍")

    async def raised() -> bool:
        return (await env.services.storage.chats.get(chat.id)).score_bias == 1

    await wait_until(raised, what="two 👍 to raise the chat's score")


async def test_ai_draft_send_edit_discard_buttons(env: Env) -> None:
    from tests.fakes.llm_server import FakeLLMServer

    server = FakeLLMServer(lambda messages: "Yes, see you at 8!")
    await server.start()
    from assistant.llm.openai import OpenAIProvider

    env.services.llm.inner = OpenAIProvider("gpt-4o-mini", "sk-test", server.openai_url)
    try:
        await connect(env)
        env.feed_line(
            event="message", id="Q0", chat=ALICE, sender=ALICE, text="hi", push_name="Alice"
        )
        await env.settle()
        chat = await env.services.storage.chats.by_jid(ALICE)
        await env.services.storage.chats.set_flag(chat.id, "trusted", True)
        await env.services.storage.chats.set_flag(chat.id, "ai_enabled", True)
        env.feed_line(
            event="message",
            id="Q1",
            chat=ALICE,
            sender=ALICE,
            text="dinner tonight?",
            push_name="Alice",
        )
        await env.settle()
        draft = await env.api.wait_for(
            lambda c: c.method == "sendMessage" and "Draft reply" in c.text
        )
        assert "Yes, see you at 8!" in draft.text
        labels = [b["text"] for b in draft.buttons()]
        assert any("Send" in t for t in labels) and any("Edit" in t for t in labels)
        send = next(b for b in draft.buttons() if "Send" in b["text"])
        env.api.press(ADMIN, send["callback_data"])
        await env.api.wait_for(lambda c: c.method == "sendMessage" and "Sent" in c.text)
        assert [x["text"] for x in env.sent()] == ["Yes, see you at 8!"]
        assert env.sent()[0]["quoted_id"] == "Q1"
        env.api.press(ADMIN, send["callback_data"])  # pressed twice: not sent twice
        await env.api.wait_for(
            lambda c: (
                c.method == "answerCallbackQuery"
                and "already handled" in str(c.params.get("text"))
            )
        )
        assert len(env.sent()) == 1
    finally:
        await server.stop()


async def test_image_forward_goes_as_a_photo_with_its_caption(env: Env, tmp_path) -> None:
    await connect(env)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 jpeg bytes")
    env.feed_line(
        event="message",
        id="IMG1",
        chat=ALICE,
        sender=ALICE,
        kind="image",
        caption=urgent("look at the damage"),
        mimetype="image/jpeg",
        media_file=str(photo),
        push_name="Alice",
    )
    await env.settle()
    sent = await env.api.wait_for(lambda c: c.method == "sendPhoto" and "damage" in c.text)
    assert sent.files["photo"] == photo.read_bytes()
    assert any("Reply" in b["text"] for b in sent.buttons())


async def test_digest_schedule_changes_without_restart_and_is_shown_again(env: Env) -> None:
    await connect(env)
    jobs = env.app.job_queue.get_jobs_by_name("digest")
    assert len(jobs) == 1
    env.api.send_text(ADMIN, "/settings digest_time 06:45")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "digest_time = 06:45" in c.text)
    await env.handled()
    [job] = [j for j in env.app.job_queue.get_jobs_by_name("digest") if not j.removed]
    assert job.next_t.astimezone(env.services.tz).strftime("%H:%M") == "06:45"
    env.api.send_text(ADMIN, "/settings digest_enabled off")
    await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "digest_enabled = off" in c.text
    )
    await env.handled()
    assert [j for j in env.app.job_queue.get_jobs_by_name("digest") if not j.removed] == []
    env.feed_line(
        event="message", id="G1", chat=ALICE, sender=ALICE, text="hello there", push_name="Alice"
    )
    await env.settle()
    env.api.send_text(ADMIN, "/digest")
    dg = await env.api.wait_for(lambda c: c.method == "sendMessage" and "<b>Digest</b>" in c.text)
    confirm = next(b for b in dg.buttons() if "Mark as read" in b["text"])
    env.api.press(ADMIN, confirm["callback_data"])
    await env.api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and "next digest starts" in str(c.params.get("text"))
        )
    )
    assert await env.services.storage.digests.last_sent() is not None
    env.api.send_text(ADMIN, "/digest last")
    again = await env.api.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and c is not dg
            and "<b>Digest</b>" in c.text
            and c.at > dg.at
        )
    )
    assert "Alice" in again.text


async def test_missed_daily_digest_is_sent_once_after_a_restart(tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.fakes.bot_api import FakeBotApi

    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    settings = settings_for(tmp_path, api, feed)
    app = await start_app(settings)
    storage = app.bot_data["services"].storage
    # The last daily digest went out two days ago: today's (and yesterday's) slot was missed.
    old = await storage.digests.add(
        "daily",
        datetime.now(UTC) - timedelta(days=3),
        datetime.now(UTC) - timedelta(days=2),
        "old",
        0,
    )
    from storage import db as storage_db
    from storage.models import DigestRecord

    await storage_db.run(
        lambda: (
            DigestRecord.update(sent_at=datetime.now(UTC) - timedelta(days=2))
            .where(DigestRecord.id == old.id)
            .execute()
        )
    )
    await stop_app(app)
    for _ in range(2):  # two restarts: one catch-up digest, not two
        app = await start_app(settings)
        await app.bot_data["services"].notifier.drain_once()
        await stop_app(app)
    daily = [c for c in api.of("sendMessage") if "Daily digest" in c.text]
    await api.stop()
    assert len(daily) == 1


async def test_this_was_urgent_teaches_triage_shows_in_status_and_resets(env: Env) -> None:
    await connect(env)
    env.message("Q1", quiet("and the car thing"))
    await env.settle()
    alice = await env.services.storage.chats.by_jid(ALICE)
    [first] = await env.services.storage.messages.last(alice.id)
    assert first.importance < 7  # not forwarded
    env.api.send_text(ADMIN, "/chat Alice")
    shown = await env.api.wait_for(lambda c: c.method == "sendMessage" and "car thing" in c.text)
    [ask] = [b for b in shown.buttons() if "One was urgent" in b["text"]]
    env.api.press(ADMIN, ask["callback_data"])
    choices = await env.api.wait_for(lambda c: "should I have forwarded" in c.text)
    [pick] = [b for b in choices.buttons() if "car thing" in b["text"]]
    env.api.press(ADMIN, pick["callback_data"])
    learned = await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "Learned" in str(c.params.get("text"))
    )
    assert "1 correction" in learned.params["text"]
    scorer = env.services.learner.scorer
    facts = Facts(group=False, known=False, hour=None)
    learned_p = scorer.verdict(quiet("and the car thing again"), facts).urgent
    env.message("Q2", quiet("and the car thing again"))
    await env.settle()
    again = (await env.services.storage.messages.last(alice.id))[-1]
    assert again.wa_id == "Q2" and again.importance >= first.importance
    env.api.send_text(ADMIN, "/status")
    status = await env.api.wait_for(lambda c: "learned from 1 correction" in c.text)
    assert "triage_reset" in status.text
    env.api.send_text(ADMIN, "/settings triage_reset")
    await env.api.wait_for(lambda c: "forgot your 1 correction" in c.text)
    env.api.send_text(ADMIN, "/status")
    await env.api.wait_for(lambda c: "learned from 0 correction" in c.text)
    assert await env.services.storage.settings.get("triage_corrections") is None
    # Messages like the corrected one were judged more urgent, until the reset.
    assert scorer.verdict(quiet("and the car thing again"), facts).urgent < learned_p


async def test_the_reaction_row_of_a_forward_reacts_on_whatsapp(env: Env) -> None:
    await connect(env)
    env.message("R1", urgent("R1"))
    fwd = await env.api.wait_for(lambda c: c.method == "sendMessage" and "URGENT R1" in c.text)
    row = [b for b in fwd.buttons() if b["text"] in ("👍", "❤️", "😂", "🙏")]
    assert [b["text"] for b in row] == ["👍", "❤️", "😂", "🙏"]
    env.api.press(ADMIN, row[1]["callback_data"])
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "Reacted ❤️" in str(c.params)
    )
    [reaction] = [s for s in env.sent() if s["kind"] == "reaction"]
    assert (reaction["to"], reaction["text"], reaction["quoted_id"]) == (ALICE, "❤️", "R1")


async def test_more_reacts_with_any_emoji_the_owner_sends(env: Env) -> None:
    await connect(env)
    env.message("R2", urgent("R2"))
    fwd = await env.api.wait_for(lambda c: c.method == "sendMessage" and "URGENT R2" in c.text)
    [more] = [b for b in fwd.buttons() if b["text"] == "➕"]
    env.api.press(ADMIN, more["callback_data"])
    prompt = await env.api.wait_for(lambda c: c.method == "sendMessage" and "React to" in c.text)
    env.api.send_text(ADMIN, "hello", reply_to=prompt.result["message_id"])
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "not one emoji" in c.text)
    env.api.send_text(ADMIN, "🤦🏽‍♀️", reply_to=prompt.result["message_id"])
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Reacted 🤦🏽‍♀️" in c.text)
    [reaction] = [s for s in env.sent() if s["kind"] == "reaction"]
    assert (reaction["to"], reaction["text"], reaction["quoted_id"]) == (ALICE, "🤦🏽‍♀️", "R2")
    assert not [s for s in env.sent() if s["kind"] != "reaction"]  # "hello" was not sent
