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
own_home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.build/home
# Ansible makes a local task's temporary directory under the home of the
# user's passwd entry (it asks the shell for ~root), whatever HOME says, and
# removes only the task's own directory in it. The outermost of nested runs
# of this script notes which of ~/.ansible and ~/.ansible/tmp are missing
# there, and tidy_passwd_home removes them again if they are empty: a
# nested run may end while another Ansible task of the outer one still uses
# them.
passwd_made=()
if [ "$HOME" != "$own_home" ]; then
  passwd_home=$(getent passwd "$(id -u)" | cut -d: -f6)
  for dir in .ansible .ansible/tmp; do
    if [ -n "$passwd_home" ] && [ ! -e "$passwd_home/$dir" ]; then passwd_made+=("$passwd_home/$dir"); fi
  done
fi
tidy_passwd_home() {
  local i
  for ((i = ${#passwd_made[@]} - 1; i >= 0; i--)); do rmdir "${passwd_made[i]}" 2>/dev/null || true; done
}
HOME=$own_home
export HOME
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME
mkdir -p "$HOME"
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ ${#passwd_made[@]} -eq 0 ]; then
    exec "$@"
  fi
  trap tidy_passwd_home EXIT
  "$@"
  exit
fi
