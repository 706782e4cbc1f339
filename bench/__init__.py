"""Benchmark harness: the generated service against hand-written baselines (bench/README.md)."""
