"""kill -9 of the whole `wa-secretary run` during a history sync plus live traffic, restart,
repeat: every message stored exactly once, the database intact, no forward lost, and the
digest that was due at start made once."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.memory import stored as stored_count
from tests.fakes.bot_api import FakeBotApi
from tests.reliability.process_kill import checked_db, forwarded, kill_rounds, process_env
from tests.texts import urgent

HISTORY, LIVE = 10_000, 60


OWN = "15550001111@s.whatsapp.net"
OWN_LIVE = 20  # sent from the phone: stored, never forwarded
LIVE_FORWARD = r"URGENT live (\d+):"


def history_item(i: int) -> dict[str, object]:
    """Person chats and groups, every 7th message the owner's own."""
    chat = f"12036300000{i % 20:02d}@g.us" if i % 10 == 0 else f"1555{i % 200:07d}@s.whatsapp.net"
    mine = i % 7 == 0
    sender = OWN if mine else (f"1555{i % 300:07d}@s.whatsapp.net" if i % 10 == 0 else chat)
    return {
        "id": f"H{i}",
        "chat": chat,
        "sender": sender,
        "from_me": mine,
        "text": f"old {i}",
        "timestamp": 1_700_000_000 + i,
    }


def feed_lines() -> list[str]:
    """History chunks with live traffic between them; `connected` comes after the first
    chunk, so kills fall both before and after the process learns its own JID."""
    lines = []
    for start in range(0, HISTORY, 2500):
        items = [history_item(i) for i in range(start, start + 2500)]
        lines.append(json.dumps({"event": "history_sync", "messages": items}))
        if start == 0:
            lines.append(json.dumps({"event": "connected", "jid": OWN}))
        for j in range(LIVE * start // HISTORY, LIVE * (start + 2500) // HISTORY):
            lines.append(
                json.dumps(
                    {
                        "event": "message",
                        "id": f"L{j}",
                        "chat": "15559990000@s.whatsapp.net",
                        "sender": "15559990000@s.whatsapp.net",
                        "text": urgent(f"live {j}"),
                        "push_name": "Live",
                    }
                )
            )
        for k in range(OWN_LIVE * start // HISTORY, OWN_LIVE * (start + 2500) // HISTORY):
            chat = "120363000000099@g.us" if k % 2 else "15559990000@s.whatsapp.net"
            lines.append(
                json.dumps(
                    {
                        "event": "message",
                        "id": f"O{k}",
                        "chat": chat,
                        "sender": OWN,
                        "from_me": True,
                        "text": f"from my phone {k}",
                    }
                )
            )
    return lines


async def run_rounds(tmp_path: Path, rounds: int) -> dict[str, int]:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()) + "\n")
    env = process_env(tmp_path, api, feed)
    rnd = random.Random(3)
    db = tmp_path / "data" / "secretary.db"
    seed_missed_digest(tmp_path, env)

    async def at_random(_round: int) -> None:  # killed at a random point
        await asyncio.sleep(rnd.uniform(1.0, 4.0))

    def finished() -> bool:
        return (
            len(set(forwarded(api, LIVE_FORWARD))) == LIVE
            and stored_count(db) == HISTORY + LIVE + OWN_LIVE
            and bool(digests(api))
        )

    try:
        await kill_rounds(env, tmp_path, rounds, at_random, finished)
    finally:
        await api.stop()
    conn = checked_db(db)
    try:
        total, unique = conn.execute(
            # Unique per chat and id: the same message under two senders counts as doubled.
            "SELECT COUNT(*), COUNT(DISTINCT chat_id || '/' || wa_id) FROM messages"
        ).fetchone()
        (made,) = conn.execute(
            "SELECT COUNT(*) FROM digests WHERE kind = 'daily' AND sent_at IS NOT NULL"
        ).fetchone()
    finally:
        conn.close()
    shown = forwarded(api, LIVE_FORWARD)
    return {
        "rounds": rounds,
        "stored": total,
        "unique": unique,
        "forwarded": len(set(shown)),
        "forward_repeats": len(shown) - len(set(shown)),
        "digests_made": made - 1,  # besides the seeded one
        "digests_delivered": len(digests(api)),
    }


def digests(api: FakeBotApi) -> list:
    return [c for c in api.of("sendMessage") if "Daily digest" in c.text]


def seed_missed_digest(tmp_path: Path, env: dict[str, str]) -> None:
    """A database whose last daily digest went out two days ago: every start owes one."""
    check = subprocess.run([sys.executable, "-m", "bot", "check"], env=env, cwd=tmp_path)
    assert check.returncode == 0
    ago = int((time.time() - 2 * 86400) * 1000)
    conn = sqlite3.connect(tmp_path / "data" / "secretary.db")
    with conn:
        conn.execute(
            "INSERT INTO digests (kind, period_start, period_end, text, message_count,"
            " created_at, sent_at) VALUES ('daily', ?, ?, 'old', 0, ?, ?)",
            (ago - 86400_000, ago, ago, ago),
        )
    conn.close()


async def test_kill_9_whole_process_three_rounds(tmp_path: Path) -> None:
    result = await run_rounds(tmp_path, rounds=3)
    print("process crash:", result)
    assert result["stored"] == result["unique"] == HISTORY + LIVE + OWN_LIVE
    assert result["forwarded"] == LIVE
    assert result["digests_made"] == 1 and result["digests_delivered"] >= 1


@pytest.mark.soak
async def test_kill_9_whole_process_twenty_rounds(tmp_path: Path) -> None:
    result = await run_rounds(tmp_path, rounds=20)
    print("process crash:", result)
    assert result["stored"] == result["unique"] == HISTORY + LIVE + OWN_LIVE
    assert result["forwarded"] == LIVE
    assert result["digests_made"] == 1 and result["digests_delivered"] >= 1
