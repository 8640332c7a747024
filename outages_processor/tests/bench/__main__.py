"""Run the benchmarks named on the command line (default: all) and print their numbers.

``python -m outages_processor.tests.bench [NAME ...]`` runs each named benchmark with its
own defaults; ``python -m outages_processor.tests.bench NAME --option ...`` runs one, passing
the options on (``events``, ``service``, ``columnar`` and ``compare`` take options: ``NAME
--help`` lists them). ``compare`` and ``columnar`` run only when named.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

BENCHMARKS = ("sites", "uptime", "events", "service", "columnar")
"""The benchmarks a bare ``tox -e bench`` runs, in order."""
WITH_OPTIONS = ("events", "service", "columnar", "compare")
"""The benchmarks whose ``main`` takes command-line options."""


def main(argv: Sequence[str]) -> None:
    """Run ``bench_<name>.main()`` for each name in ``argv`` (all when empty), or one
    benchmark with the options that follow its name."""
    if len(argv) > 1 and argv[1].startswith("-"):
        name, options = argv[0], list(argv[1:])
        if name not in WITH_OPTIONS:
            sys.exit(
                f"benchmark {name!r} takes no options; these do: {', '.join(WITH_OPTIONS)}"
            )
        print(f"== {name} ==", flush=True)
        importlib.import_module(f"outages_processor.tests.bench.bench_{name}").main(options)
        return
    names = list(argv) or list(BENCHMARKS)
    unknown = sorted(set(names) - {*BENCHMARKS, "compare"})
    if unknown:
        sys.exit(
            f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}"
            " (or compare --baseline DIR); options go after one name: NAME --option ..."
        )
    if "compare" in names:
        sys.exit("compare needs --baseline DIR: compare --baseline DIR [...]")
    for name in names:
        print(f"== {name} ==", flush=True)
        importlib.import_module(f"outages_processor.tests.bench.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
