"""A real CNI client: Debian's containerd + runc, started inside the test's
sandbox with private root, state and socket, runs a busybox container with
``ctr run --cni`` on the plugins and config the modules installed. The
container gets an address on the bridge that answers the node's ping.

/usr/lib/cni is hidden (Debian's containerd searches it after /opt/cni/bin),
so a plugin missing from /opt/cni/bin really is missing, and ctr's error is
the one cni_config gives at playbook time."""

import os
import re
import secrets
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_check
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from cni_fixtures import (  # pylint: disable=unused-import # noqa: F401
    cni_archives, cni_dirs, conflist, hidden_usr_lib_cni, sha256)
from containerd_fixtures import PrivateContainerd

SUBNET = "198.51.100.0/24"
GATEWAY = "198.51.100.1"
RUN_TIMEOUT = 60

pytestmark = pytest.mark.skipif(not shutil.which("containerd") or not shutil.which("ctr"),
                                reason="containerd and ctr are in the Makefile's APT_PACKAGES")


def _rootfs(base):
    """busybox-static and its applets; empty proc, sys, dev, etc."""
    rootfs = os.path.join(base, "rootfs")
    for name in ("bin", "proc", "sys", "dev", "etc"):
        os.makedirs(os.path.join(rootfs, name))
    shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "ip", "ping", "cat", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    return rootfs


class Containerd(PrivateContainerd):
    """containerd without its CRI plugin, for ctr run --cni, in a namespace of the test's own."""

    def __init__(self, base):
        namespace = "netplumb-test-" + secrets.token_hex(3)
        super(Containerd, self).__init__(base, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n', namespace,
                                         namespace)
        self.rootfs = _rootfs(base)

    def run_argv(self, container_id, script):
        return ["ctr", "-a", self.sock, "-n", self.namespace, "run", "--rm", "--cni", "--rootfs", self.rootfs,
                container_id, "/bin/sh", "-c", script]


@pytest.fixture
def containerd(cni_dirs, hidden_usr_lib_cni):
    base = tempfile.mkdtemp(prefix="np-ctrd-")  # short: the socket path must fit sun_path
    daemon = None
    try:
        daemon = Containerd(base)
        daemon.wait_ready()
        yield daemon
    finally:
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(base, ignore_errors=True)


def _install_and_configure(archives, config):
    engine.run(cni_install, {"src": archives.chain, "checksum": sha256(archives.chain)})
    return engine.run(cni_config, {"name": "podnet", "config": config, "exclusive": True})


def _read_line(proc, timeout):
    """The first line ``proc`` writes to stdout, waiting at most ``timeout`` seconds."""
    deadline, data = time.monotonic() + timeout, b""
    while b"\n" not in data and time.monotonic() < deadline:
        ready, _w, _x = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    return data.decode("utf-8", "replace")


def test_container_gets_an_address_that_answers_ping(containerd, cni_dirs, cni_archives):
    node = cni_dirs
    _install_and_configure(cni_archives, conflist(name="podnet", subnet=SUBNET))
    assert engine.run(cni_check, {"name": "podnet"}).extra["addresses"] == ["198.51.100.2/24"]

    script = ("ip -4 -o addr show dev eth0; ping -c 1 -W 2 %s >/dev/null && echo gateway-ok; "
              "cat /proc/net/dev >/dev/null; sleep 4" % GATEWAY)
    proc = subprocess.Popen(containerd.run_argv("c1", script), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = _read_line(proc, RUN_TIMEOUT)
        match = re.search(r"inet (198\.51\.100\.\d+)/24", first)
        assert match, "no address in %r; containerd: %s" % (first, containerd.log_text())
        address = match.group(1)
        # the node reaches the container through the bridge the plugin made
        assert node.addresses("cni0") == ["198.51.100.1/24"]
        assert node.ping(address)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    assert "gateway-ok" in first + out.decode(), (first, out, err)  # the container reaches the node too
    assert containerd.ctr("containers", "ls", "-q").stdout.strip() == ""  # --rm, and DEL ran
    assert cni_check.leftover_namespaces() == []
    assert sorted(os.listdir("/var/lib/cni/networks/podnet")) == ["last_reserved_ip.0", "lock"]  # lease released


def test_missing_plugin_is_missing_for_the_runtime_too(containerd, cni_archives):
    config = conflist(name="podnet", subnet=SUBNET, extra_plugins=("portmap", "tuning"))  # tuning: not installed
    with pytest.raises(ParamError) as refused:
        _install_and_configure(cni_archives, config)
    assert 'failed to find plugin "tuning" in path [/opt/cni/bin]' in str(refused.value)

    # written anyway (validate: false), the runtime trips on it at container creation
    engine.run(cni_config, {"name": "podnet", "config": config, "validate": False})
    proc = subprocess.run(containerd.run_argv("c2", "true"), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, check=False)
    assert proc.returncode != 0
    assert 'failed to find plugin "tuning" in path [/opt/cni/bin' in proc.stderr, proc.stderr
