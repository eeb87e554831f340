"""Call events, undecryptable messages and contact-store entries through the real protobufs
(serialized and parsed as neonize's dispatcher does) and the gateway's conversion; hostile
values give a logged skip, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from neonize.proto import Neonize_pb2 as N

from core.ids import CallState, MessageKind
from whatsapp import (
    convert_calls,
    convert_contacts,
    convert_messages,
    protos,
    protos_calls,
    protos_messages,
    protos_sync,
)

MOM = "4915112345678@s.whatsapp.net"
MOM_LID = "201000000000001@lid"
GROUP = "120363000000000101@g.us"


def converted(name: str, ev) -> object:
    return convert_calls.call_event(name, protos.roundtrip(ev))


def test_a_missed_voice_call_is_an_offer_then_an_end() -> None:
    events = protos_calls.call_events("C1", MOM, MOM, ts=1_780_000_000)
    assert [n for n, _ in events] == ["call_offer", "call_terminate"]
    offer, end = (converted(n, e) for n, e in events)
    assert (offer.id, offer.chat, offer.caller, offer.state) == ("C1", MOM, MOM, CallState.RINGING)
    assert not offer.video and not offer.group and offer.timestamp.year == 2026
    assert end.state == CallState.MISSED


def test_video_group_and_answered_elsewhere_are_told_apart() -> None:
    events = protos_calls.call_events("C2", GROUP, MOM, video=True, group=True, missed=False)
    assert [n for n, _ in events] == ["call_offer_notice", "call_accept", "call_terminate"]
    notice, accept, _ = (converted(n, e) for n, e in events)
    assert notice.group and notice.video and notice.chat == GROUP and notice.caller == MOM
    assert accept.state == CallState.ANSWERED
    [(name, ev)] = protos_calls.call_events("C3", MOM, MOM, video=True)[:1]
    assert converted(name, ev).video  # the <video/> child of the offer node


def test_a_call_from_a_lid_keeps_its_phone_alternate() -> None:
    [(name, ev), _] = protos_calls.call_events("C4", MOM_LID, MOM_LID)
    ev.basicCallMeta.callCreatorAlt.CopyFrom(protos.jid(MOM))
    call = converted(name, ev)
    assert (call.chat, call.caller, call.caller_alt) == (MOM_LID, MOM_LID, MOM)


def test_calls_without_id_or_caller_are_skipped(caplog) -> None:
    [(name, ev), _] = protos_calls.call_events("", MOM, MOM)
    assert converted(name, ev) is None
    [(name, ev), _] = protos_calls.call_events("C5", MOM, MOM)
    ev.basicCallMeta.callCreator.CopyFrom(protos.EMPTY_JID)
    getattr(ev.basicCallMeta, "from").CopyFrom(protos.EMPTY_JID)
    assert converted(name, ev) is None
    assert "call event without call id or caller skipped" in caplog.text


@settings(max_examples=200, deadline=None)
@given(
    call_id=st.text(max_size=300),
    user=st.text(max_size=40),
    server=st.sampled_from(["s.whatsapp.net", "lid", "g.us", "broadcast", ""]),
    ts=st.integers(min_value=-(2**62), max_value=2**62),
    media=st.text(max_size=20),
)
def test_hostile_call_events_never_raise(call_id, user, server, ts, media) -> None:
    who = N.JID(User=user, Server=server, Device=0, RawAgent=0, Integrator=0, IsEmpty=False)
    meta = N.BasicCallMeta(
        **{"from": who}, timestamp=ts, callCreator=who, callCreatorAlt=who, callID=call_id
    )
    ev = N.CallOfferNotice(basicCallMeta=meta, media=media, type=media, data=N.Node(Tag=media))
    call = converted("call_offer_notice", ev)
    assert call is None or (len(call.id) <= 128 and call.chat and call.caller)


def test_an_undecryptable_message_is_a_placeholder_unless_hidden() -> None:
    ev = protos_messages.undecryptable(MOM, MOM, mid="3EB0X", ts_ms=1_780_000_000_000)
    waiting = convert_messages.undecryptable_event(protos.roundtrip(ev))
    msg = waiting.message
    assert (msg.id, msg.chat, msg.kind, msg.text) == ("3EB0X", MOM, MessageKind.WAITING, "")
    ev.DecryptFailMode = N.UndecryptableMessage.DECRYPT_FAIL_HIDE  # e.g. a poll vote
    assert convert_messages.undecryptable_event(protos.roundtrip(ev)) is None


def test_contact_store_entries_keep_every_name() -> None:
    entry = protos_sync.contact(MOM, full="Mom", first="Mom", push="Linda", business="")
    found = convert_contacts.contact_entry(protos.roundtrip(entry))
    assert (found.jid, found.name, found.first_name, found.push_name) == (
        MOM,
        "Mom",
        "Mom",
        "Linda",
    )
    assert convert_contacts.contact_entry(protos_sync.contact(GROUP, full="a group")) is None
    assert convert_contacts.contact_entry(protos_sync.contact(MOM)) is None  # names nobody
