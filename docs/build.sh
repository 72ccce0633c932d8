#!/usr/bin/env bash
# make docs: the docs site as HTML in .build/docs/html, warnings are errors.
#   1. docs/ is copied into .build/docs/src (pages present now, whatever they are);
#   2. antsibull-docs writes the module, plugin and role reference into
#      .build/docs/src/reference from the collection as ansible-doc sees it
#      (ANSIBLE_COLLECTIONS_PATH, .build/collections from make deps);
#   3. sphinx-build -W builds the HTML.
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
rm -f "$out/src/build.sh"
"$venv/bin/antsibull-docs" collection --use-current --fail-on-error --squash-hierarchy \
  --no-add-antsibull-docs-version --dest-dir "$out/src/reference" netplumb.linux
"$venv/bin/sphinx-build" -W --keep-going -q -b html -d "$out/doctrees" "$out/src" "$out/html"
echo "docs: $out/html/index.html"
