"""A private containerd with its CRI plugin, as a kubelet talks to it, inside
the test's sandbox: root, state, socket, the ``opt`` plugin's directory and
its config in a temp directory, the pods' cgroups under a parent of the
test's own (removed afterwards), and a sandbox ("pause") image built here
from the distribution's static busybox and imported into ``k8s.io`` (nothing
is pulled).

Known on this machine (containerd 1.6): root lacks CAP_SYS_RESOURCE, so runc
cannot set the sandbox's oom_score_adj unless restrict_oom_score_adj is on;
the CRI runtime needs runtime_type beside its options; without the opt path
containerd makes /opt/containerd on the host.

Import the fixtures into a test module (``from cri_fixtures import ...``).
"""

import contextlib
import hashlib
import io
import json
import os
import pickle
import secrets
import select
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from cni_fixtures import hidden_usr_lib_cni  # pylint: disable=unused-import # noqa: F401
from containerd_fixtures import PrivateContainerd, cgroup_dirs

PAUSE_IMAGE = "netplumb.local/pause:busybox"
HOST_PATHS = ("/etc/cni", "/opt/cni", "/var/lib/cni", "/opt/containerd", "/var/lib/containerd",
              "/run/containerd", "/var/run/netns")


def _member(tar, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.mode, info.type, info.linkname, info.mtime = mode, kind, linkname, 1700000000
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def pause_image_archive(path, name=PAUSE_IMAGE):
    """A docker-archive tar (as ``docker save`` writes it) of one layer: busybox
    and its ``sleep`` applet, whose entrypoint sleeps as a pause container does."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for directory in ("bin", "dev", "etc", "proc", "sys"):
            _member(tar, directory + "/", mode=0o755, kind=tarfile.DIRTYPE)
        with open("/bin/busybox", "rb") as handle:
            _member(tar, "bin/busybox", handle.read(), mode=0o755)
        for applet in ("sh", "sleep"):
            _member(tar, "bin/" + applet, kind=tarfile.SYMTYPE, linkname="busybox", mode=0o777)
    layer_bytes = layer.getvalue()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/bin/sleep", "2147483647"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
    }, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [name], "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tar:
        _member(tar, "layer/", mode=0o755, kind=tarfile.DIRTYPE)
        _member(tar, "layer/layer.tar", layer_bytes)
        _member(tar, config_name, config)
        _member(tar, "manifest.json", manifest)
    return path


def host_paths():
    """Which of the paths CRI could write exist on the host: seen through pid 1's
    root, outside the test's mount namespace."""
    return {path: os.path.lexists(os.path.join("/proc/1/root", path.lstrip("/"))) for path in HOST_PATHS}


class CriContainerd(PrivateContainerd):
    """containerd with the CRI plugin, everything private under ``base``."""

    def __init__(self, base, sock=None, conf_dir="/etc/cni/net.d", bin_dir="/opt/cni/bin"):
        self.cgroup_parent = "netplumb-cri-" + secrets.token_hex(3)
        config = ('[plugins."io.containerd.grpc.v1.cri"]\n'
                  '  sandbox_image = "%s"\n  restrict_oom_score_adj = true\n'
                  '  [plugins."io.containerd.grpc.v1.cri".cni]\n    bin_dir = "%s"\n    conf_dir = "%s"\n'
                  '  [plugins."io.containerd.grpc.v1.cri".containerd]\n    default_runtime_name = "runc"\n'
                  '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                  '      runtime_type = "io.containerd.runc.v2"\n'
                  '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
                  '        SystemdCgroup = false\n' % (PAUSE_IMAGE, bin_dir, conf_dir))
        super(CriContainerd, self).__init__(base, config, "k8s.io", self.cgroup_parent, sock)

    def import_pause_image(self):
        archive = pause_image_archive(os.path.join(self.base, "pause.tar"))
        self.ctr("images", "import", archive, timeout=60)

    def cleanup(self):
        for path in (self.base, "/run/netns"):
            unmount_below(path)


def mounts_below(path):
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    return sorted((p for p in points if p.startswith(path.rstrip("/") + "/")), key=len, reverse=True)


def unmount_below(path):
    """Lazily unmount every mount below ``path``, deepest first."""
    for point in mounts_below(path):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=10, check=False)


@contextlib.contextmanager
def running_cri(sock=None):
    """A running CRI containerd with the pause image, in the current (sandbox)
    namespaces; stopped and cleaned up afterwards, the host checked unchanged."""
    before = host_paths()
    os.makedirs("/etc/cni/net.d", exist_ok=True)
    base = tempfile.mkdtemp(prefix="np-cri-")  # short: the socket path must fit sun_path
    daemon = None
    try:
        daemon = CriContainerd(base, sock=sock)
        daemon.wait_ready()
        daemon.import_pause_image()
        yield daemon
    finally:
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(base, ignore_errors=True)
    assert host_paths() == before
    assert cgroup_dirs(daemon.cgroup_parent) == []


@pytest.fixture
def cri_containerd(cni_dirs, hidden_usr_lib_cni):  # pylint: disable=unused-argument
    with running_cri() as daemon:
        yield daemon


def in_child(function, *args, timeout=120):
    """``function(*args)`` in a forked child, its return value (or exception)
    brought back. gRPC starts threads that outlive its channels, and a test
    can only leave its sandbox single-threaded: so grpc is imported only in
    children. Bounded by ``timeout`` seconds (then the child is killed)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(reader)
        try:
            outcome = ("ok", function(*args))
        except BaseException as exc:  # pylint: disable=broad-except
            outcome = ("error", "%s: %s" % (type(exc).__name__, exc))
        with os.fdopen(writer, "wb") as handle:
            handle.write(pickle.dumps(outcome))
        os._exit(0)  # pylint: disable=protected-access
    os.close(writer)
    data, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([reader], [], [], 0.2)
            if ready:
                chunk = os.read(reader, 65536)
                if not chunk:
                    break
                data += chunk
        else:
            os.kill(pid, 9)
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
    if not data:
        raise AssertionError("the child did not answer within %d s" % timeout)
    kind, value = pickle.loads(data)
    if kind == "error":
        raise AssertionError(value)
    return value
