"""Per-account settings over HTTP with the simulator (issue 21): ``/settings <label> …``
overrides the threshold for that account's messages only; a single account sees no change."""

from __future__ import annotations

from tests.bot.accounts_setup import ANNA, BOSS, add_work_account
from tests.bot.conftest import ADMIN, ME, Env


async def test_an_accounts_own_threshold_forwards_its_messages_only(env: Env) -> None:
    await add_work_account(env)
    env.api.send_text(ADMIN, "/settings work threshold 0")
    page = await env.api.wait_for(lambda c: "Settings of Work" in c.text)
    assert "threshold = 0 (this account's own)" in page.text, page.text
    assert "ai_replies = on (global)" in page.text
    env.message("P1", "see you later at the cinema", chat=ANNA, push_name="Anna")
    env.message("W1", "see you later at the office", chat=BOSS, push_name="Boss", account="work")
    await env.settle()
    forward = await env.api.wait_for(lambda c: "at the office" in c.text)
    assert "💼 Work" in forward.text
    assert not [c for c in env.api.sent_to(ADMIN) if "at the cinema" in c.text]
    env.api.send_text(ADMIN, "/settings work threshold default")
    await env.api.wait_for(lambda c: "threshold = 7 (global)" in c.text)
    env.message("W2", "see you later at lunch", chat=BOSS, push_name="Boss", account="work")
    await env.settle()
    assert not [c for c in env.api.sent_to(ADMIN) if "at lunch" in c.text]


async def test_a_bad_override_is_refused_with_the_reason(env: Env) -> None:
    await add_work_account(env)
    env.api.send_text(ADMIN, "/settings work threshold 12")
    await env.api.wait_for(lambda c: "threshold must be a number from 0 to 10" in c.text)
    env.api.send_text(ADMIN, "/settings work keywords rent")
    await env.api.wait_for(lambda c: "keywords is not set per account" in c.text)
    assert env.services.prefs.overrides.get(2, {}) == {}


async def test_with_one_account_a_first_word_is_a_setting_as_before(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    env.api.send_text(ADMIN, "/settings main threshold 3")
    await env.api.wait_for(lambda c: "Unknown setting" in c.text and "main" in c.text)
    env.api.send_text(ADMIN, "/settings")
    page = await env.api.wait_for(lambda c: "<b>Settings</b>" in c.text)
    assert "threshold = 7" in page.text and "Settings of" not in page.text
