# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's file to run by its path: ``python -I cli.py SUBCOMMAND ...``.

- ``boot``: pid 1 of a node (``nodes.boot_argv`` starts it); never returns.
- ``relay --state-dir D HOST PORT``: the ssh ProxyCommand the inventory names.
- ``down --state-dir D [--check]``: tear a lab down (the tests' and the
  benchmark's cleanup; the lab role uses the action plugin).
- ``packages --dir D [--check]``: fetch the nodes' packages (make deps).

``down`` and ``packages`` print one JSON object on stdout ({"changed": ...,
...}) and exit 0, or print the reason on stderr and exit 1. Needs root,
util-linux (unshare, nsenter, mount, pivot_root), iproute2 and, for nodes
reached over SSH, ssh-keygen and ssh on this machine.

Run by its path (with -I, so without a sys.path entry for this directory),
it loads its own directory as a package under a private name; imported as
part of the collection it needs nothing of the kind.
"""

import argparse
import importlib
import importlib.util
import json
import os
import sys

# The package's name when this file runs by its path.
PRIVATE_NAME = "netplumb_lab"
SUBMODULES = ("boot", "lab", "packages", "relay", "system")


def _package_name():
    if __package__:
        return __package__
    if PRIVATE_NAME not in sys.modules:
        here = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location(PRIVATE_NAME, os.path.join(here, "__init__.py"),
                                                      submodule_search_locations=[here])
        package = importlib.util.module_from_spec(spec)
        sys.modules[PRIVATE_NAME] = package
        spec.loader.exec_module(package)
    return PRIVATE_NAME


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    down = sub.add_parser("down")
    down.add_argument("--state-dir", required=True)
    down.add_argument("--check", action="store_true", help="report, change nothing")
    packages = sub.add_parser("packages")
    packages.add_argument("--dir", required=True)
    packages.add_argument("--check", action="store_true", help="report, change nothing")
    relay = sub.add_parser("relay")
    relay.add_argument("--state-dir", required=True)
    relay.add_argument("host")
    relay.add_argument("port", type=int)
    boot = sub.add_parser("boot")
    boot.add_argument("--state-dir", required=True)
    boot.add_argument("--name", required=True)
    boot.add_argument("--repo", default="")
    boot.add_argument("--connection", choices=["ssh", "nsenter"], default="ssh")
    boot.add_argument("--user", required=True)
    boot.add_argument("--layer", default="")
    boot.add_argument("--build", default="")
    boot.add_argument("--address", action="append", default=[])
    boot.add_argument("--remove", action="append", default=[])
    return parser


def main(argv=None):
    # Every module before anything runs: a node's pid 1 pivots into its own
    # root, where this checkout's directory may not be (a /tmp checkout).
    name = _package_name()
    mods = {sub: importlib.import_module("%s.%s" % (name, sub)) for sub in SUBMODULES}
    args = _parser().parse_args(argv)
    if hasattr(args, "state_dir"):
        args.state_dir = os.path.abspath(args.state_dir)
    try:
        if args.command == "boot":
            mods["boot"].boot(args)
            return 0
        if args.command == "relay":
            mods["relay"].relay(args.state_dir, args.host, args.port)
            return 0
        if args.command == "down":
            result = mods["lab"].down(args.state_dir, args.check)
            result.pop("diff")
        else:
            directory = os.path.abspath(args.dir)
            # The message names the lab role's variable, as make deps' users know it.
            result = {"changed": mods["packages"].fetch({"packages_dir": directory, "variable_prefix": "lab_"},
                                                        args.check), "dir": directory}
    except mods["system"].LabError as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
