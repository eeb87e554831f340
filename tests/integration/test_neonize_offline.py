"""The real neonize client with no network: it retries with backoff, never blocks the loop,
never crashes, and gives up after the bound so a supervisor can restart the process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.errors import NotConnected
from core.events import ConnectionChanged, OutgoingMessage
from core.ids import ConnectionState
from tests.fakes.clock import FakeClock
from whatsapp.neonize_backend import NeonizeGateway


async def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_offline_connect_retries_with_backoff_then_gives_up(tmp_path: Path) -> None:
    clock = FakeClock()
    gave_up: list[bool] = []
    g = NeonizeGateway(
        tmp_path,
        str(tmp_path / "whatsapp" / "session.db"),
        clock,
        max_failures=3,
        on_give_up=lambda: gave_up.append(True),
    )
    events: list[ConnectionChanged] = []

    async def record(event):
        if isinstance(event, ConnectionChanged):
            events.append(event)

    g.subscribe(record)
    lag = 0.0

    async def ticker():
        nonlocal lag
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            lag = max(lag, loop.time() - t - 0.01)

    tick = asyncio.create_task(ticker())
    await g.start()
    with_send = OutgoingMessage(to="15550000002@s.whatsapp.net", text="hi")
    try:
        await wait_for(lambda: g.failures == 1)
        await g.drain()
        assert g.state == ConnectionState.RECONNECTING
        assert "Cannot reach WhatsApp" in events[-1].reason
        try:
            await g.send(with_send)
            raise AssertionError("send must refuse while not connected")
        except NotConnected:
            pass
        await clock.advance(2)  # first backoff is 0.8–1.2 s
        await wait_for(lambda: g.failures == 2)
        await clock.advance(3)
        await wait_for(lambda: bool(gave_up))
        assert g.failures == 3 and g.gave_up
    finally:
        await g.stop()
        tick.cancel()
    assert (tmp_path / "whatsapp" / "session.db").exists()
    assert lag < 0.25, f"event loop blocked for {lag:.3f} s"
