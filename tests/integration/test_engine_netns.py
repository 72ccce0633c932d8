"""engine.run(netns, ...) on the real kernel, without Ansible.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). After every engine call the result is checked the way a user would:
``ip netns list``, ``ip netns exec``, ``ip -n NAME link``, the files under
/run/netns.
"""

import os
import subprocess
import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.link import netns
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces
import netplumb_testlib as testlib

OP_KEYS = {"op", "netns", "target", "args", "description"}


# -- helpers -------------------------------------------------------------------------


def op_names(outcome):
    return [(op["op"], op["netns"], op["target"]) for op in outcome.operations]


def ip_netns_list(sandbox):
    """Names as ``ip netns list`` prints them ("red (id: 0)" -> "red")."""
    return sorted(line.split()[0] for line in sandbox.ip("netns", "list").splitlines() if line.strip())


def exec_ok(name, *argv):
    proc = subprocess.run(["ip", "netns", "exec", name] + list(argv or ["true"]),
                          capture_output=True, text=True, timeout=30, check=False)
    return proc.returncode == 0


def lo_up(sandbox, name):
    return "UP" in sandbox.link("lo", netns=name)["flags"]


def is_netns_mount(name):
    """A real namespace: /run/netns/NAME is on nsfs, like /proc/self/ns/net."""
    return os.stat("/run/netns/" + name).st_dev == os.stat("/proc/thread-self/ns/net").st_dev


def ns_inode(name):
    return os.stat("/run/netns/" + name).st_ino


def converge_checked(sandbox, params):
    return testlib.converge_checked(sandbox, netns, params)


# -- create ---------------------------------------------------------------------------


def test_create(sandbox):
    outcome = converge_checked(sandbox, {"name": "red"})
    assert outcome.changed
    assert op_names(outcome) == [("netns_add", None, "red"), ("link_set", "red", "lo")]
    assert outcome.operations[1]["args"] == {"up": "on"}
    assert outcome.before == {"name": "red", "state": "absent"}
    assert outcome.after == {"name": "red", "state": "present", "loopback_up": True}

    assert sandbox.netns_list() == ["red"]
    assert ip_netns_list(sandbox) == ["red"]
    assert is_netns_mount("red")
    assert lo_up(sandbox, "red")


def test_engine_netns_works_with_ip_netns_exec(sandbox):
    engine.run(netns, {"name": "red"})
    assert exec_ok("red", "true")
    # the process really runs in it: it sees the namespace's own loopback, up
    proc = subprocess.run(["ip", "netns", "exec", "red", "ip", "-j", "link", "show"],
                          capture_output=True, text=True, timeout=30, check=True)
    assert '"ifname":"lo"' in proc.stdout.replace(" ", "")
    assert sandbox.ip("-n", "red", "-j", "addr", "show", "lo").count("127.0.0.1") == 1


def test_engine_netns_is_a_separate_namespace(sandbox):
    engine.run(netns, {"name": "red"})
    engine.run(netns, {"name": "blue"})
    sandbox.ip("link", "add", "only-red", "type", "bridge", netns="red")
    assert sandbox.link("only-red", netns="red") is not None
    assert sandbox.link("only-red", netns="blue") is None
    assert sandbox.link("only-red") is None
    assert ns_inode("red") != ns_inode("blue")
    assert ip_netns_list(sandbox) == ["blue", "red"]


def test_ip_netns_add_is_recognised_and_lo_brought_up(sandbox):
    sandbox.ip("netns", "add", "red")
    sandbox.ip("link", "add", "marker0", "type", "bridge", netns="red")
    inode = ns_inode("red")
    assert not lo_up(sandbox, "red")  # ip netns add leaves lo down
    outcome = converge_checked(sandbox, {"name": "red"})
    assert op_names(outcome) == [("link_set", "red", "lo")]
    assert outcome.before == {"name": "red", "state": "present", "loopback_up": False}
    assert lo_up(sandbox, "red")
    # the very same namespace: same inode, its links still there
    assert ns_inode("red") == inode
    assert sandbox.link("marker0", netns="red") is not None
    assert ip_netns_list(sandbox) == ["red"]


