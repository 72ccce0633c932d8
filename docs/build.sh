#!/usr/bin/env bash
# make docs: the docs site as HTML in .build/docs/html, warnings are errors.
#   1. docs/ is copied into .build/docs/src (pages present now, whatever they are);
#   2. antsibull-docs writes the module, plugin and role reference into
#      .build/docs/src/reference from the collection as ansible-doc sees it
#      (ANSIBLE_COLLECTIONS_PATH, .build/collections from make deps);
#   3. the generated reference is adjusted: its index is titled "netplumb.linux
#      reference" (antsibull-docs titles it "Netplumb.Linux", with no option to
#      change it), and its environment variables page goes when it lists none
#      (the collection's own page, environment-variables.md, is in the toctree);
#   4. sphinx-build -W builds the HTML.
# DOCS_VENV picks the virtualenv with requirements-docs.txt (default .venv-docs).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(cd "${DOCS_VENV:-.venv-docs}" && pwd)
out=$PWD/.build/docs
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$PWD/.build/collections}
# antsibull-docs runs ansible-doc: the one next to it.
export PATH=$venv/bin:$PATH ANSIBLE_NOCOLOR=1

rm -rf "$out/src" "$out/html" "$out/doctrees"
mkdir -p "$out/src"
mkdir -m 0755 "$out/src/reference"
cp -r docs/. "$out/src/"
rm -f "$out/src/build.sh" "$out/src/check_site.py" "$out/src/check_links.py" "$out/src/antsibull-docs.cfg"
"$venv/bin/antsibull-docs" --config-file docs/antsibull-docs.cfg collection --use-current --fail-on-error --squash-hierarchy \
  --no-add-antsibull-docs-version --dest-dir "$out/src/reference" netplumb.linux
# 3. The title and its underline as antsibull-docs writes them; fail if that
# ever changes rather than publish the old title.
"$venv/bin/python" - "$out/src/reference/index.rst" <<'EOF'
import sys
path = sys.argv[1]
with open(path) as handle:
    text = handle.read()
old = "\nNetplumb.Linux\n==============\n"
new = "\nnetplumb.linux reference\n========================\n"
if old not in text:
    sys.exit("docs/build.sh: %s has no title 'Netplumb.Linux' to replace" % path)
with open(path, "w") as handle:
    handle.write(text.replace(old, new, 1))
EOF
env_page=$out/src/reference/environment_variables.rst
if grep -q "No environment variables have been defined" "$env_page"; then
  rm "$env_page"
else
  echo "docs/build.sh: $env_page lists environment variables now: link it from docs/environment-variables.md" >&2
  exit 1
fi
"$venv/bin/sphinx-build" -W --keep-going -q -b html -d "$out/doctrees" "$out/src" "$out/html"
echo "docs: $out/html/index.html"
