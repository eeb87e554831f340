"""/send to any phone number, end to end over HTTP (fake Bot API + simulator): the same
number in any common notation reaches one chat, a number without WhatsApp and an
unreadable number get clear answers, and the new chat shows in /chats."""

from __future__ import annotations

from storage.names import format_phone
from tests.bot.conftest import ADMIN, Env

OWN_DE = "4930901820@s.whatsapp.net"  # a Berlin number: the default region is DE
NEW = "4915112345678@s.whatsapp.net"
SHOWN = format_phone("4915112345678")  # "+49 1511 2345678"


async def connected_in_germany(env: Env) -> None:
    env.feed_line(event="connected", jid=OWN_DE)
    env.feed_line(event="on_whatsapp", numbers=["+49 151 12345678"])
    await env.settle()


async def reply_after(env: Env, command: str) -> str:
    """Send a command; return the text of the bot's next answer to the admin."""
    seen = len(env.api.sent_to(ADMIN))
    env.api.send_text(ADMIN, command)
    await env.api.wait_for(lambda c: len(env.api.sent_to(ADMIN)) > seen)
    return env.api.sent_to(ADMIN)[seen].text


async def test_send_to_a_new_number_in_any_notation_reaches_one_chat(env: Env) -> None:
    await connected_in_germany(env)
    typed = ["+49 151 1234 5678", "0151 12345678", "004915112345678", "+49-151-1234-5678"]
    for n, number in enumerate(typed):
        answer = await reply_after(env, f"/send {number} Hello {n}")
        assert answer == f"✓ Sent → {SHOWN}", answer
    sent = env.sent()
    assert [s["to"] for s in sent] == [NEW] * 4
    assert [s["text"] for s in sent] == [f"Hello {n}" for n in range(4)]
    chats = await reply_after(env, "/chats")
    labels = [b["text"] for b in env.api.sent_to(ADMIN)[-1].buttons()]
    assert "1 in all" in chats, chats
    assert any(SHOWN in label for label in labels), labels
    # The chat made for the number is an ordinary chat from now on: found by name too.
    answer = await reply_after(env, "/send 15112345678 once more")
    assert "✓ Sent" in answer and env.sent()[-1]["to"] == NEW


async def test_a_number_without_whatsapp_is_said_so_and_nothing_is_sent(env: Env) -> None:
    await connected_in_germany(env)
    answer = await reply_after(env, "/send +49 151 9999 9999 Hi")
    assert answer == f"{format_phone('4915199999999')} is not on WhatsApp.", answer
    assert env.sent() == []
    assert await env.services.storage.chats.count() == 0


async def test_an_unreadable_number_gets_an_example(env: Env) -> None:
    await connected_in_germany(env)
    answer = await reply_after(env, "/send +49 123 Hi")
    assert "“+49 123” is not a phone number I can read" in answer, answer
    assert "e.g. /send +49 151 12345678 Hello" in answer
    assert env.sent() == []


async def test_without_a_known_country_a_local_number_asks_for_the_country_code(
    env: Env,
) -> None:
    """Before WhatsApp is linked (no own number, no DEFAULT_REGION) "0151…" cannot be read."""
    answer = await reply_after(env, "/send 0151 12345678 Hi")
    assert "not a phone number I can read" in answer and "country code" in answer, answer


async def test_checking_a_new_number_needs_the_connection(env: Env) -> None:
    env.feed_line(event="on_whatsapp", numbers=["+4915112345678"])
    await env.settle()
    answer = await reply_after(env, "/send +49 151 12345678 Hi")
    assert "WhatsApp is not connected" in answer and SHOWN in answer, answer
    assert env.sent() == []


async def test_a_message_starting_with_a_digit_is_never_read_into_the_number(env: Env) -> None:
    # Berlin numbers vary in length: "030 1234567 8" is a valid number too.
    await connected_in_germany(env)
    env.feed_line(event="on_whatsapp", numbers=["+49 30 1234567", "+49 30 12345678"])
    await env.settle()
    answer = await reply_after(env, "/send 030 1234567 8 Uhr passt")
    assert "Is it +49 30 1234567 or +49 30 12345678?" in answer, answer
    assert "new line" in answer and env.sent() == []
    answer = await reply_after(env, "/send 030 1234567\n8 Uhr passt")
    assert answer == f"✓ Sent → {format_phone('49301234567')}", answer
    assert [(s["to"], s["text"]) for s in env.sent()] == [
        ("49301234567@s.whatsapp.net", "8 Uhr passt")
    ]
    # Now one reading has a chat: that one is meant.
    answer = await reply_after(env, "/send 030 1234567 9 Uhr geht auch")
    assert env.sent()[-1]["to"] == "49301234567@s.whatsapp.net"
    assert env.sent()[-1]["text"] == "9 Uhr geht auch", answer