def test_lo_down_gets_up(sandbox):
    engine.run(netns, {"name": "red"})
    sandbox.ip("link", "set", "lo", "down", netns="red")
    outcome = converge_checked(sandbox, {"name": "red"})
    assert op_names(outcome) == [("link_set", "red", "lo")]
    assert lo_up(sandbox, "red")


def stale_file(name, content="left over by a crashed create\n"):
    """A plain file where a namespace mount should be. (sandbox.snapshot()
    cannot be used while it is there: ``ip -n NAME`` fails on it.)"""
    with open("/run/netns/" + name, "w") as handle:
        handle.write(content)
    assert not is_netns_mount(name)


def host_state(sandbox):
    """The host's links/addresses/routes and the files under /run/netns."""
    files = {}
    for name in sorted(os.listdir("/run/netns")):
        path = "/run/netns/" + name
        files[name] = (os.stat(path).st_dev, os.stat(path).st_ino, open(path, "rb").read()
                       if not is_netns_mount(name) else None)
    return {"files": files, "link": sandbox.ip("-d", "-j", "link", "show"),
            "addr": sandbox.ip("-j", "addr", "show"),
            "route": sandbox.ip("-j", "route", "show", "table", "all"),
            "route6": sandbox.ip("-j", "-6", "route", "show", "table", "all")}


def test_stale_plain_file_is_replaced(sandbox):
    stale_file("red")
    before = host_state(sandbox)
    predicted = engine.run(netns, {"name": "red"}, check_mode=True)
    assert host_state(sandbox) == before, "check mode changed something"
    outcome = engine.run(netns, {"name": "red"})
    assert outcome.operations == predicted.operations
    assert op_names(outcome) == [("netns_add", None, "red"), ("link_set", "red", "lo")]
    assert outcome.before["state"] == "absent"
    assert is_netns_mount("red")
    assert ip_netns_list(sandbox) == ["red"]
    assert exec_ok("red", "true")
    assert lo_up(sandbox, "red")
    assert not engine.run(netns, {"name": "red"}).changed


def test_stale_empty_file_like_a_crashed_ip_netns_add(sandbox):
    open("/run/netns/red", "w").close()
    engine.run(netns, {"name": "red"})
    assert is_netns_mount("red")
    assert lo_up(sandbox, "red")


def test_exact_names_red_vs_red2(sandbox):
    sandbox.ip("netns", "add", "red2")
    red2 = ns_inode("red2")

    outcome = converge_checked(sandbox, {"name": "red"})
    assert ("netns_add", None, "red") in op_names(outcome)
    assert ip_netns_list(sandbox) == ["red", "red2"]
    assert ns_inode("red") != red2
    assert ns_inode("red2") == red2
    assert not lo_up(sandbox, "red2")  # not touched

    assert not engine.run(netns, {"name": "re", "state": "absent"}).changed
    gone = engine.run(netns, {"name": "red", "state": "absent"})
    assert op_names(gone) == [("netns_del", None, "red")]
    assert ip_netns_list(sandbox) == ["red2"]
    assert ns_inode("red2") == red2

    # and the other way round: red exists, red2 is wanted
    sandbox.ip("netns", "add", "blue")
    created = engine.run(netns, {"name": "blue2"})
    assert ("netns_add", None, "blue2") in op_names(created)
    assert ip_netns_list(sandbox) == ["blue", "blue2", "red2"]


def test_several_namespaces(sandbox):
    for name in ("red", "blue", "green"):
        converge_checked(sandbox, {"name": name})
    assert ip_netns_list(sandbox) == ["blue", "green", "red"]
    assert all(lo_up(sandbox, name) for name in ("red", "blue", "green"))


# -- absent ---------------------------------------------------------------------------


def test_absent_deletes_and_twice_is_not_changed(sandbox):
    engine.run(netns, {"name": "red"})
    params = {"name": "red", "state": "absent"}
    outcome = converge_checked(sandbox, params)
    assert op_names(outcome) == [("netns_del", None, "red")]
    assert outcome.after == {"name": "red", "state": "absent"}
    assert sandbox.netns_list() == []
    assert ip_netns_list(sandbox) == []
    assert not exec_ok("red", "true")
    assert not engine.run(netns, params).changed


def test_absent_deletes_one_made_by_ip_netns_add(sandbox):
    sandbox.ip("netns", "add", "red")
    outcome = engine.run(netns, {"name": "red", "state": "absent"})
    assert outcome.changed
    assert ip_netns_list(sandbox) == []
    assert sandbox.netns_list() == []


