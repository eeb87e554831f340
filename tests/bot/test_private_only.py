"""Control works only in an owner's private chat: in a group the bot says nothing and leaves,
Telegram Business updates are ignored, and an edited Telegram message is not acted on again
(editing a /send must not send a second WhatsApp message)."""

from __future__ import annotations

import time

from tests.bot.conftest import ADMIN, ME, Env

GROUP_CHAT = {"id": -100123, "type": "supergroup", "title": "Family"}


def message(chat: dict, text: str, message_id: int = 77) -> dict:
    msg = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": ADMIN, "is_bot": False, "first_name": "Owner"},
        "text": text,
    }
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return msg


async def test_admin_command_in_a_group_gets_no_answer_and_the_bot_leaves(env: Env) -> None:
    env.api.inject("message", message(GROUP_CHAT, "/chats"))
    await env.api.wait_for(lambda c: c.method == "leaveChat", timeout=10)
    await env.settle()
    assert [c.params["chat_id"] for c in env.api.of("leaveChat")] == [str(GROUP_CHAT["id"])]
    assert env.api.of("sendMessage") == []  # no chat list, no history to the group


async def test_business_updates_are_ignored(env: Env) -> None:
    private = {"id": ADMIN, "type": "private"}
    env.api.inject(
        "business_message", {**message(private, "/chats"), "business_connection_id": "b1"}
    )
    env.api.send_text(ADMIN, "/help")  # a real command after it is still answered
    await env.api.wait_for(lambda c: c.method == "sendMessage", timeout=10)
    await env.settle()
    assert len(env.api.of("sendMessage")) == 1
    assert "/chats" in env.api.of("sendMessage")[0].text  # the /help answer, not a chat list


async def test_editing_a_sent_command_does_not_send_again(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("E1", "hi", push_name="Alice")
    await env.settle()
    private = {"id": ADMIN, "type": "private"}
    env.api.inject("message", message(private, "/send Alice hello there", 500))
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Sent" in c.text, timeout=10)
    env.api.inject(
        "edited_message",
        {**message(private, "/send Alice hello there, fixed", 500), "edit_date": int(time.time())},
    )
    await env.api.wait_for(lambda c: "not acted on again" in c.text, timeout=10)
    await env.settle()
    assert [s["text"] for s in env.sent()] == ["hello there"]  # one WhatsApp message only


async def test_switching_to_an_llm_provider_that_cannot_work_is_refused_with_the_reason(
    env: Env,
) -> None:
    env.api.send_text(ADMIN, "/settings llm_provider openai")
    refused = await env.api.wait_for(lambda c: "OPENAI_API_KEY is not set" in c.text)
    assert "stays as it was" in refused.text
    env.api.send_text(ADMIN, "/settings llm_provider ollama")  # nothing listens on its host
    await env.api.wait_for(lambda c: "ollama does not answer" in c.text, timeout=20)
    assert env.services.prefs.current.llm_provider == ""  # unchanged
    assert env.services.llm.name == "none"


async def test_an_edited_reply_is_offered_as_an_edit_on_whatsapp_within_15_minutes(
    env: Env,
) -> None:
    from storage.models import WhatsAppOutboxRecord
    from tests.bot.test_end_to_end import ALICE, connect, linked_forward
    from tests.texts import urgent

    await connect(env)
    env.message("E1", urgent("E1"))
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "URGENT E1" in c.text)
    await env.settle()  # the forward is linked to its message once the send returned
    mid = env.api.send_text(ADMIN, "On my way", reply_to=await linked_forward(env, "E1"))
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Sent" in c.text)
    [first] = env.sent()
    private = {"id": ADMIN, "type": "private", "first_name": "Owner"}
    edited = {**message(private, "On my way, 10 min", mid), "edit_date": int(time.time())}
    env.api.inject("edited_message", edited)
    offer = await env.api.wait_for(lambda c: "Change it there too?" in c.text, timeout=10)
    [button] = offer.buttons()
    env.api.press(ADMIN, button["callback_data"])
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "Edited on WhatsApp" in str(c.params)
    )
    last = env.sent()[-1]
    assert (last["kind"], last["text"], last["quoted_id"]) == (
        "edit",
        "On my way, 10 min",
        first["id"],
    )
    assert len([s for s in env.sent() if s["kind"] == "text"]) == 1  # nothing sent twice
    alice = await env.services.storage.chats.by_jid(ALICE)
    mine = [m for m in await env.services.storage.messages.last(alice.id) if m.from_me]
    assert [m.text for m in mine] == ["On my way, 10 min"] and mine[0].edited

    # Past WhatsApp's 15 minutes the edit is refused with the reason, and nothing goes out.
    WhatsAppOutboxRecord.update(sent_at=env.services.clock.now().replace(year=2020)).execute()
    again = {**message(private, "On my way, 20 min", mid), "edit_date": int(time.time())}
    env.api.inject("edited_message", again)
    await env.api.wait_for(lambda c: "no longer allows editing" in c.text, timeout=10)
    env.api.press(ADMIN, button["callback_data"])  # the old button cannot do it either
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "Not edited" in str(c.params)
    )
    assert env.sent()[-1]["text"] == "On my way, 10 min"
