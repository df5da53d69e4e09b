"""Paths the tests share (on ``sys.path`` beside ``conftest.py``, like ``httpreplay``)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
FIXTURES = TESTS / "fixtures"
SNAPSHOT = PROJECT / "warehouse" / "snapshot"
EXAMPLES = PROJECT / "examples"
BENCHMARKS = PROJECT / "benchmarks"
