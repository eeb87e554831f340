"""History-sync ingest: real neonize HistorySync protobufs through conversion, storage,
dedupe and heuristic triage, against raw sqlite3 executemany of the same rows.

    python -m bench.history_ingest [--messages 50000] [--chats 500] [--rounds 3]

Targets (issue 7): ≥ 0.5 of raw speed; no write transaction over 100 ms; peak RSS ≤ 512 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import peak_rss_mb, table
from storage import close_storage, open_storage
from storage import ingest as bulk
from whatsapp import convert_history, protos, protos_messages, protos_sync

BATCH = 5000  # messages per HistorySync chunk, and per baseline transaction


def build_chunks(
    n: int, chats: int, id_prefix: str = "3EB0", first: int = 0, first_chat: int = 0
) -> list[bytes]:
    """Serialized HistorySync events, ``BATCH`` messages each, as Go hands them over
    (message ids ``id_prefix`` + a number). Messages are numbered from ``first`` and spread
    over chats numbered from ``first_chat``, so several calls can make disjoint histories."""
    chunks, per_chunk = [], {}
    now = int(time.time()) - n - first
    for i in range(first, first + n):
        c = first_chat + (i - first) % chats
        chat = f"1203630{c:08d}@g.us" if c % 5 == 0 else f"1555{c:07d}@s.whatsapp.net"
        sender = f"1555{(i * 7) % 997:07d}@s.whatsapp.net" if chat.endswith("g.us") else chat
        text = "Can we meet tomorrow at 10?" if i % 9 == 0 else f"message {i} about the project"
        fields = {
            "chat": chat,
            "sender": sender,
            "id": f"{id_prefix}{i:012d}",
            "timestamp": now + i,
            "push_name": f"P{c}",
            "text": text,
        }
        per_chunk.setdefault(chat, []).append(
            protos_sync.web_message(fields, protos_messages.content(fields))
        )
        if (i - first + 1) % BATCH == 0 or i == first + n - 1:
            progress = int((i - first + 1) / n * 100)
            chunks.append(
                protos_sync.history_sync(per_chunk, progress=progress).SerializeToString()
            )
            per_chunk = {}
    return chunks


async def ours(url: str, chunks: list[bytes], durable: bool = True) -> tuple[float, float, int]:
    """Run the production path; return (seconds, longest write transaction, stored)."""
    from assistant.pipeline import IngestService
    from whatsapp.journal import EventJournal
    from whatsapp.simulator import SimulatedGateway

    longest = 0.0
    patched = {  # every write transaction of a history store: the chat passes and each chunk
        (bulk, "store_chunk"): bulk.store_chunk,
        (bulk, "resolve_chunk"): bulk.resolve_chunk,
    }

    def timed(original):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal longest
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                longest = max(longest, time.perf_counter() - start)

        return run

    for (owner, name), original in patched.items():
        setattr(owner, name, timed(original))
    storage = await open_storage(url)
    tmp = Path(tempfile.mkdtemp())
    journal = EventJournal(tmp / "journal", durable=durable)  # as the app (durable)
    gateway = SimulatedGateway(tmp, None, journal=journal)
    ingest = IngestService(storage, gateway, frozenset({1}))
    gateway.subscribe(ingest.on_event)
    gateway.start_consumer()
    start = time.perf_counter()
    for raw in chunks:  # as neonize hands them over: each on disk before it is acknowledged
        await gateway.receive("history_sync", protos.EVENT_TYPES["history_sync"].FromString(raw))
    await gateway.drain()
    elapsed = time.perf_counter() - start
    await gateway.stop_consumer()
    stored = await storage.messages.count()
    await close_storage()
    for (owner, name), original in patched.items():
        setattr(owner, name, original)
    return elapsed, longest, stored


def raw_rows(chunks: list[bytes]) -> tuple[dict[str, int], list[tuple]]:
    """The same messages, pre-converted to rows of the same schema (baseline input)."""
    chat_ids: dict[str, int] = {}
    rows = []
    for raw in chunks:
        parts = convert_history.history_parts(
            protos.EVENT_TYPES["history_sync"].FromString(raw).Data
        )
        for m in parts.messages:
            cid = chat_ids.setdefault(m.chat, len(chat_ids) + 1)
            rows.append(
                (
                    cid,
                    m.id,
                    m.sender,
                    m.push_name,
                    m.kind.value,
                    m.text,
                    "",
                    0,
                    int(m.timestamp.timestamp() * 1000),
                    1,
                    "[]",
                    "{}",
                )
            )
    return chat_ids, rows


def baseline(path: Path, chat_ids: dict[str, int], rows: list[tuple]) -> float:
    """Raw sqlite3 executemany into the same (migrated) schema, 5 000 rows a transaction."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=normal")
    start = time.perf_counter()
    conn.executemany(
        "INSERT INTO chats (id, jid, name, name_rank, is_group, trusted, ai_enabled,"
        " ai_auto, cloud_llm_allowed, include_in_digest, unread, score_bias,"
        " created_at) VALUES (?, ?, ?, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0)",
        [(i, jid, jid) for jid, i in chat_ids.items()],
    )
    sql = (
        "INSERT OR IGNORE INTO messages (chat_id, wa_id, sender, sender_name, kind, text, "
        "caption, from_me, timestamp, history, mentions, reactions, view_once, media_mimetype,"
        " media_file_name, media_size, media_state, media_attempts, edited, deleted, delivery,"
        " reason, feedback) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,'','',0,'none',0,0,0,'','',0)"
    )
    for i in range(0, len(rows), BATCH):
        with conn:
            conn.executemany(sql, rows[i : i + BATCH])
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="best of N, alternating")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    chunks = build_chunks(args.messages, args.chats)
    chat_ids, rows = raw_rows(chunks)
    raw_s = ours_s = unsynced_s = float("inf")
    longest = 0.0
    for n in range(args.rounds):  # alternate, so a noisy neighbour hurts both alike
        base_db = work / f"baseline-{n}.db"
        asyncio.run(_empty_schema(f"sqlite:///{base_db}"))
        raw_s = min(raw_s, baseline(base_db, chat_ids, rows))
        ours_db = work / f"ours-{n}.db"
        took, txn, stored = asyncio.run(ours(f"sqlite:///{ours_db}", chunks))
        ours_s, longest = min(ours_s, took), max(longest, txn)
        quick_db = work / f"unsynced-{n}.db"
        quick, _, _ = asyncio.run(ours(f"sqlite:///{quick_db}", chunks, durable=False))
        unsynced_s = min(unsynced_s, quick)
        with sqlite3.connect(ours_db) as conn:
            (scored,) = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE importance IS NOT NULL"
            ).fetchone()
    result = {
        "messages": float(args.messages),
        "stored": float(stored),
        "scored": float(scored),
        "raw_msgs_per_s": len(rows) / raw_s,
        "ours_msgs_per_s": stored / ours_s,
        "ratio_vs_raw": (stored / ours_s) / (len(rows) / raw_s),
        "ratio_vs_raw_journal_not_fsynced": (stored / unsynced_s) / (len(rows) / raw_s),
        "longest_write_txn_ms": longest * 1000,
        "peak_rss_mb": peak_rss_mb(),
    }
    title = (
        f"History-sync ingest: {args.messages} messages, {args.chats} chats, best of {args.rounds}"
    )
    table(title, result.items())
    print(json.dumps(result))
    return result


async def _empty_schema(url: str) -> None:
    await open_storage(url)
    await close_storage()


if __name__ == "__main__":
    main()
