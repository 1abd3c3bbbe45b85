"""Fleet-scale benchmark: `python -m benchmarks` (see README)."""
