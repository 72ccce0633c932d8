"""The fresh-host guarantee: on a host without /etc/cni, /opt/cni and
/var/lib/cni, the sandboxes work and leave the host exactly as it was. The
demo flow (lab.yml, site.yml, verify.yml, teardown.yml) on such a host is
test_site_lab.py, which runs inside fresh_host() and asserts the same.

``fresh_host()`` (tests/lib/fresh_host.py) gives the test's process such a
host as copy-on-write views of /etc, /opt, /var/lib and /var/cache: what a run writes
there, and any change to the installed packages or to the test's network and
firewall, shows in ``changes()``.
"""

import os
import time

import pytest

from fresh_host import REMOVED, fresh_host
from netplumb_testlib import sandboxed

PROBE = "/etc/netplumb-fresh-host-probe"


def _mnt_ns(pid):
    return os.readlink("/proc/%d/ns/mnt" % pid)


def _ppid(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return int(handle.read().rpartition(")")[2].split()[1])


def _start_time(pid):
    """When ``pid`` started, in seconds since the epoch."""
    with open("/proc/%d/stat" % pid) as handle:
        ticks = int(handle.read().rpartition(")")[2].split()[19])
    with open("/proc/stat") as handle:
        boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _host_and_session():
    """(pid of the nearest ancestor outside the session sandbox, pid of the
    outermost ancestor inside it): the first sees the host's mount tree (e.g.
    make's shell), the second is tests/sandbox.sh's unshare. Bounded by the
    depth of the process tree."""
    session = os.getppid()
    inside = _mnt_ns(session)
    for _depth in range(64):
        parent = _ppid(session)
        if parent <= 0 or _mnt_ns(parent) != inside:
            break
        session = parent
    else:
        raise AssertionError("no process outside the session sandbox among pytest's ancestors")
    assert parent > 0, "pytest does not run under tests/sandbox.sh"
    return parent, session


def test_fresh_host_view_lists_a_write_and_the_host_keeps_its_etc(sandbox):
    before = sorted(os.listdir("/etc"))
    with fresh_host() as view:
        assert [path for path in REMOVED if os.path.lexists(path)] == []
        assert view.written() == [] and view.changes() == {}
        with open(PROBE, "w") as handle:
            handle.write("written inside the view\n")
        os.makedirs("/opt/cni/bin")
        assert view.written() == ["/etc/netplumb-fresh-host-probe", "/opt/cni", "/opt/cni/bin"]
        assert view.changes() == {"files": {PROBE: "file", "/opt/cni": "directory", "/opt/cni/bin": "directory"}}
        os.unlink(PROBE)
        assert view.written() == ["/opt/cni", "/opt/cni/bin"]
        # Where the modules keep their bytecode (core/bytecode.py) is in the view too.
        os.makedirs("/var/cache/netplumb-fresh-host-probe")
        assert view.written() == ["/opt/cni", "/opt/cni/bin", "/var/cache/netplumb-fresh-host-probe"]
        os.rmdir("/var/cache/netplumb-fresh-host-probe")
        assert view.written() == ["/opt/cni", "/opt/cni/bin"]
        sandbox.ip("link", "add", "fh0", "type", "bridge")
        assert sorted(view.changes()) == ["files", "network"]
        assert "fh0" in str(view.changes()["network"]["(host) link"]["after"])
        with open(PROBE, "w") as handle:
            handle.write("again\n")
    # Gone with the view; what it reported stays readable.
    assert not os.path.lexists(PROBE)
    assert sorted(os.listdir("/etc")) == before
    assert [path for path in REMOVED if not os.path.isdir(path)] == []  # the sandbox's own, private ones
    assert view.written() == ["/etc/netplumb-fresh-host-probe", "/opt/cni", "/opt/cni/bin"]


def test_sandboxed_refuses_a_host_without_the_private_dirs(sandbox):  # pylint: disable=unused-argument
    with fresh_host() as view:
        with pytest.raises(AssertionError, match="missing here: /opt/cni, /etc/cni, /var/lib/cni.*make test"):
            with sandboxed():
                raise AssertionError("sandboxed() ran on a host without the CNI directories")
        assert view.changes() == {}


def test_the_host_still_lacks_the_cni_dirs_after_a_sandbox_ran(sandbox):  # pylint: disable=unused-argument
    """The session sandbox made the CNI directories inside its views and this
    test's sandbox writes into them; the host's mount tree, seen through an
    ancestor of pytest outside the sandbox, does not have them. On a host
    that had them before the session, they must be older than the session."""
    for path in REMOVED:
        os.makedirs(os.path.join(path, "fresh-host-probe"))
    host, session = _host_and_session()
    started = _start_time(session)
    for path in REMOVED:
        assert os.path.isdir("/proc/%d/root%s" % (session, path)), "the session sandbox lacks " + path
        on_host = "/proc/%d/root%s" % (host, path)
        assert not os.path.lexists(os.path.join(on_host, "fresh-host-probe")), on_host
        if os.path.lexists(on_host):
            changed = os.lstat(on_host).st_ctime
            assert changed < started, "%s changed on the host during this session (%s)" % (
                path, time.ctime(changed))
