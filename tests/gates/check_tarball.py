"""What `ansible-galaxy collection build` put in the tarball, checked against
the checkout: only project files (tracked, or new and not ignored), nothing
from virtualenvs, build output, test caches or the lab; the files a user
needs are there; and the size stays small.

Usage: check_tarball.py TARBALL CHECKOUT
"""
import json
import os
import subprocess
import sys
import tarfile

MAX_BYTES = 2 * 1024 * 1024
# Written by ansible-galaxy itself.
GENERATED = {"MANIFEST.json", "FILES.json"}
NEVER = (".venv", ".build", ".stamps", ".lab", ".pytest_cache", "__pycache__", ".git", "tests/output",
         ".ci", ".mypy_cache")
REQUIRED = ("README.md", "LICENSE", "CHANGELOG.rst", "meta/runtime.yml", "changelogs/changelog.yaml",
            "requirements.txt", "bindep.txt", "execution-environment.yml")


def project_files(checkout):
    out = subprocess.run(["git", "-C", checkout, "ls-files", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return set(out.splitlines())


def main(tarball, checkout):
    problems = []
    size = os.path.getsize(tarball)
    if size > MAX_BYTES:
        problems.append("tarball is %d bytes, more than %d" % (size, MAX_BYTES))
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        names = {m.name[2:] if m.name.startswith("./") else m.name for m in members}
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    known = project_files(checkout)
    for name in sorted(names - GENERATED):
        parts = name.split("/")
        if any(part.startswith(NEVER) or part.endswith((".pyc", ".tar.gz")) for part in parts) \
                or name.startswith(NEVER):
            problems.append("build output or cache in the tarball: " + name)
        elif name not in known:
            problems.append("not a project file (untracked or ignored): " + name)
    for name in REQUIRED:
        if name not in names:
            problems.append("missing from the tarball: " + name)
    modules = sorted(n for n in names if n.startswith("plugins/modules/") and n.endswith(".py"))
    if not modules:
        problems.append("no modules in the tarball")
    info = manifest["collection_info"]
    for key in ("license", "repository", "tags", "description", "version"):
        if not info.get(key):
            problems.append("galaxy.yml leaves %s empty" % key)
    print("%s: %d files, %d bytes, %d modules, dependencies %s"
          % (os.path.basename(tarball), len(names), size, len(modules), info.get("dependencies")))
    for problem in problems:
        print("FAIL: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
