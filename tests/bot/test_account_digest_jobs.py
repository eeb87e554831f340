"""Per-account daily digests keep time (issue 21), over HTTP: the digest jobs follow the
accounts added and removed in /accounts, and an account's own digest missed while the bot was
down is sent once at the next start, from that account's own "since" mark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_application
from tests.bot.accounts_setup import ANNA, BOSS, add_work_account
from tests.bot.conftest import ADMIN, Env, settings_for, stop_app
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.clock import FakeClock

#: Friday 1 May 2026, 12:00 in Berlin (the tests' TIMEZONE).
NOON = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def live_jobs(env: Env) -> dict[str, str]:
    return {
        j.name: j.next_t.astimezone(env.services.tz).strftime("%H:%M")
        for j in env.app.job_queue.jobs()
        if j.name.startswith("digest") and not j.removed
    }


async def start_at(env: Env, tmp: Path, clock: FakeClock) -> None:
    """(Re)start the bot on ``clock``."""
    app = build_application(settings_for(tmp, env.api, env.feed), clock)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    env.app = app


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[tuple[Env, FakeClock]]:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    clock = FakeClock(NOON)
    env = Env(api, None, feed, tmp_path / "data")
    await start_at(env, tmp_path, clock)
    yield env, clock
    await stop_app(env.app)
    await api.stop()


async def own_setting(env: Env, label: str, value: str) -> None:
    env.api.send_text(ADMIN, f"/settings {label} digest_time {value}")
    await env.api.wait_for(
        lambda c: f"digest_time = {value} (this account's own)" in c.text and label in c.text
    )


async def add_account(env: Env, label: str) -> None:
    """/accounts → ➕ Add account → ``label`` (not linked: its QR is not scanned)."""
    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(lambda c: "WhatsApp accounts</b> (1)" in c.text)
    add = next(b for b in listing.buttons() if "Add account" in b["text"])
    env.api.press(ADMIN, add["callback_data"])
    prompt = await env.api.wait_for(
        lambda c: (
            "New WhatsApp account" in c.text
            and c.params.get("reply_markup") is not None
            and c is env.api.of("sendMessage")[-1]
        )
    )
    env.api.send_text(ADMIN, label, reply_to=prompt.result["message_id"])
    await env.api.wait_for(lambda c: f"{label.title()} added" in c.text)


async def remove_work(env: Env) -> None:
    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(lambda c: "WhatsApp accounts</b> (2)" in c.text)
    [trash] = [b for b in listing.buttons() if b["text"] == "🗑"]
    env.api.press(ADMIN, trash["callback_data"])
    ask = await env.api.wait_for(lambda c: "Remove 💼 Work" in c.text)
    yes = next(b for b in ask.buttons() if b["text"].startswith("🗑 Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "🗑 Work is removed" in c.text)


async def test_digest_jobs_follow_the_accounts_added_and_removed(env: Env) -> None:
    await add_work_account(env)
    await own_setting(env, "main", "07:00")
    await own_setting(env, "work", "18:00")
    await env.handled()
    assert live_jobs(env) == {"digest": "08:00", "digest:1": "07:00", "digest:2": "18:00"}

    env.api.send_text(ADMIN, "/status")  # the earliest of the three, never the 08:00 one
    status = await env.api.wait_for(lambda c: "Next digest" in c.text)
    shown = status.text.split("Next digest")[1]
    first = min(
        (j for j in env.app.job_queue.jobs() if j.name.startswith("digest")),
        key=lambda j: j.next_t,
    )
    assert first.name != "digest", first.name  # Main's 07:00 or Work's 18:00 comes first
    assert first.next_t.astimezone(env.services.tz).strftime("%H:%M") in shown, status.text

    await remove_work(env)
    # one account again: its digest is the one daily digest, and Work's is gone
    assert live_jobs(env) == {"digest": "08:00"}

    await add_account(env, "office")
    assert live_jobs(env) == {"digest": "08:00", "digest:1": "07:00"}  # Main's own is back
    env.api.send_text(ADMIN, "/settings office")
    shown = await env.api.wait_for(lambda c: "Office" in c.text and "digest_time" in c.text)
    assert "digest_time = 08:00 (global)" in shown.text, shown.text  # nothing of Work's


def daily(env: Env) -> list:
    return [c for c in env.api.of("sendMessage") if "<b>Daily digest</b>" in c.text]


async def test_an_accounts_own_digest_missed_while_down_is_sent_once_at_start(
    timed: tuple[Env, FakeClock], tmp_path: Path
) -> None:
    env, clock = timed
    await add_work_account(env)
    at = int(clock.now().timestamp())
    env.message(
        "W1", "can you send the slides?", chat=BOSS, push_name="Boss", account="work", timestamp=at
    )
    env.message("P1", "dinner at eight?", chat=ANNA, push_name="Anna", timestamp=at)
    await env.settle()
    await own_setting(env, "work", "18:00")
    await env.handled()
    assert live_jobs(env)["digest:2"] == "18:00"

    await clock.advance(6 * 3600)  # Friday 18:00: Work's own digest runs
    [job] = env.app.job_queue.get_jobs_by_name("digest:2")
    await job.run(env.app)
    first = await env.api.wait_for(lambda c: "<b>Daily digest</b>" in c.text)
    assert "Boss" in first.text and "Anna" not in first.text, first.text

    await clock.advance(2 * 3600)  # Friday 20:00: a new message, then the bot goes down
    env.message(
        "W2",
        "and the budget sheet",
        chat=BOSS,
        push_name="Boss",
        account="work",
        timestamp=int(clock.now().timestamp()),
    )
    await env.settle()
    await stop_app(env.app)

    await clock.advance(23 * 3600)  # Saturday 19:00: Saturday's 18:00 digest was missed
    await start_at(env, tmp_path, clock)
    caught_up = await env.api.wait_for(
        lambda c: "<b>Daily digest</b>" in c.text and c is not first
    )
    assert "budget sheet" in caught_up.text, caught_up.text
    assert "slides" not in caught_up.text  # from Work's own mark on, not the day before
    assert "Anna" not in caught_up.text  # Main has had no daily digest yet: none is due
    await env.settle()

    await stop_app(env.app)  # another start the same evening sends nothing again
    await start_at(env, tmp_path, clock)
    await env.settle()
    await env.handled()
    assert len(daily(env)) == 2
