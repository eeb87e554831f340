"""WhatsApp runs whatever Telegram does: `wa-secretary run` with the Bot API unreachable
stores every message and forwards the urgent ones, in order, once Telegram answers; a token
Telegram rejects ends the process with one line and exit code 2."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
from pathlib import Path

from bench.memory import stored as stored_count
from tests.fakes.bot_api import TOKEN, FakeBotApi
from tests.integration.test_process import bot_process, environment
from tests.support import wait_until
from tests.texts import urgent

URGENT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def feed_lines() -> list[str]:
    lines = [json.dumps({"event": "connected", "jid": "15550001111@s.whatsapp.net"})]
    for i in range(100):
        chat = f"1555000{i % 9:04d}@s.whatsapp.net"
        text = urgent(f"live {i // 10}") if i % 10 == 0 else f"see you later {i}"
        lines.append(
            json.dumps(
                {
                    "event": "message",
                    "id": f"T{i}",
                    "chat": chat,
                    "sender": chat,
                    "text": text,
                    "push_name": f"P{i % 9}",
                }
            )
        )
    return lines


async def test_start_with_telegram_down_stores_everything_and_forwards_later(
    tmp_path: Path,
) -> None:
    api = FakeBotApi()
    port = free_port()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()) + "\n")
    env = environment(tmp_path, api, feed)
    env["TELEGRAM_API_BASE_URL"] = f"http://127.0.0.1:{port}/bot"  # nobody listens yet
    log = (tmp_path / "stderr.log").open("wb")
    proc = await bot_process("run", env, tmp_path, stderr=log)
    db = tmp_path / "data" / "secretary.db"
    try:
        await wait_until(lambda: db.exists() and stored_count(db) == 100, timeout=60)
        await wait_until(
            lambda: b"Telegram not reachable" in (tmp_path / "stderr.log").read_bytes(), 30
        )
        assert proc.returncode is None  # still running, no Telegram
        await api.start(port)  # Telegram comes back
        shown = lambda: [  # noqa: E731
            int(n)
            for c in api.of("sendMessage")
            for n in re.findall(r"URGENT live (\d+):", c.text)
        ]
        await wait_until(lambda: len(set(shown())) == URGENT, timeout=90)
        by_chat: dict[int, list[int]] = {}
        for n in shown():  # urgent message n came from chat (10 n) % 9: in order per chat
            by_chat.setdefault(10 * n % 9, []).append(n)
        assert all(seq == sorted(seq) for seq in by_chat.values()), by_chat
        assert api.of("setMyCommands")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        await api.stop()
        log.close()
    text = (tmp_path / "stderr.log").read_text()
    assert code == 0
    assert "Traceback" not in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    attempts = [line for line in text.splitlines() if "Telegram not reachable" in line]
    assert attempts and all("attempt" in line for line in attempts)


async def test_a_token_telegram_rejects_is_one_line_and_exit_2(tmp_path: Path) -> None:
    api = FakeBotApi()
    await api.start()
    api.fail("getMe", status=401, count=100)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    env = environment(tmp_path, api, feed)
    env["LOG_LEVEL"] = "WARNING"
    proc = await bot_process(
        "run", env, tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await api.stop()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0], lines
    assert TOKEN.split(":")[1] not in err.decode() + out.decode()
