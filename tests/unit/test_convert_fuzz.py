"""The converters never raise on hostile events: arbitrary Unicode, sizes, ids, JIDs, kinds,
protocol messages and history chunks go through real neonize protobufs (serialized and
parsed back, as they arrive) into convert/history. A fast run by default; 10 000 examples
each in the slow lane."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import MessageReceived
from whatsapp import convert_history, convert_messages, protos, protos_messages, protos_sync

TEXT = st.text(max_size=300) | st.sampled_from(["", "\x00", "a" * 70_000, "💥" * 100])
USER = st.text(alphabet="0123456789abcdef:.", min_size=0, max_size=30)
SERVER = st.sampled_from(["s.whatsapp.net", "lid", "g.us", "broadcast", "newsletter", "x"])
JID = st.builds(lambda u, s: f"{u}@{s}", USER, SERVER) | st.sampled_from(["", "@", "x"])
KIND = st.sampled_from(
    [
        "text",
        "image",
        "video",
        "audio",
        "voice",
        "document",
        "sticker",
        "location",
        "contact",
        "poll",
        "nonsense",
    ]
)
FIELDS = st.fixed_dictionaries(
    {"kind": KIND, "text": TEXT, "caption": TEXT, "mimetype": TEXT, "file_name": TEXT},
    optional={
        "mentions": st.lists(JID, max_size=5),
        "quoted_id": TEXT,
        "file_size": st.integers(min_value=0, max_value=2**63 - 1),
    },
)
CASES = settings(deadline=None, suppress_health_check=list(HealthCheck))


def live_event(fields, chat, sender, mid, ts_ms, change):
    if change == "edit":
        msg = protos_messages.edit(chat, mid, fields["text"])
    elif change == "revoke":
        msg = protos_messages.revoke(chat, mid, sender)
    elif change == "reaction":
        msg = protos_messages.reaction(chat, sender, mid, fields["text"][:10])
    else:
        msg = protos_messages.content(fields)
    return protos.roundtrip(protos_messages.message_event(msg, chat, sender, mid=mid, ts_ms=ts_ms))


def check_live(fields, chat, sender, mid, ts_ms, change) -> None:
    try:
        ev = live_event(fields, chat, sender, mid, ts_ms, change)
    except (ValueError, TypeError):  # a JID the builder itself cannot express
        return
    out = convert_messages.message_event(ev)
    if isinstance(out, MessageReceived):
        assert isinstance(out.message.text, str) and out.message.timestamp.tzinfo is not None


LIVE = dict(
    fields=FIELDS,
    chat=JID,
    sender=JID,
    mid=TEXT,
    ts_ms=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    change=st.sampled_from([None, "edit", "revoke", "reaction"]),
)


@settings(CASES, max_examples=300)
@given(**LIVE)
def test_live_events_never_crash_the_converter(**kw) -> None:
    check_live(**kw)


@pytest.mark.slow
@settings(CASES, max_examples=10_000)
@given(**LIVE)
def test_live_events_never_crash_the_converter_fuzz(**kw) -> None:
    check_live(**kw)


def check_history(items, chat) -> None:
    webs = []
    for mid, fields, ts in items:
        try:
            webs.append(
                protos_sync.web_message(
                    {"chat": chat, "id": mid, "timestamp": ts, **fields},
                    protos_messages.content(fields),
                )
            )
        except (ValueError, TypeError):
            return
    try:
        ev = protos.roundtrip(protos_sync.history_sync({chat: webs}))
    except (ValueError, TypeError):
        return
    parts = convert_history.history_parts(ev.Data)
    assert len(parts.messages) + parts.skipped <= len(items)


HISTORY = dict(
    items=st.lists(
        st.tuples(TEXT, FIELDS, st.integers(min_value=-(2**40), max_value=2**40)), max_size=8
    ),
    chat=JID,
)


@settings(CASES, max_examples=200)
@given(**HISTORY)
def test_history_chunks_never_crash_the_converter(**kw) -> None:
    check_history(**kw)


@pytest.mark.slow
@settings(CASES, max_examples=10_000)
@given(**HISTORY)
def test_history_chunks_never_crash_the_converter_fuzz(**kw) -> None:
    check_history(**kw)
