"""gemini_magic's tests; ``tests.support`` and ``tests.kernel_helpers`` are shared with the benchmarks."""
