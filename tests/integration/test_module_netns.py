"""Module contract of netplumb.linux.netns, driven through ansible-playbook.

Every test runs in its own sandbox (fresh network + mount namespace, private
/run). The module's word is never enough: the kernel's view (``ip netns``,
``ip -n NS link``) is checked after every run.
"""

import os

import pytest

from netplumb_testlib import assert_clean_failure, descriptions

MODULE = "netplumb.linux.netns"

# -- helpers ---------------------------------------------------------------------------------


def task(**params):
    return {MODULE: params}


def lo_up(sandbox, netns):
    return "UP" in sandbox.link("lo", netns=netns)["flags"]


# -- 1. changed on first run, kernel shows it ---------------------------------------------


@pytest.mark.parametrize("name", ["red", "c1.pod-7_x@a:b+c", "n" * 64])
def test_create(sandbox, name):
    run = sandbox.playbook([task(name=name)])
    assert run.rc == 0, run
    result = run.results[0]
    assert result["changed"] is True
    assert descriptions(result) == ["create netns %s" % name, "set lo (netns %s) up=on" % name]
    assert sandbox.netns_list() == [name]
    assert lo_up(sandbox, name)
    # a real namespace, usable the iproute2 way, with only its loopback
    assert [link["ifname"] for link in sandbox.ipj("link", "show", netns=name)] == ["lo"]
    assert sandbox.ping("127.0.0.1", netns=name)


# -- 2. not changed on a second identical run ---------------------------------------------


def test_second_run_not_changed(sandbox):
    run = sandbox.playbook([task(name="red"), task(name="red")])
    assert run.rc == 0, run
    first, second = run.results
    assert first["changed"] is True
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert sandbox.netns_list() == ["red"] and lo_up(sandbox, "red")


# -- 3. check mode --------------------------------------------------------------------------


def test_check_mode_predicts_exactly_and_changes_nothing(sandbox):
    tasks = [task(name="red"), task(name="blue")]
    before = sandbox.snapshot()
    check = sandbox.playbook(tasks, check=True)
    assert check.rc == 0, check
    assert sandbox.snapshot() == before
    assert [r["changed"] for r in check.results] == [True, True]

    real = sandbox.playbook(tasks)
    assert real.rc == 0, real
    assert [descriptions(r) for r in check.results] == [descriptions(r) for r in real.results]
    assert sandbox.netns_list() == ["blue", "red"]

    again = sandbox.playbook(tasks, check=True)
    assert again.rc == 0, again
    assert again.changed == 0
    assert all(r["operations"] == [] for r in again.results)


def test_check_mode_absent_predicts_and_changes_nothing(sandbox):
    sandbox.ip("netns", "add", "red")
    sandbox.ip("netns", "add", "red2")
    before = sandbox.snapshot()
    check = sandbox.playbook([task(name="red", state="absent")], check=True)
    assert check.rc == 0, check
    assert check.results[0]["changed"] is True
    assert descriptions(check.results[0]) == ["delete netns red"]
    assert sandbox.snapshot() == before


# -- 4. --diff --------------------------------------------------------------------------------


def test_diff_new_and_converged_and_removed(sandbox):
    run = sandbox.playbook([task(name="red"), task(name="red"), task(name="red", state="absent")],
                           diff=True)
    assert run.rc == 0, run
    new, same, gone = (r["diff"] for r in run.results)
    assert new["before"]["state"] == "absent"
    assert new["after"] == {"name": "red", "state": "present", "loopback_up": True}
    assert same["before"] == same["after"] == {"name": "red", "state": "present", "loopback_up": True}
    assert gone["before"] == {"name": "red", "state": "present", "loopback_up": True}
    assert gone["after"]["state"] == "absent"


def test_diff_shows_loopback_down_before(sandbox):
    sandbox.ip("netns", "add", "red")
    run = sandbox.playbook([task(name="red")], check=True, diff=True)
    assert run.rc == 0, run
    diff = run.results[0]["diff"]
    assert diff["before"] == {"name": "red", "state": "present", "loopback_up": False}
    assert diff["after"] == {"name": "red", "state": "present", "loopback_up": True}


# -- 5. converge from wrong states; exact names ------------------------------------------


