"""A private containerd inside the test's sandbox: its config, root, state,
socket and the ``opt`` plugin's directory under one temp directory (without
the opt path containerd makes /opt/containerd on the host), its log, ctr
against it in one containerd namespace, and a stop that kills what is left
of its tasks, then the daemon, then removes the cgroups its tasks made.
test_cni_runtime.py runs one without CRI (ctr run --cni), cri_fixtures.py one
with it."""

import os
import subprocess
import time

CGROUP_ROOT = "/sys/fs/cgroup"
SOCKET_WAIT = 15


def cgroup_dirs(name):
    """The directories called ``name`` at the top of every cgroup hierarchy."""
    hierarchies = [CGROUP_ROOT] + [os.path.join(CGROUP_ROOT, h) for h in os.listdir(CGROUP_ROOT)]
    return [os.path.join(h, name) for h in hierarchies if os.path.isdir(os.path.join(h, name))]


def remove_cgroups(name):
    for top in cgroup_dirs(name):
        for root, dirs, _files in os.walk(top, topdown=False):
            for sub in dirs:
                try:
                    os.rmdir(os.path.join(root, sub))
                except OSError:
                    pass
        try:
            os.rmdir(top)
        except OSError:
            pass


class PrivateContainerd:
    """``config`` (TOML) is completed with the opt plugin's private path;
    ``namespace`` is the containerd namespace ctr works in; ``cgroups`` the
    name of the cgroup directories its tasks make (removed by stop)."""

    def __init__(self, base, config, namespace, cgroups, sock=None):
        self.base = base
        self.sock = sock or os.path.join(base, "sock")
        self.namespace = namespace
        self.cgroups = cgroups
        path = os.path.join(base, "config.toml")
        with open(path, "w") as handle:
            handle.write('version = 2\n[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n%s'
                         % (os.path.join(base, "opt"), config))
        self.log = open(os.path.join(base, "containerd.log"), "wb")
        self.proc = subprocess.Popen(
            ["containerd", "--config", path, "--root", os.path.join(base, "root"),
             "--state", os.path.join(base, "state"), "--address", self.sock],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        deadline = time.monotonic() + SOCKET_WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("containerd exited (%d): %s" % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.sock) and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError("containerd socket did not answer within %d s: %s" % (SOCKET_WAIT, self.log_text()))

    def ctr(self, *args, check=True, timeout=30):
        proc = subprocess.run(["ctr", "-a", self.sock, "-n", self.namespace] + list(args),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("ctr %s failed: %s" % (" ".join(args), proc.stderr))
        return proc

    def log_text(self):
        with open(os.path.join(self.base, "containerd.log"), "rb") as handle:
            return handle.read()[-4000:].decode("utf-8", "replace")

    def stop(self):
        """Kill what is left of its tasks (and containers), then containerd
        (terminate, then kill), then remove the cgroups."""
        if self.proc.poll() is None:
            try:
                for task in self.ctr("task", "ls", "-q", check=False, timeout=10).stdout.split():
                    self.ctr("task", "kill", "-s", "SIGKILL", task, check=False, timeout=10)
                    self.ctr("task", "delete", "-f", task, check=False, timeout=10)
                for container in self.ctr("containers", "ls", "-q", check=False, timeout=10).stdout.split():
                    self.ctr("containers", "rm", container, check=False, timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        self.cleanup()
        remove_cgroups(self.cgroups)

    def cleanup(self):
        """What a kind of containerd leaves beyond its tasks (nothing here)."""
