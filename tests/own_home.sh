#!/usr/bin/env bash
# A home of the checkout's own for the tools, so that nothing of theirs stays
# in the user's: what they keep there (ansible-test's virtualenvs, molecule's
# scenario state, Ansible's temp and control-path directories, ansible-lint's
# and antsibull's caches and logs, Chromium's crash reports) goes to
# .build/home, kept for the next run. pip and git still read the user's own
# configuration (a package index, safe.directory).
#   tests/own_home.sh COMMAND [ARG...]   runs COMMAND so (make's tool targets)
#   . tests/own_home.sh                  sets it up in the calling shell, and
#                                        real_home to the user's (run_all.sh)
real_home=$HOME
if [ -z "${PIP_CONFIG_FILE:-}" ]; then
  for conf in "${XDG_CONFIG_HOME:-$real_home/.config}/pip/pip.conf" "$real_home/.pip/pip.conf"; do
    if [ -f "$conf" ]; then export PIP_CONFIG_FILE=$conf; break; fi
  done
fi
if [ -z "${GIT_CONFIG_GLOBAL:-}" ] && [ -f "$real_home/.gitconfig" ]; then
  export GIT_CONFIG_GLOBAL=$real_home/.gitconfig
fi
HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.build/home
export HOME
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME
mkdir -p "$HOME"
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  exec "$@"
fi