def test_absent_removes_a_stale_file(sandbox):
    stale_file("red")
    before = host_state(sandbox)
    predicted = engine.run(netns, {"name": "red", "state": "absent"}, check_mode=True)
    assert host_state(sandbox) == before, "check mode changed something"
    outcome = engine.run(netns, {"name": "red", "state": "absent"})
    assert outcome.operations == predicted.operations
    assert op_names(outcome) == [("netns_del", None, "red")]
    assert not os.path.lexists("/run/netns/red")
    assert not engine.run(netns, {"name": "red", "state": "absent"}).changed


def test_absent_on_clean_node(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(netns, {"name": "red", "state": "absent"})
    assert not outcome.changed
    assert outcome.operations == []
    assert sandbox.snapshot() == before


def test_recreate_after_delete_is_a_fresh_namespace(sandbox):
    engine.run(netns, {"name": "red"})
    sandbox.ip("link", "add", "marker0", "type", "bridge", netns="red")
    engine.run(netns, {"name": "red", "state": "absent"})
    engine.run(netns, {"name": "red"})
    assert sandbox.link("marker0", netns="red") is None
    assert lo_up(sandbox, "red")


# -- check mode ------------------------------------------------------------------------


def test_check_mode_on_clean_node_changes_nothing(sandbox):
    before = sandbox.snapshot()
    outcome = engine.run(netns, {"name": "red"}, check_mode=True)
    assert outcome.changed
    assert op_names(outcome) == [("netns_add", None, "red"), ("link_set", "red", "lo")]
    assert sandbox.snapshot() == before
    assert not os.path.lexists("/run/netns/red")


def test_check_mode_absent_changes_nothing(sandbox):
    engine.run(netns, {"name": "red"})
    before = sandbox.snapshot()
    outcome = engine.run(netns, {"name": "red", "state": "absent"}, check_mode=True)
    assert op_names(outcome) == [("netns_del", None, "red")]
    assert sandbox.snapshot() == before
    assert exec_ok("red", "true")


# -- bad parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("params, field", [
    ({}, "name"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "a/b"}, "name"),
    ({"name": "../red"}, "name"),
    ({"name": ".."}, "name"),
    ({"name": "red blue"}, "name"),
    ({"name": "red\n"}, "name"),
    ({"name": "r" * 256}, "name"),
    ({"name": 5}, "name"),
    ({"name": "red", "state": "gone"}, "state"),
])
def test_bad_params_fail_before_any_change(sandbox, params, field):
    before = sandbox.snapshot()
    for check_mode in (True, False):
        with pytest.raises(ParamError) as info:
            engine.run(netns, params, check_mode=check_mode)
        assert info.value.field == field
        assert field in str(info.value)
    assert sandbox.snapshot() == before
    assert os.listdir("/run/netns") == []


# -- the one namespace context manager ------------------------------------------------


def test_the_context_enters_a_namespace_by_name_or_by_path_and_comes_back(sandbox):
    """A container runtime binds its pods' namespaces outside /run/netns (a
    CRI pod's at /var/run/netns/cni-...): the same context manager enters
    one by its path, and the thread is back in its own afterwards, also
    after an error inside."""
    sandbox.ip("netns", "add", "pod")
    os.makedirs("/run/runtime")
    open("/run/runtime/pod", "w").close()
    subprocess.run(["mount", "--bind", "/run/netns/pod", "/run/runtime/pod"], check=True, timeout=30)
    home = os.stat("/proc/thread-self/ns/net").st_ino
    with namespaces.netns_context("pod"):
        assert os.stat("/proc/thread-self/ns/net").st_ino == ns_inode("pod")
    with namespaces.netns_context(None, path="/run/runtime/pod"):
        assert os.stat("/proc/thread-self/ns/net").st_ino == ns_inode("pod")
    with pytest.raises(RuntimeError):
        with namespaces.netns_context(None, path="/run/runtime/pod"):
            raise RuntimeError("inside")
    with namespaces.netns_context(None):
        assert os.stat("/proc/thread-self/ns/net").st_ino == home
    assert os.stat("/proc/thread-self/ns/net").st_ino == home
