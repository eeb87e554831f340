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
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.registry import Collector

from bot.health_report import GRACE_SECONDS, HealthMonitor, HealthReport, SessionHealth, verdict
from core.ids import ConnectionState

logger = logging.getLogger(__name__)

#: How long the HTTP thread waits for the event loop before calling it stuck.
LOOP_TIMEOUT_SECONDS = 5.0


class ReportCollector(Collector):
    """prometheus-client collector over the monitor's report."""

    def __init__(self, read: Callable[[], HealthReport], grace: float = GRACE_SECONDS) -> None:
        self.read = read
        self.grace = grace  # the endpoint's, so "healthy" agrees with /healthz

    def collect(self) -> Iterator[Any]:
        """Yield the metrics for /metrics from a fresh health report."""
        r = self.read()
        prefix = "wa_secretary"
        yield GaugeMetricFamily(
            f"{prefix}_healthy",
            "1 when /healthz answers 200",
            value=int(verdict(r, self.grace)[0]),
        )
        yield from session_metrics(r, prefix)
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


def session_metrics(r: HealthReport, prefix: str) -> Iterator[Any]:
    """The per-session metrics: state, state age, last event age, reconnects; labelled
    ``account`` when there are several accounts (with one, no label, as always)."""
    labels = ["account"] if r.several else []
    sessions = (
        r.sessions
        if r.several
        else (SessionHealth("", r.state, r.state_age, r.last_event_age, r.reconnects),)
    )
    state = StateSetMetricFamily(
        f"{prefix}_whatsapp_state", "WhatsApp connection state", labels=labels
    )
    state_age = GaugeMetricFamily(
        f"{prefix}_whatsapp_state_age_seconds",
        "Seconds the WhatsApp session is in its state",
        labels=labels,
    )
    last = GaugeMetricFamily(
        f"{prefix}_last_event_age_seconds", "Seconds since the last WhatsApp event", labels=labels
    )
    reconnects = CounterMetricFamily(
        f"{prefix}_reconnects", "WhatsApp reconnects since start", labels=labels
    )
    for x in sessions:
        values = [x.label] if r.several else []
        state.add_metric(values, {s.value: s == x.state for s in ConnectionState})
        state_age.add_metric(values, x.state_age)
        if x.last_event_age is not None:
            last.add_metric(values, x.last_event_age)
        reconnects.add_metric(values, x.reconnects)
    yield state
    yield state_age
    if last.samples:
        yield last
    yield reconnects


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
        registry.register(ReportCollector(self._read, grace))
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
