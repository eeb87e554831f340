"""What the health endpoint (bot/health.py) reports: one reading of every account's WhatsApp
session, the store and the LLM, taken on the event loop, and the rule that calls it healthy.
Nothing here touches message text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.context import Services
from core.errors import StorageError
from core.ids import TERMINAL_STATES, ConnectionState
from core.transport import WhatsAppGateway

#: A session that is (re)connecting for longer than this is unhealthy.
GRACE_SECONDS = 20.0
#: How long the store may take to accept the probe write.
PROBE_TIMEOUT_SECONDS = 3.0
#: States the owner has been told about and must act on: a restart would not help.
TOLD_STATES = TERMINAL_STATES | {ConnectionState.WAITING_FOR_QR}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SessionHealth:
    """One account's WhatsApp session in a health reading."""

    label: str
    state: ConnectionState
    state_age: float
    last_event_age: float | None
    reconnects: int
    #: It could not start and the owner was told (a restart would not mend it).
    failed: bool = False


@dataclass(frozen=True)
class HealthReport:
    """One reading of everything /healthz and /metrics show. The session fields are the
    default account's; ``sessions`` holds every account's (the default first)."""

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
    sessions: tuple[SessionHealth, ...] = ()

    @property
    def several(self) -> bool:
        """True when more than one account is linked (each is named then)."""
        return len(self.sessions) > 1


def verdict(report: HealthReport, grace: float = GRACE_SECONDS) -> tuple[bool, str]:
    """Decide healthy or not, with the reason in plain words; with several accounts,
    unhealthy when any one is (named first), then a line per account."""
    if report.store_error is not None:
        return False, f"unhealthy: the store is not writable ({report.store_error})"
    if not report.several:
        ok, why = session_verdict(report.state, report.state_age, report.last_event_age, grace)
        return ok, f"{'ok' if ok else 'unhealthy'}: {why}"
    lines, bad = [], []
    for x in report.sessions:
        ok, why = session_verdict(x.state, x.state_age, x.last_event_age, grace)
        if x.failed:
            ok, why = True, "could not start; the owner was told (see the log)"
        lines.append(f"{x.label}: {why}")
        if not ok:
            bad.append(f"{x.label}: {why}")
    head = f"unhealthy: {'; '.join(bad)}" if bad else f"ok: {len(lines)} WhatsApp accounts"
    return not bad, "\n".join([head, *lines])


def session_verdict(
    state: ConnectionState, state_age: float, last_event_age: float | None, grace: float
) -> tuple[bool, str]:
    """One session healthy or not by the rule of this module, and in what words."""
    if state == ConnectionState.CONNECTED:
        seen = (
            "no event yet" if last_event_age is None else f"last event {last_event_age:.0f} s ago"
        )
        return True, f"WhatsApp connected, {seen}"
    if state in TOLD_STATES:
        return True, f"WhatsApp {state.value}; the owner was told what to do"
    return state_age < grace, f"WhatsApp {state.value} for {state_age:.0f} s"


class HealthMonitor:
    """Collects a HealthReport on the event loop; tracks how long the session is in a state."""

    def __init__(self, services: Services, probe_timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self.services = services
        self.probe_timeout = probe_timeout

    async def report(self) -> HealthReport:
        """Probe the store with a real write, then read the counters of every account
        (skipped when the store does not answer: they would wait behind the stuck write)."""
        s = self.services
        store_error = await self._probe_store()
        ok = store_error is None
        everyone = s.storage.all_accounts
        listed = sorted(s.accounts, key=lambda a: a.id != s.accounts.default_id)
        sessions = tuple(self._session(a.label, a.gateway, a.failed) for a in listed)
        first = sessions[0]
        return HealthReport(
            store_error=store_error,
            state=first.state,
            state_age=first.state_age,
            last_event_age=first.last_event_age,
            reconnects=first.reconnects,
            messages_stored=await everyone.messages.count_since(EPOCH) if ok else None,
            telegram=await everyone.telegram_outbox.counts() if ok else {},
            whatsapp=await everyone.whatsapp_outbox.counts() if ok else {},
            llm_calls=s.llm.calls,
            llm_failures=s.llm.failed_calls,
            sessions=sessions,
        )

    def _session(self, label: str, g: WhatsAppGateway, failed: bool = False) -> SessionHealth:
        """One account's session: its state, for how long, its last event, its reconnects."""
        s = self.services
        return SessionHealth(
            label=label,
            state=g.state,
            state_age=(s.clock.now() - g.state_since).total_seconds(),
            last_event_age=(
                None if g.last_event_at is None else s.clock.monotonic() - g.last_event_at
            ),
            reconnects=g.reconnects,
            failed=failed,
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
