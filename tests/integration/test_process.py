"""`wa-secretary run` as a real process: simulator feed in, fake Bot API out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.bot.conftest import bot_env
from tests.fakes.bot_api import TOKEN, FakeBotApi
from tests.support import wait_until
from tests.texts import quiet, urgent

ADMIN = 4242
ALICE = "15550000002@s.whatsapp.net"


def environment(tmp: Path, api: FakeBotApi, feed: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    return {**keep, **bot_env(tmp, api, feed, TELEGRAM_ADMIN_IDS=str(ADMIN), LOG_LEVEL="INFO")}


async def bot_process(command: str, env: dict[str, str], cwd: Path, **pipes: object):
    """`python -m bot <command>` as a real process (pipes as for create_subprocess_exec)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, env=env, cwd=cwd, **pipes
    )


async def test_run_process_end_to_end_with_lock_and_clean_stop(tmp_path: Path) -> None:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"event": "qr", "codes": ["2@REF,a,b,c"]}) + "\n")
    env = environment(tmp_path, api, feed)
    proc = await bot_process(
        "run", env, tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        photo = await api.wait_for(lambda c: c.method == "sendPhoto", timeout=60)
        assert str(photo.params["chat_id"]) == str(ADMIN)
        second = await bot_process(
            "run", env, tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 1 and b"already using" in err
        api.fail("sendMessage", status=429, count=1, retry_after=1)  # the forward waits once
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
                        "text": urgent("P1"),
                        "push_name": "Alice",
                    }
                )
                + "\n"
            )
        fwd = await api.wait_for(
            lambda c: c.method == "sendMessage" and "URGENT P1" in c.text, timeout=30
        )
        assert str(fwd.params["chat_id"]) == str(ADMIN)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        await api.stop()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert TOKEN not in err.decode()
    assert "URGENT P1" not in err.decode()  # message text is not logged at INFO
    assert "Telegram rate limit: retrying in 1.0 s" in err.decode()
    assert " ERROR " not in err.decode()  # a 429 is routine, not an error


async def test_secrets_never_reach_the_log_even_at_debug(tmp_path: Path) -> None:
    from tests.fakes.llm_server import FakeLLMServer

    key = "sk-proc-secret-0123456789abcdef"
    api, llm = FakeBotApi(), FakeLLMServer(lambda messages: "not json")
    await api.start()
    await llm.start()
    llm.fail_next = [500]  # an error path is logged too
    feed = tmp_path / "feed.jsonl"
    lines = [
        {"event": "connected", "jid": "15550001111@s.whatsapp.net"},
        {"event": "message", "id": "S1", "chat": ALICE, "sender": ALICE, "text": quiet()},
    ]
    feed.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {
        **environment(tmp_path, api, feed),
        "LOG_LEVEL": "DEBUG",
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": llm.openai_url,
    }
    proc = await bot_process("run", env, tmp_path, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []

    async def read_log() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            lines.append(line.decode())

    def logged(text: str) -> object:
        return wait_until(lambda: any(text in line for line in lines), timeout=60, what=text)

    reader = asyncio.create_task(read_log())
    try:
        # The undecided message goes to the LLM after its batch window: first a 500, then an
        # answer that is not JSON (logged as a partial score).
        await logged("LLM scored 0 of 1")
        assert llm.fail_next == []  # the 500 was served (the client retried it)
        assert llm.requests[0].authorization == f"Bearer {key}"  # the key was in use
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
        await reader
        await api.stop()
        await llm.stop()
    log = "".join(lines)
    assert proc.returncode == 0, log[-2000:]
    assert " DEBUG " in log and "api.openai" not in log  # really at DEBUG, on the fake
    assert key not in log and TOKEN not in log
    assert TOKEN.split(":")[1] not in log  # not even the token's secret half


async def test_data_dir_is_private_and_wide_files_are_reported(tmp_path: Path) -> None:
    api = FakeBotApi()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old = data / "old-session.db"
    old.write_text("keys")
    old.chmod(0o644)  # left by an older release
    env = environment(tmp_path, api, feed)
    proc = await bot_process(
        "check", env, tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "secretary.db").stat().st_mode & 0o777 == 0o600
    log = out.decode() + err.decode()
    assert "can be read by other local users" in log and "chmod -R go-rwx" in log
