"""What a node lacks for a role and the words that say so (plugins/plugin_utils/node_prereqs.py),
and the node-side probe's list of commands against what the decisions look at. No Ansible run,
no root: the probe's findings are data here."""

import itertools
import os
import sys

from ansible_collections.netplumb.linux.plugins.modules import node_prereqs as module
from ansible_collections.netplumb.linux.plugins.plugin_utils import node_prereqs as prereqs

PACKAGES = {"Debian": {"pyroute2": "python3-pyroute2", "nft": "nftables", "iptables": "iptables", "sysctl": "procps",
                       "plugins": "containernetworking-plugins"}}


def options(**overrides):
    base = {"role": "bridge_network", "install": True, "pip_args": "", "packages": PACKAGES, "pyroute2": "",
            "nat_backend": None, "ipv6": False, "sysctl": False, "cni_chain": [], "cni_plugins_dir": ""}
    base.update(overrides)
    return base


def found(tools=(), pyroute2=None, python="/usr/bin/python3", venv=False, prefix="/usr", pip=False, paths=None):
    return {"python": python, "version": "3.11.2", "venv": venv, "prefix": prefix, "pyroute2": pyroute2,
            "pyroute2_error": None if pyroute2 else "ModuleNotFoundError: No module named 'pyroute2'", "pip": pip,
            "tools": dict((name, "/usr/sbin/" + name if name in tools else None)
                          for name, dummy in module.PROBED_COMMANDS),
            "paths": paths or {}}


def lacking(opts, probe, family="Debian"):
    return prereqs.missing(opts, prereqs.with_verdict(opts, probe), family)


BRIDGE = dict(pyroute2="0.7.2", nat_backend="auto", sysctl=True)


def test_a_node_with_everything_lacks_nothing():
    probe = found(tools=("nft", "sysctl"), pyroute2="0.9.7")
    assert lacking(options(**BRIDGE), probe) == []


def test_pyroute2_too_old_or_missing_comes_from_the_distribution_for_its_own_python():
    needs = lacking(options(**BRIDGE), found(tools=("nft", "sysctl"), pyroute2="0.6.1"))
    assert needs == [{"name": "pyroute2 >= 0.7.2 in /usr/bin/python3 (it has 0.6.1)", "package": "python3-pyroute2",
                      "pip": "", "how": "package python3-pyroute2"}]


def test_pyroute2_for_a_virtualenv_comes_from_pip_or_cannot_be_installed():
    venv = "/srv/venv/bin/python"
    with_pip = lacking(options(**BRIDGE), found(tools=("nft", "sysctl"), python=venv, venv=True, prefix="/srv/venv",
                                                pip=True))
    assert with_pip == [{"name": "pyroute2 >= 0.7.2 in %s" % venv, "package": "", "pip": "pyroute2>=0.7.2",
                         "how": "pip install 'pyroute2>=0.7.2' into %s" % venv}]
    without = lacking(options(**BRIDGE), found(tools=("nft", "sysctl"), python=venv, venv=True, prefix="/srv/venv"))
    assert without[0]["package"] == without[0]["pip"] == "" and not prereqs.installable(without)
    assert without[0]["how"].startswith("no distribution package reaches that Python, and it has no pip")


def test_the_nat_commands_of_the_backend_and_the_package_that_brings_them():
    for backend, package in (("auto", "nftables"), ("nftables", "nftables"), ("iptables", "iptables")):
        needs = lacking(options(nat_backend=backend), found())
        assert [(n["name"], n["how"]) for n in needs] == [
            ("%s in PATH (nat_rule, backend %s)" % (" or ".join(prereqs.NAT_TOOLS[backend]), backend),
             "package %s" % package)], backend
    assert lacking(options(nat_backend="auto"), found(tools=("iptables-legacy",))) == []
    assert lacking(options(nat_backend="nftables"), found(tools=("iptables-legacy",)))  # iptables does not do


