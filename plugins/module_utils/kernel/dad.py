# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Duplicate address detection of the IPv6 addresses a run added: after the
apply, each one on a link that is up with its carrier must become usable.
The kernel marks it tentative while it probes the link and dadfailed when
another node answers for it; the wait is bounded by the link's own DAD time."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.netplumb.linux.plugins.module_utils.kernel import namespaces

POLL = 0.05
# The kernel's DAD runs from timers and a work queue, late on a busy machine:
# the wait allows twice its time and 2 s more, and ends as soon as DAD does.
SLACK = 2.0
_USABLE_OPERSTATES = ("up", "unknown")


def added(done):
    """(op, netns, link name, address) of each IPv6 address ``done`` added with DAD."""
    for op in done:
        for step in op.steps or (op,):
            address = step.args.get("address") if step.action == "addr_add" else None
            if address is not None and address.version == 6 and not step.args.get("nodad"):
                yield op, step.netns, step.target, address


def unusable(kernel, done):
    """(op, text) for each IPv6 address of ``done`` that did not become
    usable: DAD failed, or still tentative after the link's DAD time."""
    pending = [item for item in added(done) if _carrier(kernel, item[1], item[2])]
    if not pending:
        return []
    deadline = time.monotonic() + 2 * max(_dad_seconds(netns, name) for _op, netns, name, _a in pending) + SLACK
    while True:
        states = [(item, _state(kernel, *item[1:])) for item in pending]
        if all(state != "tentative" for _item, state in states) or time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    return [(op, "address %s on %s%s: wanted usable, found %s" % (address, name, _where(netns), _FOUND[state]))
            for (op, netns, name, address), state in states if state]


_FOUND = {
    "failed": "dadfailed (duplicate address detection: another node on the link holds it)",
    "tentative": "still tentative after the link's duplicate address detection time",
    "missing": "no such address (removed in between)",
}


def _carrier(kernel, netns, name):
    link = kernel.session(netns).link(name)
    return link is not None and link.up and link.operstate in _USABLE_OPERSTATES


def _state(kernel, netns, name, address):
    sess = kernel.session(netns)
    link = sess.link(name)
    found = [a for a in sess.addresses(link.index) if a.address == address] if link is not None else []
    return found[0].dad if found else "missing"


def _dad_seconds(netns, name):
    """The kernel's longest DAD on link ``name``: a random delay of up to
    rtr_solicit_delay, then dad_transmits probes retrans_time apart."""
    with namespaces.netns_context(netns):
        conf = "/proc/sys/net/ipv6/conf/%s/" % name
        probes = _number(conf + "dad_transmits", 1)
        delay = _number(conf + "rtr_solicit_delay", 1)
        retrans = _number("/proc/sys/net/ipv6/neigh/%s/retrans_time_ms" % name, 1000) / 1000.0
    return delay + probes * retrans


def _number(path, default):
    try:
        with open(path) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _where(netns):
    return " (netns %s)" % netns if netns else ""
