"""Callback data, splitting and rendering: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import render, render_messages
from bot.callbacks import ChatAction, ChatList, ForwardAction, InvalidCallback, SessionAction
from core.ids import ChatJid, MessageKind, WaMessageId, mentions_in
from storage.domain import Chat, StoredMessage


def test_callback_data_roundtrips_and_fits_64_bytes() -> None:
    for data in (
        ChatList(3, "ü" * 80),
        ChatAction(123456789, "trusted"),
        ForwardAction(987654321, "noimp"),
        SessionAction("logout_yes"),
    ):
        raw = data.pack()
        assert len(raw.encode()) <= 64
        assert type(data).unpack(raw).pack() == raw
    assert ChatList.unpack(ChatList(0, "a:b").pack()).search == "a b"


def test_a_chat_list_page_keeps_its_account_and_old_buttons_still_read() -> None:
    narrowed = ChatList(3, "ü" * 80, account=12)
    raw = narrowed.pack()
    assert len(raw.encode()) <= 64 and raw.startswith("cp:3a12:")
    back = ChatList.unpack(raw)
    assert (back.page, back.account) == (3, 12) and back.search.startswith("ü")
    assert ChatList(2, "anna").pack() == "cp:2:anna"  # every account: as before
    assert ChatList.unpack("cp:2:anna") == ChatList(2, "anna", 0)
    for forged in ("cp:2a:x", "cp:2ax:x", "cp:a2:x", "cp:2a-1:x"):
        with pytest.raises(InvalidCallback):
            ChatList.unpack(forged)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ca",
        "ca:1",
        "ca:x:open",
        "ca:1:explode",
        "cp:-1:",
        "fw:1:reply:extra",
        "ss:rm_rf",
        "ca:99999999999999:open",
    ],
)
def test_forged_or_stale_callback_data_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidCallback):
        for cls in (ChatAction, ChatList, ForwardAction, SessionAction):
            if raw.startswith(cls.PREFIX + ":") or raw in {"", "ca"}:
                cls.unpack(raw)
                break
        else:
            raise InvalidCallback(raw)


def test_split_prefers_line_breaks_and_never_exceeds_the_limit() -> None:
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(300))
    parts = render.split(text)
    assert all(len(p) <= 4096 for p in parts) and len(parts) > 1
    assert "".join(p.replace("\n", "") for p in parts) == text.replace("\n", "")
    assert render.split("a" * 9000) == ["a" * 4096, "a" * 4096, "a" * 808]
    assert render.split("") == [""]


def test_whatsapp_text_is_escaped_in_forwards() -> None:
    chat = Chat(1, ChatJid("1@g.us"), "<Team & Co>", True)
    msg = StoredMessage(
        1,
        1,
        WaMessageId("A"),
        ChatJid("2@s.whatsapp.net"),
        "<Bob>",
        MessageKind.TEXT,
        "<script>x</script>",
        "",
        False,
        datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
    )
    text = render_messages.forward_text(chat, msg, "mentions <you>", ZoneInfo("Europe/Berlin"))
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;Team &amp; Co&gt;" in text and "14:00" in text and "&lt;Bob&gt;" in text


def test_mentions_are_found_in_outgoing_text() -> None:
    assert mentions_in("hi @15550000002 and @1555000000 x@123456 @12") == (
        "15550000002@s.whatsapp.net",
        "1555000000@s.whatsapp.net",
    )


def test_non_ascii_digits_in_button_data_are_a_stale_button_not_a_crash() -> None:
    import pytest

    from bot.callbacks import ForwardAction, InvalidCallback

    for raw in ("fw:²:reply", "fw:١٢:reply", "fw:12:r٣"):
        with pytest.raises(InvalidCallback):
            ForwardAction.unpack(raw)
