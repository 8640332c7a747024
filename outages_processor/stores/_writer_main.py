"""The event writer process of ``process_outages serve`` (internal).

A fresh interpreter runs :func:`main` (``python -m outages_processor.stores._writer_main
EVENTS_DB SOCKET``, as :func:`~outages_processor.stores.event_writer.writer_running` does):
it serves :func:`~outages_processor.stores.event_writer.serve_writer` and tells its parent,
in one frame on its standard output, that it listens or why it cannot start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from outages_processor.errors import OutagesError
from outages_processor.stores.event_writer import serve_writer
from outages_processor.stores.writer_wire import start_frame

logger = logging.getLogger(__name__)


def main(arguments: list[str]) -> None:
    """Serve until stopped (the process then ends normally, exit code 0).

    Args:
        arguments: the event database and the socket's path.
    """
    events_db, socket_path = arguments
    started = False

    def ready() -> None:
        nonlocal started
        started = True
        os.write(sys.stdout.fileno(), start_frame(None))

    try:
        asyncio.run(serve_writer(events_db, socket_path, ready))
    except (OutagesError, OSError) as err:
        if not started:
            os.write(sys.stdout.fileno(), start_frame(f"the event writer cannot start: {err}"))
        else:  # the parent starts another writer
            logger.error("the event writer stopped: %s", err)


if __name__ == "__main__":
    main(sys.argv[1:])
