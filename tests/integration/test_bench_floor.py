"""bench/floor.py builds what the engine builds, through either of its ways
to send the requests: each container's namespace with the address, the
interface up, the default route through the bridge's address, the host end
on the bridge and up; the containers reach the bridge and each other."""

import os
import sys

import pytest

from netplumb_testlib import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))

import floor  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize("api", sorted(floor.APIS))
@pytest.mark.parametrize("ipv6", [True, False])
def test_the_floor_builds_the_containers(sandbox, api, ipv6):
    seconds = floor.build(3, api=api, ipv6=ipv6)
    assert seconds > 0
    assert sandbox.netns_list() == ["f0", "f1", "f2"]
    bridge = sandbox.link("br-floor")
    assert "UP" in bridge["flags"] and sandbox.addresses("br-floor") == ["198.51.100.1/24"]
    for i in range(3):
        netns = "f%d" % i
        host = sandbox.link("veth-" + netns)
        assert host["master"] == "br-floor" and "UP" in host["flags"]
        assert "UP" in sandbox.link("lo", netns=netns)["flags"]
        assert "UP" in sandbox.link("eth0", netns=netns)["flags"]
        assert sandbox.addresses("eth0", netns=netns) == ["198.51.100.%d/24" % (10 + i)]
        default = sandbox.ipj("route", "show", "default", netns=netns)
        assert [(r["gateway"], r["dev"], r.get("protocol")) for r in default] == [("198.51.100.1", "eth0", "static")]
        six = [a for a in sandbox.ipj("addr", "show", "dev", "eth0", netns=netns)[0]["addr_info"]
               if a["family"] == "inet6"]
        assert bool(six) == ipv6
    assert sandbox.ping("198.51.100.1", netns="f0")
    assert sandbox.ping("198.51.100.12", netns="f0")


def test_a_refused_request_fails_naming_the_kernel_s_reason(sandbox):
    session = floor.Messages()
    try:
        with pytest.raises(OSError) as exc:
            session.up(999999)
        assert exc.value.errno == 19  # ENODEV
        assert session.lookup("lo") == 1
    finally:
        session.close()
