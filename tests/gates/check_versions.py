"""The release's version against what the collection says about versions
(make release-check, its first step):

- the version in galaxy.yml is semantic: X.Y.Z, numbers without leading
  zeros (no pre-release or build suffix);
- no version_added in the collection is newer than it: the DOCUMENTATION of
  modules and plugins, options and suboptions included, doc fragments, plugin
  docs kept in YAML files (plugins/filter/*.yml), and the roles'
  meta/argument_specs.yml (entry points and options); a version_added that
  another collection's doc fragment brings (version_added_collection) is not
  ours to check;
- the latest release in changelogs/changelog.yaml, if any, is not newer.

Usage: check_versions.py [COLLECTION_ROOT]   (default: this checkout)
Standard library and PyYAML.
"""
import ast
import glob
import os
import re
import sys

import yaml

COLLECTION = "netplumb.linux"
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
# Plugin directories that hold code only, no documentation.
CODE_ONLY = ("module_utils", "plugin_utils")


def parse_version(text):
    """(X, Y, Z) of a semantic version 'X.Y.Z'; ValueError otherwise."""
    match = SEMVER.match(str(text))
    if not match:
        raise ValueError("%r is not a semantic version X.Y.Z" % (text,))
    return tuple(int(part) for part in match.groups())


def versions_added(doc, where=""):
    """(where, version_added) of every entry of a parsed doc, at any depth:
    'DOCUMENTATION.options.dst' for option dst with where='DOCUMENTATION'."""
    found = []
    if isinstance(doc, dict):
        ours = doc.get("version_added_collection") in (None, COLLECTION)
        if ours and "version_added" in doc and not isinstance(doc["version_added"], (dict, list)):
            found.append((where or "(top)", doc["version_added"]))
        for key, value in doc.items():
            if isinstance(value, (dict, list)):
                found.extend(versions_added(value, "%s.%s" % (where, key) if where else str(key)))
    elif isinstance(doc, list):
        for index, item in enumerate(doc):
            found.extend(versions_added(item, "%s[%d]" % (where, index)))
    return found


def problems(galaxy_version, found, released):
    """What is wrong, one message each.

    galaxy_version: the version in galaxy.yml; found: (file, where,
    version_added) triples; released: the release versions in
    changelogs/changelog.yaml."""
    try:
        current = parse_version(galaxy_version)
    except ValueError as error:
        return ["galaxy.yml: version %s" % error]
    wrong = []
    for path, where, added in found:
        try:
            newer = parse_version(added) > current
        except ValueError as error:
            wrong.append("%s: %s: version_added %s" % (path, where, error))
            continue
        if newer:
            wrong.append("%s: %s has version_added %s, newer than the version in galaxy.yml (%s)"
                         % (path, where, added, galaxy_version))
    releases = []
    for version in released:
        try:
            releases.append((parse_version(version), str(version)))
        except ValueError as error:
            wrong.append("changelogs/changelog.yaml: release %s" % error)
    if releases and max(releases)[0] > current:
        wrong.append("changelogs/changelog.yaml: release %s is newer than the version in galaxy.yml (%s)"
                     % (max(releases)[1], galaxy_version))
    return wrong


def python_docs(path):
    """The documentation strings of a plugin file, without importing it: the
    module-level DOCUMENTATION; in a doc fragment, every string of its class."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    fragment = os.path.basename(os.path.dirname(path)) == "doc_fragments"
    nodes = list(tree.body)
    if fragment:
        nodes += [node for cls in tree.body if isinstance(cls, ast.ClassDef) for node in cls.body]
    docs = []
    for node in nodes:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            continue
        names = [target.id for target in node.targets if isinstance(target, ast.Name)]
        docs += [(name, node.value.value) for name in names if name == "DOCUMENTATION" or fragment]
    return docs


def collect(root):
    """(file relative to root, where, version_added) of the whole collection."""
    found = []
    plugin_files = sorted(glob.glob(os.path.join(root, "plugins", "*", "*.py")))
    for path in plugin_files:
        if os.path.basename(os.path.dirname(path)) in CODE_ONLY:
            continue
        rel = os.path.relpath(path, root)
        for name, text in python_docs(path):
            found += [(rel, where, added) for where, added in versions_added(yaml.safe_load(text), name)]
    for path in sorted(glob.glob(os.path.join(root, "plugins", "*", "*.y*ml"))):
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
        if isinstance(data, dict) and isinstance(data.get("DOCUMENTATION"), dict):
            found += [(os.path.relpath(path, root), where, added)
                      for where, added in versions_added(data["DOCUMENTATION"], "DOCUMENTATION")]
    for path in sorted(glob.glob(os.path.join(root, "roles", "*", "meta", "argument_specs.y*ml"))):
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
        found += [(os.path.relpath(path, root), where, added)
                  for where, added in versions_added(data.get("argument_specs") or {})]
    return found


def main(root):
    with open(os.path.join(root, "galaxy.yml")) as handle:
        version = (yaml.safe_load(handle) or {}).get("version")
    changelog = os.path.join(root, "changelogs", "changelog.yaml")
    released = []
    if os.path.exists(changelog):
        with open(changelog) as handle:
            released = list(((yaml.safe_load(handle) or {}).get("releases") or {}))
    found = collect(root)
    wrong = problems(version, found, released)
    for problem in wrong:
        print("FAIL: " + problem, file=sys.stderr)
    if wrong:
        return 1
    latest = max(released, key=parse_version) if released else "none"
    print("version %s: %d version_added in %d files, none newer; latest release in changelogs/changelog.yaml: %s"
          % (version, len(found), len({path for path, _where, _added in found}), latest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))
