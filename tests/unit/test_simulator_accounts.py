"""Several linked accounts in the simulator: one gateway per account follows the one feed
and plays only its account's lines; all append to the one sent.jsonl, naming their account
when there are several, and never interleave a line."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from core.events import OutgoingMessage, QrIssued
from core.ids import ConnectionState
from tests.fakes.recorder import Recorder
from tests.support import wait_until
from whatsapp.simulator import SimulatedGateway
from whatsapp.simulator_feed import AccountRoute
from whatsapp.simulator_sent import append_line

ALICE = "15550000002@s.whatsapp.net"
BOB = "15550000003@s.whatsapp.net"


def line(**fields: Any) -> str:
    return json.dumps(fields) + "\n"


def msg(wa_id: str, **extra: Any) -> str:
    return line(event="message", id=wa_id, chat=ALICE, sender=ALICE, text="hi", **extra)


def qr_codes(rec: Recorder) -> list[str]:
    return [e.code for e in rec.events if isinstance(e, QrIssued)]


async def gateways(
    tmp_path: Path, feed: Path, *labels: str
) -> list[tuple[SimulatedGateway, Recorder]]:
    made = []
    for label in labels:
        g = SimulatedGateway(
            tmp_path / label,
            feed,
            poll_interval=0.01,
            account_label=label,
            first=label == "main",  # the first account: it plays the lines naming none
        )
        rec = Recorder()
        g.subscribe(rec)
        await g.start()
        made.append((g, rec))
    return made


async def test_each_account_plays_only_its_own_lines(tmp_path: Path, caplog) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        line(event="qr", codes=["2@MAIN"])
        + line(event="qr", codes=["2@WORK"], account="work")
        + line(event="connected", jid="15550001111@s.whatsapp.net")
        + msg("NOLABEL")
        + msg("FORWORK", account="Work")
        + msg("FORMAIN", account="MAIN")
        + msg("NOBODY", account="holiday")
        + msg("NOBODY2", account="holiday")
        + line(event="logged_out", account="work")
        + msg("END")
    )
    caplog.set_level(logging.DEBUG, logger="whatsapp.simulator_feed")
    (main, main_rec), (work, work_rec) = await gateways(tmp_path, feed, "main", "work")
    try:
        await wait_until(lambda: main.lines_done == 10 and work.lines_done == 10)
        await main.drain()
        await work.drain()
    finally:
        await main.stop()
        await work.stop()
    assert main_rec.handled() == ["NOLABEL", "FORMAIN", "END"]
    assert work_rec.handled() == ["FORWORK"]
    assert qr_codes(main_rec) == ["2@MAIN"] and qr_codes(work_rec) == ["2@WORK"]
    assert main.state == ConnectionState.CONNECTED  # work's logout is not main's
    assert work.state == ConnectionState.LOGGED_OUT
    noted = [r for r in caplog.records if "holiday" in r.getMessage()]
    assert [r.levelno for r in noted] == [logging.DEBUG]  # once, by the first account
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_gateway_made_later_plays_its_account_from_the_start(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(msg("M1") + line(event="qr", codes=["2@LATE"], account="work"))
    [(main, main_rec)] = await gateways(tmp_path, feed, "main")
    try:
        await wait_until(lambda: main.lines_done == 2)
        [(work, work_rec)] = await gateways(tmp_path, feed, "work")  # added while running
        await wait_until(lambda: qr_codes(work_rec) == ["2@LATE"])
        assert work.state == ConnectionState.WAITING_FOR_QR
        with feed.open("a") as handle:  # both go on following the feed
            handle.write(msg("W1", account="work") + msg("M2"))
        await wait_until(lambda: work_rec.handled() == ["W1"])
        await wait_until(lambda: main_rec.handled() == ["M1", "M2"])
        await work.stop()
    finally:
        await main.stop()
    assert qr_codes(main_rec) == []


async def test_a_renamed_account_plays_the_lines_of_its_new_label(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(msg("OLD", account="work"))
    made = await gateways(tmp_path, feed, "main", "work")
    work, rec = made[1]
    try:
        await wait_until(lambda: rec.handled() == ["OLD"])
        work.rename("Office")
        assert work.account_label == "Office"
        with feed.open("a") as handle:
            handle.write(msg("GONE", account="work") + msg("NEW", account="office"))
        await wait_until(lambda: work.lines_done == 3)
        await work.drain()
    finally:
        for g, _ in made:
            await g.stop()
    assert rec.handled() == ["OLD", "NEW"]


def test_a_malformed_account_is_the_first_accounts_error_and_others_skip_it() -> None:
    first, other = AccountRoute("main", True), AccountRoute("work", False)
    for bad in (5, "", "  ", ["work"]):
        assert not other.mine({"event": "message", "account": bad})
        try:
            first.mine({"event": "message", "account": bad})
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was taken")


async def test_sent_lines_name_the_account_when_there_are_several(tmp_path: Path) -> None:
    tags: dict[str, str | None] = {"main": None, "work": None}
    made = []
    for n, label in enumerate(tags):
        g = SimulatedGateway(
            tmp_path,
            None,
            account_label=label,
            first=n == 0,
            account_tag=lambda label=label: tags[label],
        )
        await g.start()
        await g.play({"event": "connected", "jid": ALICE, "account": label})
        await g.drain()
        made.append(g)
    main, work = made
    try:
        await main.send(OutgoingMessage(to=ALICE, text="single"))
        tags.update(main="main", work="Work")  # a second account was added
        await main.send(OutgoingMessage(to=ALICE, text="from main"))
        await work.send(OutgoingMessage(to=BOB, text="from work"))
        await work.react(BOB, BOB, "3EB0X", "👍")
    finally:
        for g in made:
            await g.stop()
    lines = [json.loads(x) for x in main.sent_path.read_text().splitlines()]
    assert [(x["text"], x.get("account", "-")) for x in lines] == [
        ("single", "-"),
        ("from main", "main"),
        ("from work", "Work"),
        ("👍", "Work"),
    ]
    assert [x["text"] for x in work.sent] == ["from work", "👍"]  # each keeps its own


def test_two_writers_at_once_never_interleave_a_line(tmp_path: Path) -> None:
    path = tmp_path / "sent.jsonl"
    start = threading.Barrier(2)

    def write(who: str) -> None:
        start.wait()
        for n in range(300):
            body = json.dumps({"account": who, "n": n, "text": who * 3000})
            append_line(path, (body + "\n").encode())

    threads = [threading.Thread(target=write, args=(who,)) for who in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert sorted((x["account"], x["n"]) for x in lines) == sorted(
        (who, n) for who in "ab" for n in range(300)
    )
