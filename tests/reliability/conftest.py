"""The reliability suite's fixtures; tests/conftest.py gives the sandbox."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cni_fixtures import CNI_DIRS, mount_tmpfs  # noqa: E402


@pytest.fixture
def node(sandbox):
    """A sandbox with private CNI directories and /etc/sysctl.d: a fresh node."""
    for path in CNI_DIRS + ("/etc/sysctl.d",):
        mount_tmpfs(path)
    return sandbox
