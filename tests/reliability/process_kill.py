"""The whole `wa-secretary run` process on the simulator and the fake Bot API, killed with
SIGKILL in rounds and restarted (shared by the kill -9 tests): its environment, the rounds,
and what a finished run is checked with."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.fakes.bot_api import TOKEN, FakeBotApi
from tests.integration.test_process import bot_process
from tests.support import wait_until

ADMIN = 4242
#: How long the last, unkilled run may take to store and forward everything.
FINISH_TIMEOUT = 120.0


def process_env(tmp_path: Path, api: FakeBotApi, feed: Path) -> dict[str, str]:
    """The environment of a `run` on the simulator playing ``feed``, talking to ``api``."""
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_ADMIN_IDS": str(ADMIN),
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "WHATSAPP_BACKEND": "simulator",
        "WHATSAPP_SIMULATOR_FEED": str(feed),
        "LOG_LEVEL": "WARNING",
    }


async def kill_rounds(
    env: dict[str, str],
    cwd: Path,
    rounds: int,
    kill_when: Callable[[int], Awaitable[None]],
    finished: Callable[[], bool],
) -> None:
    """Start the process ``rounds`` times and kill -9 it once ``kill_when(round)`` returns;
    then start it once more, wait until ``finished()`` and stop it with SIGTERM."""
    for r in range(rounds + 1):
        proc = await bot_process(
            "run", env, cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            if r < rounds:
                await kill_when(r)
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                continue
            await wait_until(finished, timeout=FINISH_TIMEOUT, every=0.2, what="the last run")
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
        finally:
            if proc.returncode is None:  # a failed wait: never leave the process behind
                proc.kill()
                await proc.wait()


def forwarded(api: FakeBotApi, pattern: str) -> list[str]:
    """The numbers ``pattern``'s group finds in the Telegram messages sent, repeats kept."""
    return [n for c in api.of("sendMessage") for n in re.findall(pattern, c.text)]


def checked_db(db: Path) -> sqlite3.Connection:
    """The SQLite file of a stopped run, opened after its integrity check passed."""
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return conn
