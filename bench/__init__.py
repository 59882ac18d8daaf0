"""Benchmarks (`nox -s bench`): numbers, not pass/fail."""
