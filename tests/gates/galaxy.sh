#!/usr/bin/env bash
# The collection as users get it: `ansible-galaxy collection build`, the
# tarball's contents checked, `ansible-galaxy collection install --no-deps`
# into a clean path, then, from a directory outside the checkout with only
# that path and the `ansible` package's collections on
# ANSIBLE_COLLECTIONS_PATH: ansible-doc renders every module, plugin and
# role, and a playbook using the FQCNs runs (in tests/sandbox.sh).
# VENV picks the virtualenv (default .venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$(cd "${VENV:-.venv}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/netplumb-galaxy.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "-- build"
"$venv/bin/ansible-galaxy" collection build --output-path "$work/dist" "$root" >/dev/null
tarball=$(echo "$work"/dist/netplumb-linux-*.tar.gz)
"$venv/bin/python" tests/gates/check_tarball.py "$tarball" "$root"

echo "-- install into a clean path"
# Only the clean path on ANSIBLE_COLLECTIONS_PATH: a copy installed elsewhere
# (~/.ansible/collections, .build/collections) must not count as "already installed".
ANSIBLE_COLLECTIONS_PATH="$work/collections" \
  "$venv/bin/ansible-galaxy" collection install --no-deps -p "$work/collections" "$tarball" >/dev/null
installed=$work/collections/ansible_collections/netplumb/linux
test -f "$installed/MANIFEST.json"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

cp tests/gates/fqcn_playbook.yml "$work/"
cd "$work"
unset ANSIBLE_CONFIG
export ANSIBLE_COLLECTIONS_PATH="$work/collections:$site"
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$work/tmp" ANSIBLE_REMOTE_TEMP="$work/rtmp"
# The installed copy, not the checkout, must be the one Ansible finds.
found=$("$venv/bin/ansible-galaxy" collection list netplumb.linux 2>/dev/null)
if [ "$(grep -c '^# ' <<<"$found")" != 1 ] || ! grep -q "^# $work/collections/ansible_collections" <<<"$found"; then
  echo "netplumb.linux is found elsewhere than the clean path:" >&2
  echo "$found" >&2
  exit 1
fi

echo "-- ansible-doc from $work"
"$venv/bin/python" "$root/tests/gates/check_docs.py" "$venv/bin/ansible-doc" "$installed"

echo "-- a playbook using the FQCNs, in a sandbox"
"$root/tests/sandbox.sh" "$venv/bin/ansible-playbook" -i localhost, -c local \
  -e ansible_python_interpreter="$venv/bin/python" fqcn_playbook.yml
echo "galaxy gate passed"
