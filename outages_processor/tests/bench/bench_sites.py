"""Site outage reporting benchmarks.

1. Parse and filter 100,000 outages against a site of 10,000 devices (target < 0.25 s).
2. 20 sites against a sandbox adding 100 ms to every request, beside one site
   (target: 20 sites within 1.5x the time of one).
3. ``process_outages --help`` start-up in a fresh interpreter (target < 0.4 s).
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from outages_processor.api import parse_outages
from outages_processor.core.filtering import select_site_outages
from outages_processor.models import Device, SiteInfo


def best_of(runs: int, func: Callable[[], object]) -> float:
    """The best wall time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def outages_payload(count: int, devices: list[str], rng: random.Random) -> bytes:
    """A ``GET /outages`` body of ``count`` outages, a third of them on ``devices``."""
    start = datetime(2021, 1, 1, tzinfo=timezone.utc)
    items = []
    for _ in range(count):
        device = (
            rng.choice(devices) if rng.random() < 0.33 else str(uuid.UUID(int=rng.getrandbits(128)))
        )
        begin = start + timedelta(seconds=rng.randrange(2 * 365 * 86400))
        end = begin + timedelta(seconds=rng.randrange(30 * 86400))
        items.append(
            {
                "id": device,
                "begin": begin.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "end": end.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
        )
    return json.dumps(items).encode()


def bench_parse_and_filter() -> None:
    """Decode, parse and filter 100k outages against 10k devices."""
    rng = random.Random(42)
    device_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(10_000)]
    site = SiteInfo(
        "big", "Big site", [Device(d, f"Battery {i}") for i, d in enumerate(device_ids)]
    )
    payload = outages_payload(100_000, device_ids, rng)
    kept: list[int] = []

    def run() -> None:
        outages = parse_outages(json.loads(payload))
        kept.append(len(select_site_outages(outages, site)))

    seconds = best_of(5, run)
    # The machine's speed at this moment, for reading the number above: decoding alone.
    decode = best_of(5, lambda: json.loads(payload))
    print(
        f"parse+filter 100,000 outages, 10,000 devices: {seconds:.3f} s best of 5 "
        f"({kept[-1]:,} kept; target < 0.25 s; json.loads of the body alone: {decode:.3f} s)"
    )


def bench_concurrent_sites() -> None:
    """20 sites against a sandbox with 100 ms latency per request, beside one site."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.sandbox import SANDBOX_API_KEY, Faults, Sandbox
    from outages_processor.settings import Settings  # pylint: disable=import-outside-toplevel
    from outages_processor.sites import process_sites  # pylint: disable=import-outside-toplevel

    sites = {f"bench-site-{n:02d}": _bench_site(n) for n in range(20)}
    with Sandbox(faults=Faults(latency=0.1), sites=sites) as sandbox:
        settings = Settings(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url)
        one = best_of(3, lambda: process_sites(["norwich-pear-tree"], settings=settings))
        results: list[object] = []
        twenty = best_of(3, lambda: results.extend(process_sites(list(sites), settings=settings)))
        posted = sum(1 for _, _ in sandbox.accepted_posts)
    print(
        f"1 site: {one:.3f} s; 20 sites: {twenty:.3f} s = {twenty / one:.2f}x one site "
        f"(100 ms latency per request; {posted} POSTs accepted; target <= 1.5x)"
    )


def _bench_site(number: int) -> dict[str, object]:
    """A site whose devices are those of norwich-pear-tree, under another id."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.tests.conftest import bundled_json

    site = dict(bundled_json("site-info_norwich-pear-tree.json"))
    site["id"] = f"bench-site-{number:02d}"
    site["name"] = f"Bench site {number}"
    return site


def bench_help_startup() -> None:
    """Start-up time of ``process_outages --help`` in a fresh interpreter."""
    command = [sys.executable, "-m", "outages_processor", "--help"]
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    print(
        f"process_outages --help: median {statistics.median(times):.3f} s, best "
        f"{min(times):.3f} s of 7 (target < 0.4 s)"
    )


def main() -> None:
    """Print every site-reporting benchmark."""
    bench_parse_and_filter()
    bench_concurrent_sites()
    bench_help_startup()


if __name__ == "__main__":
    main()
