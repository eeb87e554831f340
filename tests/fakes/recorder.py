"""A gateway subscriber that records every domain event, for gateway tests."""

from __future__ import annotations

from core.events import ConnectionChanged, HistoryBatchReceived, MessageReceived
from core.ids import ConnectionState


class Recorder:
    """Subscribe it to a gateway; it keeps the events in order."""

    def __init__(self) -> None:
        self.events: list[object] = []

    async def __call__(self, event: object) -> None:
        self.events.append(event)

    def states(self) -> list[ConnectionState]:
        """The connection states announced, in order."""
        return [e.state for e in self.events if isinstance(e, ConnectionChanged)]

    def handled(self) -> list[str]:
        """Ids of the messages handled, live or from history, in order."""
        ids: list[str] = []
        for e in self.events:
            if isinstance(e, HistoryBatchReceived):
                ids += [m.id for m in e.messages]
            elif isinstance(e, MessageReceived):
                ids.append(e.message.id)
        return ids
