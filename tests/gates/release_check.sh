#!/usr/bin/env bash
# make release-check: the release procedure of docs/release.md, end to end,
# offline, on a copy in a temporary directory; the checkout is not changed.
#   a. version check: galaxy.yml's version is X.Y.Z, no version_added and no
#      release in changelogs/changelog.yaml is newer (check_versions.py);
#   b. changelog release: the working tree (tracked files and new ones that
#      are not ignored) copied as ansible_collections/netplumb/linux, and
#      `antsibull-changelog release --version <galaxy.yml's version>` run
#      there, as tests/gates/changelog.sh does (ANSIBLE_COLLECTIONS_PATH on the
#      copy, so it finds the plugins); CHANGELOG.rst must then have the
#      version's section and changelogs/fragments no fragment left;
#   c. build the collection from that released copy, check the tarball;
#   d. install the tarball with --no-deps into a clean path;
#   e. every module's EXAMPLES (tests/integration/test_module_examples.py, in
#      tests/sandbox.sh) against that install (NETPLUMB_TEST_COLLECTIONS);
#   f. the docs site from that install (docs/build.sh of the released copy,
#      into the copy's own .build/docs).
# On the release commit itself (its version already in changelog.yaml, no
# fragment pending) step b checks the changelog the release wrote instead.
# DOCS_VENV picks the virtualenv with requirements-docs.txt (default .venv-docs).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$root/.venv
docs_venv=$(cd "${DOCS_VENV:-.venv-docs}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/netplumb-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
work=$(cd "$work" && pwd)
trap 'exit 130' INT TERM
# Each command below is given the collections path it is to use; the Makefile's
# (.build/collections, the checkout) must not leak into any of them.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$work/ansible-tmp ANSIBLE_GALAXY_CACHE_DIR=$work/galaxy-cache
release=$work/release
tree=$release/ansible_collections/netplumb/linux
install=$work/install
installed=$install/ansible_collections/netplumb/linux
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

fail() {
  echo "release check: $*" >&2
  exit 1
}

# Fragments that antsibull-changelog would release (config: .yml/.yaml only).
fragments() {
  if [ -d "$1/changelogs/fragments" ]; then
    find "$1/changelogs/fragments" -type f \( -name '*.yml' -o -name '*.yaml' \)
  fi
}

# The collection's version section in a CHANGELOG.rst: "v<version>" underlined with "=".
has_section() {
  grep -A1 -xF "v$2" "$1" | tail -n +2 | grep -qE '^=+$'
}

# netplumb.linux is found in the given collections path's install only, nowhere
# else (a checkout, .build/collections, ~/.ansible/collections).
only_the_install() {
  local galaxy=$1 path=$2 found
  found=$(ANSIBLE_COLLECTIONS_PATH=$path "$galaxy" collection list netplumb.linux 2>/dev/null)
  if [ "$(grep -c '^# ' <<<"$found")" != 1 ] || ! grep -qxF "# $install/ansible_collections" <<<"$found"; then
    fail "netplumb.linux is found elsewhere than $install (ANSIBLE_COLLECTIONS_PATH=$path):"$'\n'"$found"
  fi
}

echo "-- version check"
"$venv/bin/python" tests/gates/check_versions.py "$root"
version=$("$venv/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')

echo "-- changelog release $version on a copy of the working tree"
tests/gates/worktree_copy.sh "$tree"
released=$("$venv/bin/python" -c '
import sys, yaml
data = yaml.safe_load(open(sys.argv[1])) or {}
print("yes" if sys.argv[2] in (data.get("releases") or {}) else "no")' "$tree/changelogs/changelog.yaml" "$version")
if [ "$released" = yes ]; then
  if [ -n "$(fragments "$tree")" ]; then
    fail "$version is released already (changelogs/changelog.yaml) and fragments are pending: set the next version in galaxy.yml"
  fi
  echo "$version is released already (changelogs/changelog.yaml), no fragment pending: checking what that release wrote"
else
  (cd "$tree" && ANSIBLE_COLLECTIONS_PATH=$release PATH=$docs_venv/bin:$PATH \
    "$docs_venv/bin/antsibull-changelog" release --version "$version")
fi
has_section "$tree/CHANGELOG.rst" "$version" || fail "the released CHANGELOG.rst has no section v$version"
left=$(fragments "$tree")
[ -z "$left" ] || fail "changelogs/fragments still holds fragments after the release:"$'\n'"$left"
echo "CHANGELOG.rst: section v$version; changelogs/fragments: empty"

echo "-- build from the released copy"
"$venv/bin/ansible-galaxy" collection build --output-path "$work/dist" "$tree" >/dev/null
tarball=$work/dist/netplumb-linux-$version.tar.gz
test -f "$tarball" || fail "no $tarball"
# check_tarball.py takes the project's files from git: those of the released
# copy (its .gitignore applies), i.e. what the release commit would hold.
git init -q "$tree"
"$venv/bin/python" tests/gates/check_tarball.py "$tarball" "$tree"

echo "-- install into a clean path"
ANSIBLE_COLLECTIONS_PATH=$install \
  "$venv/bin/ansible-galaxy" collection install --no-deps -p "$install" "$tarball" >/dev/null
test -f "$installed/MANIFEST.json" || fail "nothing installed in $installed"
has_section "$installed/CHANGELOG.rst" "$version" || fail "the installed CHANGELOG.rst has no section v$version"
[ -z "$(fragments "$installed")" ] || fail "the tarball carries changelog fragments"
# The tests read each module's EXAMPLES from the checkout's plugins/modules:
# the install must hold the same module files.
if ! changed=$(diff -rq -x __pycache__ "$root/plugins/modules" "$installed/plugins/modules"); then
  fail "plugins/modules in the install differs from the checkout's (changed during the check?):"$'\n'"$changed"
fi
echo "$installed: netplumb.linux $version"

echo "-- every module's EXAMPLES from the install, in a sandbox"
only_the_install "$venv/bin/ansible-galaxy" "$install"
used=$(NETPLUMB_TEST_COLLECTIONS=$install "$venv/bin/python" -c '
import sys
sys.path[:0] = sys.argv[1:]
import netplumb_testlib
print(netplumb_testlib.COLLECTIONS)' "$root/tests/lib" "$root/.build/collections")
[ "$used" = "$install" ] || fail "the tests would run the playbooks against $used, not $install"
NETPLUMB_TEST_COLLECTIONS=$install tests/sandbox.sh "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  tests/integration/test_module_examples.py

echo "-- the docs site from the install"
(cd "$tree" && only_the_install "$docs_venv/bin/ansible-galaxy" "$install:$site")
(cd "$tree" && DOCS_VENV=$docs_venv ANSIBLE_COLLECTIONS_PATH=$install:$site docs/build.sh)
html=$tree/.build/docs/html
pages=("$html/index.html")
for path in "$installed"/plugins/modules/*.py; do pages+=("$html/reference/$(basename "$path" .py)_module.html"); done
for path in "$installed"/plugins/filter/*.py; do pages+=("$html/reference/$(basename "$path" .py)_filter.html"); done
for path in "$installed"/roles/*/; do pages+=("$html/reference/$(basename "$path")_role.html"); done
for page in "${pages[@]}"; do
  test -s "$page" || fail "the docs site has no $page"
done
echo "${#pages[@]} pages checked: the index and every module, filter and role"

echo "release check passed: netplumb.linux $version"
