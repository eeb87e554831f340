"""What the live session sends and fetches: messages of every kind (built by outbound.py),
reactions, edits, read marks, and attachment downloads. Each needs a connected session
(NotConnected otherwise); neonize's errors become ``SendFailed`` or ``GatewayError``."""

from __future__ import annotations

from collections.abc import Callable

from neonize.exc import NeonizeError
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E
from neonize.utils.enum import ReceiptType

from core.errors import GatewayError, NotConnected, SendFailed
from core.events import OutgoingMessage, SendReceipt
from core.ids import ChatJid, ConnectionState, WaMessageId
from whatsapp import outbound, protos
from whatsapp.convert_fields import from_s
from whatsapp.media import split_media_ref
from whatsapp.neonize_client import GoClient, not_connected


def _send_error(exc: NeonizeError) -> NotConnected | SendFailed:
    """NotConnected when the session dropped, else SendFailed (WhatsApp refused)."""
    text = str(exc)[:200]
    return NotConnected(text) if not_connected(exc) else SendFailed(text)


class NeonizeSending:
    """Sends through the session's ``GoClient`` while it is connected."""

    def __init__(self, go: GoClient, state: Callable[[], ConnectionState]) -> None:
        self._go = go
        self._state = state

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Send any kind of OutgoingMessage; quoted when it is a reply."""
        client = self._go.live(self._state())
        try:
            built = await outbound.build(client, message)
            resp = await client.send_message(protos.jid(message.to), built)
        except NeonizeError as exc:
            raise _send_error(exc) from exc
        except (ValueError, OSError) as exc:  # media WhatsApp cannot take (PIL, our checks)
            why = f"the {message.kind.value} could not be prepared: {exc}"
            raise SendFailed(why[:200]) from exc
        return SendReceipt(WaMessageId(resp.ID), from_s(int(resp.Timestamp)))

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> None:
        """React to a message ("" removes the reaction)."""
        client = self._go.live(self._state())
        try:
            msg = await client.build_reaction(protos.jid(chat), protos.jid(sender), target, emoji)
            await client.send_message(protos.jid(chat), msg)
        except NeonizeError as exc:
            raise SendFailed(str(exc)[:200]) from exc

    async def edit(self, chat: ChatJid, target: WaMessageId, text: str) -> None:
        """Edit one of my sent texts (WhatsApp allows it for 15 minutes)."""
        client = self._go.live(self._state())
        try:
            await client.edit_message(protos.jid(chat), target, E2E.Message(conversation=text))
        except NeonizeError as exc:
            raise _send_error(exc) from exc

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Mark these messages read (their sender sees blue ticks)."""
        client = self._go.live(self._state())
        try:
            await client.mark_read(
                *ids, chat=protos.jid(chat), sender=protos.jid(sender), receipt=ReceiptType.READ
            )
        except NeonizeError as exc:
            raise GatewayError(str(exc)[:200]) from exc

    async def download(self, ref: bytes) -> bytes:
        """The bytes of the attachment a convert_content.py media reference points at."""
        client = self._go.live(self._state())
        msg = protos.media_message(*split_media_ref(ref))
        try:
            data = await client.download_any(msg)
        except NeonizeError as exc:
            raise GatewayError(f"download failed: {str(exc)[:150]}") from exc
        return bytes(data or b"")
