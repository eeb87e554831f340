"""Voice notes: measuring Ogg audio and telling local endpoints from the cloud."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.llm.transcribe import is_local_url
from assistant.ogg import cut, ogg_seconds, page_crc, pages
from assistant.voice import HEAD, TAIL
from tests.fakes.audio import ogg_opus, page


def measure(data: bytes) -> float | None:
    return ogg_seconds(data[:HEAD], data[-TAIL:])


@pytest.mark.parametrize("seconds", [1, 7, 300, 301])
def test_an_ogg_opus_note_measures_its_own_length(seconds: int) -> None:
    assert measure(ogg_opus(seconds)) == pytest.approx(seconds)


def test_ogg_vorbis_uses_its_sample_rate() -> None:
    ident = b"\x01vorbis" + struct.pack("<IBI", 0, 1, 44_100) + bytes(13)
    data = page([ident], 0, 0, flags=0x02) + page([b"x" * 10], 44_100 * 3, 1, flags=0x04)
    assert measure(data) == pytest.approx(3.0)


def test_another_streams_pages_do_not_count() -> None:
    note = ogg_opus(2)
    foreign = page([b"x"], 48_000 * 3600, 0, serial=99)  # an hour, on another stream
    assert measure(note + foreign) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "data",
    [b"", b"ID3\x04" + bytes(2000), b"OggS", b"OggS" + bytes(200), b"RIFF....WAVEfmt "],
)
def test_what_is_not_ogg_audio_has_no_length(data: bytes) -> None:
    assert measure(data) is None


@given(st.binary(max_size=3000))
def test_hostile_bytes_never_raise(data: bytes) -> None:
    result = measure(b"OggS" + data)
    assert result is None or result >= 0
    result = measure(ogg_opus(1)[:60] + data)
    assert result is None or result >= 0


@pytest.mark.parametrize(("whole", "first"), [(90, 60), (301, 300), (2, 1)])
def test_a_long_note_cut_is_the_same_note_recorded_shorter(whole: int, first: int) -> None:
    # Whole pages kept, the last marked end-of-stream with its checksum: byte for byte what a
    # recorder stopped at ``first`` seconds writes.
    assert cut(ogg_opus(whole, "x"), first) == ogg_opus(first, "x")


def test_a_cut_never_keeps_another_streams_pages_or_half_a_packet() -> None:
    two_seconds_open = ogg_opus(3)[: len(ogg_opus(2))]  # its last page not marked the end
    foreign = page([b"x"], 48_000, 0, serial=99)
    continued = page([b"y" * 200], -1, 9)  # no packet ends on it: granule -1
    assert cut(two_seconds_open + foreign + continued, 5) == ogg_opus(2)
    assert cut(ogg_opus(3)[: len(ogg_opus(2)) - 1], 5) == ogg_opus(1)  # a torn last page


@given(st.binary(max_size=3000), st.floats(0, 100))
def test_cutting_hostile_bytes_never_raises_and_gives_valid_pages(
    data: bytes, seconds: float
) -> None:
    for raw in (b"OggS" + data, ogg_opus(2)[:200] + data, ogg_opus(3) + data):
        short = cut(raw, seconds)
        if short is not None:
            spans = pages(short)
            assert spans and spans[-1][1] == len(short)  # whole pages only
            for start, end in spans:
                assert struct.unpack_from("<I", short, start + 22)[0] == page_crc(short[start:end])
            assert measure(short) is not None and measure(short) <= seconds + 1e-9


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:8000/v1", True),
        ("http://127.0.0.1:9000/v1", True),
        ("http://127.8.9.10/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://[::ffff:127.0.0.1]/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://172.20.0.3:8080/v1", True),
        ("http://[fd12:3456::1]/v1", True),
        ("http://whisper.localhost/v1", False),  # resolved by ordinary DNS without systemd
        ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/v1", False),  # Teredo: the internet
        ("http://198.18.0.1/v1", False),  # benchmark range: not a LAN
        ("https://api.openai.com/v1", False),
        ("http://8.8.8.8/v1", False),
        ("http://172.32.0.1/v1", False),
        ("http://localhost.evil.com/v1", False),
        ("http://127.0.0.1.nip.io/v1", False),
        ("http://whisper/v1", False),  # a bare name could resolve anywhere
    ],
)
def test_only_this_machine_and_private_addresses_are_local(url: str, local: bool) -> None:
    assert is_local_url(url) is local


async def test_a_note_bigger_than_its_length_allows_is_refused_and_a_long_one_cut(
    tmp_path,
) -> None:
    from types import SimpleNamespace

    from assistant.voice import VoiceService

    class Local:
        model, is_local = "m", True

    voice = VoiceService(None, Local(), lambda: 60)  # type: ignore[arg-type]
    chat = SimpleNamespace(cloud_llm_allowed=False)
    honest, padded = tmp_path / "a.ogg", tmp_path / "b.ogg"
    honest.write_bytes(ogg_opus(90))
    # Two seconds by its pages, a megabyte of "audio": an hour of low-rate Opus could hide here.
    two = ogg_opus(2)
    last = pages(two)[-1][0]
    padded.write_bytes(two[:last] + bytes(1_000_000) + two[last:])
    assert await voice._plan(SimpleNamespace(media_path=str(honest)), chat) == ("", 60)
    why, cut_to = await voice._plan(SimpleNamespace(media_path=str(padded)), chat)
    assert why.startswith("too big for its length") and cut_to is None