def test_ip_netns_add_namespace_gets_loopback_up(sandbox):
    sandbox.ip("netns", "add", "red")  # iproute2 leaves lo down
    assert not lo_up(sandbox, "red")
    run = sandbox.playbook([task(name="red"), task(name="red")])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is True
    assert descriptions(run.results[0]) == ["set lo (netns red) up=on"]
    assert run.results[1]["changed"] is False
    assert lo_up(sandbox, "red")
    assert sandbox.netns_list() == ["red"]


def test_ip_netns_add_namespace_is_recognised(sandbox):
    sandbox.ip("netns", "add", "red")
    sandbox.ip("link", "set", "lo", "up", netns="red")
    sandbox.ip("link", "add", "keep0", "type", "veth", "peer", "name", "keep1", netns="red")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(name="red")])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is False and run.results[0]["operations"] == []
    assert sandbox.snapshot() == before


def test_names_match_exactly(sandbox):
    sandbox.ip("netns", "add", "red2")
    sandbox.ip("netns", "add", "xred")
    run = sandbox.playbook([task(name="red", state="absent"), task(name="red")])
    assert run.rc == 0, run
    absent, present = run.results
    assert absent["changed"] is False and absent["operations"] == []
    assert present["changed"] is True and descriptions(present)[0] == "create netns red"
    assert sandbox.netns_list() == ["red", "red2", "xred"]


def test_stale_file_at_namespace_path_is_replaced(sandbox):
    with open("/run/netns/red", "w"):
        pass  # what an interrupted create leaves: a plain file, no mount
    run = sandbox.playbook([task(name="red")])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is True
    assert lo_up(sandbox, "red")
    sandbox.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1", netns="red")
    assert sandbox.link("v0", netns="red") is not None and sandbox.link("v0") is None


# -- 6. absent ----------------------------------------------------------------------------


def test_absent_removes_only_that_namespace(sandbox):
    sandbox.ip("netns", "add", "red")
    sandbox.ip("netns", "add", "blue")
    sandbox.ip("link", "add", "veth-red", "netns", "red", "type", "veth", "peer", "name", "veth-blue",
               "netns", "blue")
    sandbox.ip("link", "add", "keep0", "type", "veth", "peer", "name", "keep1", netns="blue")
    run = sandbox.playbook([task(name="red", state="absent"), task(name="red", state="absent")])
    assert run.rc == 0, run
    first, second = run.results
    assert first["changed"] is True and descriptions(first) == ["delete netns red"]
    assert second["changed"] is False and second["operations"] == [], descriptions(second)
    assert sandbox.netns_list() == ["blue"]
    assert not os.path.lexists("/run/netns/red")
    # the cable's other end went with red; blue's own links stay
    assert sandbox.link("veth-blue", netns="blue") is None
    assert sandbox.link("keep0", netns="blue") is not None


def test_absent_removes_stale_file(sandbox):
    with open("/run/netns/red", "w"):
        pass
    run = sandbox.playbook([task(name="red", state="absent")])
    assert run.rc == 0, run
    assert run.results[0]["changed"] is True
    assert not os.path.lexists("/run/netns/red")


# -- 7. bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("params, field, engine_field", [
    ({"name": "a/b"}, "name", True),
    ({"name": "a b"}, "name", True),
    ({"name": "a;b"}, "name", True),
    ({"name": ".."}, "name", True),
    ({"name": "."}, "name", True),
    ({"name": ""}, "name", True),
    ({"name": "n" * 256}, "name", True),
    ({"name": "red\nblue"}, "name", True),
    ({"name": ["red"]}, "name", True),
    ({"name": "red", "state": "gone"}, "state", False),
    ({}, "name", False),
], ids=["slash", "space", "semicolon", "dotdot", "dot", "empty", "too-long", "newline", "list",
        "bad-state", "missing-name"])
def test_bad_input_fails_cleanly(sandbox, params, field, engine_field):
    sandbox.ip("netns", "add", "red")
    before = sandbox.snapshot()
    run = sandbox.playbook([task(**params)])
    assert_clean_failure(run, field, before, sandbox.snapshot(), engine_field)
    assert sandbox.netns_list() == ["red"]
    assert os.listdir("/run/netns") == ["red"]
