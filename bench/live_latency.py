"""Live latency: simulator event → store → triage → the Telegram request at a fake Bot API.

    python -m bench.live_latency [--messages 1000] [--interval-ms 50]

Each message is important (so it is forwarded) and sent only after the previous forward
arrived, and no sooner than ``--interval-ms`` after the previous one started: so the figure
is per-message latency, not queueing. The pace matters because every Telegram send passes
python-telegram-bot's AIORateLimiter (30 messages/s for the bot): back to back
(``--interval-ms 0``) each forward waits ~33 ms for its slot and the limiter is all one
measures. Baseline in the same run, at the same pace: a bare ``send_message`` round trip to
the same fake server (the floor of any forward). Target (issue 7): p99 < 50 ms.

Every event's journal record is fsynced before the session may acknowledge it; the run
also measures the same messages with the fsync switched off, to show what it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.common import summary_ms, table
from tests.bot.conftest import ADMIN, ME, settings_for, start_app, stop_app
from tests.fakes.bot_api import FakeBotApi


async def paced(interval: float, last: float) -> float:
    """Wait until ``interval`` seconds after ``last``; return the new start time."""
    await asyncio.sleep(max(0.0, last + interval - time.perf_counter()))
    return time.perf_counter()


async def run(n: int, interval: float, durable: bool = True) -> dict[str, float]:
    api = FakeBotApi()
    await api.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    feed = tmp / "feed.jsonl"
    feed.write_text("")
    app = await start_app(settings_for(tmp, api, feed))
    services = app.bot_data["services"]
    gateway = services.gateway
    gateway.journal.durable = durable  # the bench's knob: the app always syncs
    await gateway.play({"event": "connected", "jid": ME})
    await gateway.drain()
    floor, start = [], 0.0
    for _ in range(min(n, 200)):
        start = await paced(interval, start)
        await app.bot.send_message(ADMIN, "ping")
        floor.append(time.perf_counter() - start)
    samples = []
    for i in range(n):
        jid = f"1555{i % 50:07d}@s.whatsapp.net"
        marker = f"urgent please call {i}!"
        seen = len(api.calls)
        start = await paced(interval, start)
        await gateway.play(
            {
                "event": "message",
                "id": f"L{i}",
                "chat": jid,
                "sender": jid,
                "text": marker,
                "push_name": f"P{i % 50}",
            }
        )
        while not any(marker in c.text for c in api.calls[seen:]):
            api.changed.clear()
            try:
                await asyncio.wait_for(api.changed.wait(), 5)
            except TimeoutError as exc:
                raise RuntimeError(f"forward {i} never arrived") from exc
        samples.append(time.perf_counter() - start)
    await stop_app(app)
    await api.stop()
    ours, base = summary_ms(samples), summary_ms(floor)
    result = {
        **{f"forward_{k}": v for k, v in ours.items()},
        **{f"bare_send_{k}": v for k, v in base.items()},
        "p99_ratio_vs_bare_send": ours["p99_ms"] / base["p99_ms"],
    }
    return result


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--interval-ms", type=float, default=50.0, help="0: back to back")
    args = parser.parse_args(argv)
    interval = args.interval_ms / 1000
    without = asyncio.run(run(args.messages, interval, durable=False))
    result = asyncio.run(run(args.messages, interval))
    result["forward_p99_ms_without_fsync"] = without["forward_p99_ms"]
    result["forward_p50_ms_without_fsync"] = without["forward_p50_ms"]
    result["p99_ratio_fsync_on_vs_off"] = result["forward_p99_ms"] / without["forward_p99_ms"]
    title = f"Live latency: {args.messages} messages, one per {args.interval_ms:g} ms or slower"
    table(f"{title} (no LLM)", result.items())
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
