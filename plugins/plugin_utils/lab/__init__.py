# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netplumb.linux lab: nodes that are machines, on the controller.

What the action plugin ``netplumb.linux.lab_node`` (plugins/action/lab_node.py)
does, split by what each file backs:

- ``system``: commands, files, ``ip`` in a namespace, ``setns``; ``LabError``.
- ``state``: the state directory's files and which processes are this lab's
  nodes (a marker in their environment, pid 1 of their pid namespace).
- ``fabric``: the plan (names, addresses; the option checks) and the wiring
  (the fabric bridge in the wan, each node's uplink), as ``ip`` commands.
- ``packages``: the nodes' package mirror (.debs with an index).
- ``layer``: the provisioned layer (sshd, sudo, the user) the nodes share.
- ``boot``: pid 1 of a node (its root, devices, sshd, reaping).
- ``nodes``: starting and stopping nodes.
- ``ssh``: keys, known_hosts, waiting for sshd, closing control masters.
- ``relay``: ssh's ProxyCommand into the wan's network namespace.
- ``inventory``: the inventory variables and ``inventory.yml``.
- ``lab``: ``up`` and ``down``, in check mode or for real.
- ``cli``: the file run by its path (``python -I cli.py boot|relay|down|packages``)
  for the processes that outlive a task and for make and the tests.

Standard library only, and only relative imports inside this package (it
runs as ``ansible_collections.netplumb.linux.plugins.plugin_utils.lab`` in
the controller, and under a private name when ``cli.py`` runs by its path).
Nothing here imports Ansible or the collection's module_utils.
"""
