"""LLM economy on a realistic synthetic day, with a fake LLM counting calls and tokens.

    python -m bench.llm_economy [--messages 5000] [--digest-messages 10000]

Triage: live messages through the real pipeline; only undecided ones go to the LLM, in
batches. Digest: map-reduce summaries of a day. Baseline in the same run: one LLM call per
message (what naive per-message triage would cost). Targets (issue 7): triage LLM calls per
message ≤ 0.1; digest calls for 10 000 messages ≤ 12.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from assistant.digest import DigestService
from assistant.llm.guard import GuardedLLM
from assistant.llm.openai import OpenAIProvider
from assistant.pipeline import IngestService
from assistant.summarize import Summarizer
from assistant.triage_rules import TriageRules
from assistant.triage_service import LLMBatches
from bench.common import table
from bot import render_digest
from core.events import WaMessage
from core.ids import ChatJid, WaMessageId
from core.tasks import Clock
from storage import close_storage, open_storage
from tests.fakes.llm_server import FakeLLMServer
from whatsapp.simulator import SimulatedGateway

ME = "15550001111@s.whatsapp.net"
TEXTS = [
    "ok",
    "haha",
    "see you later",
    "did you see this?",
    "good morning!",
    "thanks",
    "can you send me the file?",
    "meeting moved to 3pm",
    "URGENT call me",
    "the invoice is attached",
    "who is coming tonight?",
    "lol",
    "👍",
    "happy birthday!",
    "where are you?",
    "running late",
    "dinner at 8?",
    "sent",
    "nice",
    "what time?",
]


def respond(messages) -> str:  # type: ignore[no-untyped-def]
    data = json.loads(messages[-1]["content"])
    if "messages" in data:
        return json.dumps(
            {"scores": [{"i": m["i"], "score": 5, "reason": "fake"} for m in data["messages"]]}
        )
    return json.dumps(
        {"summaries": [{"i": c["i"], "summary": "fake summary"} for c in data["chats"]]}
    )


async def run(n: int, digest_n: int) -> dict[str, float]:
    server = FakeLLMServer(respond)
    await server.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    storage = await open_storage(f"sqlite:///{tmp / 'e.db'}")
    clock = Clock()
    llm = GuardedLLM(OpenAIProvider("gpt-4o-mini", "k", server.openai_url), clock)
    gateway = SimulatedGateway(tmp, None, clock)
    rules = TriageRules(own_jids={ME})
    ingest = IngestService(  # batches fill up; flushed at the end
        storage, gateway, frozenset({1}), rules, clock, llm=LLMBatches(llm, max_wait=3600)
    )
    triage = ingest.llm_triage
    assert triage is not None
    gateway.subscribe(ingest.on_event)
    await gateway.start()
    await gateway.play({"event": "connected", "jid": ME})
    rnd = random.Random(5)
    for i in range(n):
        group = rnd.random() < 0.6
        chat = (
            f"1203630000{rnd.randrange(30):04d}@g.us"
            if group
            else f"1555300{rnd.randrange(120):04d}@s.whatsapp.net"
        )
        sender = f"1555400{rnd.randrange(300):04d}@s.whatsapp.net" if group else chat
        text = rnd.choice(TEXTS)
        mention = group and rnd.random() < 0.03
        await gateway.play(
            {
                "event": "message",
                "id": f"E{i}",
                "chat": chat,
                "sender": sender,
                "text": f"@15550001111 {text}" if mention else text,
                "mentions": [ME] if mention else [],
                "push_name": f"P{i % 300}",
            }
        )
    await gateway.drain()
    await ingest.idle()
    await triage.flush()
    triage_calls, triage_tokens = len(server.requests), server.tokens_in + server.tokens_out
    await gateway.stop()
    server.requests.clear()
    now = datetime.now(UTC)
    start = now - timedelta(hours=23)
    batch = []
    for i in range(digest_n):
        c = rnd.randrange(150)
        jid = ChatJid(f"1555500{c:04d}@s.whatsapp.net")
        batch.append(
            WaMessage(
                WaMessageId(f"D{i}"),
                jid,
                jid,
                start + timedelta(seconds=8 * i),
                text=rnd.choice(TEXTS),
                push_name=f"F{c}",
            )
        )
    await storage.messages.store(batch)
    before_in = server.tokens_in
    summarizer = Summarizer(llm)
    digests = DigestService(
        storage, clock, ZoneInfo("UTC"), rules, render_digest.text, summarizer=summarizer
    )
    await digests.build("catchup", hours=24)
    digest_calls = len(server.requests)
    biggest = max((len(r.text) // 4 for r in server.requests), default=0)
    await llm.aclose()
    await close_storage()
    await server.stop()
    return {
        "messages": float(n),
        "triage_llm_calls": float(triage_calls),
        "triage_calls_per_message": triage_calls / n,
        "naive_calls_per_message_baseline": 1.0,
        "ratio_vs_naive": triage_calls / n,
        "triage_tokens": float(triage_tokens),
        "digest_messages": float(digest_n),
        "digest_llm_calls": float(digest_calls),
        "digest_tokens_in": float(server.tokens_in - before_in),
        "largest_digest_call_tokens": float(biggest),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--digest-messages", type=int, default=10_000)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.messages, args.digest_messages))
    table(
        f"LLM economy: a day of {args.messages} messages; digest of {args.digest_messages}",
        result.items(),
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
