"""Conversion of hand-built neonize protobufs (serialized and parsed, as Go delivers them)."""

from __future__ import annotations

from datetime import UTC, datetime

from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E

from core.events import MessageEdited, MessageReceived, MessageRevoked, ReactionReceived
from core.ids import OWN_SENDER, MessageKind, ReceiptKind
from whatsapp import (
    convert_content,
    convert_history,
    convert_messages,
    convert_receipts,
    protos,
    protos_messages,
    protos_sync,
)

ALICE = "15550000002@s.whatsapp.net"
ALICE_LID = "987654321012345@lid"
GROUP = "120363000000000001@g.us"


def received(msg, chat=ALICE, sender=ALICE, **kw) -> MessageReceived:
    event = convert_messages.message_event(
        protos.roundtrip(protos_messages.message_event(msg, chat, sender, mid="3EB0A", **kw))
    )
    assert isinstance(event, MessageReceived)
    return event


def test_plain_and_extended_text_with_push_name_and_ms_timestamp() -> None:
    ev = received(E2E.Message(conversation="hello"), push="Alice", ts_ms=1_700_000_000_123)
    m = ev.message
    assert (m.kind, m.text, m.push_name, m.from_me, m.is_group) == (
        MessageKind.TEXT,
        "hello",
        "Alice",
        False,
        False,
    )
    assert m.timestamp == datetime.fromtimestamp(1_700_000_000.123, tz=UTC)
    ext = received(
        protos_messages.content(
            {
                "text": "see @15550000001",
                "mentions": ["15550000001@s.whatsapp.net"],
                "quoted_id": "3EB0QUOTED",
            }
        ),
        chat=GROUP,
        sender=ALICE,
    ).message
    assert ext.mentions == ("15550000001@s.whatsapp.net",) and ext.quoted_id == "3EB0QUOTED"
    assert ext.is_group and ext.sender == ALICE


def test_media_kinds_with_captions_file_names_and_mimetypes() -> None:
    img = received(
        protos_messages.content({"kind": "image", "caption": "look", "mimetype": "image/jpeg"})
    ).message
    assert (img.kind, img.caption, img.media.mimetype) == (MessageKind.IMAGE, "look", "image/jpeg")
    assert img.media.ref.startswith(b"imageMessage\0")
    vid = received(protos_messages.content({"kind": "video", "caption": "clip"})).message
    assert vid.kind == MessageKind.VIDEO and vid.caption == "clip"
    doc = received(
        protos_messages.content(
            {
                "kind": "document",
                "file_name": "report.pdf",
                "mimetype": "application/pdf",
                "caption": "Q3",
            }
        )
    ).message
    assert (doc.kind, doc.media.file_name, doc.media.mimetype, doc.caption) == (
        MessageKind.DOCUMENT,
        "report.pdf",
        "application/pdf",
        "Q3",
    )
    assert received(protos_messages.content({"kind": "voice"})).message.kind == MessageKind.VOICE
    assert received(protos_messages.content({"kind": "audio"})).message.kind == MessageKind.AUDIO
    assert (
        received(protos_messages.content({"kind": "sticker"})).message.kind == MessageKind.STICKER
    )


def test_location_contact_and_poll_become_readable_text() -> None:
    loc = received(
        protos_messages.content(
            {"kind": "location", "text": "Office", "latitude": 52.52, "longitude": 13.405}
        )
    ).message
    assert loc.kind == MessageKind.LOCATION and "Office" in loc.text and "52.52000" in loc.text
    card = received(
        protos_messages.content({"kind": "contact", "text": "Bob", "phone": "+1 555"})
    ).message
    assert card.kind == MessageKind.CONTACT and card.text == "👤 Bob (+1 555)"
    many = E2E.Message(
        contactsArrayMessage=E2E.ContactsArrayMessage(
            displayName="2",
            contacts=[E2E.ContactMessage(displayName="A"), E2E.ContactMessage(displayName="B")],
        )
    )
    assert received(many).message.text == "👥 2 contacts: A, B"
    poll = received(
        protos_messages.content({"kind": "poll", "text": "Lunch?", "options": ["Pizza", "Sushi"]})
    ).message
    assert poll.kind == MessageKind.POLL and poll.text == "📊 Lunch?\n• Pizza\n• Sushi"


def test_reaction_set_and_removed() -> None:
    for emoji in ("👍", ""):
        ev = convert_messages.message_event(
            protos.roundtrip(
                protos_messages.message_event(
                    protos_messages.reaction(ALICE, ALICE, "3EB0T", emoji),
                    ALICE,
                    ALICE,
                    mid="3EB0R",
                )
            )
        )
        assert ev == ReactionReceived(ALICE, ALICE, "3EB0T", emoji, ev.timestamp)


