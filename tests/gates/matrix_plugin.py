"""pytest plugin for the version matrix (make matrix, make matrix-cheap).

The tests run ansible-playbook, ansible-doc and the managed node's Python
from .venv (tests/lib/netplumb_testlib.py). Loaded with
``-p matrix_plugin``, this points them at the virtualenv that runs pytest
instead, so that one suite runs under each ansible-core and pyroute2 of the
matrix. It is imported before any test module, so names the tests import
from netplumb_testlib (PYTHON, VENV_BIN) are already the matrix ones.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import netplumb_testlib  # noqa: E402  pylint: disable=wrong-import-position

# Not resolved: the venv's bin/python is a symlink, and the venv is what counts.
netplumb_testlib.VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
netplumb_testlib.PYTHON = os.path.join(netplumb_testlib.VENV_BIN, "python")
# Deprecations are a gate under the newest ansible-core only (.venv, make test).
netplumb_testlib.DEPRECATIONS_FAIL = False


def pytest_report_header(config):  # pylint: disable=unused-argument
    import ansible  # pylint: disable=import-outside-toplevel
    import pyroute2  # pylint: disable=import-outside-toplevel
    return "matrix: ansible-core %s, pyroute2 %s, tools from %s" % (
        ansible.__version__, pyroute2.__version__, netplumb_testlib.VENV_BIN)
