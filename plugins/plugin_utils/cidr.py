# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks in CIDR form and their n-th addresses, for the controller-side
plugins (the cidr_host filter, the bridge_network plan). Pure Python."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress


class CidrError(ValueError):
    """A network or an address number that does not make sense."""


def network(text, name):
    """The network of ``text`` (a network, or an address with prefix);
    ``name`` is what an error calls it."""
    try:
        return ipaddress.ip_interface(str(text)).network
    except ValueError as exc:
        raise CidrError("%s: %r is not a network in CIDR form: %s" % (name, text, exc))


def host(net, index):
    """Address number ``index`` of ``net``, counting from the network address."""
    if not 0 <= int(index) < net.num_addresses:
        raise CidrError("%s has no address number %s" % (net, index))
    return net.network_address + int(index)
