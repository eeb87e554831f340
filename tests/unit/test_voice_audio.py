"""Voice notes: measuring Ogg audio and telling local endpoints from the cloud."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.llm.transcribe import is_local_url
from assistant.voice import HEAD, TAIL, ogg_seconds
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
        ("http://whisper.localhost/v1", True),
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
