"""Calls, stored in their chat as a message of kind ``call`` (so /chat and digests show them),
their state (ringing, missed, answered on another device) kept in the ``call_info`` column;
and the missed calls of a chat in the last minutes, to merge repeated calls.

Blocking functions for use inside storage, on the database thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.events import CallSeen, WaMessage
from core.ids import CallState, MessageKind, WaMessageId
from storage import clean
from storage.chats import load_chats
from storage.db import db
from storage.domain import Chat
from storage.identity import resolve_id
from storage.ingest import StoreCall, store
from storage.models import MessageRecord

#: Calls of one chat this close together are one burst: merged, and counted.
CALL_WINDOW = timedelta(minutes=15)
#: Scores of calls, for digests: a missed call from someone known needs you.
MISSED_KNOWN, MISSED_OTHER, ANSWERED, RINGING = 7, 4, 1, 3


def call_text(state: CallState, video: bool, group: bool) -> str:
    """What a call shows as in its chat: "📞 Missed voice call", ..."""
    kind = ("group " if group else "") + ("video" if video else "voice")
    if state == CallState.MISSED:
        return f"📞 Missed {kind} call"
    if state == CallState.ANSWERED:
        return f"📞 {kind.capitalize()} call, answered on another device"
    return f"📞 Incoming {kind} call"


@dataclass(frozen=True, slots=True)
class CallRecorded:
    """A call as stored now, and what changed."""

    message_id: int
    chat: Chat
    state: CallState
    video: bool
    group: bool
    timestamp: datetime
    #: It is missed now and was not before: the moment to tell the owner.
    became_missed: bool
    #: This chat's missed calls within CALL_WINDOW up to this one, oldest first.
    burst: tuple[datetime, ...]


def _next_state(before: CallState | None, now: CallState) -> CallState:
    """An answered call stays answered (its end is no miss); a ringing one ends missed."""
    if before == CallState.ANSWERED or now == CallState.ANSWERED:
        return CallState.ANSWERED
    if before == CallState.MISSED or now == CallState.MISSED:
        return CallState.MISSED
    return now


def record_call(call: CallSeen, *, account: int) -> CallRecorded | None:
    """Store a call in ``account``'s chat (a new one, or news of one already stored); None
    when its chat cannot be stored. Run inside a transaction."""
    alt = call.caller_alt if not call.group and call.chat == call.caller else None
    msg = WaMessage(
        id=WaMessageId(call.id),
        chat=call.chat,
        sender=call.caller,
        timestamp=call.timestamp,
        kind=MessageKind.CALL,
        text=call_text(call.state, call.video, call.group),
        sender_alt=call.caller_alt,
        chat_alt=alt,
    )
    store([msg], StoreCall(False, None, keep=False, account=account))
    chat_id = resolve_id(clean.ident(call.chat), account=account)
    if chat_id is None:
        return None
    rec = MessageRecord.get_or_none(
        (MessageRecord.chat == chat_id)
        & (MessageRecord.wa_id == clean.ident(call.id))
        & (MessageRecord.kind == MessageKind.CALL.value)
    )
    if rec is None:
        return None
    info = json.loads(rec.call_info or "{}")
    before = CallState(info["state"]) if info.get("state") in set(CallState) else None
    state = _next_state(before, call.state)
    video = bool(info.get("video")) or call.video
    group = bool(info.get("group")) or call.group
    chat = load_chats([chat_id])[chat_id]
    known = chat.known or chat.trusted
    score = {
        CallState.MISSED: MISSED_KNOWN if known else MISSED_OTHER,
        CallState.ANSWERED: ANSWERED,
        CallState.RINGING: RINGING,
    }[state]
    rec.call_info = json.dumps({"state": state.value, "video": video, "group": group})
    rec.text = call_text(state, video, group)
    rec.importance, rec.reason = score, ("missed call" if state == CallState.MISSED else "call")
    rec.save(
        only=[
            MessageRecord.call_info,
            MessageRecord.text,
            MessageRecord.importance,
            MessageRecord.reason,
        ]
    )
    burst = missed_calls(chat_id, rec.timestamp) if state == CallState.MISSED else ()
    return CallRecorded(
        rec.id,
        chat,
        state,
        video,
        group,
        rec.timestamp,
        became_missed=state == CallState.MISSED and before != CallState.MISSED,
        burst=burst,
    )


def missed_calls(chat_id: int, until: datetime) -> tuple[datetime, ...]:
    """The times of a chat's missed calls within CALL_WINDOW up to ``until``, oldest first."""
    since = until - CALL_WINDOW
    p = db.param
    rows = db.execute_sql(
        f"SELECT timestamp, call_info FROM messages WHERE chat_id = {p} AND kind = {p} "
        f"AND timestamp >= {p} AND timestamp <= {p} ORDER BY timestamp",
        (
            chat_id,
            MessageKind.CALL.value,
            int(since.timestamp() * 1000),
            int(until.timestamp() * 1000),
        ),
    ).fetchall()
    utc = MessageRecord.timestamp.python_value
    missed = (utc(ts) for ts, info in rows if json.loads(info or "{}").get("state") == "missed")
    return tuple(t for t in missed if t is not None)
