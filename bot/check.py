"""`wa-secretary check`: configuration, database, WhatsApp session and LLM, one line each."""

from __future__ import annotations

import sys

from bot import datadir
from bot.config import Settings
from core.errors import AppError


def _line(ok: bool | None, what: str, detail: str) -> None:
    mark = {True: "ok  ", False: "FAIL", None: "note"}[ok]
    print(f"{mark} {what}: {detail}")


async def run_check(settings: Settings) -> int:
    """Check every part the bot needs and return 0 only when all are usable."""
    from bot.wiring import make_llm, recorded_device
    from storage import close_storage, open_storage
    from storage.db import describe_url
    from whatsapp.session import is_paired, session_store

    failed = False
    devices: dict[int, str] = {}  # the device each account recorded (whose is whose)
    _line(
        True,
        "configuration",
        f"{len(settings.owner_ids)} admin(s), backend "
        f"{settings.whatsapp_backend}, LLM {settings.llm_provider}",
    )
    try:
        datadir.secure(settings.data_dir)
        storage = await open_storage(settings.db_url)
        count = await storage.messages.count()
        infos = await storage.accounts.list()
        devices = {a.id: d for a in infos if (d := recorded_device(a))}
        _line(
            True,
            "database",
            f"{describe_url(settings.db_url)} at schema "
            f"{storage.schema_version}, {count} message(s)",
        )
    except (AppError, OSError) as exc:
        _line(False, "database", str(exc))
        failed = True
    finally:
        await close_storage()
    if settings.whatsapp_backend == "simulator":
        feed = settings.whatsapp_simulator_feed
        exists = feed is not None and feed.exists()
        _line(exists, "whatsapp", f"simulator feed {feed} " + ("found" if exists else "missing"))
        failed |= not exists
    else:
        db_url = settings.database_url.get_secret_value() if settings.database_url else None
        store = session_store(settings.data_dir, db_url)
        others = [d for account_id, d in devices.items() if account_id != 1]
        paired = is_paired(store, 1, devices.get(1), others)
        _line(
            None if not paired else True,
            "whatsapp",
            "session paired" if paired else "not paired yet: start the bot and send /login",
        )
    llm = make_llm(settings)
    try:
        _line(True, "llm", f"{llm.name}: {await llm.ping()}")
    except AppError as exc:
        _line(False, "llm", f"{settings.llm_provider} does not answer ({exc})")
        failed = True
    finally:
        await llm.aclose()
    if failed:
        print("wa-secretary check: some checks failed (see FAIL lines above)", file=sys.stderr)
    return 1 if failed else 0
