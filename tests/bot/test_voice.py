"""Voice notes end to end: simulator feed (kind "voice" with a real Ogg Opus file) → download
→ the real ``openai`` client → a fake transcription server over HTTP → triage → the fake Bot
API. What the owner sees: the forward with the words, /chat, /search, /digest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.config import load_settings
from tests.bot.conftest import ADMIN, ME, Env, bot_env, start_app, stop_app
from tests.fakes.audio import ogg_opus
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.llm_server import FakeLLMServer
from tests.texts import quiet, urgent

ALICE = "15550000002@s.whatsapp.net"
BOB = "15550000003@s.whatsapp.net"
OGG = "audio/ogg; codecs=opus"


@pytest.fixture
async def speech() -> AsyncIterator[FakeLLMServer]:
    server = FakeLLMServer()
    await server.start()
    yield server
    await server.stop()


@asynccontextmanager
async def running(tmp: Path, **env: str) -> AsyncIterator[Env]:
    """The whole bot (simulator backend) with TRANSCRIBE_* set, connected to WhatsApp."""
    api = FakeBotApi()
    await api.start()
    feed = tmp / "feed.jsonl"
    feed.write_text("")
    settings = load_settings(bot_env(tmp, api, feed, **env))
    app = await start_app(settings)
    e = Env(api, app, feed, tmp / "data")
    try:
        e.feed_line(event="connected", jid=ME)
        await e.settle()
        yield e
    finally:
        await stop_app(app)
        await api.stop()


def voice_note(env: Env, tmp: Path, wa_id: str, audio: bytes, chat: str = ALICE) -> None:
    path = tmp / f"{wa_id}.ogg"
    path.write_bytes(audio)
    push = "Alice" if chat == ALICE else "Bob"
    env.message(wa_id, "", chat=chat, kind="voice", media_file=str(path), mimetype=OGG,
                push_name=push)  # fmt: skip


async def local_only(env: Env, jid: str) -> None:
    """Switch "Cloud LLM allowed" off on the chat's card, as the owner does."""
    chat = await env.services.storage.chats.by_jid(jid)
    qid = env.api.press(ADMIN, f"ca:{chat.id}:cloud")
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == qid
    )
    assert not (await env.services.storage.chats.by_jid(jid)).cloud_llm_allowed


async def ask(env: Env, command: str, expect: str) -> str:
    env.api.send_text(ADMIN, command)
    call = await env.api.wait_for(lambda c: c.method == "sendMessage" and expect in c.text)
    return call.text


async def test_urgent_voice_note_is_forwarded_with_its_words(
    tmp_path: Path, speech: FakeLLMServer
) -> None:
    said = urgent("voice")
    async with running(tmp_path, TRANSCRIBE_BASE_URL=speech.openai_url) as env:
        env.message("T1", quiet("hi"))
        await env.settle()
        await local_only(env, ALICE)  # a local endpoint may still hear a local-only chat
        audio = ogg_opus(6, "urgent")
        speech.speech[audio] = said
        voice_note(env, tmp_path, "V1", audio)
        forward = await env.api.wait_for(lambda c: c.method == "sendVoice")
        assert f"🎤 {said}" in forward.text  # the caption under the audio
        assert "Alice" in forward.text
        [upload] = speech.transcriptions
        assert upload.audio == audio and upload.model == "whisper-1"
        assert upload.host.startswith("127.0.0.1:")
        assert f"🎤 {said}" in await ask(env, "/chat Alice", "last 2 message")
        assert "🎤" in await ask(env, "/search hospital", "Search")
        assert f"🎤 {said}" in await ask(env, "/digest", "Alice")


async def test_a_failed_transcription_keeps_the_note_and_the_reason(
    tmp_path: Path, speech: FakeLLMServer
) -> None:
    async with running(tmp_path, TRANSCRIBE_BASE_URL=speech.openai_url) as env:
        audio = ogg_opus(4, "fails")
        speech.speech[audio] = urgent("never heard")
        speech.fail_next = [500, 500]  # the client tries twice
        voice_note(env, tmp_path, "V2", audio)
        await env.settle()
        assert len(speech.transcriptions) == 2
        chat = await env.services.storage.chats.by_jid(ALICE)
        [note] = await env.services.storage.messages.last(chat.id)
        assert note.kind == "voice" and note.media_state == "done"
        assert Path(note.media_path).read_bytes() == audio  # the audio is kept
        assert note.transcript == ""
        assert note.transcript_error == "transcription failed: the endpoint answered HTTP 500"
        text = await ask(env, "/chat Alice", "last 1 message")
        assert "not transcribed: transcription failed: the endpoint answered HTTP 500" in text
        assert not [c for c in env.api.sent_to(ADMIN) if c.method == "sendVoice"]


async def test_a_note_longer_than_voice_max_seconds_is_cut_to_it(
    tmp_path: Path, speech: FakeLLMServer
) -> None:
    async with running(tmp_path, TRANSCRIBE_BASE_URL=speech.openai_url) as env:
        await ask(env, "/settings voice_max_seconds 60", "voice_max_seconds = 60")
        long, short = ogg_opus(90, "long"), ogg_opus(45, "short")
        first_minute = ogg_opus(60, "long")  # the same note as if recording stopped at 60 s
        speech.speech[first_minute] = "the boiler is leaking"
        speech.speech[short] = "see you at the station at six"
        voice_note(env, tmp_path, "V3", long)
        voice_note(env, tmp_path, "V4", short)
        await env.settle()
        assert sorted(t.audio for t in speech.transcriptions) == sorted([first_minute, short])
        text = await ask(env, "/chat Alice", "last 2 message")
        assert "🎤 the boiler is leaking (the first 60 s: voice_max_seconds)" in text
        assert "🎤 see you at the station at six" in text
        kept = [p for p in (tmp_path / "data").rglob("*.first.ogg")]
        assert kept == []  # the cut copy is gone; the whole note stays stored


async def test_a_local_only_chat_is_never_sent_to_a_cloud_endpoint(
    tmp_path: Path, speech: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cloud-looking endpoint; the proxy settings route its traffic to the fake server,
    # which records the host each upload was meant for. Telegram (127.0.0.1) goes direct.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{speech.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    cloud = {
        "TRANSCRIBE_BASE_URL": "http://speech.example.com/v1",
        "TRANSCRIBE_API_KEY": "sk-transcribe-secret-1234",
        "TRANSCRIBE_MODEL": "whisper-large-v3",
    }
    async with running(tmp_path, **cloud) as env:
        env.message("T2", quiet("hello"), chat=BOB, push_name="Bob")
        await env.settle()
        await local_only(env, BOB)
        secret, shared = ogg_opus(5, "bob"), ogg_opus(5, "alice")
        speech.speech[secret] = "the safe code is 4711"
        speech.speech[shared] = "running late, start without me"
        voice_note(env, tmp_path, "V5", secret, chat=BOB)
        voice_note(env, tmp_path, "V6", shared)
        await env.settle()
        [upload] = speech.transcriptions
        assert upload.audio == shared and upload.host == "speech.example.com"
        assert upload.model == "whisper-large-v3"
        assert upload.authorization == "Bearer sk-transcribe-secret-1234"
        text = await ask(env, "/chat Bob", "last 2 message")
        assert "not transcribed: local-only chat" in text and "4711" not in text
        assert "🎤 running late" in await ask(env, "/chat Alice", "last 1 message")
