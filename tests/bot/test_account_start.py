"""Accounts start side by side: an account whose journal replay at start is slow holds up
neither the start nor another account's forwards; it runs once its replay is done."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.bot.accounts_setup import ANNA, BOSS, add_work_account, hold_replay
from tests.bot.conftest import ADMIN, Env, settings_for, start_app, stop_app
from tests.support import wait_until


async def test_a_slow_replay_does_not_delay_another_accounts_forward(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_work_account(env)
    work_id = env.services.accounts.by_label("work").id
    await stop_app(env.app)

    replaying, release = hold_replay(monkeypatch, work_id)  # its replay takes long
    starting = asyncio.create_task(start_app(settings_for(tmp_path, env.api, env.feed)))
    try:
        await wait_until(replaying.is_set, what="the work account's replay")
        await wait_until(starting.done, what="the start, with the work account replaying")
        env.app = starting.result()
        env.message("P1", "urgent: the flat, call me", chat=ANNA, push_name="Anna")
        env.message("W1", "urgent: the offer, call me", chat=BOSS, account="work")
        await env.api.wait_for(lambda c: "the flat" in c.text)
        assert not release.is_set()  # the work account is still replaying its journal
        assert not any("the offer" in c.text for c in env.api.sent_to(ADMIN))
    finally:
        release.set()
        if not starting.done():
            env.app = await starting
    await env.api.wait_for(lambda c: "the offer" in c.text)  # then it runs as usual
