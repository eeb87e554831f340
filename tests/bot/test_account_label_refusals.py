"""Naming an account in /accounts over HTTP (issue 21): a label that looks like another
account's, hides an invisible character or is a word a command reads first is refused with
its reason and nothing is added; a label found any way the owner types it."""

from __future__ import annotations

from tests.bot.accounts_setup import add_work_account
from tests.bot.conftest import ADMIN, ME, Env


def after(env: Env, since: int, predicate):
    """``predicate`` over the calls recorded from index ``since`` on."""
    return lambda c: predicate(c) and any(c is x for x in env.api.calls[since:])


async def refused(env: Env, label: str, reason: str) -> None:
    """/accounts → ➕ Add account → reply ``label``: the answer is a refusal with ``reason``."""
    since = len(env.api.calls)
    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(after(env, since, lambda c: "WhatsApp accounts" in c.text))
    add = next(b for b in listing.buttons() if "Add account" in b["text"])
    env.api.press(ADMIN, add["callback_data"])
    prompt = await env.api.wait_for(after(env, since, lambda c: "New WhatsApp account" in c.text))
    env.api.send_text(ADMIN, label, reply_to=prompt.result["message_id"])
    answer = await env.api.wait_for(after(env, since, lambda c: c.text.startswith("❌")))
    assert reason in answer.text, answer.text


async def test_a_look_alike_or_invisible_or_command_word_label_is_refused(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    await refused(env, "mаin", "“mаin” looks like the account “main”; choose another label")
    await refused(env, "wo\u200brk", "invisible or control character (U+200B)")
    await refused(env, "\u3164", "invisible or control character (U+3164)")
    await refused(env, "wοrk", "mixes Greek and Latin letters")  # Greek ο
    await refused(env, "Last", "cannot start with “last”: commands read that word")
    assert [a.label for a in await env.services.storage.accounts.list()] == ["main"]
    assert [a.label for a in env.services.accounts] == ["main"]


async def test_a_label_is_found_however_it_is_typed(env: Env) -> None:
    await add_work_account(env)
    env.api.send_text(ADMIN, "/settings ＷＯＲＫ digest_time 18:00")  # fullwidth
    await env.api.wait_for(lambda c: "digest_time = 18:00 (this account's own)" in c.text)
