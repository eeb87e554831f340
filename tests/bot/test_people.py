"""People as the phone shows them, end to end: the address book's names in /chats, a chat
found by any name or number, a later push name renaming nothing, /login showing the feed's
QR codes."""

from __future__ import annotations

import re

from core.events import QrIssued
from storage.names import format_phone
from tests.bot.conftest import ADMIN, Env
from tests.bot.people import CHAT_COUNT, GROUPS, ME, PEOPLE, STRANGERS, day_feed, pn
from tests.fakes.recorder import Recorder


async def play_day(env: Env) -> None:
    for line in day_feed():
        env.feed_line(**line)
    await env.settle()


async def all_chat_labels(env: Env) -> tuple[str, list[str]]:
    """Page through /chats; return the first page's text and every chat button's label."""
    env.api.send_text(ADMIN, "/chats")
    page = await env.api.wait_for(lambda c: c.method == "sendMessage" and "Chats" in c.text)
    head, labels = page.text, []
    while True:
        buttons = page.buttons()
        labels += [b["text"] for b in buttons if b["text"][:1] in "👤👥"]
        nxt = next((b for b in buttons if b["text"] == "▶"), None)
        if nxt is None:
            return head, labels
        seen = len(env.api.of("editMessageText"))
        env.api.press(ADMIN, nxt["callback_data"])
        await env.api.wait_for(lambda c, n=seen: len(env.api.of("editMessageText")) > n)
        page = env.api.of("editMessageText")[-1]


async def test_chats_lists_every_chat_by_its_saved_name_and_counts_right(env: Env) -> None:
    await play_day(env)
    head, labels = await all_chat_labels(env)
    total = int(re.search(r"(\d+) in all", head).group(1))
    assert total == len(labels) == CHAT_COUNT == 20
    shown = {re.sub(r"^(👤|👥) | \(\d+\)$", "", label).strip() for label in labels}
    for _digits, saved, push, _lid in PEOPLE:
        assert saved in shown, saved
        assert push not in shown, push
    number = format_phone(STRANGERS[2][0])  # push name, else the number
    assert {"Pizza Roma", "Max", number} <= shown and number.startswith("+49 ")
    assert {subject for _, subject in GROUPS} <= shown


async def test_send_and_chat_reach_the_chat_by_any_name_or_number(env: Env) -> None:
    await play_day(env)
    env.api.send_text(ADMIN, "/send Mom Hello there")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Sent" in c.text)
    assert env.sent()[-1]["to"] == pn(PEOPLE[0][0]) and env.sent()[-1]["text"] == "Hello there"
    for typed, expect in [
        ("sofia", "Sofía Ramírez 🌻"),  # first name, no accent, any case
        ("SOFI", "Sofía Ramírez 🌻"),  # her push name
        ("joao", "João Pereira"),
        ("dima", "Dmitri Ivanov"),  # push name only the phone's owner never saved
        ("+7 916 123-45-67", "Dmitri Ivanov"),  # the number, as written anywhere
        ("015112345678", "Mom"),  # a German number without country code
        ("familie", "Familie 🏡"),  # a group subject without its emoji
    ]:
        env.api.send_text(ADMIN, f"/chat {typed}")
        shown = await env.api.wait_for(
            lambda c, e=expect: c.method == "sendMessage" and f"<b>{e}</b> — last" in c.text
        )
        assert "hi there" in shown.text or "see you" in shown.text or "again" in shown.text
    # Sofía's LID chat and her number are one chat; the card shows the number.
    chat = await env.services.storage.chats.by_jid(pn(PEOPLE[1][0]))
    assert chat is not None and chat.name == "Sofía Ramírez 🌻"
    assert any(a.endswith("@lid") for a in chat.aliases)


async def test_several_matches_offer_buttons(env: Env) -> None:
    await play_day(env)
    env.api.send_text(ADMIN, "/send an Hello")  # the start of Anna, inside Ivanov, Jonas
    ask = await env.api.wait_for(lambda c: c.method == "sendMessage" and "Which one" in c.text)
    labels = [b["text"] for b in ask.buttons()]
    assert len(labels) >= 2 and any("Anna Schmidt" in x for x in labels)
    assert env.sent() == []
    env.api.send_text(ADMIN, "/chats an")
    listed = await env.api.wait_for(lambda c: c.method == "sendMessage" and "matching" in c.text)
    assert any("Anna Schmidt" in b["text"] for b in listed.buttons())


async def test_a_later_push_name_does_not_rename_a_saved_contact(env: Env) -> None:
    await play_day(env)
    mom = pn(PEOPLE[0][0])
    env.message("LATER1", "I changed my name", chat=mom, push_name="Linda 💃")
    await env.settle()
    chat = await env.services.storage.chats.by_jid(mom)
    assert chat.name == "Mom"
    env.api.send_text(ADMIN, "/chat linda")  # every name stays findable
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "<b>Mom</b> — last" in c.text)
    stranger = pn(STRANGERS[1][0])
    env.message("LATER2", "new name", chat=stranger, push_name="Maximilian")
    await env.settle()
    assert (await env.services.storage.chats.by_jid(stranger)).name == "Maximilian"


async def test_login_shows_the_feeds_pending_qr_codes(env: Env) -> None:
    recorder = Recorder()
    env.services.gateway.subscribe(recorder)
    env.feed_line(event="qr", codes=["2@FEEDCODE1,a,b,c", "2@FEEDCODE2,a,b,c"])
    await env.api.wait_for(lambda c: c.method == "sendPhoto")
    env.api.send_text(ADMIN, "/login")
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Waiting for" in c.text)
    await env.settle()
    codes = [e.code for e in recorder.events if isinstance(e, QrIssued)]
    assert codes == ["2@FEEDCODE1,a,b,c", "2@FEEDCODE2,a,b,c"] * 2  # played, then /login
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    env.feed_line(event="logged_out")
    await env.settle()
    env.api.send_text(ADMIN, "/login")  # no code pending since the login: a fresh one
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Waiting for" in c.text)
    await env.settle()
    codes = [e.code for e in recorder.events if isinstance(e, QrIssued)]
    assert len(codes) == 5 and codes[-1].startswith("2@SIMULATED")
