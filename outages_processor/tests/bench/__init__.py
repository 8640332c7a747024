"""Benchmarks: ``tox -e bench`` (or ``python -m outages_processor.tests.bench [NAME...]``).

They print numbers; they never assert timings. Each module has a ``main()``.
"""
