"""Several accounts in one process (issue 21): the whole bot (simulator backend, fake Bot API)
with 1 and then 10 linked accounts.

    python -m bench.accounts [--accounts 10] [--history 5000] [--messages 300]

Measured in one run:
- idle RSS per extra account: RSS with N accounts minus RSS with one, over N-1 (target ≤ 15 MB;
  simulated sessions: a real neonize client adds its Go session on top);
- history sync: N accounts each receiving ``--history`` messages at once, as messages stored a
  second, against one account receiving all N × ``--history`` alone in the same run, each
  into an empty store (target ≥ 0.8);
- live forwards with all N accounts active (messages round-robin over them, paced so the
  figure is latency, not queueing): p99 (target < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from pathlib import Path

from bench.common import rss_mb, summary_ms, table
from bench.history_ingest import build_chunks
from bot.handlers.accounts import start_account
from tests.bot.conftest import settings_for, start_app, stop_app
from tests.fakes.bot_api import FakeBotApi
from whatsapp import protos

HISTORY_TYPE = protos.EVENT_TYPES["history_sync"]
#: Chats in each account's history.
CHATS = 50


def own(i: int) -> str:
    """The own number of account ``i``."""
    return f"1555900{i:04d}@s.whatsapp.net"


async def add_accounts(app, n: int) -> None:  # type: ignore[no-untyped-def]
    """Add accounts 2..n the way /accounts does, and connect each."""
    s = app.bot_data["services"]
    for i in range(2, n + 1):
        info = await s.storage.accounts.add(f"acct{i}")
        account = s.factory.build(info)
        s.accounts.add(account)
        await start_account(app, s, account)
        line = {"event": "connected", "jid": own(i), "account": account.label}
        await account.gateway.play(line)
        await account.gateway.drain()


async def history(app, accounts: list, n: int, chats: int) -> float:  # type: ignore[no-untyped-def]
    """Every account in ``accounts`` receives ``n`` history messages in ``chats`` chats at
    once; return the messages stored a second over all of them."""
    chunks = [HISTORY_TYPE.FromString(raw) for raw in build_chunks(n, chats)]
    s = app.bot_data["services"]
    before = await s.storage.messages.count()

    async def sync(account) -> None:  # type: ignore[no-untyped-def]
        for chunk in chunks:
            await account.gateway.receive("history_sync", chunk)
        await account.gateway.drain()
        await account.ingest.idle()

    start = time.perf_counter()
    await asyncio.gather(*(sync(a) for a in accounts))
    elapsed = time.perf_counter() - start
    stored = await s.storage.messages.count() - before
    assert stored == n * len(accounts), (stored, n, len(accounts))
    return stored / elapsed


async def live(app, api: FakeBotApi, n: int, interval: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Forward latency of ``n`` important messages spread over every account."""
    s = app.bot_data["services"]
    accounts = list(s.accounts)
    samples, start = [], 0.0
    for i in range(n):
        account = accounts[i % len(accounts)]
        jid = f"1555{i % 40:07d}@s.whatsapp.net"
        marker = f"urgent please call {i}!"
        seen = len(api.calls)
        await asyncio.sleep(max(0.0, start + interval - time.perf_counter()))
        start = time.perf_counter()
        await account.gateway.play(
            {
                "event": "message",
                "id": f"L{i}",
                "chat": jid,
                "sender": jid,
                "text": marker,
                "account": account.label,
            }
        )
        while not any(marker in c.text for c in api.calls[seen:]):
            api.changed.clear()
            await asyncio.wait_for(api.changed.wait(), 5)
        samples.append(time.perf_counter() - start)
    return samples


async def started(tmp: Path, api: FakeBotApi):  # type: ignore[no-untyped-def]
    """The whole bot on a fresh data directory, its first account connected."""
    feed = tmp / "feed.jsonl"
    feed.write_text(json.dumps({"event": "connected", "jid": own(1)}) + "\n")
    app = await start_app(settings_for(tmp, api, feed))
    await app.bot_data["services"].account.gateway.drain()
    await api.wait_for(lambda c: c.method == "setMyCommands")
    return app


async def settled_rss() -> float:
    """RSS once garbage is collected and the loop has idled a moment."""
    gc.collect()
    await asyncio.sleep(1)
    return rss_mb()


async def run(n_accounts: int, n_history: int, n_live: int, interval: float) -> dict[str, float]:
    api = FakeBotApi()
    await api.start()
    app = await started(Path(tempfile.mkdtemp(prefix="bench-accounts-")), api)
    s = app.bot_data["services"]
    rss_one = await settled_rss()  # first, before any history has grown the heap
    await add_accounts(app, n_accounts)
    rss_all = await settled_rss()
    rate_all = await history(app, list(s.accounts), n_history, CHATS)
    samples = await live(app, api, n_live, interval)
    await stop_app(app)
    # Baseline: one account receives all the history alone (as many messages and chats,
    # into an empty store, so only the concurrency differs).
    app = await started(Path(tempfile.mkdtemp(prefix="bench-accounts-one-")), api)
    one = [app.bot_data["services"].account]
    single_rate = await history(app, one, n_history * n_accounts, CHATS * n_accounts)
    await stop_app(app)
    await api.stop()
    lat = summary_ms(samples)
    return {
        "accounts": n_accounts,
        "idle_rss_one_mb": rss_one,
        "idle_rss_all_mb": rss_all,
        "idle_mb_per_extra_account": (rss_all - rss_one) / (n_accounts - 1),
        "history_msgs_per_s_one_account": single_rate,
        "history_msgs_per_s_concurrent": rate_all,
        "history_ratio_concurrent_vs_one": rate_all / single_rate,
        **{f"live_{k}": v for k, v in lat.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.accounts, args.history, args.messages, args.interval_ms / 1000))
    table(f"{args.accounts} accounts in one process", result.items())
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
