"""Every kind the owner can send from Telegram, through the real neonize client with only the
Go functions replaced (Upload, SendMessage): the protobuf "Go" receives is what WhatsApp gets."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.errors import SendFailed
from core.events import OutgoingMessage
from core.ids import MessageKind
from tests.integration.test_neonize_calls import ALICE, GROUP, live  # noqa: F401 (fixture)
from whatsapp.outbound import VOICE_MIMETYPE

QUOTE = {"quoted_id": "3EB0ASK", "quoted_sender": ALICE, "quoted_text": "where are you?"}
OGG = b"OggS\x00\x02" + b"\x00" * 40 + b"OpusHead fake voice"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40


def webp(size: tuple[int, int] = (512, 400), frames: int = 1) -> bytes:
    out = io.BytesIO()
    images = [Image.new("RGBA", size, (i * 60, 90, 200, 255)) for i in range(frames)]
    images[0].save(out, format="WEBP", save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


async def test_a_voice_message_goes_out_as_a_push_to_talk_voice_note(live) -> None:  # noqa: F811
    gateway, go = live
    await gateway.send(
        OutgoingMessage(to=ALICE, kind=MessageKind.VOICE, media=OGG, seconds=7, **QUOTE)
    )
    assert go.uploads == [OGG]
    to, msg = go.sent[0]
    audio = msg.audioMessage
    assert to == ALICE and audio.PTT is True and audio.seconds == 7
    assert audio.mimetype == VOICE_MIMETYPE and audio.fileLength == len(OGG)
    assert audio.directPath == "/v/x" and audio.mediaKey == b"k" * 32
    assert (audio.contextInfo.stanzaID, audio.contextInfo.participant) == ("3EB0ASK", ALICE)


async def test_audio_file_and_video_keep_their_type_length_and_caption(live) -> None:  # noqa: F811
    gateway, go = live
    await gateway.send(
        OutgoingMessage(
            to=ALICE, kind=MessageKind.AUDIO, media=b"ID3 song", mimetype="audio/mpeg", seconds=200
        )
    )
    await gateway.send(
        OutgoingMessage(
            to=GROUP,
            kind=MessageKind.VIDEO,
            media=MP4,
            mimetype="video/mp4",
            seconds=12,
            text="the view",
            **QUOTE,
        )
    )
    await gateway.send(OutgoingMessage(to=ALICE, kind=MessageKind.VIDEO, media=MP4, gif=True))
    (_, audio), (to, video), (_, gif) = go.sent
    assert audio.audioMessage.PTT is False and audio.audioMessage.mimetype == "audio/mpeg"
    assert audio.audioMessage.seconds == 200
    assert to == GROUP and video.videoMessage.caption == "the view"
    assert video.videoMessage.seconds == 12 and video.videoMessage.mimetype == "video/mp4"
    assert video.videoMessage.contextInfo.stanzaID == "3EB0ASK"
    assert not video.videoMessage.gifPlayback and gif.videoMessage.gifPlayback
    assert not gif.videoMessage.HasField("caption")


async def test_a_still_webp_goes_as_a_sticker_and_an_animated_one_is_refused(live) -> None:  # noqa: F811
    gateway, go = live
    still = webp()
    await gateway.send(OutgoingMessage(to=ALICE, kind=MessageKind.STICKER, media=still, **QUOTE))
    [(_, msg)] = go.sent
    sticker = msg.stickerMessage
    assert go.uploads == [still]  # sent as it came from Telegram, not re-encoded
    assert sticker.mimetype == "image/webp" and (sticker.width, sticker.height) == (512, 400)
    assert sticker.isAnimated is False and sticker.contextInfo.stanzaID == "3EB0ASK"
    with pytest.raises(SendFailed, match="still WebP"):
        await gateway.send(
            OutgoingMessage(to=ALICE, kind=MessageKind.STICKER, media=webp(frames=3))
        )
    assert len(go.sent) == 1


async def test_location_and_contact_carry_coordinates_and_vcard(live) -> None:  # noqa: F811
    gateway, go = live
    await gateway.send(
        OutgoingMessage(
            to=ALICE,
            kind=MessageKind.LOCATION,
            latitude=52.520008,
            longitude=13.404954,
            name="Alexanderplatz",
            address="10178 Berlin",
            **QUOTE,
        )
    )
    vcard = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Bob Builder\nTEL;waid=15550000009:+15550000009\nEND:VCARD"
    )
    await gateway.send(
        OutgoingMessage(to=GROUP, kind=MessageKind.CONTACT, name="Bob Builder", vcard=vcard)
    )
    assert go.uploads == []  # nothing to upload
    (_, loc), (to, card) = go.sent
    place = loc.locationMessage
    assert (place.degreesLatitude, place.degreesLongitude) == (52.520008, 13.404954)
    assert (place.name, place.address) == ("Alexanderplatz", "10178 Berlin")
    assert place.contextInfo.quotedMessage.conversation == "where are you?"
    assert to == GROUP and card.contactMessage.displayName == "Bob Builder"
    assert card.contactMessage.vcard == vcard
