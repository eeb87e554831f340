"""The optional local health and metrics endpoint (HEALTH_PORT): ``/healthz`` and ``/metrics``.

The standard library's WSGI server answers on a daemon thread, so a stuck event loop cannot
keep it from answering. Every answer is computed on the loop (``run_coroutine_threadsafe``)
within a timeout; a loop that does not answer in time is itself reported as unhealthy.
``/metrics`` is prometheus-client's own exposition of a collector that reads the same report.
Nothing here touches message text.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.registry import Collector

from bot.context import Services
from core.errors import StorageError
from core.ids import TERMINAL_STATES, ConnectionState

logger = logging.getLogger(__name__)

#: A session that is (re)connecting for longer than this is unhealthy.
GRACE_SECONDS = 20.0
#: How long the store may take to accept the probe write.
PROBE_TIMEOUT_SECONDS = 3.0
#: How long the HTTP thread waits for the event loop before calling it stuck.
LOOP_TIMEOUT_SECONDS = 5.0
#: States the owner has been told about and must act on: a restart would not help.
TOLD_STATES = TERMINAL_STATES | {ConnectionState.WAITING_FOR_QR}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class HealthReport:
    """One reading of everything /healthz and /metrics show."""

    store_error: str | None
    state: ConnectionState
    state_age: float
    last_event_age: float | None
    reconnects: int
    messages_stored: int | None
    telegram: dict[str, int]
    whatsapp: dict[str, int]
    llm_calls: int
    llm_failures: int


def verdict(report: HealthReport, grace: float = GRACE_SECONDS) -> tuple[bool, str]:
    """Decide healthy or not, with the reason in plain words."""
    if report.store_error is not None:
        return False, f"unhealthy: the store is not writable ({report.store_error})"
    state = report.state.value
    if report.state == ConnectionState.CONNECTED:
        age = report.last_event_age
        seen = "no event yet" if age is None else f"last event {age:.0f} s ago"
        return True, f"ok: WhatsApp connected, {seen}"
    if report.state in TOLD_STATES:
        return True, f"ok: WhatsApp {state}; the owner was told what to do"
    if report.state_age < grace:
        return True, f"ok: WhatsApp {state} for {report.state_age:.0f} s"
    return False, f"unhealthy: WhatsApp {state} for {report.state_age:.0f} s"


class HealthMonitor:
    """Collects a HealthReport on the event loop; tracks how long the session is in a state."""

    def __init__(self, services: Services, probe_timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self.services = services
        self.probe_timeout = probe_timeout

    async def report(self) -> HealthReport:
        """Probe the store with a real write, then read the counters (skipped when the store
        does not answer: they would wait behind the stuck write)."""
        s, g = self.services, self.services.gateway
        now = s.clock.monotonic()
        store_error = await self._probe_store()
        ok = store_error is None
        return HealthReport(
            store_error=store_error,
            state=g.state,
            state_age=(s.clock.now() - g.state_since).total_seconds(),
            last_event_age=None if g.last_event_at is None else now - g.last_event_at,
            reconnects=g.reconnects,
            messages_stored=await s.storage.messages.count_since(EPOCH) if ok else None,
            telegram=await s.storage.telegram_outbox.counts() if ok else {},
            whatsapp=await s.storage.whatsapp_outbox.counts() if ok else {},
            llm_calls=s.llm.calls,
            llm_failures=s.llm.failed_calls,
        )

    async def _probe_store(self) -> str | None:
        """Write one settings row; return what went wrong, or None."""
        write = self.services.storage.settings.set(
            "health_probe", self.services.clock.now().isoformat()
        )
        try:
            await asyncio.wait_for(write, self.probe_timeout)
        except TimeoutError:
            return f"no answer within {self.probe_timeout:g} s (locked or stuck)"
        except StorageError as exc:
            return str(exc)[:200]
        return None


class ReportCollector(Collector):
    """prometheus-client collector over the monitor's report."""

    def __init__(self, read: Callable[[], HealthReport]) -> None:
        self.read = read

    def collect(self) -> Iterator[Any]:
        """Yield the metrics for /metrics from a fresh health report."""
        r = self.read()
        prefix = "wa_secretary"
        yield StateSetMetricFamily(
            f"{prefix}_whatsapp_state",
            "WhatsApp connection state",
            {state.value: state == r.state for state in ConnectionState},
        )
        yield GaugeMetricFamily(
            f"{prefix}_healthy", "1 when /healthz answers 200", value=int(verdict(r)[0])
        )
        if r.last_event_age is not None:
            yield GaugeMetricFamily(
                f"{prefix}_last_event_age_seconds",
                "Seconds since the last WhatsApp event",
                value=r.last_event_age,
            )
        yield CounterMetricFamily(
            f"{prefix}_reconnects", "WhatsApp reconnects since start", value=r.reconnects
        )
        yield GaugeMetricFamily(
            f"{prefix}_store_writable",
            "1 when the store accepts writes",
            value=int(r.store_error is None),
        )
        if r.messages_stored is not None:
            yield GaugeMetricFamily(
                f"{prefix}_messages_stored",
                "WhatsApp messages in the store",
                value=r.messages_stored,
            )
        for queue, counts in (("telegram", r.telegram), ("whatsapp", r.whatsapp)):
            items = GaugeMetricFamily(
                f"{prefix}_{queue}_outbox_items",
                f"{queue.title()} outbox items by state (pending = the queue depth)",
                labels=["state"],
            )
            for state, n in sorted(counts.items()):
                items.add_metric([state], n)
            yield items
        yield CounterMetricFamily(f"{prefix}_llm_calls", "LLM calls made", value=r.llm_calls)
        yield CounterMetricFamily(
            f"{prefix}_llm_failures", "LLM calls that failed", value=r.llm_failures
        )


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("health endpoint: " + format, *args)


