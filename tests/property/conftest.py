"""Property-based tests (Hypothesis) on the real kernel: each generated case
in a sandbox of its own (netplumb_testlib.sandboxed). Profiles and the
figures: property_lib.py. tests/conftest.py puts the collection and
tests/lib on the path."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Hypothesis keeps what it writes under .build, not in a .hypothesis of the checkout.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      os.path.join(os.path.dirname(os.path.dirname(HERE)), ".build", "hypothesis"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reliability"))

import property_lib  # noqa: E402
from reliability_lib import record  # noqa: E402


def pytest_sessionfinish(session):
    """Each property's count of cases, with the profile and seed, for docs/reliability.md."""
    del session
    for name, cases in sorted(property_lib.CASES.items()):
        if cases:
            record("generated", name, cases=cases, profile=property_lib.PROFILE, seed=property_lib.SEED)
