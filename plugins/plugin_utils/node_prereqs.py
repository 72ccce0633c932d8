# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node lacks for a role, from one probe, and the words that say so.

The action plugin netplumb.linux.node_prereqs runs the node-side probe (the
module of the same name) once, asks missing() what is lacking, installs it
with the distribution's package manager or pip, and fails or reports with
the messages below. Both roles (bridge_network, cni) use it. Pure Python on
the controller: no Ansible import, no module_utils import; tested by
tests/unit/test_node_prereqs.py.

A need is a dict: name (what, and who needs it), package (the distribution
package that provides it, or ''), pip (a pip requirement, or ''), how (how it
would be installed, or why it cannot be).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# The commands nat_rule looks for, per backend (its backend choice).
NAT_TOOLS = {
    "auto": ["nft", "iptables-nft", "iptables-legacy"],
    "nftables": ["nft"],
    "iptables": ["iptables-nft", "iptables-legacy"],
}
# Each iptables variant and the ip6tables of the same variant that IPv6 rules run.
IP6TABLES = (("iptables-nft", "ip6tables-nft"), ("iptables-legacy", "ip6tables-legacy"))


def _numbers(text):
    return tuple(int(n) for n in re.findall(r"\d+", str(text))[:3])


def version_at_least(version, minimum):
    """'0.9.7' >= '0.7.2', on the first three numbers of each."""
    return _numbers(version) >= _numbers(minimum)


def _no_package(family):
    return "no package known for OS family %s: install it yourself" % family


def _need(name, package, how_missing, pip=""):
    return {"name": name, "package": package, "pip": pip, "how": "package %s" % package if package else how_missing}


def _pyroute2(options, found, packages):
    minimum = options["pyroute2"]
    if found.get("pyroute2_ok"):
        return []
    # A distribution package only reaches the distribution's own Python.
    distro_python = not found.get("venv") and found.get("prefix") == "/usr"
    package = (packages.get("pyroute2") or "") if distro_python else ""
    pip = "pyroute2>=%s" % minimum if not package and found.get("pip") else ""
    name = "pyroute2 >= %s in %s" % (minimum, found.get("python"))
    if found.get("pyroute2"):
        name += " (it has %s)" % found["pyroute2"]
    if package:
        how = "package %s" % package
    elif pip:
        how = "pip install '%s' into %s" % (pip, found.get("python"))
    else:
        how = ("no distribution package reaches that Python, and it has no pip (with packaging or setuptools) "
               "for Ansible to use: install pyroute2 into it yourself")
    return [{"name": name, "package": package, "pip": pip, "how": how}]


CRI_PIP = "container-runtime-interface-api"


def _cri(options, found):
    """grpc and the CRI stubs for cni_check's runtime: cri; only pip has the stubs."""
    if not options.get("cri") or found.get("cri_client"):
        return []
    name = "grpcio and container-runtime-interface-api in %s (cni_check runtime cri)" % found.get("python")
    if found.get("pip"):
        how = "pip install '%s' into %s" % (CRI_PIP, found.get("python"))
        if not found.get("venv") and found.get("prefix") == "/usr":
            how += " (a distribution's Python may refuse pip: pass pip_args --break-system-packages, or use a virtualenv)"
        return [{"name": name, "package": "", "pip": CRI_PIP, "how": how}]
    return [{"name": name, "package": "", "pip": "", "how": "that Python has no pip (with packaging or setuptools) for "
             "Ansible to use: install %s into it yourself" % CRI_PIP}]


def _nat(options, tools, packages, family):
    backend = options["nat_backend"]
    wanted = NAT_TOOLS[backend]
    if any(tools.get(tool) for tool in wanted):
        return []
    package = packages.get("iptables" if backend == "iptables" else "nft") or ""
    return [_need("%s in PATH (nat_rule, backend %s)" % (" or ".join(wanted), backend), package, _no_package(family))]


def _nat6(options, tools, packages, family):
    """IPv6 rules through iptables run ip6tables of the same variant (nat_rule's
    choice): needed on a dual-stack node whose backend is iptables, or auto
    without nft. Every iptables variant found needs its ip6tables."""
    backend = options["nat_backend"]
    if not options["ipv6"] or not (backend == "iptables" or (backend == "auto" and not tools.get("nft"))):
        return []
    lacking = [ip6 for ip4, ip6 in IP6TABLES if tools.get(ip4) and not tools.get(ip6)]
    if not lacking:
        return []
    name = "%s in PATH (nat_rule, IPv6 rules for %s_cidr6, backend %s)" % (
        " and ".join(lacking), options["role"], backend)
    return [_need(name, packages.get("iptables") or "", _no_package(family))]


def _sysctl(options, tools, packages, family):
    if not options["sysctl"] or tools.get("sysctl"):
        return []
    name = "sysctl in PATH (ansible.posix.sysctl, for %s_forwarding)" % options["role"]
    return [_need(name, packages.get("sysctl") or "", _no_package(family))]


