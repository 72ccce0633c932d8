#!/usr/bin/env bash
# make ee-context: `ansible-builder create` (the one in .venv, beside
# ansible-runner) writes the execution environment's build context from
# execution-environment.yml offline - inside tests/sandbox.sh, whose network
# namespace has only a loopback - into a temporary directory, which is then
# checked and removed:
# - a Containerfile that installs the collections of _build/requirements.yml
#   into /usr/share/ansible/collections (the path
#   tests/integration/test_ansible_runner.py gives ansible-runner) and
#   ansible-runner into the image;
# - _build/requirements.txt and _build/bindep.txt, this checkout's files
#   (tests/gates/check_ee.py, which make ee-check runs too);
# - _build/requirements.yml, the collections execution-environment.yml lists.
# VENV picks the virtualenv (default .venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$(cd "${VENV:-.venv}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/netplumb-ee-context.XXXXXX")
trap 'rm -rf "$work"' EXIT
context=$work/context

tests/sandbox.sh "$venv/bin/ansible-builder" create -f execution-environment.yml -c "$context" \
  --output-filename Containerfile >/dev/null
"$venv/bin/python" tests/gates/check_ee.py execution-environment.yml "$context"
"$venv/bin/python" - execution-environment.yml "$context" <<'EOF'
import os
import sys

import yaml

ee_file, context = sys.argv[1:3]
problems = []
containerfile = os.path.join(context, "Containerfile")
if not os.path.isfile(containerfile):
    problems.append("no Containerfile in the build context")
    text = ""
else:
    with open(containerfile) as handle:
        text = handle.read()
for needed in ("ansible-galaxy collection install", "-r requirements.yml",
               '--collections-path "/usr/share/ansible/collections"', "ansible-runner"):
    if needed not in text:
        problems.append("the Containerfile lacks %r" % needed)
for name in ("requirements.txt", "bindep.txt", "requirements.yml"):
    if not os.path.isfile(os.path.join(context, "_build", name)):
        problems.append("no _build/%s in the build context" % name)
with open(ee_file) as handle:
    wanted = handle.read()
wanted = yaml.safe_load(wanted)["dependencies"]["galaxy"]["collections"]
try:
    with open(os.path.join(context, "_build", "requirements.yml")) as handle:
        written = yaml.safe_load(handle).get("collections", [])
except (OSError, AttributeError):
    written = []
if written != wanted:
    problems.append("_build/requirements.yml lists %s, execution-environment.yml %s" % (written, wanted))
for problem in problems:
    print("FAIL: " + problem, file=sys.stderr)
print("build context: %s, collections %s" % ("ok" if not problems else "FAILED",
                                             " ".join(c["name"] for c in written)))
sys.exit(1 if problems else 0)
EOF
rm -rf "$work"
trap - EXIT
test ! -e "$work"
echo "ee context gate passed"
