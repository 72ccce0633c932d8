# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lean netlink session: standard library only.

Why not pyroute2 here: importing it costs about 200 ms and decoding one link
of a dump about 0.4 ms (docs/performance.md has the profile), which alone is
more than the whole per-container budget of a no-change run. This session
sends the handful of requests the kernel operations need; rtnl_codec.py
encodes them and decodes only the attributes the model holds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import socket

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import NetlinkError
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import model, rtnl_codec as codec
from ansible_collections.netplumb.linux.plugins.module_utils.kernel.session import NetlinkSession, address_indexes

NETLINK_ROUTE = 0
SOL_NETLINK, NETLINK_GET_STRICT_CHK = 270, 12

_ROUTE_REQUESTS = {"add": (codec.RTM_NEWROUTE, codec.NLM_F_CREATE | codec.NLM_F_EXCL),
                   "replace": (codec.RTM_NEWROUTE, codec.NLM_F_CREATE | codec.NLM_F_REPLACE),
                   "del": (codec.RTM_DELROUTE, 0)}
# One receive buffer for every socket: each answer is copied out before the next recv.
_BUF = bytearray(1 << 16)
_VIEW = memoryview(_BUF)


class LeanSession(NetlinkSession):
    """One rtnetlink socket (``sock``, bound) in the namespace it was opened
    in; ``strict``: the kernel checks requests strictly and filters dumps."""

    def __init__(self, sock, strict):
        self._sock = sock
        self._strict = strict
        self._seq = 0

    @classmethod
    def open(cls):
        """A session on a new socket in the calling thread's namespace."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((0, 0))
        except OSError:
            sock.close()
            raise
        try:
            # The kernel then filters route dumps by table and type itself (4.20 and later).
            sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            strict = True
        except OSError:
            strict = False
        return cls(sock, strict)

    def close(self):
        self._sock.close()

    # -- the wire --------------------------------------------------------------

    def _message(self, kind, flags, body):
        self._seq += 1
        return codec.NLMSG.pack(16 + len(body), kind, flags | codec.NLM_F_REQUEST, self._seq, 0) + body

    def _send(self, kind, flags, body):
        self._sock.send(self._message(kind, flags, body))
        return self._seq

    def _answers(self, seq):
        """The payloads of the answers to request ``seq``, read until it is done."""
        found = []
        buf, view, sock, unpack = _BUF, _VIEW, self._sock, codec.NLMSG.unpack_from
        while True:
            size = sock.recv_into(buf)
            data = bytes(view[:size])
            offset = 0
            while offset + 16 <= size:
                length, kind, flags, mseq, _pid = unpack(data, offset)
                start = offset
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue
                if kind == codec.NLMSG_DONE:
                    # A dump that failed after it started says so here.
                    code = -codec.I32.unpack_from(data, start + 16)[0] if length >= 20 else 0
                    if code > 0:
                        raise NetlinkError(code)
                    return found
                if kind == codec.NLMSG_ERROR:
                    code = -codec.I32.unpack_from(data, start + 16)[0]
                    if code:
                        raise NetlinkError(code)
                    return found
                found.append(data[start + 16:start + length])
                if not flags & codec.NLM_F_MULTI:
                    return found

    def _request(self, kind, body, flags=0):
        self._answers(self._send(kind, flags | codec.NLM_F_ACK, body))

    def _dump(self, kind, body):
        return self._answers(self._send(kind, codec.NLM_F_DUMP, body))

    # -- reads -----------------------------------------------------------------

    def links(self):
        return [codec.link(payload) for payload in self._dump(codec.RTM_GETLINK, codec.LINK_DUMP)]

    def link(self, name):
        return self.links_named((name,))[0]

    def links_named(self, names):
        return self.read_named(names, addresses=False)[0]

    def read_named(self, names, addresses=True, home_fd=None):
        # One send: the lookups, the id, then the address dump. The kernel
        # answers the requests in turn; the dump goes last since it runs on
        # while its answers are read.
        data, seqs = b"", []
        for name in names:
            data += self._message(codec.RTM_GETLINK, 0, codec.link_lookup(name))
            seqs.append(self._seq)
        if home_fd is not None:
            data += self._message(codec.RTM_GETNSID, 0, codec.nsid_lookup(home_fd))
            nsid_seq = self._seq
        if addresses:
            data += self._message(codec.RTM_GETADDR, codec.NLM_F_DUMP, codec.ADDRESS_DUMP)
            dump_seq = self._seq
        self._sock.send(data)
        links, found, home, error = [], [], None, None
        for seq in seqs:
            try:
                answer = self._answers(seq)
                links.append(codec.link(answer[0]) if answer else None)
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    error = error or exc  # the other answers are read first
                links.append(None)
        try:
            if home_fd is not None:
                answer = self._answers(nsid_seq)
                home = codec.nsid(answer[0]) if answer else None
        except NetlinkError as exc:
            error = error or exc
        if addresses:
            found = codec.addresses(self._answers(dump_seq),
                                    None if addresses is True else address_indexes(links, addresses))
        if error is not None:
            raise error
        return links, found, home

    def addresses(self, index=None):
        return codec.addresses(self._dump(codec.RTM_GETADDR, codec.ADDRESS_DUMP), None if index is None else (index,))

    def netnsid(self, fd):
        answer = self._answers(self._send(codec.RTM_GETNSID, 0, codec.nsid_lookup(fd)))
        return codec.nsid(answer[0]) if answer else None

    def routes(self, families=(4, 6), table=None, unicast_only=False):
        wanted = frozenset(codec.FAMILY[version] for version in families)
        if not wanted:
            return []
        # Both families in one dump: AF_UNSPEC walks every family's routes
        # (multicast routing's too, left out in decoding), one send instead of two.
        family = socket.AF_UNSPEC if len(wanted) > 1 else next(iter(wanted))
        request = codec.route_dump(family, table if self._strict else None, self._strict and unicast_only)
        try:
            payloads = self._dump(codec.RTM_GETROUTE, request)
        except NetlinkError as exc:
            if exc.code != errno.ENOENT or table is None:
                raise
            return []  # a filtered dump of a table that does not exist
        routes = (codec.route(payload, wanted, table, unicast_only) for payload in payloads)
        return [route for route in routes if route is not None]

    # -- writes ----------------------------------------------------------------

    def add_bridge(self, name, mtu=None, address=None):
        self._request(codec.RTM_NEWLINK, codec.new_bridge(name, mtu, address), codec.NLM_F_CREATE | codec.NLM_F_EXCL)

    def add_veth(self, name, peer, peer_netns_fd=None, mtu=None):
        self._request(codec.RTM_NEWLINK, codec.new_veth(name, peer, peer_netns_fd, mtu),
                      codec.NLM_F_CREATE | codec.NLM_F_EXCL)

    def delete_link(self, index):
        self._request(codec.RTM_DELLINK, codec.link_index(index))

    def set_link(self, index, mtu=None, master=None, up=None, netns_fd=None, alias=None):
        self._request(codec.RTM_NEWLINK, codec.link_change(index, mtu, master, up, netns_fd, alias))

    def set_bridge(self, index, stp=None, vlan_filtering=None):
        self._request(codec.RTM_NEWLINK, codec.bridge_change(index, stp, vlan_filtering))

    def add_address(self, index, iface, nodad=False):
        self._request(codec.RTM_NEWADDR, codec.address_change(index, iface, model.IFA_F_NODAD if nodad else 0),
                      codec.NLM_F_CREATE | codec.NLM_F_EXCL)

    def delete_address(self, index, iface):
        self._request(codec.RTM_DELADDR, codec.address_change(index, iface, 0))

    def route(self, command, route, oif=None):
        if command not in _ROUTE_REQUESTS:
            raise ValueError("route command %r" % command)
        kind, flags = _ROUTE_REQUESTS[command]
        self._request(kind, codec.route_change(command, route, oif), flags)
