"""The layers of plugins/module_utils, as docs/architecture.md draws them:
every import of the collection's own code follows them, and nothing imports
at module level what only a few callers need (pyroute2)."""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
UTILS = os.path.join(ROOT, "plugins", "module_utils")
PREFIX = "ansible_collections.netplumb.linux.plugins.module_utils."
# core's base modules: what the kernel package may use of core.
CORE_BASE = {"core.errors", "core.operations", "core.plan", "core.context"}
# package -> the packages its modules may import (besides itself).
ALLOWED = {
    "core": {"core"},  # core.engine and core.runner: also kernel (below)
    "kernel": {"kernel"},  # and CORE_BASE
    "link": {"core", "kernel", "link"},
    "container_net": {"core", "kernel", "link", "container_net"},
    "nat": {"core", "kernel", "nat"},
    "cni": {"core", "kernel", "cni"},
    "facts": {"core", "kernel", "link", "nat", "cni", "facts"},
    "node_network": {"core", "kernel", "link", "container_net", "nat", "cni", "facts", "node_network"},
}
ABOVE_KERNEL = {"core.engine", "core.runner"}


def _modules():
    for package in sorted(ALLOWED):
        for name in sorted(os.listdir(os.path.join(UTILS, package))):
            if name.endswith(".py"):
                yield "%s.%s" % (package, name[:-3])


def _imports(module):
    path = os.path.join(UTILS, *module.split(".")) + ".py"
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            target = node.module[len(PREFIX):]
            if "." in target:
                yield target, node
            else:  # from ...module_utils.<package> import <module>
                for alias in node.names:
                    yield "%s.%s" % (target, alias.name), node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                yield "(outside) " + name, node


def test_every_module_lives_in_a_layer():
    flat = [name for name in os.listdir(UTILS) if name.endswith(".py")]
    assert flat == [], "module_utils files outside the layer packages: %s" % flat
    assert sorted(d for d in os.listdir(UTILS) if not d.startswith("__")) == sorted(ALLOWED)


@pytest.mark.parametrize("module", list(_modules()))
def test_imports_follow_the_layers(module):
    package = module.split(".")[0]
    allowed = set(ALLOWED[package])
    for target, node in _imports(module):
        if target.startswith("(outside) "):
            library = target.split()[1]
            assert not library.startswith("pyroute2") or node.col_offset > 0, \
                "%s imports pyroute2 at module level (line %d)" % (module, node.lineno)
            continue
        target_module = target if target.count(".") == 1 else ".".join(target.split(".")[:2])
        target_package = target_module.split(".")[0]
        if package == "kernel" and target_package == "core":
            assert target_module in CORE_BASE, "%s imports %s (line %d)" % (module, target_module, node.lineno)
            continue
        if module in ABOVE_KERNEL and target_package == "kernel":
            continue
        assert target_package in allowed, "%s imports %s (line %d): %s may import only %s" % (
            module, target_module, node.lineno, package, ", ".join(sorted(allowed)))


def test_core_base_modules_import_only_core():
    for module in CORE_BASE:
        for target, node in _imports(module):
            if not target.startswith("(outside) "):
                assert target.startswith("core."), "%s imports %s" % (module, target)


def test_each_package_says_what_it_owns_and_may_import():
    for package in ALLOWED:
        with open(os.path.join(UTILS, package, "__init__.py")) as handle:
            text = handle.read()
        assert "Imports:" in text, package


MODULES = os.path.join(ROOT, "plugins", "modules")
BYTECODE = PREFIX + "core"


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(MODULES) if n.endswith(".py")))
def test_a_module_imports_the_bytecode_cache_before_the_rest_of_netplumb(name):
    """core/bytecode.py serves only what is imported after it: the first
    netplumb import of every module that has one is ``core import bytecode``."""
    tree = ast.parse(open(os.path.join(MODULES, name)).read())
    ours = [node for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX[:-1])]
    if ours:
        first = min(ours, key=lambda node: node.lineno)
        assert first.module == BYTECODE and [a.name for a in first.names] == ["bytecode"] and first.col_offset == 0, \
            "%s: line %d imports %s first" % (name, first.lineno, first.module)
