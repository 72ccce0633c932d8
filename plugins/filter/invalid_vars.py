# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: invalid_vars
short_description: Internal to the collection's roles, not for playbooks - checks the roles' variables
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
description:
  - B(Internal.) This filter belongs to the validate tasks of the collection's roles (C(netplumb.linux.bridge_network),
    C(netplumb.linux.cni)) and is documented here only because every plugin of a collection is listed. It is not
    part of the collection's public interface - its checks, kinds and messages may change in any release without
    notice. Do not use it in your own playbooks; use the modules' own parameter checks or
    C(ansible.builtin.validate_argument_spec) instead.
  - "Takes a list of checks, each C([variable name, value, kind]), and returns one message per value that is
    not of its kind, naming the variable and the value, for example
    C(bridge_network_cidr: '300.0.0.0/24' is not a network in CIDR form ...). An empty list means all are good."
  - The checks are the ones the collection's modules make on their own parameters, so a role can fail on a
    bad variable before its first change, with the variable's name instead of a module's option.
  - "Kinds: V(network) (CIDR, host bits zero), V(address) (an IP address without prefix), V(ifname) (an
    interface name), V(cni_network_name) (a CNI network name), V(absolute_path). A kind ending in C(?)
    also accepts an empty string or null (the variable is optional)."
  - "V(supernet) takes as its value C([network, inner network, inner variable's name]): the network may be
    empty; if set, it must be a network that holds the inner one (same family), for example a cluster CIDR
    that must hold the node's own subnet."
options:
  _input:
    description: The checks, each a list of variable name, value and kind.
    type: list
    elements: list
    required: true
'''

EXAMPLES = r'''
- name: Variables the argument spec cannot judge
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
    quiet: true
  vars:
    _problems: >-
      {{ [['bridge_network_cidr', bridge_network_cidr, 'network'],
          ['bridge_network_gateway', bridge_network_gateway, 'address?']] | netplumb.linux.invalid_vars }}
'''

RETURN = r'''
_value:
  description: One message per bad value, naming the variable and the value; empty when every value is good.
  type: list
  elements: str
'''

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.netplumb.linux.plugins.module_utils.cni import names as cni_names
from ansible_collections.netplumb.linux.plugins.module_utils.core import validate
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError


def _supernet(name, value):
    """[network, inner network, inner's name]: empty, or a network holding the inner one."""
    outer, inner, inner_name = value
    if outer in (None, ""):
        return
    network = validate.network(name, outer)
    if inner in (None, ""):
        return
    try:
        held = ipaddress.ip_network(inner, strict=False)
    except ValueError:
        return  # the inner variable's own check names it
    if held.version != network.version or not held.subnet_of(network):
        raise ParamError(name, outer, "must contain %s (%s)" % (inner_name, inner))


_KINDS = {
    "supernet": _supernet,
    "network": validate.network,
    "address": validate.ip,
    "ifname": validate.ifname,
    "cni_network_name": cni_names.network_name,
    "absolute_path": cni_names.absolute_path,
}


def _plain(value):
    """Templated values as plain Python data, so messages show them as written."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return dict((_plain(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def invalid_vars(checks):
    if not isinstance(checks, (list, tuple)):
        raise AnsibleFilterError("invalid_vars: expects a list of [name, value, kind], got %r" % (checks,))
    problems = []
    for check in checks:
        if not isinstance(check, (list, tuple)) or len(check) != 3:
            raise AnsibleFilterError("invalid_vars: %r is not [name, value, kind]" % (check,))
        name, value, kind = str(check[0]), _plain(check[1]), str(check[2])
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        if kind not in _KINDS:
            raise AnsibleFilterError("invalid_vars: unknown kind %r for %s (%s)"
                                     % (kind, name, ", ".join(sorted(_KINDS))))
        if optional and value in (None, ""):
            continue
        try:
            _KINDS[kind](name, value)
        except ParamError as exc:
            problems.append(str(exc))
    return problems


class FilterModule(object):
    def filters(self):
        return {"invalid_vars": invalid_vars}