def cni_iptables_users(chain):
    """The plugins of a CNI chain that run iptables, as the message names them:
    portmap (host ports), then firewall (unless through firewalld), then bridge
    with ipMasq."""
    chain = chain or []
    return ([plugin.get("type") for plugin in chain if plugin.get("type") == "portmap"]
            + [plugin.get("type") for plugin in chain
               if plugin.get("type") == "firewall" and plugin.get("backend", "iptables") != "firewalld"]
            + ["bridge with ipMasq" for plugin in chain if plugin.get("type") == "bridge" and plugin.get("ipMasq")])


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _cni_iptables(options, tools, packages, family):
    users = cni_iptables_users(options["cni_chain"])
    if not users or tools.get("iptables"):
        return []
    return [_need("iptables in PATH (run by %s)" % ", ".join(_unique(users)), packages.get("iptables") or "",
                  _no_package(family))]


def _cni_plugins(options, paths, packages, family):
    directory = options["cni_plugins_dir"]
    if not directory or paths.get(directory):
        return []
    return [_need("the plugins in %s (%s_src)" % (directory, options["role"]), packages.get("plugins") or "",
                  "no package known for OS family %s that installs them there: set %s_src to where your plugins are"
                  % (family, options["role"]))]


def reusable(earlier, options, run):
    """Whether an earlier probe (the fact {run, found}) of this same run
    answers ``options``: every directory they ask about was looked at, and
    pyroute2 was imported if they need it."""
    if run is None or not isinstance(earlier, dict) or earlier.get("run") != run \
            or not isinstance(earlier.get("found"), dict):
        return False
    found = earlier["found"]
    directory = options.get("cni_plugins_dir")
    if directory and directory not in (found.get("paths") or {}):
        return False
    if options.get("pyroute2") and not found.get("pyroute2") and not found.get("pyroute2_error"):
        return False
    if options.get("cri") and found.get("cri_client") is None:
        return False
    return True


def with_verdict(options, found):
    """The probe's findings with pyroute2_ok: whether the pyroute2 it imported
    is new enough (None when the role does not need it)."""
    found = dict(found)
    if options.get("pyroute2"):
        found["pyroute2_ok"] = bool(found.get("pyroute2")) and version_at_least(found["pyroute2"], options["pyroute2"])
    else:
        found["pyroute2_ok"] = None
    return found


def needed_commands(options):
    """Every command missing() may look at for these options (the probe looks all of them up)."""
    commands = set()
    if options.get("nat_backend"):
        commands.update(NAT_TOOLS[options["nat_backend"]])
        commands.update(tool for pair in IP6TABLES for tool in pair)
    if options.get("sysctl"):
        commands.add("sysctl")
    if cni_iptables_users(options.get("cni_chain")):
        commands.add("iptables")
    return commands


def missing(options, found, family):
    """What the node lacks, in order, each with where it would come from.

    options: the action's options (role, packages, pyroute2, nat_backend,
    ipv6, sysctl, cni_chain, cni_plugins_dir, cri). found: the probe's result,
    with_verdict().
    family: the node's ansible_facts.os_family ('unknown' when not known)."""
    packages = dict((options.get("packages") or {}).get(family) or {})
    tools, paths = found.get("tools") or {}, found.get("paths") or {}
    needs = []
    if options.get("pyroute2"):
        needs += _pyroute2(options, found, packages)
    if options.get("nat_backend"):
        needs += _nat(options, tools, packages, family) + _nat6(options, tools, packages, family)
    needs += _sysctl(options, tools, packages, family)
    needs += _cni_iptables(options, tools, packages, family)
    needs += _cni_plugins(options, paths, packages, family)
    needs += _cri(options, found)
    return needs


def listing(needs):
    """'name (how); name (how)', as the messages list them."""
    return "; ".join("%s (%s)" % (need["name"], need["how"]) for need in needs)


def installable(needs):
    """Whether the role can install every need (a package or a pip requirement for each)."""
    return all(need["package"] or need["pip"] for need in needs)


def refusal(role, install, needs):
    """The message that stops the play before any change: install is off, or something cannot be installed."""
    why = ", and the role cannot install all of it" if install else ", and %s_install_prereqs is false" % role
    return "%s: this node lacks what the role needs%s, so nothing was changed: %s." % (role, why, listing(needs))


def check_mode_end(needs, ends_play=True):
    if not ends_play:
        return ("Check mode: this node lacks %s. A real run installs that first (reported above); the role's other "
                "tasks predict as if it were there." % listing(needs))
    return ("Check mode: this node lacks %s. A real run installs that first (reported above); the role's other tasks "
            "need it on the node to predict anything, so this node's play ends here." % listing(needs))


def still_missing(role, needs, options, found):
    hint = ""
    if options.get("pyroute2") and not found.get("pyroute2_ok"):
        hint = (" (the distribution package may be older than %s, or may have gone to another Python than the one "
                "Ansible uses: point ansible_python_interpreter at a virtualenv, where the role installs pyroute2 "
                "with pip, or install it yourself)" % options["pyroute2"])
    return "%s: after installing, this node still lacks %s%s." % (role, "; ".join(n["name"] for n in needs), hint)


def packages_of(needs):
    return _unique(need["package"] for need in needs if need["package"])


def pip_of(needs):
    return [need["pip"] for need in needs if need["pip"]]
