"""Every Telegram kind an owner can reply with, end to end over real HTTP: the fake Bot API
serves getFile and the file downloads, python-telegram-bot fetches them, the simulator
records what WhatsApp would get in sent.jsonl."""

from __future__ import annotations

import io

from PIL import Image

from tests.bot.conftest import ADMIN, ALICE, ME, Env, settings_for, start_app, stop_app

MB = 1024 * 1024
OGG = b"OggS\x00\x02" + b"\x00" * 40 + b"OpusHead a voice note"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 60


def webp(frames: int = 1) -> bytes:
    out = io.BytesIO()
    images = [Image.new("RGBA", (512, 512), (i * 60, 90, 200, 255)) for i in range(frames)]
    images[0].save(out, format="WEBP", save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (512, 512), (10, 200, 30, 255)).save(out, format="PNG")
    return out.getvalue()


async def forwarded(env: Env, wa_id: str = "3EB0ASK") -> int:
    """Connect, let Alice write something urgent, return the Telegram id of its forward."""
    env.feed_line(event="connected", jid=ME)
    env.message(wa_id, "URGENT: where are you? send me something")
    await env.settle()
    await env.api.wait_for(lambda c: c.method == "sendMessage" and "Why:" in c.text)
    for candidate in range(1000, 1300):
        linked = await env.services.storage.messages.linked(ADMIN, candidate)
        if linked is not None and linked.wa_id == wa_id:
            return candidate
    raise AssertionError("no forward")


async def reply(env: Env, fwd: int, **content) -> str:
    """Reply to the forward with ``content``; return the bot's answer."""
    before = len(env.api.calls)
    env.api.send_message(ADMIN, fwd, **content)
    answer = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and any(c is x for x in env.api.calls[before:])
    )
    return answer.text


async def test_media_kinds_go_out_as_their_whatsapp_kind(env: Env) -> None:
    fwd = await forwarded(env)
    api = env.api
    voice = api.add_file("v1", OGG, "voice/file_1.oga")
    sticker = webp()
    flat = png()
    replies = [
        {"voice": {**voice, "duration": 7, "mime_type": "audio/ogg"}},
        {
            "audio": {
                **api.add_file("a1", b"ID3 a song", "music/file_2.mp3"),
                "duration": 200,
                "mime_type": "audio/mpeg",
                "file_name": "song.mp3",
            },
            "caption": "listen",
        },
        {
            "video": {
                **api.add_file("vid", MP4, "videos/file_3.mp4"),
                "width": 640,
                "height": 360,
                "duration": 12,
                "mime_type": "video/mp4",
            },
            "caption": "the view",
        },
        {
            "video_note": {
                **api.add_file("note", MP4 + b"round", "video_notes/file_4.mp4"),
                "length": 240,
                "duration": 5,
            }
        },
        {
            "animation": {
                **(gif := api.add_file("gif", MP4 + b"gif", "animations/file_5.mp4")),
                "width": 200,
                "height": 200,
                "duration": 3,
                "mime_type": "video/mp4",
                "file_name": "cat.mp4",
            },
            "document": {**gif, "file_name": "cat.mp4", "mime_type": "video/mp4"},
        },
        {"sticker": _sticker(api.add_file("st", sticker, "stickers/file_6.webp"))},
        {"sticker": _sticker(api.add_file("pn", flat, "stickers/file_7.webp"))},
    ]
    for content in replies:
        assert "Sent" in await reply(env, fwd, **content)
    sent = env.sent()
    kinds = [(x["kind"], x.get("mimetype"), x.get("size"), x.get("seconds")) for x in sent]
    assert kinds == [
        ("voice", "audio/ogg", len(OGG), 7),
        ("audio", "audio/mpeg", 10, 200),
        ("text", None, None, None),  # an audio has no caption on WhatsApp: it follows
        ("video", "video/mp4", len(MP4), 12),
        ("video", "video/mp4", len(MP4) + 5, 5),
        ("video", "video/mp4", len(MP4) + 3, 3),
        ("sticker", "image/webp", len(sticker), None),
        ("image", "image/png", len(flat), None),  # not a WebP: goes as a photo
    ]
    assert all(x["to"] == ALICE for x in sent)
    assert [x["quoted_id"] for x in sent] == ["3EB0ASK"] * 2 + [None] + ["3EB0ASK"] * 5
    assert sent[2]["text"] == "listen" and sent[3]["text"] == "the view"
    assert sent[5].get("gif") is True and "gif" not in sent[3]
    assert api.downloads == [
        "voice/file_1.oga",
        "music/file_2.mp3",
        "videos/file_3.mp4",
        "video_notes/file_4.mp4",
        "animations/file_5.mp4",
        "stickers/file_6.webp",
        "stickers/file_7.webp",
    ]
    mine = await own_messages(env)
    assert {m.kind.value for m in mine} == {"voice", "audio", "text", "video", "sticker", "image"}


async def own_messages(env: Env) -> list:
    """What the store keeps of the owner's messages in Alice's chat."""
    chat, _ = await env.services.chats.find_one("Alice")
    _, messages = await env.services.chats.last_messages(chat.id, 30)
    return [m for m in messages if m.from_me]


def _sticker(file: dict, animated: bool = False, video: bool = False) -> dict:
    return {
        **file,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": animated,
        "is_video": video,
        "emoji": "😀",
    }


