"""Which engine reads a status file: the pure readers, or the columnar one (``fast`` extra).

The columnar reader (:mod:`outages_processor.inputs.status_columnar`) takes a local file
whose rows are all clean; for any other file or input it gives way to the pure readers,
which are the one definition of what is accepted and of every error message.
"""

from __future__ import annotations

import os
from typing import Final

from outages_processor.errors import ConfigError
from outages_processor.inputs.poll_blocks import StatusPart
from outages_processor.inputs.status_columnar import (
    FAST_EXTRA,
    columnar_available,
    read_status_columnar,
)
from outages_processor.models.common import ENGINES, Engine

__all__ = [
    "AUTO_COLUMNAR_MIN_BYTES",
    "ENGINES",
    "Engine",
    "check_engine",
    "columnar_part",
    "columnar_wanted",
]

AUTO_COLUMNAR_MIN_BYTES: Final = 4 << 20
"""``"auto"`` reads files at least this large with the columnar engine. Below it, importing
pyarrow and numpy costs more than the columnar read saves: measured side by side (whole
command, empty hours), columnar took 1.16x the pure engine's time at 1 MiB, 0.98x at
4 MiB, 0.89x at 8 MiB and 0.83x at 16 MiB."""


def check_engine(engine: Engine) -> None:
    """Check that the engine asked for can run here.

    Raises:
        ConfigError: ``"columnar"`` without pyarrow and numpy installed.
    """
    if engine == "columnar" and not columnar_available():
        raise ConfigError(f"the columnar engine needs pyarrow and numpy: {FAST_EXTRA}")


def columnar_part(
    path: str | os.PathLike[str], engine: Engine, partitions: int
) -> StatusPart | None:
    """The polls of a local status file read by the columnar engine, when it is the one.

    Returns:
        The part; None when the pure readers are to read the file: the engine is
        ``"python"``, or ``"auto"`` without the extra or for a small file, or the file is not
        clean (see :func:`~outages_processor.inputs.status_columnar.read_status_columnar`).

    Raises:
        InputDataError: the file cannot be read, is empty or lacks a required column.
    """
    if not columnar_wanted(path, engine):
        return None
    return read_status_columnar(path, partitions=partitions)


def columnar_wanted(path: str | os.PathLike[str], engine: Engine) -> bool:
    """True when the columnar engine is to try a local status file (it may still find the
    file not clean): the engine is ``"columnar"``, or ``"auto"`` with the extra installed
    and a file of at least :data:`AUTO_COLUMNAR_MIN_BYTES`."""
    if engine == "python":
        return False
    return engine == "columnar" or (
        columnar_available() and _size(path) >= AUTO_COLUMNAR_MIN_BYTES
    )


def _size(path: str | os.PathLike[str]) -> int:
    """The file's size in bytes (0 when it cannot be read: the pure readers say why)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
