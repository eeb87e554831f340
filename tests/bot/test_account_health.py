"""/healthz and /metrics with several WhatsApp accounts (issue 21): every account counts,
over real HTTP on the running app (simulator backend)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.health import HealthEndpoint
from bot.health_report import HealthMonitor, HealthReport, SessionHealth, verdict
from core.ids import ConnectionState
from tests.bot.accounts_setup import ANNA, BOSS, add_work_account, hold_replay
from tests.bot.conftest import Env, settings_for, start_app, stop_app
from tests.bot.test_health import get
from tests.support import wait_until

CONNECTED, RECONNECTING = ConnectionState.CONNECTED, ConnectionState.RECONNECTING


def two(work: ConnectionState, work_age: float) -> HealthReport:
    main = SessionHealth("main", CONNECTED, 100.0, 3.0, 0)
    other = SessionHealth("work", work, work_age, None, 2)
    return HealthReport(None, CONNECTED, 100.0, 3.0, 0, 10, {}, {}, 0, 0, (main, other))


def test_any_unhealthy_account_makes_the_verdict_unhealthy_and_is_named() -> None:
    ok, text = verdict(two(CONNECTED, 5), grace=30)
    assert ok and text.splitlines() == [
        "ok: 2 WhatsApp accounts",
        "main: WhatsApp connected, last event 3 s ago",
        "work: WhatsApp connected, no event yet",
    ]
    assert verdict(two(RECONNECTING, 29), grace=30)[0]
    assert verdict(two(ConnectionState.LOGGED_OUT, 9999), grace=30)[0]  # the owner was told
    ok, text = verdict(two(RECONNECTING, 31), grace=30)
    assert not ok and text.splitlines()[0] == "unhealthy: work: WhatsApp reconnecting for 31 s"
    assert "main: WhatsApp connected" in text


async def test_an_account_that_could_not_start_is_not_unhealthy_for_good(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_work_account(env)
    work_id = env.services.accounts.by_label("work").id
    await stop_app(env.app)
    hold_replay(monkeypatch, work_id, fail=True)
    env.app = await start_app(settings_for(tmp_path, env.api, env.feed))
    await env.api.wait_for(lambda c: "💼 Work: could not start" in c.text)
    ok, text = verdict(await HealthMonitor(env.services).report(), grace=0.0)
    assert ok, text  # the owner was told: a restart loop would not mend it
    assert "work: could not start; the owner was told" in text


async def test_healthz_and_metrics_cover_every_account(env: Env) -> None:
    await add_work_account(env)
    env.message("P1", "hello", chat=ANNA, push_name="Anna")
    env.message("W1", "the slides?", chat=BOSS, push_name="Boss", account="work")
    await env.settle()
    endpoint = HealthEndpoint(
        HealthMonitor(env.services), asyncio.get_running_loop(), "127.0.0.1", 0, grace=0.5
    )
    endpoint.start()
    try:
        status, body = await get(endpoint.port, "/healthz")
        assert status == 200, body
        assert body.startswith("ok: 2 WhatsApp accounts\nmain: WhatsApp connected"), body
        assert "work: WhatsApp connected" in body

        status, metrics = await get(endpoint.port, "/metrics")
        assert status == 200
        for label in ("main", "work"):
            assert (
                f'wa_secretary_whatsapp_state{{account="{label}",'
                'wa_secretary_whatsapp_state="connected"} 1.0'
            ) in metrics, metrics
            assert f'wa_secretary_reconnects_total{{account="{label}"}}' in metrics
            assert f'wa_secretary_whatsapp_state_age_seconds{{account="{label}"}}' in metrics
            assert f'wa_secretary_last_event_age_seconds{{account="{label}"}}' in metrics
        assert "wa_secretary_messages_stored 2.0" in metrics  # both accounts' messages
        assert "wa_secretary_healthy 1.0" in metrics

        work = env.services.accounts.by_label("work").gateway
        env.feed_line(event="disconnected", account="work")
        await wait_until(lambda: work.state == RECONNECTING)
        start = env.services.clock.monotonic()
        await wait_until(lambda: env.services.clock.monotonic() - start > 0.6)
        status, body = await get(endpoint.port, "/healthz")
        assert status == 503, body
        assert body.startswith("unhealthy: work: WhatsApp reconnecting for "), body
        assert "main: WhatsApp connected" in body
        metrics = (await get(endpoint.port, "/metrics"))[1]
        assert "wa_secretary_healthy 0.0" in metrics
        assert (
            'wa_secretary_whatsapp_state{account="work",'
            'wa_secretary_whatsapp_state="reconnecting"} 1.0'
        ) in metrics

        env.feed_line(event="connected", jid=work.own_jid, account="work")
        await wait_until(lambda: work.state == CONNECTED)
        assert (await get(endpoint.port, "/healthz"))[0] == 200
    finally:
        await endpoint.stop()


async def test_one_account_keeps_its_metrics_unlabelled(env: Env) -> None:
    endpoint = HealthEndpoint(
        HealthMonitor(env.services), asyncio.get_running_loop(), "127.0.0.1", 0
    )
    endpoint.start()
    try:
        status, body = await get(endpoint.port, "/healthz")
        assert status == 200 and body == "ok: WhatsApp connecting for 0 s\n", body
        metrics = (await get(endpoint.port, "/metrics"))[1]
        assert "account=" not in metrics
        assert "\nwa_secretary_whatsapp_state_age_seconds " in metrics
        assert "\nwa_secretary_reconnects_total 0.0" in metrics
    finally:
        await endpoint.stop()