async def test_location_venue_and_contact_go_as_whatsapp_location_and_vcard(env: Env) -> None:
    fwd = await forwarded(env)
    assert "Sent" in await reply(env, fwd, location={"latitude": 52.52, "longitude": 13.405})
    venue = {
        "location": {"latitude": 48.8584, "longitude": 2.2945},
        "title": "Tour Eiffel",
        "address": "Champ de Mars, Paris",
    }
    assert "Sent" in await reply(env, fwd, venue=venue, location=venue["location"])
    contact = {"phone_number": "+1 555 000 0009", "first_name": "Bob", "last_name": "Builder"}
    assert "Sent" in await reply(env, fwd, contact=contact)
    given = (  # Telegram's own card carries more than the owner saw, and another number
        "BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nTEL;waid=15550000099:+15550000099\n"
        "EMAIL:carol@home.example\nEND:VCARD"
    )
    card = {"phone_number": "15550000010", "first_name": "Carol", "vcard": given}
    assert "Sent" in await reply(env, fwd, contact=card)
    pin, place, bob, carol = env.sent()
    assert (pin["kind"], pin["latitude"], pin["longitude"]) == ("location", 52.52, 13.405)
    assert "name" not in pin and pin["quoted_id"] == "3EB0ASK"
    assert (place["name"], place["address"]) == ("Tour Eiffel", "Champ de Mars, Paris")
    assert (place["latitude"], place["longitude"]) == (48.8584, 2.2945)
    assert bob["kind"] == "contact" and bob["name"] == "Bob Builder"
    assert "FN:Bob Builder" in bob["vcard"] and "waid=15550000009:+15550000009" in bob["vcard"]
    assert "N:Builder;Bob;;;" in bob["vcard"]
    assert carol["name"] == "Carol" and "waid=15550000010:+15550000010" in carol["vcard"]
    assert "15550000099" not in carol["vcard"] and "EMAIL" not in carol["vcard"]
    texts = [m.text for m in await own_messages(env)]  # /chat shows them as received ones
    assert "📍 Tour Eiffel — Champ de Mars, Paris (48.85840, 2.29450)" in texts
    assert "👤 Bob Builder" in texts


async def test_other_kinds_and_oversized_files_are_refused_with_a_reason(env: Env) -> None:
    fwd = await forwarded(env)
    api = env.api
    poll = {
        "id": "p1",
        "question": "Pizza?",
        "options": [{"text": t, "voter_count": 0, "persistent_id": t} for t in ("yes", "no")],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
    answer = await reply(env, fwd, poll=poll)
    assert "A poll cannot be sent to WhatsApp" in answer
    for kind in ("voice messages", "videos", "stickers", "locations", "contacts"):
        assert kind in answer
    assert "A dice cannot be sent" in await reply(env, fwd, dice={"emoji": "🎲", "value": 3})
    tgs = _sticker(api.add_file("tgs", b"\x1f\x8b lottie", "stickers/a.tgs"), animated=True)
    assert "animated sticker" in await reply(env, fwd, sticker=tgs)
    webm = _sticker(api.add_file("webm", b"\x1aE\xdf\xa3", "stickers/v.webm"), video=True)
    assert "ffmpeg" in await reply(env, fwd, sticker=webm)
    moving = _sticker(api.add_file("anim", webp(frames=3), "stickers/anim.webp"))
    assert "not a still image" in await reply(env, fwd, sticker=moving)
    # Sizes are checked before anything is downloaded, from what Telegram declares.
    video = {"file_id": "huge", "file_unique_id": "uh", "file_size": 17 * MB, "width": 1}
    video |= {"height": 1, "duration": 60, "mime_type": "video/mp4"}
    answer = await reply(env, fwd, video=video)
    assert "That video is 17.0 MB; WhatsApp takes a video of at most 16.0 MB" in answer
    doc = {"file_id": "big", "file_unique_id": "ub", "file_size": 25 * MB, "file_name": "x.zip"}
    answer = await reply(env, fwd, document=doc)
    assert "25.0 MB; a Telegram bot may download at most 20.0 MB" in answer
    # A file that declares no size: Telegram itself refuses to hand it over.
    api.add_file("undeclared", b"\0" * (20 * MB + 1), "documents/big.bin")
    undeclared = {"file_id": "undeclared", "file_unique_id": "uu", "file_name": "big.bin"}
    answer = await reply(env, fwd, document=undeclared)
    assert "That file is larger than the 20.0 MB a Telegram bot may download" in answer
    got = [c.params.get("file_id") for c in api.calls if c.method.endswith("getFile")]
    assert got == ["anim", "undeclared"]  # the .tgs, the WebM and the big ones: never fetched
    assert env.sent() == [] and api.downloads == ["stickers/anim.webp"]


async def test_a_voice_note_waits_in_the_outbox_across_a_restart(tmp_path) -> None:
    from tests.fakes.bot_api import FakeBotApi

    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    app = await start_app(settings_for(tmp_path, api, feed))
    env = Env(api, app, feed, tmp_path / "data")
    fwd = await forwarded(env)
    env.feed_line(event="disconnected")
    await env.settle()
    voice = {**api.add_file("v1", OGG, "voice/file_1.oga"), "duration": 4}
    assert "Queued" in await reply(env, fwd, voice=voice, caption="in 5 min")
    await stop_app(app)
    assert env.sent() == []
    app = await start_app(settings_for(tmp_path, api, feed))  # the feed plays again: connected
    env = Env(api, app, feed, tmp_path / "data")
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    await api.wait_for(lambda c: "Queued WhatsApp message" in c.text)
    voice_note, caption = env.sent()
    assert (voice_note["kind"], voice_note["size"], voice_note["seconds"]) == (
        "voice",
        len(OGG),
        4,
    )
    assert voice_note["quoted_id"] == "3EB0ASK" and caption["text"] == "in 5 min"
    await stop_app(app)
    await api.stop()
