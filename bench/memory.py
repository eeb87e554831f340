"""Memory: RSS of `wa-secretary run` (simulator, fake Bot API), idle after start and after
ingesting messages through the feed.

    python -m bench.memory [--messages 100000]

Baseline in the same run: a bare interpreter that imports the same libraries and idles.
Target (issue 7): < 150 MB idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.common import rss_mb, table
from tests.fakes.bot_api import TOKEN, FakeBotApi

CHUNK = 5000


async def baseline_rss() -> float:
    code = "import telegram.ext, neonize, peewee, openai, ollama, segno, time; time.sleep(30)"
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    await asyncio.sleep(4)
    value = rss_mb(proc.pid)
    proc.kill()
    await proc.wait()
    return value


def stored(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


async def run(n: int) -> dict[str, float]:
    api = FakeBotApi()
    await api.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mem-"))
    feed = tmp / "feed.jsonl"
    feed.write_text(json.dumps({"event": "connected", "jid": "15550001111@s.whatsapp.net"}) + "\n")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_ADMIN_IDS": "1",
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATA_DIR": str(tmp / "data"),
        "WHATSAPP_BACKEND": "simulator",
        "WHATSAPP_SIMULATOR_FEED": str(feed),
        "LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp
    )
    try:
        await api.wait_for(lambda c: c.method == "setMyCommands", timeout=60)
        await asyncio.sleep(3)
        idle = rss_mb(proc.pid)
        now = int(time.time()) - n
        with feed.open("a") as handle:
            for start in range(0, n, CHUNK):
                items = [
                    {
                        "id": f"H{i}",
                        "chat": f"1555{i % 500:07d}@s.whatsapp.net",
                        "sender": f"1555{i % 500:07d}@s.whatsapp.net",
                        "text": f"history message {i} about the weekend",
                        "timestamp": now + i,
                    }
                    for i in range(start, min(n, start + CHUNK))
                ]
                handle.write(
                    json.dumps(
                        {
                            "event": "history_sync",
                            "messages": items,
                            "progress": min(100, (start + CHUNK) * 100 // n),
                        }
                    )
                    + "\n"
                )
        started = time.perf_counter()
        db = tmp / "data" / "secretary.db"
        peak = idle
        while stored(db) < n:
            peak = max(peak, rss_mb(proc.pid))
            if time.perf_counter() - started > 600:
                raise RuntimeError("ingest did not finish in 10 minutes")
            await asyncio.sleep(0.5)
        ingest_s = time.perf_counter() - started
        await asyncio.sleep(2)
        after = rss_mb(proc.pid)
    finally:
        proc.terminate()
        await proc.wait()
        await api.stop()
    base = await baseline_rss()
    return {
        "baseline_imports_rss_mb": base,
        "idle_rss_mb": idle,
        "idle_ratio_vs_baseline": idle / base,
        "peak_rss_during_ingest_mb": peak,
        "rss_after_ingest_mb": after,
        "messages": float(n),
        "ingest_seconds": ingest_s,
        "msgs_per_s": n / ingest_s,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.messages))
    table(f"Memory of `wa-secretary run`: idle and after {args.messages} messages", result.items())
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
