"""The neonize client of one session: how it is made (every handler registered, Go waiting
for each), and when Go may be called through it (``GoClient``).

See shared/docs/neonize.md: every handler is registered before connect() and only journals
(fsync) and queues the event, and Go waits for it before whatsmeow acknowledges the event
(neonize swallows handler exceptions and a slow handler stalls the connection); no Go call
is made before the first connect or after stop() (both can abort the process); stop() has
its own timeout (it can hang).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from neonize.aioze import events as neonize_events
from neonize.aioze.client import NewAClient
from neonize.exc import NeonizeError
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps

from core.errors import NotConnected
from core.ids import ConnectionState
from whatsapp import protos
from whatsapp.session import DeviceChoice, is_postgres

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0
#: How long Go waits for a handler (journal + fsync) before it acknowledges anyway.
HANDLER_TIMEOUT = 30.0
#: neonize event classes, by the names GatewayBase dispatches on.
HANDLED = dict(protos.EVENT_TYPES)
#: What neonize's errors say when the session is not connected (not a refusal).
NOT_CONNECTED = ("not connected", "client is nil")


def wait_for_handlers(
    client: NewAClient, loop: asyncio.AbstractEventLoop, timeout: float = HANDLER_TIMEOUT
) -> None:
    """Make Go wait for our handler of each event before it goes on.

    neonize's ``Event.execute`` (called on Go's callback thread) only schedules the handler
    and returns at once, and whatsmeow acknowledges the event to WhatsApp when it returns:
    a data event would be acknowledged before it is journaled. This replacement, installed
    before ``connect()`` builds the callback from it, parses the event the same way and
    blocks the Go thread until the handler (which journals and fsyncs) has finished."""
    original = client.event.execute

    def execute(uuid: int, binary: int, size: int, code: int) -> None:
        handler = client.event.list_func.get(code)
        if code == 0 or code not in neonize_events.INT_TO_EVENT or handler is None:
            original(uuid, binary, size, code)  # the device event, unknown codes: as before
            return
        message = neonize_events.INT_TO_EVENT[code].FromString(ctypes.string_at(binary, size))
        if code == 3:
            client.connected = True  # what neonize's own execute does for ConnectedEv
        future = asyncio.run_coroutine_threadsafe(handler(client, message), loop)
        try:
            future.result(timeout=timeout)
        except Exception:  # a stuck loop must not stop the session for good
            logger.exception("WhatsApp event %d not handled in time; acknowledged anyway", code)

    client.event.execute = execute


def quiet_neonize_logging() -> None:
    """Stop neonize forwarding Go DEBUG logs across the FFI (its default is NOTSET)."""
    logging.getLogger("neonize.utils.log").setLevel(logging.WARNING)
    for name in ("whatsmeow", "Whatsmeow", "neonize"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Device:
    """Which device of its store an account's client is: the key of Go's client map
    (``uuid``; None: neonize's default, the store name), the stored device to resume
    (``jid``) or a blank one (``new_device``); all unset: the store's first device."""

    uuid: str | None = None
    jid: str | None = None
    new_device: bool = False


def device_for(store: str, account_id: int = 1, choice: DeviceChoice | None = None) -> Device:
    """The device of account ``account_id`` in ``store``; ``choice``: the one picked in a
    shared PostgreSQL store (``session.choose_device``; None: the store's first).

    Account 1 is keyed as a single-account install always was (by the store name); account
    N>1 gets its own key, ``account-N`` (neonize keys Go's client map by it: two clients on
    one PostgreSQL URL would collide). A SQLite store is the account's own file, holding its
    device alone: its first device. neonize keys a client given a JID by that JID's user
    (the account's phone number) instead: still its own."""
    uuid = None if account_id == 1 else f"account-{account_id}"
    if choice is None or not is_postgres(store):
        return Device(uuid=uuid)
    return Device(uuid=uuid, jid=choice.jid, new_device=choice.blank and not choice.jid)


def make_client(
    store: str,
    device_name: str,
    handler: Callable[[str], Callable[[Any, Any], Awaitable[None]]],
    on_qr: Callable[[Any, bytes], Awaitable[None]],
    device: Device | None = None,
) -> NewAClient:
    """Create a client of ``device`` (default: the store's first) with ``handler(name)``
    registered for every event type, ``on_qr`` for the login codes, and Go waiting for
    each (call on the running loop)."""
    device = device or Device()
    props = DeviceProps(os=device_name, platformType=DeviceProps.SAFARI)
    client = NewAClient(
        store,
        jid=protos.jid(device.jid) if device.jid else None,
        props=props,
        uuid=device.uuid,
        new_device=device.new_device,
    )
    for name, cls in HANDLED.items():
        client.event(cls)(handler(name))
    client.qr(on_qr)
    wait_for_handlers(client, asyncio.get_running_loop())
    return client


def pin_device(client: NewAClient, jid: Any | None) -> None:
    """Make the client's next connect resume device ``jid`` (None: ask for a blank device,
    as after a logout). For an account that shares a PostgreSQL store: its first connect
    may have paired a blank device, which a reconnect must resume, never replace; neonize
    reads both attributes at each connect (its key in Go's map stays as made)."""
    client.jid = jid
    client.new_device = jid is None


def use_this_loop() -> None:
    """Point neonize's process-wide loop (its QR callback and its own dispatch use it) at
    the running loop. Set, never cleared: neonize keeps the first loop it saw forever (a
    new loop — tests, restarts — must replace it), and clearing it while another account's
    session runs would fail that session's callbacks until its next connect."""
    neonize_events.event_global_loop = asyncio.get_running_loop()


def device_jid_str(jid: Any) -> str:
    """``user[:device]@server`` of a device JID (as whatsmeow stores it); "" when empty."""
    if jid is None or getattr(jid, "IsEmpty", False) or not getattr(jid, "User", ""):
        return ""
    device = f":{jid.Device}" if jid.Device else ""
    return f"{jid.User}{device}@{jid.Server}"


def not_connected(exc: NeonizeError) -> bool:
    """Whether a neonize error means the session is not connected (not a refusal)."""
    text = str(exc)
    return any(sign in text for sign in NOT_CONNECTED)


class GoClient:
    """The session's client and whether Go may be called through it now: only after a
    connect attempt and before stop(); calls that touch the session hold ``lock``."""

    def __init__(self, client: NewAClient | None = None) -> None:
        """``client``: one already connected by the caller (used as after a connect
        attempt); None: the gateway makes its own at start()."""
        self.client = client
        #: A connect was attempted: the local store may be read.
        self.attempted = client is not None
        self.stopping = False
        self.lock = asyncio.Lock()

    def local(self) -> NewAClient | None:
        """The client, when calls into its local store are safe (after a connect attempt,
        before stop(): otherwise Go aborts the process)."""
        if self.client is None or not self.attempted or self.stopping:
            return None
        return self.client

    def live(self, state: ConnectionState) -> NewAClient:
        """The client of a connected session; NotConnected otherwise."""
        client = self.local()
        if client is None:
            raise NotConnected("the WhatsApp session is not running")
        if state != ConnectionState.CONNECTED:
            raise NotConnected(f"WhatsApp is {state.value}")
        return client

    async def stop(self) -> None:
        """Stop the Go client (bounded by ``STOP_TIMEOUT``); nothing before a connect."""
        if self.client is None or not self.attempted:
            return
        try:
            async with self.lock:
                await asyncio.wait_for(self.client.stop(), STOP_TIMEOUT)
        except TimeoutError:
            logger.error("neonize stop() did not return within %.0f s", STOP_TIMEOUT)
        except NeonizeError as exc:
            logger.warning("neonize stop() failed: %s", exc)
