"""Rows for notebooks: the lazy pandas conversion and the short HTML preview of results.

Every result container (site results, uptime reports, event listings, rejects) gives its rows
as JSON-ready dicts; this module turns such rows into a DataFrame with real datetime columns,
and into the few-row HTML table a notebook shows. pandas is not a dependency of the package:
it is imported only when a DataFrame is asked for.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol, cast

__all__ = ["PREVIEW_ROWS", "RowsMixin", "html_preview", "import_pandas", "rows_to_pandas"]

PREVIEW_ROWS: Final = 10
"""Rows shown by a notebook's HTML preview of a result."""

_PANDAS_MISSING: Final = (
    "to_pandas() needs pandas, which is not installed: run `pip install pandas` "
    "(or use to_dicts() for plain rows)"
)


def import_pandas() -> Any:
    """Import pandas on first use.

    Returns:
        The ``pandas`` module.

    Raises:
        ImportError: pandas is not installed; the message says ``pip install pandas``.
    """
    try:
        return importlib.import_module("pandas")
    except ImportError as err:
        raise ImportError(_PANDAS_MISSING) from err


def rows_to_pandas(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    times: Sequence[str] = (),
    nullable_ints: Sequence[str] = (),
) -> Any:
    """Build a DataFrame from JSON-ready rows.

    Args:
        rows: the rows, each keyed by ``columns``.
        columns: the column names, in order (kept even when there are no rows).
        times: columns holding ISO 8601 UTC text; they become tz-aware UTC datetimes.
        nullable_ints: integer columns that may hold None (pandas' ``Int64``).

    Returns:
        A ``pandas.DataFrame``.

    Raises:
        ImportError: pandas is not installed.
    """
    pandas = import_pandas()
    frame = pandas.DataFrame.from_records(list(rows), columns=list(columns))
    for name in times:
        # ISO8601 accepts every fraction length the project writes (0 to 6 digits).
        frame[name] = pandas.to_datetime(frame[name], utc=True, format="ISO8601")
    for name in nullable_ints:
        frame[name] = frame[name].astype("Int64")
    return frame


def html_preview(
    title: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]], total: int
) -> str:
    """A short HTML table of the first rows, every value escaped, for notebooks.

    Args:
        title: the caption, such as ``UptimeReport(3 stores, ...)`` (escaped here).
        columns: the columns to show, in order.
        rows: the rows to show (at most :data:`PREVIEW_ROWS` are read).
        total: how many rows the whole result has, to say how many are not shown.

    Returns:
        An HTML fragment.
    """
    head = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    body: list[str] = []
    for number, row in enumerate(rows):
        if number == PREVIEW_ROWS:
            break
        cells = "".join(f"<td>{html.escape(_cell(row.get(name)))}</td>" for name in columns)
        body.append(f"<tr>{cells}</tr>")
    more = total - len(body)
    tail = f"<p>... {more} more rows</p>" if more > 0 else ""
    return (
        f"<table><caption>{html.escape(title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{tail}"
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


class _RowItem(Protocol):
    """A value that gives one JSON-ready row."""

    def to_dict(self) -> dict[str, Any]:
        """Return the row."""


class RowsMixin:
    """``to_pandas`` and ``_repr_html_`` for a result that gives ``to_dicts()`` rows.

    A class using it sets :attr:`COLUMNS` (and :attr:`TIME_COLUMNS`,
    :attr:`NULLABLE_INT_COLUMNS` where it has them) and ``__repr__``. Its rows are the
    ``to_dict()`` of each value :meth:`_row_items` gives: by default the container's own
    items; a result whose rows are not one per item overrides the three row methods.
    """

    __slots__ = ()  # the containers are tuples and lists: no per-instance dict

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    TIME_COLUMNS: ClassVar[tuple[str, ...]] = ()
    NULLABLE_INT_COLUMNS: ClassVar[tuple[str, ...]] = ()

    def _row_items(self) -> Sequence[_RowItem]:
        """The values whose ``to_dict()`` are the rows: the container itself by default."""
        return cast(Sequence[_RowItem], self)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Return the rows as JSON-ready dicts, one per value, in order."""
        return [item.to_dict() for item in self._row_items()]

    def _preview_dicts(self) -> list[dict[str, Any]]:
        """The first rows only: a preview must not convert a million rows."""
        return [item.to_dict() for item in self._row_items()[:PREVIEW_ROWS]]

    def _row_count(self) -> int:
        return len(self._row_items())

    def to_pandas(self) -> Any:
        """Return the rows as a ``pandas.DataFrame``; instants are tz-aware UTC datetimes.

        Raises:
            ImportError: pandas is not installed (``pip install pandas``).
        """
        return rows_to_pandas(
            self.to_dicts(),
            self.COLUMNS,
            times=self.TIME_COLUMNS,
            nullable_ints=self.NULLABLE_INT_COLUMNS,
        )

    def _repr_html_(self) -> str:
        """The notebook preview: the one-line repr and a table of the first rows."""
        return html_preview(repr(self), self.COLUMNS, self._preview_dicts(), self._row_count())
