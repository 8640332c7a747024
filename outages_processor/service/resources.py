"""What one process of the service holds: its stores, its writers, its reports.

Opened once per worker process when the application starts and closed when it stops;
every request of the process shares them (the stores are thread-safe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import attrs
from starlette.requests import Request

from outages_processor.reports.service import ReportService
from outages_processor.stores.group_commit import GroupCommitter
from outages_processor.stores.writer_client import WriterClient
from outages_processor.settings import ServiceSettings
from outages_processor.stores.event_store import EventStore

if TYPE_CHECKING:
    from outages_processor.reports.status_store import StatusStore

__all__ = ["Resources"]


@attrs.define
class Resources:
    """The long-lived objects of one service process.

    Attributes:
        settings: the service's settings.
        events: the event store.
        writer: what ``POST /outages`` stores through: the service's writer process when
            there is one (``settings.writer_socket``), else this process's own group
            committer (``writer.local``).
        status: the status store.
        reports: the report service (states in ``settings.reports_dir``).
    """

    settings: ServiceSettings
    events: EventStore
    writer: WriterClient
    status: StatusStore
    reports: ReportService

    @classmethod
    def open(cls, settings: ServiceSettings) -> Resources:
        """Open the stores and start the writer and the report service.

        Raises:
            EventStoreError: the event database cannot be used.
            OutagesError: the status store cannot be used.
        """
        # pylint: disable-next=import-outside-toplevel
        from outages_processor.reports.status_store import StatusStore

        events = EventStore(settings.events_db)
        try:
            status = StatusStore(settings.uptime_db)
        except BaseException:
            events.close()
            raise
        return cls(
            settings=settings,
            events=events,
            writer=WriterClient(settings.writer_socket, GroupCommitter(events)),
            status=status,
            reports=ReportService(settings.reports_dir, workers=settings.report_workers),
        )

    def close(self) -> None:
        """Store what is queued, wait for this process's reports, close the stores.

        Close :attr:`writer` first, on the event loop (:meth:`WriterClient.aclose`).
        """
        self.writer.local.close()
        self.reports.close()
        self.status.close()
        self.events.close()

    @staticmethod
    def of(request: Request) -> Resources:
        """The resources of the application that serves ``request``."""
        return cast(Resources, request.app.state.resources)
