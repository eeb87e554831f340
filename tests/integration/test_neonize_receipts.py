"""A receipt as the live client gets it: a real neonize ``Receipt`` protobuf, serialized as
Go hands it over, through neonize's own dispatch (called from a separate thread, as Go
calls it) into the gateway's conversion — the same path the simulator's feed takes."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from pathlib import Path

from neonize.aioze import events as neonize_events
from neonize.events import EVENT_TO_INT

from core.events import ReceiptReceived
from core.ids import ReceiptKind
from tests.fakes.recorder import Recorder
from whatsapp import protos_messages
from whatsapp.neonize_backend import NeonizeGateway

ALICE = "15550000002@s.whatsapp.net"


async def test_a_go_receipt_reaches_subscribers_as_a_domain_event(tmp_path: Path) -> None:
    gateway = NeonizeGateway(tmp_path, str(tmp_path / "session.db"))
    rec = Recorder()
    gateway.subscribe(rec)
    neonize_events.event_global_loop = None
    client = gateway.make_client()  # no connect(): only the dispatch runs
    gateway.start_consumer()
    events = [
        protos_messages.receipt(
            ALICE, "15550000002:7@s.whatsapp.net", ["3EB0X", "3EB0Y"], 4, ts=1_767_225_600
        ),
        protos_messages.receipt(ALICE, ALICE, ["3EB0X"], 5),  # read on my own phone: not a tick
        protos_messages.receipt(ALICE, ALICE, ["3EB0\x00"] * 3, 1),  # nothing usable
        protos_messages.receipt(ALICE, ALICE, ["3EB0Z"], 6),
    ]

    def go_callbacks() -> None:  # what Go's CallbackFunction loop does, event by event
        for ev in events:
            data = ev.SerializeToString()
            buf = ctypes.create_string_buffer(data, len(data))
            client.event.execute(0, ctypes.addressof(buf), len(data), EVENT_TO_INT[type(ev)])

    go = threading.Thread(target=go_callbacks)
    go.start()
    try:
        await asyncio.to_thread(go.join, 10)
        assert not go.is_alive()
        await gateway.drain()
    finally:
        await gateway.stop_consumer()
    got = [e for e in rec.events if isinstance(e, ReceiptReceived)]
    assert [(e.chat, e.sender, e.message_ids, e.kind) for e in got] == [
        (ALICE, ALICE, ("3EB0X", "3EB0Y"), ReceiptKind.READ),
        (ALICE, ALICE, ("3EB0Z",), ReceiptKind.PLAYED),
    ]
    assert got[0].timestamp.timestamp() == 1_767_225_600
