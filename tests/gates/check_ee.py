"""The execution environment definition agrees with the collection.

Usage: check_ee.py EXECUTION_ENVIRONMENT_YML BUILD_CONTEXT

Run after ``ansible-builder create`` (which validates the file's schema and
writes the build context without building an image). Checks that the
context carries this checkout's requirements.txt and bindep.txt, that bindep
names the tools the modules run (ip, nft, iptables), that requirements.txt
has pyroute2 at a version the modules accept, and that the EE installs the
collections galaxy.yml depends on.
"""
import os
import re
import sys

import yaml


def read(path):
    with open(path) as handle:
        return handle.read()


def main(ee_file, context):
    problems = []
    root = os.path.dirname(os.path.abspath(ee_file))
    ee = yaml.safe_load(read(ee_file))
    if ee.get("version") != 3:
        problems.append("execution-environment.yml is not ansible-builder version 3")
    deps = ee.get("dependencies", {})
    for key, name in (("python", "requirements.txt"), ("system", "bindep.txt")):
        if deps.get(key) != name:
            problems.append("dependencies.%s should be %s" % (key, name))
        built = os.path.join(context, "_build", name)
        if not os.path.isfile(built) or read(built) != read(os.path.join(root, name)):
            problems.append("the build context does not carry this %s" % name)
    if not any(os.path.isfile(os.path.join(context, f)) for f in ("Containerfile", "Dockerfile")):
        problems.append("ansible-builder wrote no Containerfile")
    bindep = [line.split()[0] for line in read(os.path.join(root, "bindep.txt")).splitlines()
              if line.strip() and not line.startswith("#")]
    for needed in ("iproute2", "iproute", "nftables", "iptables"):
        if needed not in bindep:
            problems.append("bindep.txt lacks %s" % needed)
    pin = re.search(r"^pyroute2\s*[=>~]=\s*([0-9.]+)", read(os.path.join(root, "requirements.txt")), re.M)
    if not pin or tuple(int(p) for p in pin.group(1).split(".")[:3]) < (0, 7, 2):
        problems.append("requirements.txt should have pyroute2 >= 0.7.2")
    galaxy = yaml.safe_load(read(os.path.join(root, "galaxy.yml")))
    wanted = set(galaxy.get("dependencies") or {}) | {"%s.%s" % (galaxy["namespace"], galaxy["name"])}
    listed = {c["name"] for c in deps.get("galaxy", {}).get("collections", [])}
    if wanted - listed:
        problems.append("the EE does not install %s" % ", ".join(sorted(wanted - listed)))
    for problem in problems:
        print("FAIL: " + problem, file=sys.stderr)
    print("execution environment: %s, bindep %s" % ("ok" if not problems else "FAILED", " ".join(bindep)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
