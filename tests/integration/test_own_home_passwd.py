"""tests/own_home.sh leaves the home of the user's passwd entry as it was.
Ansible makes a local task's temporary directory there (~root/.ansible/tmp)
whatever HOME says; the outermost run of the script removes what was not
there before, once it is empty. Each case runs in a mount namespace of its
own with a copy-on-write view of that home (an overlay, its layer on a
tmpfs) without ~/.ansible, so the host's own is never touched (root, inside
tests/sandbox.sh)."""

import os
import pwd
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWD_HOME = pwd.getpwuid(os.getuid()).pw_dir
ANSIBLE = os.path.join(ROOT, ".venv", "bin", "ansible")
PING = ANSIBLE + " localhost -c local -m ansible.builtin.ping >/dev/null"


def _in_empty_home(script, setup=""):
    """``script`` (bash) from the checkout in a view of the passwd home (PH)
    without .ansible, HOME set to it as a user's shell has it; then its exit
    status and what is under PH/.ansible afterwards."""
    wrapped = ("set -eu; mount --make-rprivate /; layer=$(mktemp -d); mount -t tmpfs tmpfs \"$layer\"; "
               "mkdir \"$layer/upper\" \"$layer/work\"; mount -t overlay overlay "
               "-o \"lowerdir=$PH,upperdir=$layer/upper,workdir=$layer/work\" \"$PH\"; "
               "rm -rf \"$PH/.ansible\"; %s\nset +e; (%s); rc=$?; echo \"rc=$rc\"; "
               "cd \"$PH\" && find ./.ansible 2>/dev/null | LC_ALL=C sort" % (setup, script))
    env = {"PATH": os.environ["PATH"], "HOME": PASSWD_HOME, "PH": PASSWD_HOME}
    out = subprocess.run(["unshare", "--mount", "--", "bash", "-c", wrapped], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    return int(out[0].split("=")[1]), out[1:]


def test_ansible_uses_the_passwd_home_whatever_home_says():
    """The reason for the tidying: without the script, a local task leaves ~/.ansible/tmp there."""
    assert _in_empty_home("HOME=%s/.build/home %s" % (ROOT, PING)) == (0, ["./.ansible", "./.ansible/tmp"])


def test_a_local_ansible_task_leaves_nothing_there():
    assert _in_empty_home("tests/own_home.sh " + PING) == (0, [])


def test_what_was_there_stays_and_the_exit_status_is_the_command_s():
    rc, left = _in_empty_home("tests/own_home.sh sh -c 'mkdir -p \"$PH/.ansible/tmp\"; exit 3'",
                              setup="mkdir -p \"$PH/.ansible/cp\"")
    assert (rc, left) == (3, ["./.ansible", "./.ansible/cp"])


def test_a_directory_not_empty_is_left_alone():
    rc, left = _in_empty_home("tests/own_home.sh sh -c 'mkdir -p \"$PH/.ansible/tmp\" && touch \"$PH/.ansible/tmp/f\"'")
    assert (rc, left) == (0, ["./.ansible", "./.ansible/tmp", "./.ansible/tmp/f"])


def test_a_nested_run_leaves_the_directories_to_the_outermost():
    """make test's steps run make's tool targets through the script while
    the other stream's Ansible tasks still use the directory."""
    inner = "tests/own_home.sh sh -c 'mkdir -p \"$PH/.ansible/tmp\" && tests/own_home.sh true && test -d \"$PH/.ansible/tmp\"'"
    assert _in_empty_home(inner) == (0, [])


def test_run_all_s_way_sourced_then_tidied():
    assert _in_empty_home(". tests/own_home.sh; %s; tidy_passwd_home" % PING) == (0, [])
