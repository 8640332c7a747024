"""A local emulator of the KrakenFlex API, for trying the job and testing it offline.

:class:`Sandbox` serves ``GET /outages``, ``GET /site-info/{site_id}`` and
``POST /site-outages/{site_id}`` under ``/interview-tests-mock-api/v1`` on loopback, with the
bundled public data (sites ``norwich-pear-tree`` and ``kingfisher``), answers errors as the
live API does, and injects :class:`Faults` on request. Only the standard library serves it.

Example::

    from outages_processor.sandbox import SANDBOX_API_KEY, Faults, Sandbox

    with Sandbox(faults=Faults(rate=0.2, seed=7)) as sandbox:
        print(sandbox.base_url, SANDBOX_API_KEY)
"""

from outages_processor.sandbox._data import CUTOFF, expected_outages
from outages_processor.sandbox._faults import FAULT_KINDS, Faults
from outages_processor.sandbox._routes import API_PATH, RATE_LIMITED_SITE
from outages_processor.sandbox._server import SANDBOX_API_KEY, Sandbox

__all__ = [
    "API_PATH",
    "CUTOFF",
    "FAULT_KINDS",
    "Faults",
    "RATE_LIMITED_SITE",
    "SANDBOX_API_KEY",
    "Sandbox",
    "expected_outages",
]
