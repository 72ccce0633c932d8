"""CNI test fixtures, built at test time from Debian's reference plugins in
/usr/lib/cni: release-style archives (good, and each kind of bad one), private
CNI directories, and a local HTTP server inside the test's sandbox.

Import the fixtures into a test module (``from cni_fixtures import ...``) to
use them.
"""

import contextlib
import functools
import hashlib
import http.server
import io
import os
import shutil
import tarfile
import threading
import types

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import archive as cni_archive
from ansible_collections.netplumb.linux.plugins.module_utils.kernel import syscalls

REFERENCE = "/usr/lib/cni"
CHAIN = ("bridge", "host-local", "loopback", "portmap")
CNI_DIRS = ("/opt/cni", "/etc/cni", "/var/lib/cni")
SUBNET = "192.0.2.0/24"


def sha256(path):
    with open(path, "rb") as handle:
        return "sha256:" + hashlib.sha256(handle.read()).hexdigest()


def reference_plugins():
    return sorted(name for name in os.listdir(REFERENCE) if os.access(os.path.join(REFERENCE, name), os.X_OK))


def _add_bytes(tar, name, data, mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.mode, info.type, info.linkname, info.mtime = mode, kind, linkname, 1700000000
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def build_release(path, plugins=None):
    """An archive laid out as upstream's cni-plugins-linux-<arch>-<version>.tgz:
    ``./``, one ``./<plugin>`` per binary (0755), LICENSE and README.md."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        top = tarfile.TarInfo("./")
        top.type, top.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(top)
        for name in plugins or reference_plugins():
            with open(os.path.join(REFERENCE, name), "rb") as handle:
                _add_bytes(tar, "./" + name, handle.read(), mode=0o755)
        _add_bytes(tar, "./LICENSE", b"Apache License 2.0\n")
        _add_bytes(tar, "./README.md", b"Reference CNI plugins\n")
    return path


def build_bad(path, kind):
    """An archive with one unsafe member (next to a good ./bridge), or garbage."""
    if kind == "garbage":
        with open(path, "wb") as handle:
            handle.write(b"this is not a tar archive\n" * 100)
        return path
    if kind == "oversized":  # the header claims more than the limit; no data follows
        info = tarfile.TarInfo("./bridge")
        info.mode, info.size = 0o755, cni_archive.MAX_MEMBER_BYTES + 1
        with open(path, "wb") as handle:
            handle.write(info.tobuf(format=tarfile.GNU_FORMAT))
        return path
    with open(os.path.join(REFERENCE, "bridge"), "rb") as handle:
        bridge = handle.read()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        _add_bytes(tar, "./bridge", bridge, mode=0o755)
        if kind == "traversal":
            _add_bytes(tar, "./../../../opt/cni/bin/host-local", b"#!/bin/sh\n", mode=0o755)
        elif kind == "absolute":
            _add_bytes(tar, "/opt/cni/bin/host-local", b"#!/bin/sh\n", mode=0o755)
        elif kind == "symlink":
            _add_bytes(tar, "./host-local", b"", kind=tarfile.SYMTYPE, linkname="/usr/bin/env", mode=0o777)
        elif kind == "hardlink":
            _add_bytes(tar, "./host-local", b"", kind=tarfile.LNKTYPE, linkname="./bridge", mode=0o755)
        elif kind == "device":
            _add_bytes(tar, "./host-local", b"", kind=tarfile.CHRTYPE, mode=0o666)
        else:
            raise ValueError(kind)
    return path


BAD_KINDS = ("traversal", "absolute", "symlink", "hardlink", "device", "oversized", "garbage")


@pytest.fixture(scope="session")
def cni_archives(tmp_path_factory):
    """Paths of the archives, built once per session: ``full`` (every reference
    plugin), ``chain`` (bridge, host-local, loopback, portmap), ``bad[kind]``."""
    base = tmp_path_factory.mktemp("cni-archives")
    built = types.SimpleNamespace(
        full=build_release(str(base / "cni-plugins-linux-amd64-v1.1.1.tgz")),
        chain=build_release(str(base / "cni-plugins-chain.tgz"), CHAIN),
        bad={kind: build_bad(str(base / ("bad-%s.tgz" % kind)), kind) for kind in BAD_KINDS},
        dir=str(base))
    return built


def mount_tmpfs(path):
    os.makedirs(path, exist_ok=True)
    syscalls.mount("tmpfs", path, "tmpfs", 0)


@pytest.fixture
def cni_dirs(sandbox):
    """Private tmpfs over /opt/cni, /etc/cni and /var/lib/cni for this test
    (the test's mount namespace is private: the mounts vanish with it)."""
    for path in CNI_DIRS:
        mount_tmpfs(path)
    return sandbox


@pytest.fixture
def hidden_usr_lib_cni(sandbox):
    """An empty tmpfs over /usr/lib/cni: Debian's containerd searches it too."""
    syscalls.mount("tmpfs", REFERENCE, "tmpfs", 0)
    return sandbox


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    timeout = 5  # a stalled client cannot hold a handler thread for long

    def log_message(self, *args):
        pass


class _JoiningServer(http.server.ThreadingHTTPServer):
    # server_close() joins every handler thread: the test leaves its sandbox
    # with setns(), which the kernel refuses (EINVAL) while another thread of
    # the process is still alive.
    daemon_threads = False
    block_on_close = True


@contextlib.contextmanager
def serving(directory):
    """An HTTP server for ``directory`` on 127.0.0.1 in the current network
    namespace, in a thread; yields its base URL; always stopped."""
    server = _JoiningServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=directory))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_archives(sandbox, cni_archives):
    """The session's archives, served over HTTP from inside the sandbox: yields
    the base URL (``<url>/<archive file name>``)."""
    with serving(cni_archives.dir) as url:
        yield url


def conflist(name="testnet", subnet=SUBNET, bridge="cni0", version="1.0.0", extra_plugins=("portmap",)):
    """A bridge + host-local conflist with the given chained plugins."""
    plugins = [{"type": "bridge", "bridge": bridge, "isGateway": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]]}}]
    for plugin in extra_plugins:
        plugins.append({"type": plugin, "capabilities": {"portMappings": True}} if plugin == "portmap"
                       else {"type": plugin})
    return {"cniVersion": version, "name": name, "plugins": plugins}


def tree(path):
    """{relative path: (mode, sha256 or link target)} of everything under ``path``."""
    found = {}
    if not os.path.lexists(path):
        return found
    for root, dirs, names in os.walk(path):
        for name in dirs + names:
            full = os.path.join(root, name)
            info = os.lstat(full)
            if os.path.islink(full):
                value = "-> " + os.readlink(full)
            elif os.path.isfile(full):
                with open(full, "rb") as handle:
                    value = hashlib.sha256(handle.read()).hexdigest()
            else:
                value = "dir"
            found[os.path.relpath(full, path)] = (oct(info.st_mode), info.st_uid, value)
    return found


def copy_plugins(dest, names=CHAIN):
    os.makedirs(dest, exist_ok=True)
    for name in names:
        shutil.copy2(os.path.join(REFERENCE, name), os.path.join(dest, name))
    return dest
