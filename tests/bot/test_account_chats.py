"""/chats narrowed to one account over HTTP with the simulator (issue 21): ``/chats work``
lists only that account's chats, its page buttons keep the narrowing, and a search after the
label searches within it."""

from __future__ import annotations

from tests.bot.accounts_setup import ANNA, BOSS, add_work_account
from tests.bot.conftest import ADMIN, ME, Env


async def test_chats_with_a_label_lists_that_accounts_chats_page_by_page(env: Env) -> None:
    await add_work_account(env)
    env.message("P1", "hi", chat=ANNA, push_name="Anna")
    env.message("W0", "hi", chat=BOSS, push_name="Boss", account="work")
    for i in range(1, 9):
        jid = f"1555007000{i}@s.whatsapp.net"
        env.message(f"W{i}", "hi", chat=jid, push_name=f"Client {i}", account="work")
    await env.settle()
    env.api.send_text(ADMIN, "/chats work")
    first = await env.api.wait_for(lambda c: "<b>Chats</b> in Work" in c.text)
    assert "page 1/2, 9 in all" in first.text, first.text
    assert not [b for b in first.buttons() if "Anna" in b["text"]]
    more = next(b for b in first.buttons() if b["text"] == "▶")
    env.api.press(ADMIN, more["callback_data"])
    second = await env.api.wait_for(lambda c: "page 2/2, 9 in all" in c.text)
    assert "in Work" in second.text
    assert not [b for b in second.buttons() if "Anna" in b["text"]]
    env.api.send_text(ADMIN, "/chats work boss")
    found = await env.api.wait_for(lambda c: "in Work matching “boss”" in c.text)
    assert [b["text"] for b in found.buttons() if "Boss" in b["text"]], found.buttons()
    env.api.send_text(ADMIN, "/chats Main boss")
    await env.api.wait_for(lambda c: "No chat in Main matches “boss”." in c.text)
    env.api.send_text(ADMIN, "/chats")
    await env.api.wait_for(lambda c: "by last activity — page 1/2, 10 in all" in c.text)


async def test_with_one_account_the_first_word_is_a_search_as_before(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("P1", "hi", chat=ANNA, push_name="Anna")
    await env.settle()
    env.api.send_text(ADMIN, "/chats main")
    await env.api.wait_for(lambda c: "No chat matches “main”." in c.text)


async def test_search_results_show_each_chats_account(env: Env) -> None:
    await add_work_account(env)
    env.message("P1", "the invoice for the flat", chat=ANNA, push_name="Anna")
    env.message("W1", "the invoice for the client", chat=BOSS, push_name="Boss", account="work")
    await env.settle()
    env.api.send_text(ADMIN, "/search invoice")
    found = await env.api.wait_for(lambda c: "<b>Search</b>" in c.text)
    assert "💼 Main · <b>Anna</b>" in found.text, found.text
    assert "💼 Work · <b>Boss</b>" in found.text, found.text


async def test_a_chats_last_messages_name_its_account(env: Env) -> None:
    await add_work_account(env)
    env.message("W2", "the budget is approved", chat=BOSS, push_name="Boss", account="work")
    await env.settle()
    env.api.send_text(ADMIN, "/chat Boss")
    shown = await env.api.wait_for(lambda c: "last 1 message" in c.text)
    assert shown.text.startswith("💼 Work · <b>Boss</b>"), shown.text
