"""One account's trouble stays its own: two simulated gateways in one process follow one
feed; account 2 keeps dropping, is logged out, has broken lines, and its consumer raises
on every event or hangs — account 1's messages still all arrive, promptly and in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from core.events import MessageReceived, OutgoingMessage
from core.ids import ConnectionState
from tests.fakes.recorder import Recorder
from tests.support import wait_until
from whatsapp.journal import EventJournal
from whatsapp.session import account_paths
from whatsapp.simulator import SimulatedGateway

ALICE = "15550000002@s.whatsapp.net"
ME = "15550001111@s.whatsapp.net"
ROUNDS = 40


def line(**fields: Any) -> str:
    return json.dumps(fields) + "\n"


def work_trouble(n: int) -> str:
    """Account 2's lines of one round: a connect that drops, a broken line, a message."""
    return (
        line(event="connected", jid=ME, account="work")
        + line(event="disconnected", account="work")
        + line(event="message", id=5, chat=["x"], account="work")  # malformed
        + line(event="message", id=f"W{n}", chat=ALICE, sender=ALICE, text="x", account="work")
    )


def gateway(data: Path, feed: Path, account: int) -> SimulatedGateway:
    paths = account_paths(data, account).create()
    return SimulatedGateway(
        data,
        feed,
        poll_interval=0.01,
        journal=EventJournal(paths.journal_dir),
        account_label="main" if account == 1 else "work",
        first=account == 1,
        account_tag=lambda: "main" if account == 1 else "work",
    )


async def test_account_two_in_trouble_never_holds_up_account_one(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    lines = line(event="connected", jid=ME)
    for n in range(ROUNDS):
        lines += work_trouble(n) + line(
            event="message", id=f"M{n}", chat=ALICE, sender=ALICE, text="hi"
        )
    lines += line(event="logged_out", account="work")
    feed.write_text(lines)

    one, two = gateway(tmp_path, feed, 1), gateway(tmp_path, feed, 2)
    heard = Recorder()
    one.subscribe(heard)
    release = asyncio.Event()
    broken: list[str] = []

    async def raises(event: object) -> None:
        broken.append(type(event).__name__)
        raise RuntimeError("account 2's consumer is broken")

    async def hangs(event: object) -> None:
        if isinstance(event, MessageReceived):
            await release.wait()  # account 2's storing never finishes

    two.subscribe(raises)
    two.subscribe(hangs)
    await two.start()  # account 2 first: its trouble is under way before account 1 starts
    await one.start()
    try:
        await wait_until(
            lambda: heard.handled() == [f"M{n}" for n in range(ROUNDS)],
            timeout=5,
            what="every message of account 1",
        )
        assert one.state == ConnectionState.CONNECTED
        assert broken  # account 2 was in trouble all along
        assert two.inbox.waiting > 0  # ... and is still stuck on its first message
        receipt = await one.send(OutgoingMessage(to=ALICE, text="still here"))
        assert receipt.id.startswith("3EB0")

        release.set()  # account 2 recovers: its own events were kept, in order
        total = len(lines.splitlines())
        await wait_until(lambda: two.lines_done == total, what="account 2's feed")
        await two.drain()
        assert two.state == ConnectionState.LOGGED_OUT
    finally:
        release.set()
        await one.stop()
        await two.stop()
    sent = [json.loads(x) for x in one.sent_path.read_text().splitlines()]
    assert [(x["text"], x["account"]) for x in sent] == [("still here", "main")]
