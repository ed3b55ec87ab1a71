"""Benchmarks, run as modules from the checkout: ``python -m benchmarks.bench_stream`` (``make bench``)."""
