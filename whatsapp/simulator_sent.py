"""What the simulated session "sent": each message, reaction and edit as the line of
DATA_DIR/simulator/sent.jsonl that the README describes, and the read marks.

Every account's gateway appends to the same file: each line is one ``write`` on a file
opened with ``O_APPEND``, so lines of two gateways never interleave; with more than one
account each line names its account (``"account"``)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.events import OutgoingMessage, SendReceipt
from core.ids import ChatJid, MessageKind, WaMessageId

logger = logging.getLogger(__name__)


def new_message_id() -> WaMessageId:
    """A fresh id in the shape WhatsApp gives the messages we send."""
    return WaMessageId("3EB0" + uuid.uuid4().hex[:16].upper())


class SentLog:
    """The sent.jsonl file and its entries in memory."""

    def __init__(self, path: Path, account_tag: Callable[[], str | None] = lambda: None) -> None:
        """``account_tag``: the account's label to write into each line, or None (a single
        account: no ``"account"`` field); asked at each line, so a rename applies at once."""
        self.path = path
        self._account_tag = account_tag
        self.entries: list[dict[str, Any]] = []
        #: (chat, sender, ids) of every read mark sent, as WhatsApp would receive them.
        self.read_marks: list[tuple[ChatJid, ChatJid, list[WaMessageId]]] = []

    def message(self, message: OutgoingMessage, receipt: SendReceipt) -> None:
        """Record a sent message of any kind."""
        self._record(
            {
                "to": message.to,
                "text": message.text,
                "kind": message.kind.value,
                "quoted_id": message.quoted_id,
                "mentions": list(message.mentions),
                "id": receipt.id,
                "timestamp": int(receipt.timestamp.timestamp()),
                **_kind_fields(message),
            }
        )

    def change(self, kind: str, chat: ChatJid, target: WaMessageId, text: str, when: int) -> None:
        """Record a reaction or an edit (``kind``) of the message ``target``."""
        self._record(
            {
                "to": chat,
                "text": text,
                "kind": kind,
                "quoted_id": target,
                "mentions": [],
                "id": new_message_id(),
                "timestamp": when,
            }
        )

    def read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Remember a read mark, as the phone would show blue ticks."""
        self.read_marks.append((chat, sender, list(ids)))
        logger.debug("simulator: %d message(s) marked read", len(ids))

    def _record(self, entry: dict[str, Any]) -> None:
        tag = self._account_tag()
        if tag is not None:
            entry["account"] = tag
        self.entries.append(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_line(self.path, (json.dumps(entry, ensure_ascii=False) + "\n").encode())


def append_line(path: Path, line: bytes) -> None:
    """Append one whole line with a single ``write`` on an ``O_APPEND`` descriptor: writers
    sharing the file (each account's gateway) never interleave inside a line."""
    # 0o666 as open("a") would: the umask decides
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        written = os.write(fd, line)
        if written != len(line):  # a regular file takes it whole unless the disk is full
            raise OSError(f"sent.jsonl: only {written} of {len(line)} bytes appended")
    finally:
        os.close(fd)


def _kind_fields(message: OutgoingMessage) -> dict[str, Any]:
    """What sent.jsonl adds for a media, location or contact message (README: simulator)."""
    if message.kind == MessageKind.LOCATION:
        place = {"name": message.name, "address": message.address}
        return {
            "latitude": message.latitude,
            "longitude": message.longitude,
            **{k: v for k, v in place.items() if v},
        }
    if message.kind == MessageKind.CONTACT:
        return {"name": message.name, "vcard": message.vcard}
    if not message.media:
        return {}
    fields: dict[str, Any] = {
        "file_name": message.file_name,
        "mimetype": message.mimetype,
        "size": len(message.media),
    }
    if message.kind in (MessageKind.VOICE, MessageKind.AUDIO, MessageKind.VIDEO):
        fields["seconds"] = message.seconds
    if message.gif:
        fields["gif"] = True
    return fields
