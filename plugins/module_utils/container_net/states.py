# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container as --diff shows it: its state as found, and as the plan
leaves it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def route_line(route):
    return route.text(dev=False, metric="custom")


def _routes_state(routes):
    return sorted(route_line(r) for r in routes if r.gateway is not None)


def state(spec, hlink, eth, ns):
    return {
        "state": "present",
        "host_end": hlink.name,
        "master": hlink.master,
        "mtu": eth.mtu,
        "addresses": [str(a) for a in eth.addresses],
        "up": hlink.up and eth.up,
        "routes": _routes_state(ns.routes.values()),
    }


def want_state(spec, want, have_eth, wanted, actual):
    routes = dict(actual)
    for route in wanted:
        routes[(route.dst, route.metric)] = route
    return {
        "state": "present",
        "host_end": want.host,
        "master": spec.bridge,
        "mtu": want.mtu if want.mtu is not None else have_eth.mtu,
        "addresses": [str(a) for a in want.addresses],
        "up": True,
        "routes": _routes_state(routes.values()),
    }
