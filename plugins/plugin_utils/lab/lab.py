# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab as a whole: ``up`` builds or keeps it (nodes, wan, fabric,
uplinks, keys, known_hosts, ``nodes.json`` and ``inventory.yml``), ``down``
tears it down. Both compare what is there with what is wanted and return
the operations that make up the difference, as text; in check mode they
return the same list and change nothing."""

import json
import os
import shutil

from . import fabric, inventory, layer, nodes, packages, ssh, state
from .system import read, write


def _file_diff(path, before, after):
    return {"before_header": path, "after_header": path, "before": before or "", "after": after or ""}


def prepare(options):
    """Judge the options and lay the lab out, reading only: the plan, and
    (state present) a fabric that overlaps a route here, or a state
    directory too long for ssh's control sockets, refused. Raises LabError
    naming the option."""
    layout = fabric.plan(options)
    if options["state"] == "present":
        fabric.refuse_overlap(options, layout)
        if options["connection"] == "ssh":
            ssh.refuse_long_state_dir(options["state_dir"], [h["name"] for h in [layout["wan"]] + layout["nodes"]],
                                      fabric.named(options, "state_dir"))
    return layout


def up(options, layout, check):
    """Build or keep the whole lab as ``layout`` (from ``prepare``) lays it out."""
    state_dir = options["state_dir"]
    ssh_nodes = options["connection"] == "ssh"
    operations = []
    if ssh_nodes and packages.fetch(options, check):
        operations.append("fetch the nodes' packages into %s" % os.path.abspath(options["packages_dir"]))
    hosts = [layout["wan"]] + layout["nodes"]
    for name in layout["extra"]:
        operations.append("stop %s" % name)
        if not check:
            nodes.stop(state_dir, name)
    if not check:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
    pids = {h["name"]: state.locate(state_dir, h["name"]) for h in hosts}
    wanted = {h["name"]: [a for a in (h["address"], h["address6"]) if a] for h in hosts if not pids[h["name"]]}
    if ssh_nodes and wanted and not check:
        packages.require(options)
    if ssh_nodes:
        operations += ["key %s" % path for path in ssh.ensure_keys(state_dir, [h["name"] for h in hosts], check)]
    built_layer = ""
    if wanted:
        operations += ["start %s" % name for name in wanted]
        if not check:
            built_layer, built = layer.build_layer(options) if ssh_nodes else ("", False)
            if built:
                operations.append("provisioned layer %s" % built_layer)
            pids.update(nodes.start_nodes(options, wanted, built_layer))
    wan = pids[state.WAN] or 0
    operations += fabric.apply(check, wan, fabric.fabric_todo(
        wan, layout["bridge"], [a for a in (layout["wan"]["address"], layout["wan"]["address6"]) if a]))
    for node in layout["nodes"]:
        first, wan_todo, node_todo = fabric.uplink_todo(wan, pids[node["name"]] or 0, node, layout["bridge"],
                                                        (layout["gateway"], layout["gateway6"]))
        operations += fabric.apply(check, pids[node["name"]], first)
        operations += fabric.apply(check, wan, wan_todo)
        operations += fabric.apply(check, pids[node["name"]], node_todo)
    hostvars = {h["name"]: inventory.host_vars(options, layout, h, pids[h["name"]]) for h in hosts}
    files = {state.STATE_FILE: json.dumps(pids, indent=2, sort_keys=True) + "\n",
             state.INVENTORY_FILE: inventory.inventory(options, layout, hostvars)}
    if ssh_nodes:
        # In check mode the host keys may not exist yet: known_hosts is written from them.
        files[state.KNOWN_HOSTS] = ssh.known_hosts(state_dir, hosts) if not check else ""
    diff = []
    for name, text in sorted(files.items()):
        path = os.path.join(state_dir, name)
        before = read(path)
        if before != text and not (check and name == state.KNOWN_HOSTS):
            operations.append("write %s" % path)
            if name != state.KNOWN_HOSTS:
                diff.append(_file_diff(path, before, text))
            if not check:
                write(path, text, 0o600)
    if ssh_nodes and not check:
        ssh.wait_for_ssh(wan, [h["address"].split("/")[0] for h in hosts])
    return {"changed": bool(operations), "operations": operations, "pids": pids, "diff": diff,
            "state_dir": state_dir, "inventory": os.path.join(state_dir, state.INVENTORY_FILE),
            "hosts": [{"name": h["name"], "pid": pids[h["name"]], "vars": hostvars[h["name"]],
                       "group": "lab_wan" if h["name"] == state.WAN else "lab_nodes"} for h in hosts]}


def down(state_dir, check):
    """Close the ssh masters, stop every node of the lab, remove the state files."""
    names = sorted(set(state.recorded(state_dir)) | set(state.find_nodes(state_dir)))
    operations, diff = [], []
    if ssh.masters(state_dir):
        operations.append("close ssh masters")
        if not check:
            ssh.close_masters(state_dir)
    for name in names:
        if state.locate(state_dir, name):
            operations.append("stop %s" % name)
            if not check:
                nodes.stop(state_dir, name)
    for entry in state.STATE_ENTRIES:
        path = os.path.join(state_dir, entry)
        if os.path.lexists(path):
            operations.append("remove %s" % path)
            if entry in (state.STATE_FILE, state.INVENTORY_FILE):
                diff.append(_file_diff(path, read(path), ""))
            if not check:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
    if os.path.isdir(state_dir) and (check or not os.listdir(state_dir)):
        leftover = set(os.listdir(state_dir)) - set(state.STATE_ENTRIES)
        if not leftover:
            operations.append("remove %s" % state_dir)
            if not check:
                os.rmdir(state_dir)
    return {"changed": bool(operations), "operations": operations, "diff": diff, "state_dir": state_dir}
