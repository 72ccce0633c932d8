# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan is a list of operations: data that check mode reports, that real mode
applies, and that carries the undo of each step for rollback."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import dataclasses
from typing import Optional, Tuple

from ansible_collections.netplumb.linux.plugins.module_utils.core.operations import NOOP, Operation

# The order ops run in, whichever resource plans them: files, namespaces,
# deletions, then the build from the outside in (bridges, veths, moves, link
# attributes, addresses, up, routes) and NAT last. Within a phase, the order
# of planning.
PHASES = ("files", "netns", "delete", "bridge", "veth", "move", "link", "address", "up", "route", "nat")


@dataclasses.dataclass
class Op:
    """One step of a plan: an Operation on a target in a namespace, and how to revert it."""
    kind: Operation
    netns: Optional[str]
    target: str
    args: dict = dataclasses.field(default_factory=dict)
    # The op (or tuple of ops, run in order) that reverts this one; None when
    # it cannot be reverted (a deletion).
    undo: Optional[object] = None
    # A batch: ops run in order as this one step (and undone together when
    # one fails); the args are then what the step shows.
    steps: Tuple = ()

    @property
    def action(self):
        return self.kind.name

    def undos(self):
        """The ops that revert this one, in the order they run."""
        if self.undo is None:
            return ()
        return self.undo if isinstance(self.undo, tuple) else (self.undo,)

    def describe(self):
        fields = {"kind": "link", "peer_text": ""}
        fields.update(self.args)
        fields.update(target=self.target, where=_where(self.netns))
        if self.action == "link_add" and self.args.get("peer"):
            fields["peer_text"] = " with peer %s%s" % (self.args["peer"], _where(self.args.get("peer_netns")))
        fields["to_text"] = self.args.get("to") or "(host)"
        fields["changes"] = " ".join("%s=%s" % (k, "none" if v is None else _fmt(v))
                                     for k, v in sorted(self.args.items()))
        return self.kind.text.format(**fields)

    def as_dict(self):
        return {
            "op": self.action,
            "netns": self.netns,
            "target": self.target,
            "args": {k: _fmt(v) for k, v in self.args.items()},
            "description": self.describe(),
        }


def _where(netns):
    return " (netns %s)" % netns if netns else ""


def _fmt(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_fmt(item) for item in value]
    if isinstance(value, dict):
        return {k: _fmt(v) for k, v in value.items()}
    return str(value) if not isinstance(value, (int, str)) else value


def noop(target):
    """The undo of a change to an object that the rollback deletes anyway."""
    return Op(NOOP, None, target)


class Plan:
    """Operations, sorted into phases, plus the before/after for --diff."""

    def __init__(self, before=None, after=None):
        self.before = before
        self.after = after
        self._ops = []

    def add(self, phase, op):
        self._ops.append((PHASES.index(phase), len(self._ops), op))

    def extend(self, other):
        """Add the ops of plan ``other``, each in its phase."""
        for phase, _seq, op in other._ops:
            self._ops.append((phase, len(self._ops), op))

    @property
    def ops(self):
        return [op for _phase, _seq, op in sorted(self._ops, key=lambda item: item[:2])]

    def __bool__(self):
        return bool(self._ops)

    def __len__(self):
        return len(self._ops)

    def describe(self):
        return [op.describe() for op in self.ops]
