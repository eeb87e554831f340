"""The session commands with several WhatsApp accounts (issue 21), over HTTP with the
simulator: /status and /start show every account, /pair and /logout act on the account named
(or say which one they took, or ask), and the other accounts keep running."""

from __future__ import annotations

from core.ids import ConnectionState
from tests.bot.accounts_setup import ANNA, BOSS, add_work_account
from tests.bot.conftest import ADMIN, Env
from tests.support import wait_until


def state_of(env: Env, label: str) -> ConnectionState:
    return env.services.accounts.by_label(label).gateway.state


async def work_waits_for_a_scan(env: Env) -> None:
    """Both accounts linked, then the work phone unlinked it and its login QR shows."""
    await add_work_account(env)
    env.feed_line(event="logged_out", account="work")
    env.feed_line(event="qr", codes=["2@AGAIN,a,b,c"], account="work")
    await env.settle()
    assert state_of(env, "work") == ConnectionState.WAITING_FOR_QR
    assert state_of(env, "main") == ConnectionState.CONNECTED


async def test_status_shows_each_account_and_the_shared_parts_once(env: Env) -> None:
    await add_work_account(env)
    env.message("P1", "hello", chat=ANNA, push_name="Anna")
    env.message("W1", "the slides?", chat=BOSS, push_name="Boss", account="work")
    env.message("W2", "and the offer", chat=BOSS, push_name="Boss", account="work")
    env.feed_line(event="disconnected", account="work")
    await env.settle()
    env.api.send_text(ADMIN, "/status")
    status = await env.api.wait_for(lambda c: "<b>Status</b>" in c.text)
    text = status.text
    assert text.startswith("<b>Status</b>: 2 WhatsApp accounts\n"), text
    assert "💼 <b>Main</b> ⭐ default · +1 555-000-1111: connected since " in text, text
    assert "💼 <b>Work</b> · +1 555-000-9999: reconnecting since " in text, text
    assert "   1 message(s) today in 1 chat(s) · 0 reconnect(s)" in text
    assert "   2 message(s) today in 1 chat(s)" in text
    assert "Messages today: 3 in 2 chat(s) known, all accounts" in text
    for shared in ("Uptime:", "Outbox:", "LLM:", "Triage:", "Next digest:"):
        assert text.count(shared) == 1, (shared, text)


async def test_status_of_a_single_account_is_unchanged(env: Env) -> None:
    env.api.send_text(ADMIN, "/status")
    status = await env.api.wait_for(lambda c: "<b>Status</b>" in c.text)
    lines = status.text.splitlines()
    assert lines[0].startswith("<b>Status</b>: connecting since "), lines
    assert lines[1] == "Account: unknown" and lines[3] == "Reconnects: 0", lines
    assert "💼" not in status.text and "all accounts" not in status.text


async def test_start_shows_each_accounts_state(env: Env) -> None:
    await add_work_account(env)
    env.feed_line(event="logged_out", account="work")
    await env.settle()
    env.api.send_text(ADMIN, "/start")
    hello = await env.api.wait_for(lambda c: "secretary" in c.text)
    assert "💼 Main: <b>connected</b>\n" in hello.text, hello.text
    assert "💼 Work: <b>logged out</b> · /login work" in hello.text
    assert "/accounts" in hello.text


async def test_pair_pairs_the_named_account_or_the_default_and_says_which(env: Env) -> None:
    await work_waits_for_a_scan(env)
    env.api.send_text(ADMIN, "/pair work +4915112345678")
    code = await env.api.wait_for(lambda c: "Pairing code" in c.text)
    assert code.text.startswith("💼 Work: Pairing code for +4915112345678: <code>"), code.text
    env.api.send_text(ADMIN, "/pair +4915112345678")  # no label: the default, named
    refused = await env.api.wait_for(lambda c: "only while the login QR" in c.text)
    assert refused.text.startswith("❌ 💼 Main: "), refused.text
    env.api.send_text(ADMIN, "/pair nowhere +4915112345678")
    await env.api.wait_for(lambda c: "There is no account “nowhere”. See /accounts." in c.text)
    env.api.send_text(ADMIN, "/pair work")
    await env.api.wait_for(lambda c: c.text.startswith("Usage: /pair"))
    assert state_of(env, "main") == ConnectionState.CONNECTED


async def test_a_number_is_never_taken_for_a_label(env: Env) -> None:
    await work_waits_for_a_scan(env)
    env.api.press(ADMIN, f"ac:{env.services.accounts.by_label('work').id}:rename")
    prompt = await env.api.wait_for(lambda c: "Rename account" in c.text)
    env.api.send_text(ADMIN, "4915112345678", reply_to=prompt.result["message_id"])
    refused = await env.api.wait_for(lambda c: c.text.startswith("❌ an account label needs"))
    assert "4915112345678" in refused.text  # a label with no letter is refused
    env.api.send_text(ADMIN, "/pair 4915112345678")  # the number, for the default account
    answer = await env.api.wait_for(lambda c: "only while the login QR" in c.text)
    assert answer.text.startswith("❌ 💼 Main: "), answer.text


async def test_logout_asks_which_account_and_logs_out_only_that_one(env: Env) -> None:
    await add_work_account(env)
    work_id = env.services.accounts.by_label("work").id
    env.api.send_text(ADMIN, "/logout")
    ask = await env.api.wait_for(lambda c: "Which account do you want to log out?" in c.text)
    assert [b["text"] for b in ask.buttons()] == ["🚪 main", "🚪 work", "Cancel"]
    env.api.press(ADMIN, ask.buttons()[1]["callback_data"])
    confirm = await env.api.wait_for(lambda c: "Unlink the bot from Work?" in c.text)
    yes = next(b for b in confirm.buttons() if b["text"].startswith("Yes"))
    assert yes["callback_data"] == f"ac:{work_id}:logout_yes"  # carries the account
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "Work is logged out" in c.text)
    assert state_of(env, "work") == ConnectionState.LOGGED_OUT
    assert state_of(env, "main") == ConnectionState.CONNECTED
    env.message("P2", "urgent: call me back please", chat=ANNA, push_name="Anna")
    await env.api.wait_for(lambda c: "call me back please" in c.text)  # main still receives


async def test_logout_with_a_label_asks_for_that_account_at_once(env: Env) -> None:
    await add_work_account(env)
    env.api.send_text(ADMIN, "/logout nowhere")
    await env.api.wait_for(lambda c: "There is no account “nowhere”. See /accounts." in c.text)
    env.api.send_text(ADMIN, "/logout Work")
    confirm = await env.api.wait_for(lambda c: "Unlink the bot from Work?" in c.text)
    cancel = next(b for b in confirm.buttons() if b["text"] == "Cancel")
    env.api.press(ADMIN, cancel["callback_data"])
    await env.api.wait_for(lambda c: c.text == "Logout cancelled.")
    await env.handled()
    assert state_of(env, "work") == ConnectionState.CONNECTED


async def test_an_old_confirm_button_logs_out_the_account_it_was_shown_for(env: Env) -> None:
    await add_work_account(env)
    env.api.press(ADMIN, f"ac:{env.services.accounts.by_label('work').id}:default")
    await env.api.wait_for(lambda c: "now the default account" in c.text)
    env.api.press(ADMIN, "ss:logout_yes")  # from a /logout sent before the second account
    done = await env.api.wait_for(lambda c: "Logged out." in c.text)
    assert done.text == "💼 Main: Logged out. Send /login main to link WhatsApp again."
    await wait_until(lambda: state_of(env, "main") == ConnectionState.LOGGED_OUT)
    assert state_of(env, "work") == ConnectionState.CONNECTED
