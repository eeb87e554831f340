"""Digests with several accounts over HTTP with the simulator (issue 21): labels in front of
chats, ``/digest <label>`` and ``/catchup <hours> <label>`` narrowed to one account, and an
account with digest settings of its own getting its own daily digest."""

from __future__ import annotations

from bot.handlers.digest import send_daily
from tests.bot.accounts_setup import ANNA, BOSS, add_work_account
from tests.bot.conftest import ADMIN, ME, Env


async def two_chats(env: Env) -> None:
    await add_work_account(env)
    env.message("P1", "are we still on for dinner?", chat=ANNA, push_name="Anna")
    env.message("W1", "can you send the slides?", chat=BOSS, push_name="Boss", account="work")
    await env.settle()


def live_jobs(env: Env) -> dict[str, str]:
    return {
        j.name: j.next_t.astimezone(env.services.tz).strftime("%H:%M")
        for j in env.app.job_queue.jobs()
        if j.name.startswith("digest") and not j.removed
    }


async def test_a_digest_shows_each_chats_account_and_narrows_to_one(env: Env) -> None:
    await two_chats(env)
    env.api.send_text(ADMIN, "/digest")
    both = await env.api.wait_for(lambda c: "<b>Digest</b>" in c.text)
    assert "💼 Main · 👤 <b>Anna</b> (person)" in both.text, both.text
    assert "💼 Work · 👤 <b>Boss</b> (person)" in both.text
    assert "• 💼 Work · 👤 <b>Boss</b>: can you send the slides?" in both.text
    env.api.send_text(ADMIN, "/digest work")
    work = await env.api.wait_for(lambda c: "<b>Digest</b>" in c.text and c is not both)
    assert "Boss" in work.text and "Anna" not in work.text, work.text
    assert not [b for b in work.buttons() if "Mark as read" in b["text"]]
    assert await env.services.storage.digests.last_sent() is None  # the mark did not move
    env.api.send_text(ADMIN, "/catchup 8 main")
    main = await env.api.wait_for(lambda c: "<b>Catch-up</b>" in c.text)
    assert "Anna" in main.text and "Boss" not in main.text, main.text
    env.api.send_text(ADMIN, "/catchup 8 nowhere")
    await env.api.wait_for(lambda c: "Usage: /catchup" in c.text)


async def test_an_account_with_its_own_digest_time_gets_its_own_digest(env: Env) -> None:
    await two_chats(env)
    assert live_jobs(env) == {"digest": "08:00"}
    env.api.send_text(ADMIN, "/settings work digest_time 06:45")
    await env.api.wait_for(lambda c: "digest_time = 06:45 (this account's own)" in c.text)
    await env.handled()
    assert live_jobs(env) == {"digest": "08:00", "digest:2": "06:45"}
    await send_daily(env.services, 2)
    own = await env.api.wait_for(lambda c: "<b>Daily digest</b>" in c.text)
    assert "Boss" in own.text and "Anna" not in own.text, own.text
    await send_daily(env.services)
    rest = await env.api.wait_for(lambda c: "<b>Daily digest</b>" in c.text and c is not own)
    assert "Anna" in rest.text and "Boss" not in rest.text, rest.text
    env.api.send_text(ADMIN, "/settings work digest_enabled off")
    await env.api.wait_for(lambda c: "digest_enabled = off (this account's own)" in c.text)
    await env.handled()
    assert live_jobs(env) == {"digest": "08:00"}  # and Work stays out of the daily one
    env.api.send_text(ADMIN, "/settings work digest_time default")
    await env.api.wait_for(lambda c: "digest_time = 08:00 (global)" in c.text)
    env.api.send_text(ADMIN, "/settings work digest_enabled default")
    await env.api.wait_for(lambda c: "digest_enabled = on (global)" in c.text)
    await env.handled()
    assert live_jobs(env) == {"digest": "08:00"}


async def test_a_single_accounts_digest_has_no_labels(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("P1", "are we still on for dinner?", chat=ANNA, push_name="Anna")
    await env.settle()
    env.api.send_text(ADMIN, "/digest")
    digest = await env.api.wait_for(lambda c: "<b>Digest</b>" in c.text)
    assert "<b>Anna</b> (person)" in digest.text and "💼" not in digest.text
