"""Several WhatsApp accounts under one bot (issue 21), end to end over HTTP with the
simulator: two logins, labelled forwards, replies from the right account, one account
logged out or failing while the other keeps working, and a restart that restores both."""

from __future__ import annotations

import shutil

from tests.bot.accounts_setup import ANNA, BOSS, WORK_ME, add_work_account
from tests.bot.conftest import ADMIN, ME, Env, settings_for, start_app, stop_app
from tests.support import wait_until


def forwards(env: Env, marker: str) -> list:
    return [c for c in env.api.sent_to(ADMIN) if marker in c.text]


async def test_two_accounts_forward_with_labels_and_replies_leave_from_the_right_one(
    env: Env,
) -> None:
    await add_work_account(env)
    env.message("P1", "urgent: please call me back about the flat", chat=ANNA, push_name="Anna")
    env.message(
        "W1",
        "urgent: the client needs the offer today, call me",
        chat=BOSS,
        push_name="Boss",
        account="work",
    )
    await env.settle()
    personal = await env.api.wait_for(lambda c: "about the flat" in c.text)
    work = await env.api.wait_for(lambda c: "offer today" in c.text)
    assert "💼 Main · 👤 <b>Anna</b>" in personal.text, personal.text
    assert "💼 Work · 👤 <b>Boss</b>" in work.text, work.text
    env.api.send_text(ADMIN, "On it", reply_to=work.result["message_id"])
    await wait_until(lambda: any(x.get("text") == "On it" for x in env.sent()), what="the reply")
    reply = next(x for x in env.sent() if x.get("text") == "On it")
    assert reply["to"] == BOSS and reply["account"] == "work"
    env.api.send_text(ADMIN, "Yes", reply_to=personal.result["message_id"])
    await wait_until(lambda: any(x.get("text") == "Yes" for x in env.sent()), what="the reply")
    assert next(x for x in env.sent() if x.get("text") == "Yes")["account"] == "main"


async def test_the_same_person_in_both_accounts_is_two_chats(env: Env) -> None:
    await add_work_account(env)
    env.message("S1", "urgent: call me", chat=ANNA, push_name="Anna")
    env.message("S1", "urgent: call me at work", chat=ANNA, push_name="Anna", account="work")
    await env.settle()
    await env.api.wait_for(lambda c: "call me at work" in c.text)
    main_chat = await env.services.storage.for_account(1).chats.by_jid(ANNA)
    work_id = env.services.accounts.by_label("work").id
    work_chat = await env.services.storage.for_account(work_id).chats.by_jid(ANNA)
    assert main_chat is not None and work_chat is not None and main_chat.id != work_chat.id


async def test_logging_one_out_leaves_the_other_receiving(env: Env) -> None:
    await add_work_account(env)
    env.feed_line(event="logged_out", account="work")
    await env.api.wait_for(lambda c: "Work" in c.text and "unlinked" in c.text)
    env.message("P2", "urgent: are you coming tonight? call me", chat=ANNA, push_name="Anna")
    await env.settle()
    await env.api.wait_for(lambda c: "coming tonight" in c.text)
    assert env.services.accounts.by_label("main").gateway.state.value == "connected"


async def test_an_account_that_keeps_failing_leaves_the_others_forwards_on_time(
    env: Env,
) -> None:
    await add_work_account(env)
    for _ in range(20):
        env.feed_line(event="disconnected", account="work")
        env.feed_line(event="connected", jid=WORK_ME, account="work")
    env.message("P3", "urgent: the car broke down, call me", chat=ANNA, push_name="Anna")
    await env.api.wait_for(lambda c: "car broke down" in c.text)


async def test_a_restart_restores_both_accounts(env: Env, tmp_path) -> None:
    await add_work_account(env)
    await stop_app(env.app)
    env.app = await start_app(settings_for(tmp_path, env.api, env.feed))
    await env.settle()
    labels = sorted(a.label for a in env.services.accounts)
    assert labels == ["main", "work"]
    env.message("W9", "urgent: server down, call me", chat=BOSS, push_name="Boss", account="work")
    await env.settle()
    forward = await env.api.wait_for(lambda c: "server down" in c.text)
    assert "💼 Work" in forward.text


