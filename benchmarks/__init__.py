"""Fleet-scale benchmark: `python -m benchmarks` (see benchmarks/README.md)."""
