"""The simulated WhatsApp backend (WHATSAPP_BACKEND=simulator).

It reads the JSONL feed of DESIGN §4 (and follows it like ``tail -f``), builds real neonize
protobuf events from each line, serializes and parses them as neonize's dispatcher does,
and submits them to the same ``GatewayBase`` consumer as the live client. What the bot
sends is appended to DATA_DIR/simulator/sent.jsonl.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from core.errors import GatewayError, NotConnected, SendFailed
from core.events import OutgoingMessage, PairingCodeIssued, SendReceipt
from core.ids import ChatJid, ConnectionState, MessageKind, WaMessageId
from core.media import webp_info
from core.tasks import Clock
from whatsapp import protos
from whatsapp.gateway import GatewayBase, checkable_numbers
from whatsapp.journal import EventJournal
from whatsapp.media import split_media_ref

logger = logging.getLogger(__name__)

#: A feed line longer than this is skipped (a history chunk of 10 000 messages is ~2 MB).
MAX_LINE = 64 * 1024 * 1024
READ_LIMIT = 1024 * 1024  # read a line in pieces: a huge one is never in memory at once

SIMPLE_EVENTS = {"connected", "disconnected", "logged_out", "stream_replaced", "client_outdated"}
MESSAGE_FIELDS = {
    "id",
    "chat",
    "sender",
    "text",
    "push_name",
    "from_me",
    "timestamp",
    "kind",
    "caption",
    "file_name",
    "mimetype",
    "media_file",
    "mentions",
    "quoted_id",
    "group_name",
    "event",
    "options",
    "latitude",
    "longitude",
    "phone",
    "sender_alt",
    "file_size",
}
CALL_FIELDS = {"event", "id", "chat", "sender", "video", "group", "missed", "timestamp"}
CONTACT_FIELDS = {"event", "jid", "name", "lid", "push_name", "business_name"}
RECEIPT_FIELDS = {"event", "chat", "sender", "ids", "type", "timestamp"}
#: The feed's receipt types, as neonize's ``ReceiptType`` numbers them.
RECEIPT_TYPES = {"delivered": 1, "read": 4, "played": 6}
MAX_RECEIPT_IDS = 256
MAX_ID_LENGTH = 128


def _str(obj: dict[str, Any], key: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ValueError(f"field {key!r} must be a non-empty string")
    return value


class SimulatedGateway(GatewayBase):
    """A WhatsApp session played from a feed file; records what the bot sends."""

    def __init__(
        self,
        data_dir: Path,
        feed: Path | None,
        clock: Clock | None = None,
        poll_interval: float = 0.1,
        journal: EventJournal | None = None,
    ) -> None:
        super().__init__(data_dir, clock, journal=journal)
        self.feed = feed
        self.poll_interval = poll_interval
        self.sent_path = data_dir / "simulator" / "sent.jsonl"
        self.sent: list[dict[str, Any]] = []
        #: (chat, sender, ids) of every read mark sent, as WhatsApp would receive them.
        self.read_marks: list[tuple[ChatJid, ChatJid, list[WaMessageId]]] = []
        self.lines_played = 0
        #: Lines whose events are submitted (or that were skipped): how far the feed is played.
        self.lines_done = 0
        self._feed_jid: ChatJid | None = None
        self._logins = 0
        self._feed_codes: list[str] = []  # the feed's QR codes not yet followed by a login
        self._book: dict[str, Any] = {}  # JID → contact-store entry (protobuf)
        self._lid_map: dict[str, ChatJid] = {}  # LID → phone JID, as whatsmeow's lid map
        self._subjects: dict[str, str] = {}  # group JID → the subject last announced
        #: The numbers (digits) the simulated WhatsApp knows as registered: every person in
        #: the feed, and those an ``on_whatsapp`` line lists.
        self.registered: set[str] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the consumer and follow the feed."""
        self.start_consumer()
        await self._set_state(ConnectionState.CONNECTING, "Starting the simulated session.")
        if self.feed is not None:
            self.tasks.spawn(self._follow(self.feed), "feed")

    async def stop(self) -> None:
        """Stop following and handle what is queued."""
        await self.stop_consumer()

    async def _follow(self, feed: Path) -> None:
        while not await asyncio.to_thread(feed.exists):  # noqa: ASYNC110 - polling a file
            await asyncio.sleep(self.poll_interval)
        with feed.open("r", encoding="utf-8", errors="replace") as handle:
            pending, skipping = "", False
            while True:
                chunk = handle.readline(READ_LIMIT)
                if not chunk:
                    await asyncio.sleep(self.poll_interval)
                    continue
                if skipping:  # the rest of a line that was too long
                    skipping = not chunk.endswith("\n")
                    continue
                pending += chunk
                if not pending.endswith("\n"):
                    if len(pending) > MAX_LINE:  # no sane event is this big: drop it
                        self.lines_played += 1
                        logger.warning(
                            "feed line %d skipped: over %d bytes", self.lines_played, MAX_LINE
                        )
                        pending, skipping = "", True
                    continue  # a line still being written
                line, pending = pending.strip(), ""
                self.lines_played += 1
                if line:
                    await self.play_line(line, self.lines_played)
                self.lines_done = self.lines_played

    async def play_line(self, line: str, number: int = 0) -> None:
        """Play one feed line; a bad line is logged and skipped."""
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a feed line must be a JSON object")
            await self.play(obj)
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
            logger.warning("feed line %d skipped: %s", number, str(exc)[:200])
        except Exception:  # the follower must outlive any line
            logger.exception("feed line %d skipped: unexpected error", number)

    async def play(self, obj: dict[str, Any]) -> None:
        """Turn one feed object into neonize events and submit them; the person numbers of
        a line played without error count as on WhatsApp."""
        await self._play(obj)
        self._learn_numbers(obj)

    async def _play(self, obj: dict[str, Any]) -> None:
        event = obj.get("event")
        if event == "sleep":
            await asyncio.sleep(min(float(obj.get("seconds", 0)), 3600))
        elif event == "qr":
            codes = obj.get("codes")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError("qr needs codes: a list of strings")
            self._feed_codes = list(codes)
            await self.receive("qr", codes)
        elif event == "connected":
            self._feed_codes = []
            self._feed_jid = ChatJid(_str(obj, "jid"))
            self.connection.learn_own_jid(self._feed_jid)
            await self.receive("connected", protos.roundtrip(protos.simple("connected")))
        elif event in SIMPLE_EVENTS:
            await self.receive(event, protos.roundtrip(protos.simple(event)))
        elif event == "message":
            self._warn_unknown(obj, MESSAGE_FIELDS)
            await self._group_subject(obj)
            await self.receive("message", protos.roundtrip(self._message(obj)))
        elif event in {"reaction", "edit", "revoke"}:
            await self.receive("message", protos.roundtrip(self._change(event, obj)))
        elif event == "history_sync":
            await self.receive("history_sync", protos.roundtrip(self._history_event(obj)))
        elif event == "contact":
            await self._contact(obj)
        elif event == "call":
            await self._call(obj)
        elif event == "receipt":
            await self.receive("receipt", protos.roundtrip(self._receipt(obj)))
        elif event == "undecryptable":
            self._warn_unknown(obj, {"event", "id", "chat", "sender", "timestamp"})
            ts = obj.get("timestamp")
            if ts is not None and not isinstance(ts, int | float):
                raise ValueError("timestamp must be unix seconds")
            ev = protos.undecryptable(
                _str(obj, "chat"),
                _str(obj, "sender"),
                mid=_str(obj, "id"),
                ts_ms=int(ts * 1000) if ts is not None else None,
            )
            await self.receive("undecryptable", protos.roundtrip(ev))
        elif event == "on_whatsapp":
            self._warn_unknown(obj, {"event", "numbers", "account"})
            numbers = obj.get("numbers")
            if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
                raise ValueError("on_whatsapp needs numbers: a list of strings")
            for number in numbers[:10_000]:
                digits = "".join(ch for ch in number.partition("@")[0] if ch.isdigit())
                self.registered.update(checkable_numbers([digits]))
        elif event == "group":
            members = obj.get("participants") or []
            if not isinstance(members, list):
                raise ValueError("participants must be a list of JIDs")
            admins = obj.get("admins") or []
            if not isinstance(admins, list):
                raise ValueError("admins must be a list of JIDs")
            ev = protos.group_info(
                _str(obj, "jid"),
                _str(obj, "name"),
                [str(m) for m in members],
                promote=[str(a) for a in admins],
            )
            await self.receive("group_info", protos.roundtrip(ev))
        else:
            raise ValueError(f"unknown event {event!r}")

    async def _call(self, obj: dict[str, Any]) -> None:
        """An incoming call: the offer, its acceptance on the phone unless ``missed``, its
        end — each a real neonize call event."""
        self._warn_unknown(obj, CALL_FIELDS)
        ts = obj.get("timestamp")
        if ts is not None and not isinstance(ts, int | float):
            raise ValueError("timestamp must be unix seconds")
        defaults = {"video": False, "group": False, "missed": True}
        flags = {k: obj.get(k, d) for k, d in defaults.items()}
        if not all(isinstance(v, bool) for v in flags.values()):
            raise ValueError("video, group and missed must be true or false")
        for name, ev in protos.call_events(
            _str(obj, "id"),
            _str(obj, "chat"),
            _str(obj, "sender"),
            ts=int(ts) if ts is not None else None,
            **flags,
        ):
            await self.receive(name, protos.roundtrip(ev))

    def _receipt(self, obj: dict[str, Any]) -> Any:
        """Messages we sent were delivered, read or played: a real neonize ``Receipt``."""
        self._warn_unknown(obj, RECEIPT_FIELDS)
        kind_name = obj.get("type")
        kind = RECEIPT_TYPES.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            raise ValueError(f"receipt type must be one of {', '.join(RECEIPT_TYPES)}")
        ids = obj.get("ids")
        if not isinstance(ids, list) or not 0 < len(ids) <= MAX_RECEIPT_IDS:
            raise ValueError(f"receipt needs ids: a list of 1 to {MAX_RECEIPT_IDS} message ids")
        if not all(isinstance(i, str) and 0 < len(i) <= MAX_ID_LENGTH for i in ids):
            raise ValueError(f"receipt ids must be strings of 1 to {MAX_ID_LENGTH} characters")
        ts = obj.get("timestamp")
        if ts is not None and (not isinstance(ts, int | float) or isinstance(ts, bool)):
            raise ValueError("timestamp must be unix seconds")
        return protos.receipt(
            _str(obj, "chat"),
            _str(obj, "sender"),
            list(ids),
            kind,
            ts=int(ts) if ts is not None else None,
        )

    async def _group_subject(self, obj: dict[str, Any]) -> None:
        """A live message's ``group_name``: the subject the session knows, announced as a
        group-info event when it is new (a live MessageEv carries no subject)."""
        chat, subject = obj.get("chat"), obj.get("group_name")
        if not isinstance(chat, str) or not chat.endswith("@g.us") or not subject:
            return
        if self._subjects.get(chat) != str(subject):
            self._subjects[chat] = str(subject)
            ev = protos.group_info(chat, str(subject))
            await self.receive("group_info", protos.roundtrip(ev))

    async def _contact(self, obj: dict[str, Any]) -> None:
        """An entry of the owner's address book: it goes into the simulated contact store
        (read as the real client reads whatsmeow's), its LID into the LID map."""
        self._warn_unknown(obj, CONTACT_FIELDS)
        jid = _str(obj, "jid")
        found = {k: _str(obj, k, "") for k in ("name", "push_name", "business_name")}
        if not any(found.values()):
            raise ValueError("contact needs name, push_name or business_name")
        if obj.get("lid"):
            lid = _str(obj, "lid")
            self._lid_map[lid] = ChatJid(jid)
            ev = protos.history_sync({}, lid_links={jid: lid}, sync_type=4)
            await self.receive("history_sync", protos.roundtrip(ev))
        full = found["name"].strip()
        entry = protos.contact(
            jid,
            full=full,
            first=full.split()[0] if full else "",
            push=found["push_name"],
            business=found["business_name"],
        )
        self._book[jid] = protos.roundtrip(entry)
        self.submit("address_book", ([self._book[jid]], []))

    def _learn_numbers(self, obj: dict[str, Any]) -> None:
        """Remember every person JID a feed line names as a number on WhatsApp."""
        found: list[Any] = [obj.get(k) for k in ("jid", "chat", "sender", "sender_alt")]
        for key in ("participants", "messages"):
            items = obj.get(key)
            if isinstance(items, list):
                found += items[:10_000]
        for item in found:
            if isinstance(item, dict):
                found_in = [item.get(k) for k in ("chat", "sender", "sender_alt")]
            else:
                found_in = [item]
            for jid in found_in:
                if isinstance(jid, str) and jid.endswith("@s.whatsapp.net"):
                    self.registered.update(checkable_numbers([jid.partition("@")[0]]))

    @staticmethod
    def _warn_unknown(obj: dict[str, Any], known: set[str]) -> None:
        unknown = sorted(set(obj) - known)
        if unknown:
            logger.warning("feed: unknown field(s) %s ignored", ", ".join(unknown))

    def _message(self, obj: dict[str, Any]) -> Any:
        msg = protos.content(obj)
        ts = obj.get("timestamp")
        if ts is not None and not isinstance(ts, int | float):
            raise ValueError("timestamp must be unix seconds")
        return protos.message_event(
            msg,
            _str(obj, "chat"),
            _str(obj, "sender"),
            mid=_str(obj, "id"),
            ts_ms=int(ts * 1000) if ts is not None else None,
            push=str(obj.get("push_name", "")),
            from_me=bool(obj.get("from_me", False)),
            sender_alt=obj.get("sender_alt"),
        )

    def _change(self, event: str, obj: dict[str, Any]) -> Any:
        chat, sender, target = _str(obj, "chat"), _str(obj, "sender"), _str(obj, "target_id")
        if event == "reaction":
            msg = protos.reaction(chat, sender, target, str(obj.get("emoji", "")))
        elif event == "edit":
            msg = protos.edit(chat, target, _str(obj, "text", ""))
        else:
            msg = protos.revoke(chat, target)
        mine = bool(obj.get("from_me")) or (bool(self._feed_jid) and sender == self._feed_jid)
        return protos.message_event(msg, chat, sender, mid=_str(obj, "id"), from_me=mine)

    def _history_event(self, obj: dict[str, Any]) -> Any:
        items = obj.get("messages")
        if not isinstance(items, list):
            raise ValueError("history_sync needs messages: a list")
        conversations: dict[str, list[Any]] = defaultdict(list)
        names: dict[str, str] = {}
        for item in items:
            try:
                chat = _str(item, "chat")
                _str(item, "id")
                conversations[chat].append(protos.web_message(item, protos.content(item)))
                if item.get("group_name"):
                    names[chat] = str(item["group_name"])
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                logger.warning("history_sync: one message skipped: %s", exc)
        return protos.history_sync(
            dict(conversations), names, progress=int(obj.get("progress", 100))
        )

    # ------------------------------------------------------------------ operations

    async def _lookup_own_jid(self) -> ChatJid | None:
        return self._feed_jid

    async def _phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        return self._lid_map.get(lid)

    async def _read_contacts(self) -> list[Any]:
        return list(self._book.values())

    async def _read_contact(self, jid: ChatJid) -> list[Any]:
        return [self._book[jid]] if jid in self._book else []

    def _require_connected(self) -> None:
        if self.state != ConnectionState.CONNECTED:
            raise NotConnected(f"WhatsApp is {self.state.value}")

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Record the message in sent.jsonl as WhatsApp would accept it."""
        self._require_connected()
        if message.kind == MessageKind.STICKER and (webp_info(message.media) or (0, 0, True))[2]:
            raise SendFailed("the sticker could not be prepared: not a still WebP image")
        receipt = SendReceipt(
            WaMessageId("3EB0" + uuid.uuid4().hex[:16].upper()), self.clock.now()
        )
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
        return receipt

    async def is_on_whatsapp(self, *numbers: str) -> dict[str, ChatJid | None]:
        """Which of these numbers (international digits) the simulated WhatsApp knows."""
        self._require_connected()
        return {
            n: ChatJid(f"{n}@s.whatsapp.net") if n in self.registered else None
            for n in checkable_numbers(numbers)
        }

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> None:
        """Record a reaction in sent.jsonl (kind "reaction")."""
        self._require_connected()
        self._record(
            {
                "to": chat,
                "text": emoji,
                "kind": "reaction",
                "quoted_id": target,
                "mentions": [],
                "id": "3EB0" + uuid.uuid4().hex[:16].upper(),
                "timestamp": int(time.time()),
            }
        )

    async def edit(self, chat: ChatJid, target: WaMessageId, text: str) -> None:
        """Record the edit in sent.jsonl (``kind`` "edit", ``quoted_id`` the edited message)."""
        self._require_connected()
        self._record(
            {
                "to": chat,
                "text": text,
                "kind": "edit",
                "quoted_id": target,
                "mentions": [],
                "id": "3EB0" + uuid.uuid4().hex[:16].upper(),
                "timestamp": int(self.clock.now().timestamp()),
            }
        )

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Remember the read mark (``read_marks``), as the phone would show blue ticks."""
        self._require_connected()
        self.read_marks.append((chat, sender, list(ids)))
        logger.debug("simulator: %d message(s) marked read", len(ids))

    def _record(self, entry: dict[str, Any]) -> None:
        self.sent.append(entry)
        self.sent_path.parent.mkdir(parents=True, exist_ok=True)
        with self.sent_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    async def request_login(self) -> None:
        """Show the login QR: the feed's codes still pending, else a simulated one (as after
        a logout)."""
        if self.state == ConnectionState.CONNECTED:
            return
        self._logins += 1
        self.connection.reset(ConnectionState.CONNECTING)
        codes = self._feed_codes or [
            f"2@SIMULATED{self._logins},c2ltdWxhdGVk,c2ltdWxhdGVk,c2ltdWxhdGVk"
        ]
        self.submit("qr", list(codes))

    async def pair_phone(self, phone: str) -> str:
        """Return a deterministic pairing code (only while the QR is showing, as in whatsmeow)."""
        if self.state != ConnectionState.WAITING_FOR_QR:
            raise NotConnected(
                "a pairing code can be requested only while the login QR is "
                "showing; send /login first"
            )
        digest = hashlib.sha256(phone.encode()).hexdigest().upper()
        code = f"{digest[:4]}-{digest[4:8]}"
        await self._emit(PairingCodeIssued(code, phone))
        return code

    async def logout(self) -> None:
        """Unlink the simulated device."""
        await self._set_state(
            ConnectionState.LOGGED_OUT, "Logged out from Telegram. Send /login to link again."
        )

    async def _download(self, ref: bytes) -> bytes:
        field, payload = split_media_ref(ref)
        url = getattr(getattr(protos.media_message(field, payload), field), "URL", "")
        if not url.startswith("file://"):
            raise GatewayError("the simulated message has no media_file")
        return await asyncio.to_thread(Path(url.removeprefix("file://")).read_bytes)


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
