"""Test fixtures: every test runs in its own network + mount namespace.

The whole session already runs under tests/sandbox.sh; on top of that each
test gets a fresh netns and mount ns (private tmpfs on /run), entered in
process and left again afterwards, so tests never see each other's objects.
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from netplumb_testlib import sandboxed  # noqa: E402
from lab_fixtures import lab_dir, longest_lab_dir  # noqa: E402,F401 pylint: disable=unused-import


def pytest_configure(config):
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "netplumb", "linux")):
        raise pytest.UsageError("run through 'make test' (it links the collection under .build/)")


@pytest.fixture
def sandbox():
    """A fresh network + mount namespace for the test; see Sandbox."""
    with sandboxed() as box:
        yield box
