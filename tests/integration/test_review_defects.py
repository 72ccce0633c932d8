"""Defects found in review, each on the real kernel: every test here failed
before its fix."""

import errno

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.container_net import container_net
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.apply import apply
from ansible_collections.netplumb.linux.plugins.module_utils.core.context import Context
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import KernelError, NetlinkError, ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces, session
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.sessions import Kernel
from ansible_collections.netplumb.linux.plugins.module_utils.link import bridge, veth

BRIDGE = "br-ct"


def _bridge(box):
    box.ip("link", "add", BRIDGE, "type", "bridge")
    box.ip("addr", "add", "198.51.100.1/24", "dev", BRIDGE)
    box.ip("link", "set", BRIDGE, "up")


def test_a_link_gone_between_plan_and_apply_counts_as_deleted(sandbox):
    """link_del lists ENODEV as "already so"; the error carrying it is a
    KernelError (``errno``), not pyroute2's (``code``): no rollback."""
    sandbox.ip("link", "add", "gone0", "type", "veth", "peer", "name", "gone1")
    ctx = Context()
    with Kernel(ctx) as ctx.kernel:
        plan = veth.plan(ctx, veth.parse({"name": "gone0", "state": "absent"}))
        sandbox.ip("link", "del", "gone0")  # another agent, in between
        done = apply(ctx, plan.ops)
    assert [op.action for op in done] == ["link_del"]


@pytest.mark.parametrize("implementation", ["pyroute2", "lean"])
def test_a_kernel_refusal_of_a_read_is_the_sessions_own_error(sandbox, implementation):
    """pyroute2's NetlinkError is not an OSError, so the module glue let it
    through as a traceback: both sessions raise the one NetlinkError (an
    OSError carrying the errno) for the kernel's refusal (a namespace id
    asked for a file that is no namespace)."""
    sess = session.open_session(implementation)
    try:
        with open("/dev/null") as handle, pytest.raises(NetlinkError) as info:
            sess.netnsid(handle.fileno())
    finally:
        sess.close()
    assert isinstance(info.value, OSError) and info.value.code == errno.EINVAL


@pytest.mark.parametrize("implementation", ["lean", "pyroute2"])
def test_kernels_reads_turn_a_refusal_into_a_message_naming_the_namespace(sandbox, monkeypatch, implementation):
    """Kernel.nsid_of and Kernel.routes, the readers bridge, route and
    net_facts go through: the kernel's refusal is a KernelError naming what
    was read and where (the module glue turns it into its message), never
    pyroute2's own exception. nsid_of: a file under /run/netns that is no
    namespace, taken for one; routes: the refusal pyroute2 raises, as the
    kernel answered it (no read of routes is refused on demand)."""
    sandbox.ip("netns", "add", "red")
    with open("/run/netns/nons", "w"):
        pass
    monkeypatch.setattr(namespaces, "exists", lambda name: True)
    ctx = Context()
    with Kernel(ctx, implementation) as kernel:
        with pytest.raises(KernelError) as info:
            kernel.nsid_of(None, "nons")
        assert str(info.value) == "reading the id of netns nons in netns (host): Invalid argument"
        assert info.value.errno == errno.EINVAL
        if implementation == "pyroute2":
            import pyroute2

            def refused(**_kwargs):
                raise pyroute2.NetlinkError(errno.EPERM)
            kernel.session("red")._ipr.get_routes = refused
        else:
            def refused(*_args):
                raise NetlinkError(errno.EPERM)
            kernel.session("red")._dump = refused
        with pytest.raises(KernelError) as info:
            kernel.routes("red")
        assert str(info.value) == "reading routes of netns red: Operation not permitted"


def test_a_veth_whose_peer_only_shares_the_index_is_not_the_containers(sandbox):
    """Interface indexes are per namespace: the host end's peer is index 2 in
    netns b, and a's eth0 (index 2) is paired with index 50 in netns c, the
    host end's own index. Matching by index alone took them for one pair and
    adopted the host end; the namespace ids tell them apart."""
    _bridge(sandbox)
    for name in ("a", "b", "c"):
        sandbox.ip("netns", "add", name)
    sandbox.ip("link", "add", "veth-a", "index", "50", "type", "veth", "peer", "name", "eth0", "index", "2",
               "netns", "b")
    sandbox.ip("link", "add", "x", "index", "50", "type", "veth", "peer", "name", "eth0", "index", "2",
               "netns", "a", netns="c")
    before = sandbox.snapshot()
    with pytest.raises(ParamError) as info:
        engine.run(container_net, {"bridge": BRIDGE, "containers": [{"name": "a", "address": "198.51.100.10/24"}]})
    assert "veth-a" in str(info.value) and "not made by container_net" in str(info.value)
    assert sandbox.snapshot() == before