async def test_a_single_account_user_sees_no_labels(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("P4", "urgent: call me now please", chat=ANNA, push_name="Anna")
    await env.settle()
    forward = await env.api.wait_for(lambda c: "call me now" in c.text)
    assert "💼" not in forward.text
    assert all("account" not in x for x in env.sent())


async def test_accounts_lists_both_and_logs_one_out_after_asking(env: Env) -> None:
    await add_work_account(env)
    env.message("P5", "hello", chat=ANNA, push_name="Anna")
    await env.settle()
    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(lambda c: "WhatsApp accounts</b> (2)" in c.text)
    assert "<b>Main</b> ⭐ default · +1 555-000-1111" in listing.text, listing.text
    assert "<b>Work</b> · +1 555-000-9999" in listing.text
    assert "1 message(s) today" in listing.text and "0 message(s) today" in listing.text
    logout = next(
        b for b in listing.buttons() if "Log out" in b["text"] and "ac:2:" in b["callback_data"]
    )
    env.api.press(ADMIN, logout["callback_data"])
    ask = await env.api.wait_for(lambda c: "Unlink the bot from Work?" in c.text)
    yes = next(b for b in ask.buttons() if b["text"].startswith("Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "Work is logged out" in c.text)
    assert env.services.accounts.by_label("work").gateway.state.value == "logged_out"
    assert env.services.accounts.by_label("main").gateway.state.value == "connected"


async def test_an_account_that_cannot_start_is_reported_and_the_others_run(
    env: Env, tmp_path
) -> None:
    await add_work_account(env)
    await stop_app(env.app)
    broken = env.data / "whatsapp" / "accounts"
    for child in broken.iterdir():  # the work account's files become unusable
        shutil.rmtree(child)
        child.write_text("not a directory")
    env.app = await start_app(settings_for(tmp_path, env.api, env.feed))
    await env.api.wait_for(lambda c: "💼 Work: could not start" in c.text)
    env.message("P6", "urgent: the kids are sick, call me", chat=ANNA, push_name="Anna")
    await env.api.wait_for(lambda c: "kids are sick" in c.text)


async def test_a_chat_named_like_the_prompt_does_not_capture_the_owners_reply(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("H1", "hi", chat=ANNA, push_name="➕ New WhatsApp account")
    await env.settle()
    env.api.send_text(ADMIN, "/chat New WhatsApp account")
    listing = await env.api.wait_for(lambda c: "last 1 message" in c.text)
    env.api.send_text(ADMIN, "see you soon", reply_to=listing.result["message_id"])
    await wait_until(
        lambda: any(x.get("text") == "see you soon" for x in env.sent()), what="the reply"
    )
    assert len(env.services.accounts) == 1


async def test_a_reply_to_a_chat_whose_account_is_not_running_is_refused(
    env: Env, tmp_path
) -> None:
    await add_work_account(env)
    env.message("W2", "urgent: call me about the contract", chat=BOSS, account="work")
    work = await env.api.wait_for(lambda c: "about the contract" in c.text)
    env.api.press(ADMIN, f"ac:{env.services.accounts.by_label('work').id}:default")
    await env.api.wait_for(lambda c: "now the default account" in c.text)
    await stop_app(env.app)
    for child in (env.data / "whatsapp" / "accounts").iterdir():
        shutil.rmtree(child)
        child.write_text("not a directory")
    env.app = await start_app(settings_for(tmp_path, env.api, env.feed))  # default is broken
    await env.api.wait_for(lambda c: "💼 Work: could not start" in c.text)
    env.api.send_text(ADMIN, "Sure", reply_to=work.result["message_id"])
    await env.api.wait_for(lambda c: "is not running" in c.text)
    assert not any(x.get("text") == "Sure" for x in env.sent())