def test_ipv6_through_iptables_needs_the_ip6tables_of_each_variant_found():
    only_v4 = found(tools=("iptables-nft", "iptables-legacy"))
    needs = lacking(options(nat_backend="iptables", ipv6=True), only_v4)
    assert [n["name"] for n in needs] == ["ip6tables-nft and ip6tables-legacy in PATH (nat_rule, IPv6 rules for "
                                          "bridge_network_cidr6, backend iptables)"]
    assert lacking(options(nat_backend="iptables", ipv6=False), only_v4) == []
    assert lacking(options(nat_backend="nftables", ipv6=True), found(tools=("nft", "iptables-nft"))) == []
    # auto goes to iptables when there is no nft; then only the variant found needs its ip6tables.
    auto = lacking(options(nat_backend="auto", ipv6=True), found(tools=("iptables-legacy",)))
    assert [n["name"] for n in auto] == ["ip6tables-legacy in PATH (nat_rule, IPv6 rules for bridge_network_cidr6, "
                                         "backend auto)"]
    assert lacking(options(nat_backend="auto", ipv6=True), found(tools=("nft", "iptables-legacy"))) == []


def test_sysctl_only_with_forwarding_and_no_package_for_an_unknown_family():
    assert lacking(options(sysctl=False), found()) == []
    needs = lacking(options(sysctl=True), found(), family="Gentoo")
    assert needs == [{"name": "sysctl in PATH (ansible.posix.sysctl, for bridge_network_forwarding)", "package": "",
                      "pip": "", "how": "no package known for OS family Gentoo: install it yourself"}]
    assert not prereqs.installable(needs)


def test_the_cni_plugins_that_run_iptables_in_the_order_the_message_names_them():
    chain = [{"type": "bridge", "ipMasq": True}, {"type": "firewall", "backend": "firewalld"},
             {"type": "portmap"}, {"type": "firewall"}, {"type": "tuning"}]
    assert prereqs.cni_iptables_users(chain) == ["portmap", "firewall", "bridge with ipMasq"]
    assert prereqs.cni_iptables_users([{"type": "bridge", "ipMasq": False}, {"type": "firewall",
                                                                             "backend": "firewalld"}]) == []
    needs = lacking(options(role="cni", cni_chain=[{"type": "bridge", "ipMasq": True}, {"type": "portmap"}]), found())
    assert prereqs.refusal("cni", False, needs) == (
        "cni: this node lacks what the role needs, and cni_install_prereqs is false, so nothing was changed: "
        "iptables in PATH (run by portmap, bridge with ipMasq) (package iptables).")


def test_the_packaged_cni_plugins_directory():
    opts = options(role="cni", cni_plugins_dir="/usr/lib/cni")
    assert lacking(opts, found(paths={"/usr/lib/cni": True})) == []
    assert [n["how"] for n in lacking(opts, found(paths={"/usr/lib/cni": False}))] == [
        "package containernetworking-plugins"]
    assert lacking(opts, found(paths={"/usr/lib/cni": False}), family="RedHat")[0]["how"] == (
        "no package known for OS family RedHat that installs them there: set cni_src to where your plugins are")


def test_messages_list_every_need_with_how_it_would_come():
    needs = lacking(options(**BRIDGE), found(tools=("sysctl",)))
    listed = ("pyroute2 >= 0.7.2 in /usr/bin/python3 (package python3-pyroute2); nft or iptables-nft or "
              "iptables-legacy in PATH (nat_rule, backend auto) (package nftables)")
    assert prereqs.listing(needs) == listed
    assert prereqs.refusal("bridge_network", True, needs) == (
        "bridge_network: this node lacks what the role needs, and the role cannot install all of it, so nothing was "
        "changed: %s." % listed)
    assert prereqs.check_mode_end(needs) == (
        "Check mode: this node lacks %s. A real run installs that first (reported above); the role's other tasks "
        "need it on the node to predict anything, so this node's play ends here." % listed)
    assert prereqs.packages_of(needs) == ["python3-pyroute2", "nftables"] and prereqs.pip_of(needs) == []


