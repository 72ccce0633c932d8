#!/usr/bin/env bash
# make changelog: CHANGELOG.rst from changelogs/changelog.yaml plus the
# fragments not released yet, written by antsibull-changelog.
#
# Between releases the fragments must stay in changelogs/fragments (a release
# consumes them), so the release runs on a copy of the collection in a
# temporary ansible_collections/netplumb/linux tree (with a release summary
# saying the version is not released yet, unless a fragment has one); only
# CHANGELOG.rst comes back.
# Cutting a real release is `antsibull-changelog release` in the checkout
# (docs/release.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$(cd "${1:-.venv-docs}" && pwd)
version=$("$venv/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
released=$("$venv/bin/python" -c '
import sys, yaml
data = yaml.safe_load(open("changelogs/changelog.yaml")) or {}
print("yes" if sys.argv[1] in (data.get("releases") or {}) else "no")' "$version")
if [ "$released" = yes ]; then
  # The version in galaxy.yml is released: the changelog is what it recorded.
  "$venv/bin/antsibull-changelog" generate
  exit 0
fi
base=$(mktemp -d "${TMPDIR:-/tmp}/netplumb-changelog.XXXXXX")
trap 'rm -rf "$base"' EXIT
tree=$base/ansible_collections/netplumb/linux
tests/gates/worktree_copy.sh "$tree"
# A release summary of its own when the fragments have none yet.
if ! grep -qs '^release_summary:' "$tree"/changelogs/fragments/*.yml; then
  cat > "$tree/changelogs/fragments/zz-unreleased-summary.yml" <<YAML
---
release_summary: >-
  Version $version is not released yet: this section lists the changes made
  since the last release, gathered from changelogs/fragments. It is final once
  the release is cut (docs/release.md).
YAML
fi
cd "$tree"
export ANSIBLE_COLLECTIONS_PATH=$base PATH=$venv/bin:$PATH
"$venv/bin/antsibull-changelog" release --version "$version" --date "$(date +%Y-%m-%d)"
cp CHANGELOG.rst "$root/CHANGELOG.rst"
echo "CHANGELOG.rst: $version (unreleased) from $(find "$root/changelogs/fragments" -name '*.yml' | wc -l) fragments"
