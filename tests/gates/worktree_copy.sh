#!/usr/bin/env bash
# Copy the working tree as it is into DEST: tracked files and new ones that
# are not ignored (a tracked file deleted from the working tree is left out,
# as `git add -A` would), symlinks kept as symlinks. Used by make changelog
# and make release-check, which release the changelog on such a copy.
#   usage: tests/gates/worktree_copy.sh DEST   (run from the repository root)
set -euo pipefail
dest=$1
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' file; do
    if [ -e "$file" ] || [ -L "$file" ]; then printf '%s\0' "$file"; fi
  done | xargs -0 cp -P --parents -t "$dest"
