#!/bin/sh
# Run a command in a throwaway network + mount namespace: its own loopback,
# private tmpfs over /run (so /run/netns) and over the CNI and sysctl.d
# directories when they exist. Nothing it creates reaches the host; it all goes when it exits.
set -eu
# The inner script is meant to expand inside the new namespaces, not here.
# shellcheck disable=SC2016
exec unshare --net --mount --fork -- sh -c '
  set -eu
  mount --make-rprivate /
  mount -t tmpfs -o mode=0755 tmpfs /run
  mkdir -p /run/netns
  for d in /opt/cni /etc/cni /var/lib/cni /etc/sysctl.d; do
    if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
  done
  ip link set lo up
  exec "$@"' sandbox "$@"
