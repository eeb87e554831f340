"""A bad line in the simulator's feed is reported with its number and the follower goes on:
deep nesting, an over-long line, broken JSON, wrong types."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tests.fakes.recorder import Recorder
from tests.support import wait_until
from whatsapp import simulator_feed
from whatsapp.simulator import SimulatedGateway

CHAT = "15550000002@s.whatsapp.net"


async def test_the_follower_outlives_every_bad_line(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(simulator_feed, "MAX_LINE", 4096)
    monkeypatch.setattr(simulator_feed, "READ_LIMIT", 1000)
    good = {"event": "message", "id": "OK1", "chat": CHAT, "sender": CHAT, "text": "still here"}
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "\n".join(
            [
                "[" * 2000 + "]" * 2000,  # RecursionError in json.loads
                "x" * 20_000,  # over MAX_LINE
                "{not json",
                json.dumps({"event": "message", "id": 5, "chat": ["x"]}),
                json.dumps({"event": "history_sync", "messages": "nope"}),
                json.dumps(good),
            ]
        )
        + "\n"
    )
    g = SimulatedGateway(tmp_path, feed, poll_interval=0.01)
    rec = Recorder()
    g.subscribe(rec)
    caplog.set_level(logging.WARNING, logger="whatsapp.simulator_feed")
    await g.start()
    try:
        await wait_until(lambda: "OK1" in rec.handled(), what="the good line")
    finally:
        await g.stop()
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert [s.split(":")[0] for s in skipped] == [f"feed line {n} skipped" for n in range(1, 6)]
