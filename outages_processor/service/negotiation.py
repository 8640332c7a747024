"""Content negotiation: whether a client's ``Accept`` header prefers CSV to JSON.

``GET /get_report`` can answer a Complete report as JSON rows or as its CSV file; the
header's weights decide (RFC 9110, section 12.5.1), as :func:`wants_csv` says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

__all__ = ["wants_csv"]


_WEIGHT: Final = re.compile(r"0(?:\.\d{0,3})?|1(?:\.0{0,3})?")
"""An RFC 9110 qvalue: 0 to 1, at most three decimals."""
_SPECIFICITY: Final = {"text/csv": 3, "text/*": 2, "*/*": 1}
_JSON_SPECIFICITY: Final = {"application/json": 3, "application/*": 2, "*/*": 1}


def wants_csv(accept: Sequence[str]) -> bool:
    """Whether an ``Accept`` header (its values) prefers ``text/csv`` to JSON.

    Each type takes the weight (``q``, 1 by default) of the most specific media range that
    matches it (``text/csv``, then ``text/*``, then ``*/*``), or 0 (RFC 9110, section
    12.5.1). CSV is preferred when its weight is higher, or equal and not 0 with
    ``text/csv`` matched more specifically than JSON or named itself. A range with a
    malformed weight is ignored; no header at all (or ``*/*``) prefers JSON.

    Args:
        accept: the values of the request's ``Accept`` headers.
    """
    weights = _range_weights(accept)
    csv_rank, csv_weight = _quality(weights, _SPECIFICITY)
    json_rank, json_weight = _quality(weights, _JSON_SPECIFICITY)
    named = csv_rank == _SPECIFICITY["text/csv"]
    tie = 0 < csv_weight == json_weight and (csv_rank > json_rank or named)
    return csv_weight > json_weight or tie


def _range_weights(accept: Sequence[str]) -> dict[str, int]:
    """Each media range of the header (lower case) and its weight in thousandths (the
    first of a range listed twice)."""
    weights: dict[str, int] = {}
    for value in accept:
        for item in value.split(","):
            media, *parameters = (part.strip() for part in item.split(";"))
            weight = 1000
            for name, _, text in (parameter.partition("=") for parameter in parameters):
                if name.strip().lower() == "q":
                    text = text.strip()
                    weight = round(float(text) * 1000) if _WEIGHT.fullmatch(text) else -1
            if weight >= 0 and media:
                weights.setdefault(media.lower(), weight)
    return weights


def _quality(weights: dict[str, int], ranges: dict[str, int]) -> tuple[int, int]:
    """The specificity and weight of the most specific of ``ranges`` the header lists;
    ``(0, 0)`` for none."""
    return max(
        ((rank, weights[media]) for media, rank in ranges.items() if media in weights),
        default=(0, 0),
    )
