"""Fleet-scale benchmark: `python -m benchmarks` (see benchmarks/README.md)."""

from __future__ import annotations

import sys

from benchmarks.run import main

if __name__ == "__main__":  # page runs start child processes that import this module again
    sys.exit(main())
