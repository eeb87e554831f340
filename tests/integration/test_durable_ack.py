"""Acknowledged means durable: Go's callback into neonize does not return (and so whatsmeow
does not acknowledge the event to WhatsApp) before the event's journal record is fsynced.
Runs neonize's real dispatch, called from a separate thread as Go calls it."""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
from pathlib import Path

from neonize.aioze import events as neonize_events
from neonize.events import EVENT_TO_INT

from core.events import MessageReceived
from tests.support import wait_until
from whatsapp import protos_messages
from whatsapp.journal import EventJournal
from whatsapp.neonize_backend import NeonizeGateway

ALICE = "15550000002@s.whatsapp.net"


async def test_go_waits_until_the_record_is_on_disk(tmp_path: Path) -> None:
    order: list[str] = []
    disk_may_finish = threading.Event()

    def slow_fsync(fd: int) -> None:
        assert disk_may_finish.wait(10)
        os.fsync(fd)
        order.append("fsync")

    journal = EventJournal(tmp_path / "journal", fsync=slow_fsync)
    gateway = NeonizeGateway(tmp_path, str(tmp_path / "session.db"), journal=journal)
    received: list[MessageReceived] = []

    async def record(event) -> None:
        if isinstance(event, MessageReceived):
            received.append(event)

    gateway.subscribe(record)
    neonize_events.event_global_loop = None
    client = gateway.make_client()  # no connect(): only the dispatch runs
    gateway.start_consumer()
    ev = protos_messages.message_event(
        protos_messages.content({"text": "hello"}), ALICE, ALICE, mid="3EB0DURABLE"
    )
    data = ev.SerializeToString()
    buf = ctypes.create_string_buffer(data, len(data))

    def go_callback() -> None:  # what Go's CallbackFunction loop does for one event
        client.event.execute(0, ctypes.addressof(buf), len(data), EVENT_TO_INT[type(ev)])
        order.append("ack")

    go = threading.Thread(target=go_callback)
    go.start()
    try:
        await wait_until(lambda: journal.end > 0)  # the record is written ...
        await asyncio.to_thread(go.join, 0.2)
        assert go.is_alive() and order == []  # ... but Go is held while it is not on disk
        disk_may_finish.set()
        await asyncio.to_thread(go.join, 10)
        assert not go.is_alive()
        assert order == ["fsync", "ack"]
        await gateway.drain()
        assert [e.message.id for e in received] == ["3EB0DURABLE"]
    finally:
        disk_may_finish.set()
        await gateway.stop_consumer()
