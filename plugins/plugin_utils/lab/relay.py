# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh's ProxyCommand (``cli.py relay --state-dir D HOST PORT``, named in the
inventory's connection variables): it enters the wan's network namespace
and connects there, so no connection to a lab address leaves through this
machine's own network."""

import os
import select
import socket

from . import state
from .system import LabError, setns_net


def relay(state_dir, host, port):
    """stdin/stdout to a TCP connection made inside the wan's network
    namespace, so the connection never touches this machine's."""
    pid = state.locate(state_dir, state.WAN)
    if not pid:
        raise LabError("the lab in %s has no running wan: build it with the lab role first" % state_dir)
    setns_net(pid)
    conn = socket.create_connection((host, port), timeout=10)
    conn.settimeout(None)
    ends = {0: conn.fileno(), conn.fileno(): 1}
    while ends:
        readable, _w, _x = select.select(list(ends), [], [])
        for fd in readable:
            data = os.read(fd, 65536)
            if not data:
                if fd == 0:
                    conn.shutdown(socket.SHUT_WR)
                    del ends[0]
                    continue
                return
            out = ends[fd]
            while data:
                data = data[os.write(out, data):]
