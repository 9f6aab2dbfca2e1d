"""Helpers that serve only the benchmarks live in benchmarks/ (not in the package)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
