"""Receipts through the real conversion code: what counts, and what a hostile one loses."""

from __future__ import annotations

import logging

from core.ids import ReceiptKind
from whatsapp import convert_receipts, protos, protos_messages

ALICE = "15550000002@s.whatsapp.net"
ALICE_LID = "987654321012345@lid"
BOB = "15550000003@s.whatsapp.net"
GROUP = "120363000000000001@g.us"


def receipt(chat=ALICE, sender=ALICE, ids=("3EB0A",), kind=1, **kw):
    return convert_receipts.receipt_event(
        protos.roundtrip(protos_messages.receipt(chat, sender, list(ids), kind, **kw))
    )


def test_delivered_read_played_with_sender_and_time() -> None:
    ev = receipt(sender=f"{ALICE.split('@')[0]}:3@s.whatsapp.net", ts=1_767_225_600)
    assert ev is not None and ev.kind == ReceiptKind.DELIVERED and ev.sender == ALICE
    assert ev.timestamp.year == 2026 and ev.message_ids == ("3EB0A",)
    assert receipt(kind=4).kind == ReceiptKind.READ
    assert receipt(kind=6).kind == ReceiptKind.PLAYED
    assert receipt(sender=ALICE_LID) is not None  # her hidden id is still her
    assert receipt(chat=GROUP, sender=BOB).sender == BOB  # a participant of a group


def test_other_types_own_devices_and_strangers_are_ignored(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="whatsapp.convert_receipts")
    for kind in (2, 3, 5, 7, 8, 11):  # sender, retry, read-self, ...: not ticks
        assert receipt(kind=kind) is None
    # A type newer than this protobuf (99) parses as unset, which reads as "delivered".
    data = protos_messages.receipt(ALICE, ALICE, ["3EB0A"], 1).SerializeToString()
    at = data.rfind(b"\x20\x01")  # field 4 (Type), varint 1
    future = type(protos_messages.receipt(ALICE, ALICE, ["x"])).FromString(data[:at] + b"\x20\x63")
    assert future.Type == 1 and convert_receipts.receipt_event(future) is None
    assert receipt(from_me=True) is None
    assert receipt(sender=BOB) is None  # Bob cannot read Alice's chat
    assert "not the person of that chat" in caplog.text


def test_ids_are_bounded_and_unusable_ones_dropped(caplog) -> None:
    caplog.set_level(logging.INFO, logger="whatsapp.convert_receipts")
    many = [f"3EB0{i:06d}" for i in range(300)]
    ev = receipt(ids=many)
    assert ev is not None and ev.message_ids == tuple(many[:256])
    bad = ["", "x" * 129, "3EB0\x00NUL", "3EB0ü", "3EB0\nX", "3EB0OK"]
    assert receipt(ids=bad).message_ids == ("3EB0OK",)
    assert receipt(ids=bad[:-1]) is None
    assert "5 unusable message id(s) dropped" in caplog.text
    assert "only the first 256 kept" in caplog.text
