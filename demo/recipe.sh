#!/usr/bin/env bash
# make demo-recipe: the single-node recipe; runs inside tests/sandbox.sh, so everything below lives in a
# throwaway network namespace and vanishes when the demo ends.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_BIN=$PWD/.venv/bin
export ANSIBLE_COLLECTIONS_PATH=$PWD/.build/collections ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP=/run/netplumb-demo/tmp ANSIBLE_REMOTE_TEMP=/run/netplumb-demo/rtmp
playbook() {
  "$VENV_BIN/ansible-playbook" -i localhost, -c local \
    -e "ansible_python_interpreter=$VENV_BIN/python" demo/recipe.yml "$@"
}
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "Check mode on a fresh node: what would change (nothing is touched)"
playbook --check | grep -E 'changed|ok=' | tail -3

section "Converge: the recipe's scenarios 1-4"
playbook --diff

section "Second run: nothing to change"
recap=$(playbook | tail -3)
echo "$recap"
grep -q 'changed=0' <<<"$recap" || { echo "second run changed something" >&2; exit 1; }

section "What the kernel shows"
for ns in red blue c1 c2 wan; do
  echo "-- netns $ns"; ip -n "$ns" -br addr | sed 's/^/   /'
done
echo "-- host"; ip -br link show master v-net-0 | sed 's/^/   /'; ip -br addr show v-net-0 | sed 's/^/   /'
echo "-- netns c1 routes"; ip -n c1 route | sed 's/^/   /'

section "Firewall: only the collection's own table"
nft list table ip netplumb | sed 's/^/   /'

section "Traffic"
exec "$VENV_BIN/python" demo/verify.py