def test_the_diff_of_a_removal_shows_the_containers_routes(sandbox):
    _bridge(sandbox)
    containers = [{"name": "c1", "address": "198.51.100.11/24",
                   "routes": [{"dst": "203.0.113.0/24", "gateway": "198.51.100.254"}]}]
    engine.run(container_net, {"bridge": BRIDGE, "gateway": "198.51.100.1", "containers": containers})
    gone = engine.run(container_net, {"bridge": BRIDGE, "containers": [{"name": "c1"}], "state": "absent"},
                      check_mode=True)
    routes = gone.before["c1"]["routes"]
    assert len(routes) == 2 and any("203.0.113.0/24 via 198.51.100.254" in r for r in routes), routes
    assert gone.after["c1"] == {"state": "absent"}


def test_a_plugin_removed_while_bin_dir_is_read_is_described_as_absent(tmp_path):
    """cni_install lists bin_dir, then describes each binary for the diff; one
    removed in between read as None and ended in an AttributeError."""
    binary = tmp_path / "bridge"
    binary.write_bytes(b"#!/bin/sh\n")
    binary.chmod(0o755)
    assert cni_install._describe(str(tmp_path), "bridge")["mode"] == "0755"
    binary.unlink()  # another agent, between the listing and the read
    assert cni_install._describe(str(tmp_path), "bridge") == {"state": "absent"}


@pytest.mark.parametrize("resource, params", [
    (veth, {"name": "a0", "peer": "b0", "mtu": 1200, "addresses": ["2001:db8::1/64"]}),
    (bridge, {"name": "br0", "mtu": 1200, "addresses": ["192.0.2.1/24", "2001:db8::1/64"]}),
    (container_net, {"bridge": BRIDGE, "containers": [
        {"name": "c1", "address": "198.51.100.11/24", "address6": "2001:db8::11/64", "mtu": 1200}]}),
])
def test_an_ipv6_address_on_a_link_below_1280_fails_before_any_change(sandbox, resource, params):
    """The kernel refuses an IPv6 address on a link whose MTU is below IPv6's
    minimum (1280), so the real run failed half way and was rolled back while
    check mode predicted it; now both fail first, naming the MTU."""
    _bridge(sandbox)
    sandbox.ip("link", "add", "x0", "mtu", "1200", "type", "veth", "peer", "name", "x1")
    refused = sandbox.ip("addr", "add", "2001:db8::99/64", "dev", "x0", check=False)
    assert refused == "" and not sandbox.addresses("x0")  # the kernel's own refusal, as ip meets it
    before = sandbox.snapshot()
    for check_mode in (True, False):
        with pytest.raises(ParamError) as info:
            engine.run(resource, params, check_mode=check_mode)
        assert info.value.field.endswith("mtu") and "below 1280, IPv6's minimum" in str(info.value)
    assert sandbox.snapshot() == before


@pytest.mark.parametrize("setup, resource, params, field", [
    ([["link", "add", "br1", "mtu", "1200", "type", "bridge"]],
     bridge, {"name": "br1", "addresses": ["2001:db8::1/64"]}, "addresses"),
    ([["link", "add", "a0", "type", "veth", "peer", "name", "b0", "mtu", "1200"]],
     veth, {"name": "a0", "peer": "b0", "peer_addresses": ["2001:db8::2/64"]}, "peer_addresses"),
    ([["link", "add", "br1", "type", "bridge"], ["addr", "add", "2001:db8::1/64", "dev", "br1", "nodad"]],
     bridge, {"name": "br1", "mtu": 1200}, "mtu"),
    ([["link", "add", "br1", "type", "bridge"], ["addr", "add", "2001:db8::1/64", "dev", "br1", "nodad"]],
     bridge, {"name": "br1", "mtu": 1200, "addresses": ["192.0.2.1/24"]}, "mtu"),
])
def test_a_links_own_mtu_below_1280_and_ipv6_fail_before_any_change(sandbox, setup, resource, params, field):
    """The MTU the link already has, or the IPv6 address it already has: an
    IPv6 address added to a link below 1280 is refused by the kernel, and a
    link's IPv6 addresses are dropped by it when its MTU goes below."""
    for argv in setup:
        sandbox.ip(*argv)
    before = sandbox.snapshot()
    for check_mode in (True, False):
        with pytest.raises(ParamError) as info:
            engine.run(resource, params, check_mode=check_mode)
        assert info.value.field == field and "1280" in str(info.value), str(info.value)
    assert sandbox.snapshot() == before
