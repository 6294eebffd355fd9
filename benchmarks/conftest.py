"""Benchmarks are pytest-benchmark suites, run on their own::

    python -m pytest benchmarks --benchmark-only

CI runs each once with ``--benchmark-disable`` as a smoke test; the figures in
docs/benchmarks.md come from full runs.
"""
