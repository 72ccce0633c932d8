#!/usr/bin/env bash
# make demo: a lab of 2 nodes and a wan host (each with its own namespaces and
# copy-on-write root, running sshd; nothing on the host network), reached over
# SSH as a sudo user; site.yml in check mode, for real, again (nothing to
# change), then verify.yml's real traffic. The lab stays up for you to
# explore; make demo-clean tears it down.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export ANSIBLE_COLLECTIONS_PATH=$root/.build/collections ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP=/run/netplumb-demo/tmp ANSIBLE_REMOTE_TEMP=/tmp/.netplumb-demo
# The nodes find their Python by interpreter discovery, without a warning per node.
export ANSIBLE_PYTHON_INTERPRETER=auto_silent
PY=$root/.venv/bin/python
# localhost (the lab role) runs with this Python; the nodes find their own.
playbook() { "$root/.venv/bin/ansible-playbook" -i "$root/tests/controller.yml" "$@"; }
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
recap() { grep -A5 '^PLAY RECAP' | grep -E '^(node|wan|localhost)' | sed 's/^/   /'; }

section "Lab: 2 nodes and a wan host, each a machine running sshd (state in .lab/)"
playbook -e lab_state_dir="$root/.lab" playbooks/lab.yml | recap
inv=(-i "$root/.lab/inventory.yml")

section "How Ansible reaches the nodes"
playbook "${inv[@]}" demo/reached.yml | grep -o '"msg": .*' | sed -E 's/^"msg": "(.*)"$/   \1/'

section "site.yml --check: what a real run would change (nothing is touched)"
playbook "${inv[@]}" playbooks/site.yml --check | recap

section "site.yml: packages the nodes lack, bridge, containers, forwarding, NAT, routes to the other node, CNI"
playbook "${inv[@]}" playbooks/site.yml | recap

section "site.yml again: nothing to change"
out=$(playbook "${inv[@]}" playbooks/site.yml | recap); echo "$out"
if grep -qv 'changed=0' <<<"$out"; then echo "the second run changed something" >&2; exit 1; fi

section "What the nodes show"
for node in node1 node2; do
  pid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$root/.lab/nodes.json" "$node")
  echo "-- $node"
  for ns in c1 c2; do
    nsenter -t "$pid" -n -m -p ip -n "$ns" -br addr show dev eth0 | sed -E "s/ fe80::[^ ]+//; s/^/   $ns: /"
  done
  for family in -4 -6; do
    nsenter -t "$pid" -n -m -p ip "$family" route show | grep via | sed 's/^/   route: /'
  done
  for table in ip ip6; do
    nsenter -t "$pid" -n -m -p nft list table "$table" netplumb | grep -E 'masquerade|dnat' |
      sed -E 's/ comment .*//; s/^[[:space:]]*/   nft: /'
  done
  nsenter -t "$pid" -n -m -p ls /etc/cni/net.d | sed 's/^/   cni config: /'
done

section "verify.yml: real traffic"
status=0
out=$(playbook "${inv[@]}" playbooks/verify.yml) || status=$?
grep -E '^(ok|failed|fatal):.*(item=|-> wan)|^TASK|^ok: \[node' <<<"$out" | sed 's/^/   /'
if [ "$status" -ne 0 ]; then echo "$out" | tail -30; echo "   verify FAILED" >&2; exit "$status"; fi
echo "   all checks passed"

section "The lab is still up"
echo "   ANSIBLE_COLLECTIONS_PATH=.build/collections .venv/bin/ansible -i .lab/inventory.yml lab_nodes -m netplumb.linux.net_facts -a 'uplink={}'"
echo "   make demo-clean   # tear it down"
