# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The line the cni role ends with: what its run did, from the results its
tasks registered (cni_config's, cni_install's and cni_check's). Pure
Python; the filter cni_summary exposes it.

A task that did not run registers ``skipped``; the modules' results are read
by their documented keys only (RETURN): ``operations`` (each with ``op``,
``target`` and ``args``), cni_install's ``plugins`` and ``bin_dir``,
cni_config's ``path``, cni_check's ``trial_ran``, ``addresses`` (exec) and
``pod_ips``/``pod_ip``/``runtime_version`` (cri)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

# The file operations that change a file, by the word the summary uses for them.
_VERBS = {"file_write": "wrote", "file_attrs": "set the mode and owner of", "file_symlink": "restored",
          "file_delete": "deleted"}


def summary(config, plugins=None, check=None, state="present", check_mode=False):
    """One line: with ``state`` present, the plugins (installed, changed,
    unchanged), the config file and the smoke test; with ``state`` absent
    (the plugins task removed them), the plugins removed and the config file."""
    if state == "absent":
        parts = [_removed_plugins(plugins or {}), _config(config, "removed", "already absent")]
    else:
        parts = [_plugins(plugins), _config(config, "written", "unchanged"),
                 "check: " + _check(check, _ran(plugins) and plugins.get("changed") or config.get("changed"))]
    line = "; ".join(part for part in parts if part)
    return "check mode, planned only: " + line if check_mode else line


def _ran(result):
    return bool(result) and not result.get("skipped")


def _changes(result):
    """(verb, path) of each file the result's operations change, in order;
    not the removal of a temporary an interrupted write left, nor directories."""
    found = []
    for op in result.get("operations") or []:
        verb = _VERBS.get(op.get("op"))
        if verb and not (op.get("args") or {}).get("why"):
            found.append((verb, op.get("target")))
    return found


def _plugins(result):
    if not _ran(result):
        return "plugins: not installed (the task did not run)"
    changes = set(path for _verb, path in _changes(result))
    plugins = result.get("plugins") or {}
    changed = [name for name in plugins if (plugins[name] or {}).get("path") in changes]
    return "plugins: %d installed in %s, %d changed, %d unchanged" % (
        len(plugins), result.get("bin_dir"), len(changed), len(plugins) - len(changed))


def _removed_plugins(result):
    bin_dir = result.get("bin_dir")
    names = [os.path.basename(path) for verb, path in _changes(result) if verb == "deleted"]
    if not names:
        return "plugins: none to remove in %s" % bin_dir
    return "plugins: %d removed from %s (%s)" % (len(names), bin_dir, ", ".join(names))


def _config(result, done, not_done):
    """The config file (``done`` when the result changes it, else
    ``not_done``), then the other files the task changed (the same network's
    configs under other names, all others with cni_exclusive, the network
    managers' files)."""
    path = result.get("path")
    changes = _changes(result)
    text = "config %s %s" % (path, done if any(target == path for _verb, target in changes) else not_done)
    others = ["%s %s" % (verb, target) for verb, target in changes if target != path]
    return text + (" (also %s)" % ", ".join(others) if others else "")


def _check(result, changed):
    """The pod's IPs of the smoke test, or why it did not run."""
    if not _ran(result):
        return "not run (%s)" % ("cni_run_check is false" if changed else "nothing changed")
    if not result.get("trial_ran"):
        return "not run (check mode, and the config or a plugin does not exist yet)"
    if result.get("runtime") == "cri":
        ips = list(result.get("pod_ips") or ([result["pod_ip"]] if result.get("pod_ip") else []))
        through = " through %s" % result["runtime_version"] if result.get("runtime_version") else " through CRI"
    else:
        ips = [address.split("/")[0] for address in result.get("addresses") or [] if address]
        through = ""
    if not ips:
        return "passed, the pod got no IP" + through
    return "pod IP%s %s%s" % ("s" if len(ips) > 1 else "", ", ".join(ips), through)
