"""The simulated WhatsApp backend (WHATSAPP_BACKEND=simulator).

It follows the JSONL feed of DESIGN §4 like ``tail -f`` (simulator_feed.py), builds real
neonize protobuf events from each line (simulator_lines.py, played by
simulator_player.py), serializes and parses them as neonize's dispatcher does, and submits
them to the same ``GatewayBase`` consumer as the live client. What the bot sends is
appended to DATA_DIR/simulator/sent.jsonl (simulator_sent.py).

One gateway per linked account: each follows the whole feed and plays only its account's
lines (``AccountRoute``: a line's ``"account"`` label, none for the first account); all
append to the one sent.jsonl, naming their account when there are several.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.errors import GatewayError, NotConnected, SendFailed
from core.events import OutgoingMessage, PairingCodeIssued, SendReceipt
from core.ids import ChatJid, ConnectionState, MessageKind, WaMessageId
from core.media import webp_info
from core.tasks import Clock
from whatsapp import protos, simulator_feed
from whatsapp.gateway import GatewayBase, checkable_numbers
from whatsapp.journal import EventJournal
from whatsapp.media import split_media_ref
from whatsapp.simulator_feed import AccountRoute, FeedFollower
from whatsapp.simulator_player import FeedPlayer
from whatsapp.simulator_sent import SentLog, new_message_id

Download = Callable[[bytes], Awaitable[bytes]]


async def read_media_file(ref: bytes) -> bytes:
    """The bytes of a simulated attachment: the ``media_file`` its feed line named."""
    field, payload = split_media_ref(ref)
    url = getattr(getattr(protos.media_message(field, payload), field), "URL", "")
    if not url.startswith("file://"):
        raise GatewayError("the simulated message has no media_file")
    return await asyncio.to_thread(Path(url.removeprefix("file://")).read_bytes)


class SimulatedGateway(GatewayBase):
    """A WhatsApp session played from a feed file; records what the bot sends."""

    def __init__(
        self,
        data_dir: Path,
        feed: Path | None,
        clock: Clock | None = None,
        poll_interval: float = 0.1,
        journal: EventJournal | None = None,
        download: Download = read_media_file,
        account_label: str = "main",
        first: bool = True,
        account_tag: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``download`` fetches an attachment's bytes from its media reference (by default
        the file the feed line named). ``account_label``: the account whose feed lines this
        session plays (``rename`` changes it); ``first``: it is account 1, which also plays
        the lines naming no account; ``account_tag``: the label sent.jsonl lines carry
        (None while there is a single account)."""
        super().__init__(data_dir, clock, journal=journal)
        self.route = AccountRoute(account_label, first)
        self.feed = feed
        self.poll_interval = poll_interval
        self.player = FeedPlayer(self.receive, self.submit, self.connection.learn_own_jid)
        self.follower = FeedFollower(feed, self.play, poll_interval) if feed else None
        self.outbox = SentLog(data_dir / "simulator" / "sent.jsonl", account_tag)
        self._fetch = download
        self._logins = 0

    # ------------------------------------------------------------------ what tests observe

    @property
    def sent_path(self) -> Path:
        """DATA_DIR/simulator/sent.jsonl: what the bot sent."""
        return self.outbox.path

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every sent.jsonl entry written since the start."""
        return self.outbox.entries

    @property
    def read_marks(self) -> list[tuple[ChatJid, ChatJid, list[WaMessageId]]]:
        """(chat, sender, ids) of every read mark sent, as WhatsApp would receive them."""
        return self.outbox.read_marks

    @property
    def lines_played(self) -> int:
        """Feed lines read so far."""
        return self.follower.lines_played if self.follower else 0

    @property
    def lines_done(self) -> int:
        """Lines whose events are submitted (or that were skipped): how far the feed is played."""
        return self.follower.lines_done if self.follower else 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the consumer and follow the feed."""
        self.start_consumer()
        await self._set_state(ConnectionState.CONNECTING, "Starting the simulated session.")
        if self.follower is not None:
            self.tasks.spawn(self.follower.follow(), "feed")

    async def stop(self) -> None:
        """Stop following and handle what is queued."""
        await self.stop_consumer()

    async def play_line(self, line: str, number: int = 0) -> None:
        """Play one feed line; a bad line is logged and skipped."""
        await simulator_feed.play_line(self.play, line, number)

    async def play(self, obj: dict[str, Any]) -> None:
        """Turn one feed object of this account into neonize events and submit them (a
        line of another account is skipped); the person numbers of a line played without
        error count as on WhatsApp."""
        if self.route.mine(obj):
            await self.player.play(obj)

    @property
    def account_label(self) -> str:
        """The label of the account whose feed lines this session plays."""
        return self.route.label

    def rename(self, label: str) -> None:
        """The account was renamed: play the feed lines with its new label from now on."""
        self.route.rename(label)

    # ------------------------------------------------------------------ backend hooks

    async def _lookup_own_jid(self) -> ChatJid | None:
        return self.player.own_jid

    async def _phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        return self.player.lid_map.get(lid)

    async def _read_contacts(self) -> list[Any]:
        return list(self.player.book.values())

    async def _read_contact(self, jid: ChatJid) -> list[Any]:
        return [self.player.book[jid]] if jid in self.player.book else []

    async def _download(self, ref: bytes) -> bytes:
        return await self._fetch(ref)

    # ------------------------------------------------------------------ operations

    def _require_connected(self) -> None:
        if self.state != ConnectionState.CONNECTED:
            raise NotConnected(f"WhatsApp is {self.state.value}")

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Record the message in sent.jsonl as WhatsApp would accept it."""
        self._require_connected()
        if message.kind == MessageKind.STICKER and (webp_info(message.media) or (0, 0, True))[2]:
            raise SendFailed("the sticker could not be prepared: not a still WebP image")
        receipt = SendReceipt(new_message_id(), self.clock.now())
        self.outbox.message(message, receipt)
        return receipt

    async def is_on_whatsapp(self, *numbers: str) -> dict[str, ChatJid | None]:
        """Which of these numbers (international digits) the simulated WhatsApp knows."""
        self._require_connected()
        return {
            n: ChatJid(f"{n}@s.whatsapp.net") if n in self.player.registered else None
            for n in checkable_numbers(numbers)
        }

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> None:
        """Record a reaction in sent.jsonl (kind "reaction")."""
        self._require_connected()
        self.outbox.change("reaction", chat, target, emoji, int(time.time()))

    async def edit(self, chat: ChatJid, target: WaMessageId, text: str) -> None:
        """Record the edit in sent.jsonl (``kind`` "edit", ``quoted_id`` the edited message)."""
        self._require_connected()
        self.outbox.change("edit", chat, target, text, int(self.clock.now().timestamp()))

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Remember the read mark (``read_marks``), as the phone would show blue ticks."""
        self._require_connected()
        self.outbox.read(chat, sender, ids)

    async def request_login(self) -> None:
        """Show the login QR: the feed's codes still pending, else a simulated one (as after
        a logout)."""
        if self.state == ConnectionState.CONNECTED:
            return
        self._logins += 1
        self.connection.reset(ConnectionState.CONNECTING)
        codes = self.player.pending_codes or [
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
