"""The health and metrics endpoint over real HTTP, on the running app (simulator backend)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import urllib.error
import urllib.request

from bot.health import HealthEndpoint
from bot.health_report import HealthMonitor, HealthReport, verdict
from core.ids import ConnectionState
from tests.bot.conftest import ADMIN, ME, Env
from tests.support import wait_until


def fetch(port: int, path: str) -> tuple[int, str]:
    """GET, returning the status and body also for error statuses."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def get(port: int, path: str) -> tuple[int, str]:
    """GET from a worker thread (the endpoint needs the loop free to answer)."""
    return await asyncio.to_thread(fetch, port, path)


def report(state: ConnectionState, state_age: float = 0.0, store_error=None) -> HealthReport:
    return HealthReport(store_error, state, state_age, 3.0, 0, 10, {}, {}, 0, 0)


def test_verdict_follows_the_state_and_its_age() -> None:
    assert verdict(report(ConnectionState.CONNECTED))[0]
    assert verdict(report(ConnectionState.LOGGED_OUT, 9999))[0]  # the owner was told
    assert verdict(report(ConnectionState.WAITING_FOR_QR, 9999))[0]
    assert verdict(report(ConnectionState.RECONNECTING, 29), grace=30)[0]
    ok, why = verdict(report(ConnectionState.RECONNECTING, 31), grace=30)
    assert not ok and "reconnecting for 31 s" in why
    ok, why = verdict(report(ConnectionState.CONNECTED, store_error="disk full"))
    assert not ok and "not writable" in why


async def test_healthz_and_metrics_follow_the_session(env: Env) -> None:
    monitor = HealthMonitor(env.services)
    endpoint = HealthEndpoint(monitor, asyncio.get_running_loop(), "127.0.0.1", 0, grace=0.5)
    endpoint.start()
    try:
        env.feed_line(event="connected", jid=ME)
        await wait_until(lambda: env.services.gateway.state == ConnectionState.CONNECTED)
        env.message("H1", "hello")
        await env.settle()
        status, body = await get(endpoint.port, "/healthz")
        assert status == 200 and "WhatsApp connected" in body

        status, metrics = await get(endpoint.port, "/metrics")
        assert status == 200
        assert "wa_secretary_messages_stored 1.0" in metrics
        assert (
            'wa_secretary_whatsapp_state{wa_secretary_whatsapp_state="connected"} 1.0' in metrics
        )
        assert "wa_secretary_store_writable 1.0" in metrics
        assert "wa_secretary_healthy 1.0" in metrics
        assert "hello" not in metrics  # no message text

        env.feed_line(event="disconnected")
        await wait_until(lambda: env.services.gateway.state == ConnectionState.RECONNECTING)
        start = env.services.clock.monotonic()
        await wait_until(lambda: env.services.clock.monotonic() - start > 0.6)
        status, body = await get(endpoint.port, "/healthz")
        assert status == 503 and "reconnecting" in body

        env.feed_line(event="connected", jid=ME)
        await wait_until(lambda: env.services.gateway.state == ConnectionState.CONNECTED)
        assert (await get(endpoint.port, "/healthz"))[0] == 200
        assert (await get(endpoint.port, "/nothing"))[0] == 404
    finally:
        await endpoint.stop()


async def test_a_locked_store_and_a_stuck_loop_are_unhealthy(env: Env) -> None:
    loop = asyncio.get_running_loop()
    monitor = HealthMonitor(env.services, probe_timeout=0.3)
    endpoint = HealthEndpoint(monitor, loop, "127.0.0.1", 0, loop_timeout=0.5)
    endpoint.start()
    try:
        other = sqlite3.connect(env.data / "secretary.db", timeout=0)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            status, body = await get(endpoint.port, "/healthz")
            assert status == 503 and "store is not writable" in body
        finally:
            other.rollback()
            other.close()
        status, body = await get(endpoint.port, "/healthz")  # the store answers again
        assert status == 200 and "ok: WhatsApp connecting" in body

        answered = threading.Event()
        answer: list[tuple[int, str]] = []

        def ask() -> None:
            answer.append(fetch(endpoint.port, "/healthz"))
            answered.set()

        loop.call_soon(answered.wait, 10.0)  # the loop is stuck until the endpoint answered
        threading.Thread(target=ask).start()
        await asyncio.sleep(0)  # give the stuck callback its turn
        assert answered.is_set()
        status, body = answer[0]
        assert status == 503 and "event loop did not answer" in body
    finally:
        await endpoint.stop()


async def test_status_says_since_when_the_session_is_in_its_state(env: Env) -> None:
    env.feed_line(event="connected", jid=ME)
    await wait_until(lambda: env.services.gateway.state == ConnectionState.CONNECTED)
    since = env.services.gateway.state_since
    env.api.send_text(ADMIN, "/status")
    status = await env.api.wait_for(lambda c: "<b>Status</b>" in c.text)
    local = since.astimezone(env.services.tz)
    assert f"since {local:%a %d %b %H:%M}" in status.text, status.text
    assert "last WhatsApp event" in status.text
