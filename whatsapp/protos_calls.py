"""Builders of the events of one incoming call, as whatsmeow delivers them. Importing this
module loads neonize."""

from __future__ import annotations

import time
from typing import Any

from neonize.proto import Neonize_pb2 as N

from whatsapp.protos import EMPTY_JID, jid


def _call_meta(call_id: str, chat: str, caller: str, ts: int) -> Any:
    return N.BasicCallMeta(
        **{"from": jid(chat)},
        timestamp=ts,
        callCreator=jid(caller),
        callCreatorAlt=EMPTY_JID,
        callID=call_id,
    )


def call_events(
    call_id: str,
    chat: str,
    caller: str,
    *,
    video: bool = False,
    group: bool = False,
    missed: bool = True,
    ts: int | None = None,
) -> list[tuple[str, Any]]:
    """The events of one incoming call as whatsmeow delivers them, by gateway name: the
    offer (a notice for a group call), its acceptance on another device unless it was
    missed, and its end."""
    ts = int(time.time()) if ts is None else ts
    meta = _call_meta(call_id, chat, caller, ts)
    remote = N.CallRemoteMeta(remotePlatform="android", remoteVersion="2.25")
    media = "video" if video else "audio"
    if group:
        offer: tuple[str, Any] = (
            "call_offer_notice",
            N.CallOfferNotice(
                basicCallMeta=meta, media=media, type="group", data=N.Node(Tag="offer_notice")
            ),
        )
    else:
        node = N.Node(Tag="offer", Nodes=[N.Node(Tag=media)])
        offer = ("call_offer", N.CallOffer(basicCallMeta=meta, callRemoteMeta=remote, data=node))
    events = [offer]
    if not missed:
        accept = N.CallAccept(basicCallMeta=meta, callRemoteMeta=remote, data=N.Node(Tag="accept"))
        events.append(("call_accept", accept))
    end = N.CallTerminate(basicCallMeta=meta, reason="timeout", data=N.Node(Tag="terminate"))
    events.append(("call_terminate", end))
    return events
