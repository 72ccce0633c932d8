"""The raw floor: pyroute2 in one process, entering each namespace with setns.

Per container, the least a program has to ask the kernel for: a named
namespace (unshare + bind mount, as ``ip netns add``), a veth whose peer is
created inside it, the host end on the bridge and up, then inside the
namespace lo up, the address, the interface up and the default route.
No reading, no checking, no rollback: nothing a real tool can skip below this.

Each request is one of pyroute2's netlink messages (its classes encode it),
sent on a plain netlink socket of the namespace, one per namespace, and its
answer read back: the floor pays the kernel's work and the encoding, not the
machinery of pyroute2's ``IPRoute`` API around them (an event loop and the
request filters of every call: about 5 ms of Python per container, two
thirds of its time at 100 containers, a fixed cost that hid how the kernel's
work grows). ``api="iproute"`` sends the same requests through ``IPRoute``,
as the floor did until 2026-12-04; make bench's growth table shows both.

``ipv6=False`` (make bench's growth rows) builds the same with IPv6 off on
every new link (the namespaces' ``default`` setting), to tell how much of the
kernel's time goes to IPv6's own start on each new link: its link-local
address, duplicate address detection, multicast joins and router
solicitations, which the bridge floods to every other port.

    python bench/floor.py N [--no-ipv6] [--iproute]   (inside tests/sandbox.sh; prints seconds)
"""

import ctypes
import os
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
RUN = "/run/netns"
IPV6_DEFAULT = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
IFF_UP = 1
MAIN_TABLE = 254
RTPROT_STATIC = 4
RTN_UNICAST = 1
_libc = ctypes.CDLL(None, use_errno=True)
_HEADER = struct.Struct("=IHHII")
_INT = struct.Struct("=i")


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


class Messages:
    """The requests as pyroute2's messages on one netlink socket of the
    namespace that opens it; each call sends one and reads its answer."""

    def __init__(self):
        # pyroute2 is imported here, where the floor starts, not with this file.
        from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
        from pyroute2.netlink.rtnl import RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE
        from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
        from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
        from pyroute2.netlink.rtnl.rtmsg import rtmsg
        self._new, self._set = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, NLM_F_REQUEST | NLM_F_ACK
        self._get, self._error = NLM_F_REQUEST, NLMSG_ERROR
        self._link, self._addr, self._route = ifinfmsg, ifaddrmsg, rtmsg
        self._kinds = {"link": RTM_NEWLINK, "lookup": RTM_GETLINK, "addr": RTM_NEWADDR, "route": RTM_NEWROUTE}
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self):
        self._sock.close()

    def _ask(self, msg, kind, request_flags, **fields):
        """Send ``msg``; the answer's interface index (a lookup) or None (an acknowledgement)."""
        self._seq += 1
        msg["header"]["type"], msg["header"]["flags"] = self._kinds[kind], request_flags
        msg["header"]["sequence_number"] = self._seq
        for name, value in fields.items():
            msg[name] = value
        msg.encode()
        self._sock.send(msg.data)
        answer = self._sock.recv(65536)
        _length, answer_kind, _flags, seq, _pid = _HEADER.unpack_from(answer)
        if seq != self._seq:
            raise OSError("netlink answer %d to request %d" % (seq, self._seq))
        if answer_kind == self._error:
            code = -_INT.unpack_from(answer, 16)[0]
            if code:
                raise OSError(code, os.strerror(code))
            return None
        return _INT.unpack_from(answer, 20)[0]  # ifinfomsg's index, after the header

    def lookup(self, name):
        return self._ask(self._link(), "lookup", self._get, attrs=[("IFLA_IFNAME", name)])

    def bridge(self, name):
        self._ask(self._link(), "link", self._new, attrs=[
            ("IFLA_IFNAME", name), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]})])

    def veth(self, name, peer, netns_fd):
        self._ask(self._link(), "link", self._new, attrs=[("IFLA_IFNAME", name), ("IFLA_LINKINFO", {"attrs": [
            ("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": [
                ("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", netns_fd)]})]})]})])

    def up(self, index, master=None):
        self._ask(self._link(), "link", self._set, index=index, flags=IFF_UP, change=IFF_UP,
                  attrs=[("IFLA_MASTER", master)] if master is not None else [])

    def address(self, index, address, plen):
        self._ask(self._addr(), "addr", self._new, family=socket.AF_INET, prefixlen=plen, index=index,
                  attrs=[("IFA_LOCAL", address), ("IFA_ADDRESS", address)])

    def default_route(self, gateway):
        self._ask(self._route(), "route", self._new, family=socket.AF_INET, table=MAIN_TABLE, proto=RTPROT_STATIC,
                  scope=0, type=RTN_UNICAST, attrs=[("RTA_GATEWAY", gateway)])


class IPRouteApi:
    """The same requests through pyroute2's ``IPRoute`` (the floor until 2026-12-04)."""

    def __init__(self):
        from pyroute2 import IPRoute
        self._ipr = IPRoute()

    def close(self):
        self._ipr.close()

    def lookup(self, name):
        return self._ipr.link_lookup(ifname=name)[0]

    def bridge(self, name):
        self._ipr.link("add", ifname=name, kind="bridge")

    def veth(self, name, peer, netns_fd):
        self._ipr.link("add", ifname=name, kind="veth", peer={"ifname": peer, "net_ns_fd": netns_fd})

    def up(self, index, master=None):
        if master is None:
            self._ipr.link("set", index=index, state="up")
        else:
            self._ipr.link("set", index=index, master=master, state="up")

    def address(self, index, address, plen):
        self._ipr.addr("add", index=index, address=address, prefixlen=plen)

    def default_route(self, gateway):
        self._ipr.route("add", dst="0.0.0.0/0", gateway=gateway)


APIS = {"messages": Messages, "iproute": IPRouteApi}


def build(n, bridge="br-floor", prefix="f", subnet="198.51.100", plen=24, gateway="198.51.100.1", ipv6=True,
          api="messages"):
    """Build ``n`` containers on a new bridge; returns the seconds the
    per-container work took (pyroute2's import and the bridge not counted)."""
    session = APIS[api]
    _prepare()
    if not ipv6:
        _ipv6_off_for_new_links()  # the host ends (this is a sandbox's namespace)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    host = session()
    host.bridge(bridge)
    br = host.lookup(bridge)
    host.address(br, gateway, plen)
    host.up(br)
    start = time.perf_counter()
    for i in range(n):
        name = "%s%d" % (prefix, i)
        _netns_add(name, home, ipv6)
        fd = os.open(os.path.join(RUN, name), os.O_RDONLY)
        try:
            host.veth("veth-" + name, "eth0", fd)
            host.up(host.lookup("veth-" + name), master=br)
            _check(_libc.setns(fd, CLONE_NEWNET), "setns")
            try:
                inner = session()
                try:
                    inner.up(1)
                    eth = inner.lookup("eth0")
                    inner.address(eth, "%s.%d" % (subnet, 10 + i % 240), plen)
                    inner.up(eth)
                    inner.default_route(gateway)
                finally:
                    inner.close()
            finally:
                _check(_libc.setns(home, CLONE_NEWNET), "setns")
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - start
    host.close()
    os.close(home)
    return elapsed


if __name__ == "__main__":
    print("%.6f" % build(int(sys.argv[1]) if len(sys.argv) > 1 else 10, ipv6="--no-ipv6" not in sys.argv[2:],
                         api="iproute" if "--iproute" in sys.argv[2:] else "messages"))
