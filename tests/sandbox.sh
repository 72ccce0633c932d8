#!/bin/sh
# Run a command in a throwaway network + mount namespace: its own loopback, a
# private tmpfs over /run (so /run/netns), copy-on-write views of /etc, /opt,
# /var/lib and /var/cache (the modules' bytecode cache), and private tmpfs
# over the CNI and sysctl.d directories.
# Nothing it creates reaches the host; it all goes when it exits (when the last
# process started inside it, e.g. a lab node make demo leaves up, is gone).
#
# The views: an overlay over each tree, lowerdir the host's directory, upper
# and work layers on a tmpfs of this sandbox (/run/sandbox). So the CNI
# directories can be created inside the sandbox on a host that has none (a
# fresh host) without creating them on the host, and any other write under
# those trees lands in the sandbox's layer, never on the host.
# - Stacking: on a host whose trees are a plain filesystem, these views are at
#   overlayfs depth 1; the kernel allows 2, so a test may overlay /etc, /opt
#   or /var/lib once more inside the sandbox (tests/lib/fresh_host.py), but
#   not twice. On a host whose root is itself an overlay (a container), the
#   views are at depth 2 already and such a test cannot run there.
# - Submounts: an overlay shows only the filesystem of its lowerdir, not what
#   is mounted below it. Inside the sandbox, a filesystem mounted on the host
#   under /etc, /opt or /var/lib (a /var/lib/docker disk, a bind-mounted
#   /etc/resolv.conf) shows as its empty mount point (or the file below it).
#   This host has none; the tests use none of them.
set -eu
# The inner script is meant to expand inside the new namespaces, not here.
# shellcheck disable=SC2016
exec unshare --net --mount --fork -- sh -c '
  set -eu
  mount --make-rprivate /
  mount -t tmpfs -o mode=0755 tmpfs /run
  mkdir -p /run/netns
  mkdir -m 0700 /run/sandbox
  mount -t tmpfs -o mode=0700 tmpfs /run/sandbox
  for tree in /etc /opt /var/lib /var/cache; do
    layer=/run/sandbox/$(echo "${tree#/}" | tr / -)
    mkdir -p "$layer/upper" "$layer/work"
    mount -t overlay overlay -o "lowerdir=$tree,upperdir=$layer/upper,workdir=$layer/work" "$tree"
  done
  for d in /opt/cni /etc/cni /var/lib/cni /etc/sysctl.d; do
    mkdir -p "$d"
    mount -t tmpfs -o mode=0755 tmpfs "$d"
  done
  ip link set lo up
  exec "$@"' sandbox "$@"
