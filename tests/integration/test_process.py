"""`wa-secretary run` as a real process: simulator feed in, fake Bot API out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fakes.bot_api import TOKEN, FakeBotApi

ADMIN = 4242
ALICE = "15550000002@s.whatsapp.net"


def environment(tmp: Path, api: FakeBotApi, feed: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    return {
        **keep,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_ADMIN_IDS": str(ADMIN),
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATA_DIR": str(tmp / "data"),
        "WHATSAPP_BACKEND": "simulator",
        "WHATSAPP_SIMULATOR_FEED": str(feed),
        "LOG_LEVEL": "INFO",
    }


async def test_run_process_end_to_end_with_lock_and_clean_stop(tmp_path: Path) -> None:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"event": "qr", "codes": ["2@REF,a,b,c"]}) + "\n")
    env = environment(tmp_path, api, feed)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        photo = await api.wait_for(lambda c: c.method == "sendPhoto", timeout=60)
        assert str(photo.params["chat_id"]) == str(ADMIN)
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 1 and b"already using" in err
        with feed.open("a") as handle:  # lines appended while running are played too
            handle.write(
                json.dumps({"event": "connected", "jid": "15550001111@s.whatsapp.net"}) + "\n"
            )
            handle.write(
                json.dumps(
                    {
                        "event": "message",
                        "id": "3EB0P1",
                        "chat": ALICE,
                        "sender": ALICE,
                        "text": "urgent: call me",
                        "push_name": "Alice",
                    }
                )
                + "\n"
            )
        fwd = await api.wait_for(
            lambda c: c.method == "sendMessage" and "urgent: call me" in c.text, timeout=30
        )
        assert str(fwd.params["chat_id"]) == str(ADMIN)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        await api.stop()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert TOKEN not in err.decode()
    assert "urgent: call me" not in err.decode()  # message text is not logged at INFO
