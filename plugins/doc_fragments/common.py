# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Attributes of every module that changes kernel state.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description: Reports exactly the operations a real run would apply, and changes nothing.
      A namespace or bridge that does not exist yet is assumed to be created by an earlier
      task (with a warning) instead of failing.
  diff_mode:
    support: full
    description: Shows the object as the kernel reports it before, and as it will be after.
  platform:
    support: full
    platforms: Linux
    description: Linux network namespaces and netlink; runs on the managed node as root.
requirements:
  - Python >= 3.9 on the managed node
notes:
  - A call that fails half way undoes the operations it already applied, in reverse order,
    and reports them in C(rolled_back); deletions cannot be undone and are listed in C(not_undone).
  - 'After a real apply the module reads back what it changed, and waits for the duplicate address
    detection of the IPv6 addresses it added on links with carrier (about the link''s own DAD time, a
    second or two). A difference (another agent in between, a value the kernel adjusted or refused, an
    address another node holds) undoes the whole call and fails, naming each one in C(mismatches)
    (C(mtu: wanted 1400, found 1500)).'
  - Every parameter is checked before anything on the node changes; a bad one fails with a message
    that names it, and the name is returned in C(field).
'''

    # Modules that talk netlink through pyroute2 (net_facts without its uplink option).
    NETLINK = r'''
options: {}
requirements:
  - pyroute2 >= 0.7.2 on the managed node
'''

    NETNS = r'''
options:
  netns:
    description:
      - Name of the network namespace (as in C(ip netns list)) the object lives in.
      - Omitted, the node's own namespace.
    type: str
'''
