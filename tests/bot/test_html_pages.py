"""Telegram refusing a page's HTML does not lose it: it goes once more as plain text. (The
fake Bot API refuses any HTML that breaks Telegram's rules, so every end-to-end test also
checks that what the bot renders is valid.)"""

from __future__ import annotations

from bot import render_digest as rd
from tests.bot.conftest import ADMIN, ME, Env
from tests.texts import urgent


async def test_a_page_telegram_cannot_parse_goes_again_as_plain_text(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await env.settle()
    env.api.fail(
        "sendMessage", status=400, description="Bad Request: can't parse entities: at byte 9"
    )
    env.message("H1", "URGENT: call me <now> & then", push_name="Al")
    plain = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "call me" in c.text, timeout=10
    )
    assert plain.params.get("parse_mode") in (None, "")
    assert "<now> & then" in plain.text and "<b>" not in plain.text  # the words, no markup
    assert len(env.api.of("!sendMessage")) == 1


async def test_media_over_budget_is_forwarded_with_a_download_button(env: Env, tmp_path) -> None:
    await env.services.prefs.set("media_day_mb", "0")
    src = tmp_path / "contract.pdf"
    src.write_bytes(b"%PDF-1.4 urgent contract")
    env.feed_line(event="connected", jid=ME)
    env.message(
        "D1",
        "",
        kind="document",
        mimetype="application/pdf",
        caption=urgent("sign this today"),
        media_file=str(src),
        file_size=24,
        push_name="Al",
    )
    forward = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "sign this today" in c.text, timeout=10
    )
    assert "file not downloaded" in forward.text and "media_day_mb" in forward.text
    [download] = [b for b in forward.buttons() if "Download" in b["text"]]
    env.api.press(ADMIN, download["callback_data"])
    sent = await env.api.wait_for(lambda c: c.method == "sendDocument", timeout=10)
    assert sent.files and b"urgent contract" in next(iter(sent.files.values()))


async def test_a_digest_page_refused_for_good_moves_the_mark_back(env: Env) -> None:
    from bot.handlers.digest import send_daily

    env.feed_line(event="connected", jid=ME)
    env.message("G1", "lunch on friday?", push_name="Al")
    await env.settle()
    env.api.fail("sendMessage", status=403, count=1)  # e.g. the owner blocked the bot for a while
    await send_daily(env.services)
    await env.api.wait_for(lambda c: c.method == "!sendMessage", timeout=10)
    await env.settle()
    assert await env.services.storage.digests.last_sent(("daily",)) is None  # owed again


async def test_a_long_notice_resumes_at_the_first_page_not_sent(env: Env) -> None:
    text = "\n\n".join(f"line {i} " + "x" * 80 for i in range(150))  # ~13 000 chars: 4 pages
    env.api.fail("sendMessage", status=429, count=1, after=2)  # page 3 refused once
    await env.services.notifier.notice(text)
    await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "line 149" in c.text, timeout=30
    )
    pages = [c.text for c in env.api.of("sendMessage")]
    assert "".join(pages).count("line 0 ") == 1  # no page sent twice
    assert all(f"line {i} " in "".join(pages) for i in range(150))


async def test_a_long_forward_is_cut_and_show_all_sends_the_whole_text(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    long = urgent("please read all of it.") + " " + "word " * 12_000 + "THE END"
    env.message("L1", long)
    forward = await env.api.wait_for(
        lambda c: c.method == "sendMessage" and "please read" in c.text, timeout=10
    )
    assert len(env.api.of("sendMessage")) == 1 and "THE END" not in forward.text
    [full] = [b for b in forward.buttons() if "Show all" in b["text"]]
    env.api.press(ADMIN, full["callback_data"])
    sent = await env.api.wait_for(lambda c: c.method == "sendDocument", timeout=10)
    assert next(iter(sent.files.values())).decode().endswith("THE END")


async def test_status_updates_are_no_chat_and_are_listed_apart(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    env.message("C1", "see you at 8?")
    for i, who in enumerate(["15550000007@s.whatsapp.net", "15550000008@s.whatsapp.net"]):
        env.message(
            f"S{i}",
            "URGENT look at my holiday pics!!",
            chat="status@broadcast",
            sender=who,
            push_name=f"Poster{i}",
        )
    await env.settle()
    env.api.send_text(ADMIN, "/chats")
    listing = await env.api.wait_for(lambda c: c.method == "sendMessage" and "Chats" in c.text)
    assert "1 in all" in listing.text, listing.text
    assert not any("Poster" in b["text"] or "atus" in b["text"] for b in listing.buttons())
    assert not [c for c in env.api.of("sendMessage") if "holiday pics" in c.text]  # no forward
    env.api.send_text(ADMIN, "/status_updates")
    shown = await env.api.wait_for(lambda c: "Status updates" in c.text)
    assert "Poster0" in shown.text and "Poster1" in shown.text
    view = await env.services.digests.build("manual")
    assert "holiday" not in "".join(rd.section(s) for s in view.report.chats)
