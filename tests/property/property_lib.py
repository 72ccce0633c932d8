"""What the property tests share: the Hypothesis profiles, the count of
generated cases each property ran (recorded for docs/reliability.md by
conftest.py), and an independent reading of the kernel through ``ip -j``.

Profiles, chosen with NETPLUMB_HYPOTHESIS_PROFILE:
- ``bounded`` (default, part of make test): a few dozen cases per property
  from the fixed seed NETPLUMB_HYPOTHESIS_SEED (default 16), so every run of
  the suite tries the same cases;
- ``fuzz`` (make fuzz): 20 times as many cases, from a new seed per run
  unless NETPLUMB_HYPOTHESIS_SEED is set (the seed is printed and recorded, so
  a failure can be replayed with it).
"""

import collections
import os
import random

from hypothesis import HealthCheck, seed, settings
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine

PROFILE = os.environ.get("NETPLUMB_HYPOTHESIS_PROFILE") or "bounded"
SCALE = {"bounded": 1, "fuzz": 20}
if PROFILE not in SCALE:
    raise ValueError("NETPLUMB_HYPOTHESIS_PROFILE=%s: use one of %s" % (PROFILE, ", ".join(SCALE)))
SEED = int(os.environ.get("NETPLUMB_HYPOTHESIS_SEED")
           or (16 if PROFILE == "bounded" else random.SystemRandom().randrange(2 ** 32)))
for _name in SCALE:
    # No deadline: a case's time is the kernel's; no database: each run is its seed's alone.
    settings.register_profile(_name, deadline=None, database=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(PROFILE)
CASES = collections.Counter()


def generated(bounded):
    """A property's decorator (above @given): ``bounded`` cases in the bounded
    profile, more under fuzz, from SEED. ``count(name)`` in its body counts them."""
    def decorate(test):
        return seed(SEED)(settings(max_examples=bounded * SCALE[PROFILE])(test))
    return decorate


def count(name):
    CASES[name] += 1


def run_steps(steps, check_mode=False):
    """engine.run over ``steps`` [(resource, params)], in order: the Outcomes."""
    return [engine.run(resource, params, check_mode=check_mode) for resource, params in steps]


# -- the kernel as ip -j shows it ------------------------------------------------------------


def links(box, netns=None):
    """{ifname: ip -d -j addr show entry} of one namespace."""
    return {link["ifname"]: link for link in box.ipj("-d", "addr", "show", netns=netns)}


def addresses(link):
    """The addresses of a link the engine manages (IPv6 link-local left out), as text."""
    return sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
                  if not (a["family"] == "inet6" and a.get("scope") == "link"))


def kind(link):
    return link.get("linkinfo", {}).get("info_kind")


def up(link):
    return "UP" in link.get("flags", [])


def routes(box, netns=None):
    """{4: routes, 6: routes}: every route of each family in every table of a namespace."""
    return {version: box.ipj("-%d" % version, "route", "show", "table", "all", netns=netns) for version in (4, 6)}


def route_table(route):
    table = route.get("table", "main")
    return {"main": 254, "local": 255, "default": 253}.get(table) or int(table)


def peers(one, other):
    """Whether two veth ends (ip -j entries) are each other's peer: by name in
    one namespace, by interface index across two."""
    if "link" in one:
        return one["link"] == other["ifname"] and other.get("link") == one["ifname"]
    return one.get("link_index") == other["ifindex"] and other.get("link_index") == one["ifindex"]


def op_names(outcome):
    """(netns, target) of each planned operation."""
    return {(op["netns"], op["target"]) for op in outcome.operations}