def test_edit_and_revoke_by_sender_and_by_admin() -> None:
    ev = convert_messages.message_event(
        protos.roundtrip(
            protos_messages.message_event(
                protos_messages.edit(ALICE, "3EB0T", "fixed"), ALICE, ALICE, mid="3EB0E"
            )
        )
    )
    assert isinstance(ev, MessageEdited) and ev.text == "fixed" and ev.target_id == "3EB0T"
    own = convert_messages.message_event(
        protos.roundtrip(
            protos_messages.message_event(
                protos_messages.revoke(GROUP, "3EB0T"), GROUP, ALICE, mid="3EB0X", edit="7"
            )
        )
    )
    assert isinstance(own, MessageRevoked) and not own.by_admin
    admin = convert_messages.message_event(
        protos.roundtrip(
            protos_messages.message_event(
                protos_messages.revoke(GROUP, "3EB0T", participant="15550000009@s.whatsapp.net"),
                GROUP,
                ALICE,
                mid="3EB0Y",
                edit="8",
            )
        )
    )
    assert isinstance(admin, MessageRevoked) and admin.by_admin


def test_view_once_and_ephemeral_flags() -> None:
    inner = E2E.Message(imageMessage=E2E.ImageMessage(caption="secret"))
    wrapped = E2E.Message(viewOnceMessageV2=E2E.FutureProofMessage(message=inner))
    unwrapped, view_once, _ = convert_content.unwrap(wrapped)
    assert view_once and unwrapped.imageMessage.caption == "secret"
    eph = E2E.Message(
        ephemeralMessage=E2E.FutureProofMessage(message=E2E.Message(conversation="x"))
    )
    m = received(eph).message
    assert m.ephemeral and m.text == "x"


def test_lid_sender_keeps_phone_alternate_and_device_is_dropped() -> None:
    m = received(
        E2E.Message(conversation="hi"),
        chat=GROUP,
        sender="987654321012345:12@lid",
        sender_alt=ALICE,
    ).message
    assert m.sender == ALICE_LID and m.sender_alt == ALICE and m.chat_alt is None
    dm = received(
        E2E.Message(conversation="hi"), chat=ALICE_LID, sender=ALICE_LID, sender_alt=ALICE
    ).message
    assert dm.chat == ALICE_LID and dm.chat_alt == ALICE


def test_unknown_message_becomes_other_and_noise_is_skipped() -> None:
    odd = received(E2E.Message(groupInviteMessage=E2E.GroupInviteMessage(groupName="x"))).message
    assert odd.kind == MessageKind.OTHER and "groupInviteMessage" in odd.text
    empty = received(E2E.Message()).message
    assert empty.kind == MessageKind.OTHER and "empty" in empty.text
    noise = E2E.Message(senderKeyDistributionMessage=E2E.SenderKeyDistributionMessage(groupID="g"))
    assert (
        convert_messages.message_event(
            protos.roundtrip(protos_messages.message_event(noise, GROUP, ALICE, mid="N"))
        )
        is None
    )


def test_receipts_map_to_delivery_states() -> None:
    ev = convert_receipts.receipt_event(
        protos.roundtrip(protos_messages.receipt(ALICE, ALICE, ["3EB0A", "3EB0B"], kind=4))
    )
    assert ev is not None and ev.kind == ReceiptKind.READ and ev.message_ids == ("3EB0A", "3EB0B")
    assert (
        convert_receipts.receipt_event(
            protos.roundtrip(protos_messages.receipt(ALICE, ALICE, ["x"], kind=3))
        )
        is None
    )


def test_history_sync_unwraps_uses_seconds_and_maps_identities() -> None:
    wrapped = E2E.Message(
        ephemeralMessage=E2E.FutureProofMessage(
            message=E2E.Message(
                documentWithCaptionMessage=E2E.FutureProofMessage(
                    message=E2E.Message(
                        documentMessage=E2E.DocumentMessage(fileName="a.pdf", caption="contract")
                    )
                )
            )
        )
    )
    web = [
        protos_sync.web_message(
            {"chat": GROUP, "sender": ALICE, "id": "H1", "timestamp": 1_700_000_000}, wrapped
        ),
        protos_sync.web_message(
            {"chat": GROUP, "id": "H2", "from_me": True, "timestamp": 1_700_000_001},
            E2E.Message(conversation="mine"),
        ),
    ]
    ev = protos.roundtrip(
        protos_sync.history_sync(
            {GROUP: web},
            {GROUP: "Family"},
            lid_links={ALICE: ALICE_LID},
            pushnames={ALICE: "Alice"},
        )
    )
    parts = convert_history.history_parts(ev.Data)
    first, mine = parts.messages
    assert first.kind == MessageKind.DOCUMENT and first.caption == "contract" and first.ephemeral
    assert first.timestamp == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert first.sender == ALICE and first.group_name == "Family"
    assert mine.from_me and mine.sender == OWN_SENDER  # known or not, the own JID is not used
    assert parts.links[0].phone_jid == ALICE and parts.links[0].lid == ALICE_LID
    assert parts.groups[0].name == "Family" and parts.contacts[0].push_name == "Alice"
