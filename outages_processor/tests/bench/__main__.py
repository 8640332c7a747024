"""Run the benchmarks named on the command line (default: all) and print their numbers."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("sites", "uptime", "events", "service", "columnar")


def main(argv: list[str]) -> None:
    """Run ``bench_<name>.main()`` for each name in ``argv`` (all when empty).

    ``compare --baseline DIR [...]`` instead runs the side-by-side comparison with another
    checkout (see :mod:`outages_processor.tests.bench.bench_compare`), and ``columnar
    [--polls N] [--rounds R] [--dir DIR]`` passes its options on to
    :mod:`outages_processor.tests.bench.bench_columnar`.
    """
    if argv[:1] == ["compare"]:
        importlib.import_module("outages_processor.tests.bench.bench_compare").main(argv[1:])
        return
    if argv[:1] == ["columnar"]:
        print("== columnar ==", flush=True)
        importlib.import_module("outages_processor.tests.bench.bench_columnar").main(argv[1:])
        return
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    for name in names:
        print(f"== {name} ==", flush=True)
        importlib.import_module(f"outages_processor.tests.bench.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