def test_after_installing_the_message_hints_at_pyroute2_only_when_that_is_what_failed():
    opts = options(**BRIDGE)
    still = prereqs.with_verdict(opts, found(tools=("nft",), pyroute2="0.6.1"))
    message = prereqs.still_missing("bridge_network", prereqs.missing(opts, still, "Debian"), opts, still)
    assert message.startswith("bridge_network: after installing, this node still lacks pyroute2 >= 0.7.2 in "
                              "/usr/bin/python3 (it has 0.6.1); sysctl in PATH (ansible.posix.sysctl, for "
                              "bridge_network_forwarding) (the distribution package may be older than 0.7.2")
    cni = options(role="cni", cni_chain=[{"type": "portmap"}])
    left = prereqs.with_verdict(cni, found())
    assert prereqs.still_missing("cni", prereqs.missing(cni, left, "Debian"), cni, left) == (
        "cni: after installing, this node still lacks iptables in PATH (run by portmap).")


def test_versions_compare_by_number():
    assert prereqs.version_at_least("0.10.1", "0.7.2") and prereqs.version_at_least("0.7.2", "0.7.2")
    assert not prereqs.version_at_least("0.7.1", "0.7.2") and not prereqs.version_at_least("0.7", "0.7.2")
    assert prereqs.with_verdict(options(), found(pyroute2="0.9.7"))["pyroute2_ok"] is None  # not asked for


def test_the_probe_looks_up_every_command_a_decision_looks_at():
    probed = set(name for name, dummy in module.PROBED_COMMANDS)
    for backend, ipv6, sysctl, chain in itertools.product([None, "auto", "nftables", "iptables"], [False, True],
                                                          [False, True], [[], [{"type": "portmap"}]]):
        opts = options(nat_backend=backend, ipv6=ipv6, sysctl=sysctl, cni_chain=chain)
        assert prereqs.needed_commands(opts) <= probed, opts
    # sysctl is looked up in the sbin directories too, the others in PATH only.
    assert [name for name, sbin in module.PROBED_COMMANDS if sbin] == ["sysctl"]


# A run id, as the action plugin makes them (_run_id(): the ansible-playbook pid and its start time).
RUN = "4242-123456"
CNI_PLUGINS = "/usr/lib/cni"


def test_the_probe_reports_the_python_it_runs_in_and_what_it_was_asked(tmp_path):
    params = dict(module.argument_spec(), pyroute2="", cni_plugins_dir=str(tmp_path))
    probe = module.probe(params)
    # The plugin directories of every distribution, always (so one probe serves both roles), and the one asked for.
    assert probe["paths"] == dict([(d, os.path.exists(d)) for d in module.PLUGIN_DIRS] + [(str(tmp_path), True)])
    assert probe["pyroute2"] is None and probe["pyroute2_error"] is None  # not asked for: not imported
    assert set(probe["tools"]) == set(name for name, dummy in module.PROBED_COMMANDS)
    assert probe["python"] == sys.executable


def test_the_probe_looks_at_the_plugin_directories_even_when_not_asked(tmp_path):
    missing = str(tmp_path / "nowhere")
    assert module.probe(dict(module.argument_spec(), pyroute2="", cni_plugins_dir=""))["paths"] == dict(
        (d, os.path.exists(d)) for d in module.PLUGIN_DIRS)
    assert module.probe(dict(module.argument_spec(), pyroute2="", cni_plugins_dir=missing))["paths"][missing] is False
    # cni's default cni_src is one of them: a probe made for bridge_network answers the cni role.
    assert CNI_PLUGINS in module.PLUGIN_DIRS


def earlier(run=RUN, **probe):
    """The host fact netplumb_node_probe an earlier task of a run left: what it found, with its verdict."""
    opts = options(nat_backend="auto")
    found_then = found(tools=("nft",), paths=dict((d, d == CNI_PLUGINS) for d in module.PLUGIN_DIRS), **probe)
    return {"run": run, "found": prereqs.with_verdict(opts, found_then)}


