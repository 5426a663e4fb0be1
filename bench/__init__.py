"""Benchmarks of the runner (not part of the installed package): ``python -m bench.runner``."""
