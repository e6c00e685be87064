"""Benchmarks: ratios of the engine against a plain PyTorch loop, measured in one process. See README.md."""
