"""Child process for the crash tests: ingest through a journaling gateway, optionally
stalling after storing some messages so the parent can kill -9 it mid-way."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from assistant.pipeline import IngestService
from core.events import MessageReceived
from storage import close_storage, open_storage
from whatsapp.journal import EventJournal
from whatsapp.simulator import SimulatedGateway


async def main(data: Path, count: int, stall_after: int, prefix: str) -> None:
    storage = await open_storage(f"sqlite:///{data / 'db.sqlite'}")
    gateway = SimulatedGateway(data, None, journal=EventJournal(data / "journal"))
    ingest = IngestService(storage, gateway, frozenset({1}))
    stored = 0

    async def stalling(event) -> None:  # type: ignore[no-untyped-def]
        nonlocal stored
        if not isinstance(event, MessageReceived):
            await ingest.on_event(event)
            return
        if stall_after >= 0 and stored >= stall_after:
            print("STALLED", flush=True)
            await asyncio.Event().wait()  # hang here until killed
        await ingest.on_event(event)
        stored += 1

    gateway.subscribe(stalling)
    await gateway.start()  # replays what the journal still holds
    for i in range(count):
        chat = f"1555{i % 7:07d}@s.whatsapp.net"
        await gateway.play(
            {
                "event": "message",
                "id": f"K{prefix}-{i}",
                "chat": chat,
                "sender": chat,
                "text": f"message {i}",
            }
        )
    print("SUBMITTED", flush=True)
    await gateway.drain()
    print("COUNT", await storage.messages.count(), flush=True)
    await gateway.stop()
    await close_storage()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