def test_a_probe_of_the_same_run_that_covers_the_options_is_reused():
    fact = earlier()
    cni = options(role="cni", cni_chain=[{"type": "portmap"}], cni_plugins_dir=CNI_PLUGINS)
    for opts in (options(nat_backend="auto"), options(nat_backend="iptables", ipv6=True), cni,
                 options(role="cni", cni_plugins_dir="/opt/cni/bin")):  # looked at, found missing: still an answer
        assert prereqs.reusable(fact, opts, RUN), opts
    # What the later task makes of it: the verdict for its own options, the findings unchanged.
    reused = prereqs.with_verdict(cni, fact["found"])
    assert reused["paths"] == fact["found"]["paths"] and reused["pyroute2_ok"] is None
    assert [n["name"] for n in prereqs.missing(cni, reused, "Debian")] == ["iptables in PATH (run by portmap)"]
    # pyroute2 asked for and imported (or tried and failed: that is an answer too).
    assert prereqs.reusable(earlier(pyroute2="0.9.7"), options(pyroute2="0.7.2"), RUN)
    failed_import = earlier()  # found() records the ModuleNotFoundError of a Python without it
    assert failed_import["found"]["pyroute2_error"] and prereqs.reusable(failed_import, options(pyroute2="0.7.2"), RUN)


def test_a_probe_of_another_run_is_never_reused():
    # A fact cache keeps the fact from one ansible-playbook run to the next: that node may have changed since.
    assert not prereqs.reusable(earlier(run="4241-123450"), options(nat_backend="auto"), RUN)
    assert not prereqs.reusable(earlier(run=None), options(nat_backend="auto"), RUN)


def test_a_probe_that_did_not_look_at_what_is_asked_is_not_reused():
    fact = earlier()
    # A directory it did not look at (a cni_src of the user's).
    assert not prereqs.reusable(fact, options(role="cni", cni_plugins_dir="/srv/cni/bin"), RUN)
    # pyroute2 asked for, the earlier probe did not import it (neither a version nor an error).
    unasked = earlier(pyroute2=None)
    unasked["found"]["pyroute2_error"] = None
    assert not prereqs.reusable(unasked, options(pyroute2="0.7.2"), RUN)
    assert prereqs.reusable(unasked, options(nat_backend="auto"), RUN)


def test_a_malformed_probe_fact_is_not_reused():
    opts = options(nat_backend="auto")
    for fact in (None, "", "4242-123456", [], [RUN, {}], {}, {"run": RUN}, {"found": earlier()["found"]},
                 {"run": RUN, "found": None}, {"run": RUN, "found": "everything"}, {"run": RUN, "found": []}):
        assert not prereqs.reusable(fact, opts, RUN), fact


def test_the_cri_client_comes_from_pip_only_when_asked_for():
    venv = "/srv/venv/bin/python"
    probe = dict(found(python=venv, venv=True, prefix="/srv/venv", pip=True), cri_client=False,
                 cri_client_error="ModuleNotFoundError: No module named 'grpc'")
    assert lacking(options(), probe) == []  # not asked for
    needs = lacking(options(cri=True), probe)
    assert needs == [{"name": "grpcio and container-runtime-interface-api in %s (cni_check runtime cri)" % venv,
                      "package": "", "pip": "container-runtime-interface-api",
                      "how": "pip install 'container-runtime-interface-api' into %s" % venv}]
    assert prereqs.pip_of(needs) == ["container-runtime-interface-api"] and prereqs.installable(needs)
    system = lacking(options(cri=True), dict(found(pip=True), cri_client=False))
    assert "--break-system-packages" in system[0]["how"]
    without_pip = lacking(options(cri=True), dict(found(), cri_client=False))
    assert not prereqs.installable(without_pip) and "no pip" in without_pip[0]["how"]
    assert lacking(options(cri=True), dict(probe, cri_client=True)) == []


def test_a_probe_that_did_not_import_the_cri_client_is_not_reused_for_it():
    assert not prereqs.reusable(earlier(), options(cri=True), RUN)
    answered = earlier()
    answered["found"]["cri_client"] = False  # tried: that is an answer too
    assert prereqs.reusable(answered, options(cri=True), RUN)


def test_the_probe_imports_the_cri_client_only_when_asked(tmp_path):
    params = dict(module.argument_spec(), pyroute2="", cni_plugins_dir="", cri=False)
    assert "cri_client" not in module.probe(params)
    asked = module.probe(dict(params, cri=True))
    assert isinstance(asked["cri_client"], bool) and (asked["cri_client"] == (asked["cri_client_error"] is None))