class HealthEndpoint:
    """The HTTP server, bound when constructed, serving once started."""

    def __init__(
        self,
        monitor: HealthMonitor,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        grace: float = GRACE_SECONDS,
        loop_timeout: float = LOOP_TIMEOUT_SECONDS,
    ) -> None:
        self.monitor = monitor
        self.loop = loop
        self.grace = grace
        self.loop_timeout = loop_timeout
        registry = CollectorRegistry(auto_describe=False)
        registry.register(ReportCollector(self._read))
        self._metrics = make_wsgi_app(registry)
        self._server = make_server(
            host, port, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-endpoint", daemon=True
        )

    def _read(self) -> HealthReport:
        """Run the monitor on the loop; raise TimeoutError when the loop does not answer."""
        future = asyncio.run_coroutine_threadsafe(self.monitor.report(), self.loop)
        try:
            return future.result(timeout=self.loop_timeout)
        except TimeoutError:
            future.cancel()
            raise

    def _app(self, environ: dict[str, Any], respond: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            try:
                return self._metrics(environ, respond)  # type: ignore[no-any-return]
            except TimeoutError:
                return _plain(respond, 503, "the event loop did not answer in time\n")
        if path != "/healthz":
            return _plain(respond, 404, "not found: try /healthz or /metrics\n")
        try:
            ok, text = verdict(self._read(), self.grace)
        except TimeoutError:
            ok, text = False, "unhealthy: the event loop did not answer in time"
        return _plain(respond, 200 if ok else 503, text + "\n")

    def start(self) -> None:
        """Serve on the daemon thread."""
        self._thread.start()
        logger.info("health endpoint on port %d (/healthz, /metrics)", self.port)

    async def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            await asyncio.to_thread(self._server.shutdown)
        self._server.server_close()


def _plain(respond: Callable[..., Any], status: int, text: str) -> list[bytes]:
    reasons = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}
    body = text.encode()
    respond(
        f"{status} {reasons[status]}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
