# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's hosts as Ansible reaches them: each host's inventory variables
and ``<state_dir>/inventory.yml`` (groups ``lab_nodes`` and ``lab_wan``),
for later runs with ``-i``."""

import json
import os
import sys

from . import state
from .system import CLI


def host_vars(options, layout, host, pid):
    """The inventory variables of one lab host: how Ansible reaches it, and where it sits."""
    state_dir = options["state_dir"]
    found = {"lab_node_index": host["index"], "lab_uplink_address": host["address"],
             "lab_uplink_address6": host["address6"], "lab_fabric_gateway": layout["gateway"],
             "lab_fabric_gateway6": layout["gateway6"]}
    if options["connection"] == "nsenter":
        found.update({"ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": pid,
                      "ansible_python_interpreter": options["python"]})
        return found
    relay = "%s -I %s relay --state-dir %s %%h %%p" % (sys.executable, CLI, state_dir)
    found.update({
        "ansible_connection": "ssh",
        "ansible_host": host["address"].split("/")[0],
        "ansible_user": options["user"],
        "ansible_become": True,
        "ansible_ssh_private_key_file": os.path.join(state_dir, state.KEY_FILE),
        # Every connection through the relay into the wan, and only to hosts the lab knows.
        "ansible_ssh_common_args": "-o 'ProxyCommand=%s' -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null"
                                   " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                                   % (relay, os.path.join(state_dir, state.KNOWN_HOSTS)),
        "ansible_ssh_pipelining": True,
        "ansible_control_path_dir": os.path.join(state_dir, state.CONTROL_DIR),
        # ssh.control_path: a socket named after the host, whatever control path the caller's configuration sets.
        "ansible_control_path": "%(directory)s/" + host["name"],
    })
    return found


def inventory(options, layout, hostvars):
    """The inventory file: YAML (JSON is YAML), so that ``-i`` reaches the lab later."""
    def group(names):
        return {"hosts": {name: hostvars[name] for name in names}}
    data = {"all": {"children": {"lab_nodes": group([n["name"] for n in layout["nodes"]]),
                                 "lab_wan": group([state.WAN])}}}
    return ("# The netplumb.linux lab in %s (lab_connection: %s); use with -i, tear down with\n"
            "# the lab role and lab_state: absent (playbooks/teardown.yml).\n%s\n"
            % (options["state_dir"], options["connection"], json.dumps(data, indent=2, sort_keys=True)))
