"""The raw floor: pyroute2 in one process, entering each namespace with setns.

Per container, the least a program has to ask the kernel for: a named
namespace (unshare + bind mount, as ``ip netns add``), a veth whose peer is
created inside it, the host end on the bridge and up, then inside the
namespace lo up, the address, the interface up and the default route.
No reading, no checking, no rollback: nothing a real tool can skip below this.

``ipv6=False`` (make bench's growth rows) builds the same with IPv6 off on
every new link (the namespaces' ``default`` setting), to tell how much of the
kernel's time goes to IPv6's own start on each new link: its link-local
address, duplicate address detection, multicast joins and router
solicitations, which the bridge floods to every other port.

    python bench/floor.py N [--no-ipv6]   (inside tests/sandbox.sh; prints seconds)
"""

import ctypes
import os
import sys
import time

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
RUN = "/run/netns"
IPV6_DEFAULT = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _prepare():
    os.makedirs(RUN, exist_ok=True)
    if _libc.mount(b"none", RUN.encode(), None, ctypes.c_ulong(MS_SHARED | MS_REC), None) != 0:
        _check(_libc.mount(RUN.encode(), RUN.encode(), None, ctypes.c_ulong(MS_BIND | MS_REC), None), "bind")
        _check(_libc.mount(b"none", RUN.encode(), None, ctypes.c_ulong(MS_SHARED | MS_REC), None), "shared")


def _ipv6_off_for_new_links():
    """New links of the current namespace start without IPv6."""
    if os.path.exists(IPV6_DEFAULT):
        with open(IPV6_DEFAULT, "w") as handle:
            handle.write("1")


def _netns_add(name, home, ipv6=True):
    path = os.path.join(RUN, name)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))
    _check(_libc.unshare(CLONE_NEWNET), "unshare")
    if not ipv6:
        _ipv6_off_for_new_links()
    _check(_libc.mount(b"/proc/thread-self/ns/net", path.encode(), None, ctypes.c_ulong(MS_BIND), None), "mount")
    _check(_libc.setns(home, CLONE_NEWNET), "setns")


def build(n, bridge="br-floor", prefix="f", subnet="198.51.100", plen=24, gateway="198.51.100.1", ipv6=True):
    """Build ``n`` containers on a new bridge; returns the seconds the
    per-container work took (pyroute2's import and the bridge not counted)."""
    from pyroute2 import IPRoute
    _prepare()
    if not ipv6:
        _ipv6_off_for_new_links()  # the host ends (this is a sandbox's namespace)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    ipr = IPRoute()
    ipr.link("add", ifname=bridge, kind="bridge")
    br = ipr.link_lookup(ifname=bridge)[0]
    ipr.addr("add", index=br, address=gateway, prefixlen=plen)
    ipr.link("set", index=br, state="up")
    start = time.perf_counter()
    for i in range(n):
        name = "%s%d" % (prefix, i)
        _netns_add(name, home, ipv6)
        fd = os.open(os.path.join(RUN, name), os.O_RDONLY)
        try:
            ipr.link("add", ifname="veth-" + name, kind="veth", peer={"ifname": "eth0", "net_ns_fd": fd})
            host = ipr.link_lookup(ifname="veth-" + name)[0]
            ipr.link("set", index=host, master=br, state="up")
            _check(_libc.setns(fd, CLONE_NEWNET), "setns")
            try:
                with IPRoute() as inner:
                    inner.link("set", index=1, state="up")
                    eth = inner.link_lookup(ifname="eth0")[0]
                    inner.addr("add", index=eth, address="%s.%d" % (subnet, 10 + i % 240), prefixlen=plen)
                    inner.link("set", index=eth, state="up")
                    inner.route("add", dst="0.0.0.0/0", gateway=gateway)
            finally:
                _check(_libc.setns(home, CLONE_NEWNET), "setns")
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - start
    ipr.close()
    os.close(home)
    return elapsed


if __name__ == "__main__":
    print("%.6f" % build(int(sys.argv[1]) if len(sys.argv) > 1 else 10, ipv6="--no-ipv6" not in sys.argv[2:]))
