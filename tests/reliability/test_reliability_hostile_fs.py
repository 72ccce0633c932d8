"""A hostile filesystem: the collection writes as root into directories
others may write to, so each test plants one trap there (a symlink, a hard
link, a directory, a link swapped in between plan and apply, a narrow or
open umask) and proves that no write, chmod, chown or delete reaches outside:
the victim, a file or directory outside the collection's directories, keeps
its content, mode, owner, inode and link count; the target ends as the
collection's own regular file (one name, explicit mode, owner root); no temp
file is left; check mode predicted the run and a second run changes nothing.
Traps the collection refuses (the lock, a symlinked directory it would write
through) fail with a message naming the path, in check mode too.

A planted link is owned by uid 65534, as an attacker's would be: a symlink
only root could have made is the admin's layout and is followed on the way
to a directory (dirs.open_dir). Victims live under /run (a private tmpfs per
test), or next to the CNI directories on the same tmpfs for a hard link."""

import hashlib
import os
import shutil
import stat
import types

import pytest

from cni_fixtures import CHAIN, conflist, copy_plugins
from netplumb_testlib import descriptions
from reliability_lib import record, run_module, stray_files
import scenario

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config, cni_install, cri_trial, file_ops
from ansible_collections.netplumb.linux.plugins.module_utils.core import crashpoint, engine, lock
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ApplyError, NetplumbError

ATTACKER = 65534
VICTIMS = "/run/netplumb-victim"
BIN, CONF = "/opt/cni/bin", "/etc/cni/net.d"
CONFIG_PATH = CONF + "/10-pods.conflist"
CONFIG = {"name": "pods", "config": scenario.CONFLIST, "validate": False}
INSTALL = {"src": "/usr/lib/cni", "plugins": ["bridge", "loopback"]}


def _bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def victim_file(path, content=b"the victim's own data\n", mode=0o600, owner=1000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    os.chown(path, owner, owner)
    os.chmod(path, mode)
    return path


def look(path):
    """What must not change about a victim: content, mode, owner, inode, link count (a directory: its entries)."""
    info = os.lstat(path)
    what = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, info.st_ino, info.st_nlink)
    if stat.S_ISDIR(info.st_mode):
        return what + (sorted((name, look(os.path.join(path, name))) for name in os.listdir(path)),)
    return what + (hashlib.sha256(_bytes(path)).hexdigest(),)


def plant_symlink(path, target):
    os.symlink(target, path)
    os.lchown(path, ATTACKER, ATTACKER)


def temps():
    """Temp files under the node directories and the victims' (a planted trap itself excluded by the caller)."""
    found = stray_files()
    for base, _dirs, names in os.walk(VICTIMS):
        found += [os.path.join(base, n) for n in names if n.endswith(".tmp")]
    return found


def assert_own(path, mode, content=None):
    """``path`` is the collection's own regular file: one name, ``mode``, owner root."""
    info = os.lstat(path)
    assert stat.S_ISREG(info.st_mode) and info.st_nlink == 1, (path, info)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (mode, 0, 0), (path, info)
    if content is not None:
        assert _bytes(path) == content


def contract(module, params):
    """Check mode, the real run, a second run: the check predicted the run, the second changes nothing."""
    check = run_module(module, params, check_mode=True)
    real = run_module(module, params)
    again = run_module(module, params)
    assert check.rc == 0 and real.rc == 0 and again.rc == 0, (check, real, again)
    assert real.result["changed"] and descriptions(check.result) == descriptions(real.result), (check, real)
    assert again.result["changed"] is False, again
    return real


def refused(module, params, words):
    """Check mode and two real runs all fail with a message naming ``words``; no traceback."""
    runs = [run_module(module, params, check_mode=True), run_module(module, params), run_module(module, params)]
    for run in runs:
        assert run.rc != 0 and all(word in run.result.get("msg", "") for word in words), run
        assert "Traceback" not in run.stdout + run.stderr, run
    return runs[1]


def done(trap, victim_before, victim, temp_left):
    untouched = look(victim) == victim_before
    record("hostile_fs", trap, planted=1, victim_untouched=int(untouched), temp_left=len(temp_left))
    assert untouched, (victim_before, look(victim))
    assert temp_left == []


def config_content():
    return cni_config.parse(CONFIG).content


# -- a symlink or hard link at a target ---------------------------------------------------------


def test_symlink_at_a_config_target_is_replaced(sandbox):
    victim = victim_file(VICTIMS + "/victim.conf")
    before = look(victim)
    os.makedirs(CONF)
    plant_symlink(CONFIG_PATH, victim)
    real = contract("cni_config", CONFIG)
    assert "write %s" % CONFIG_PATH in descriptions(real.result)[0]
    assert_own(CONFIG_PATH, 0o644, config_content())
    done("symlink at a config target", before, victim, temps())


def test_symlink_at_a_plugin_binary_target_is_replaced(sandbox):
    victim = victim_file(VICTIMS + "/bridge", content=b"#!/bin/sh\necho victim\n", mode=0o700)
    before = look(victim)
    os.makedirs(BIN)
    plant_symlink(BIN + "/bridge", victim)
    contract("cni_install", INSTALL)
    assert_own(BIN + "/bridge", 0o755, _bytes("/usr/lib/cni/bridge"))
    done("symlink at a plugin binary target", before, victim, temps())


@pytest.mark.parametrize("module, directory, name, mode", [
    ("cni_config", "/etc/cni", "net.d/10-pods.conflist", 0o644),
    ("cni_install", "/opt/cni", "bin/bridge", 0o755),
])
def test_hard_link_at_a_target_with_another_mode_is_rewritten_not_chmodded(sandbox, module, directory, name, mode):
    """The victim has the target's content (so only the mode differs) and is
    linked in as the target: a chmod would change the victim; a new inode
    leaves it alone (its link count back to 1, as before the trap)."""
    content = config_content() if module == "cni_config" else _bytes("/usr/lib/cni/bridge")
    victim = victim_file(os.path.join(directory, "victim", os.path.basename(name)), content=content)
    before = look(victim)
    target = os.path.join(directory, name)
    os.makedirs(os.path.dirname(target))
    os.link(victim, target)
    real = contract(module, CONFIG if module == "cni_config" else INSTALL)
    assert "write %s" % target in "\n".join(descriptions(real.result))
    assert not any(d.startswith("set %s mode" % target) for d in descriptions(real.result))
    assert_own(target, mode, content)
    done("hard link at a %s target" % ("config" if module == "cni_config" else "binary"), before, victim, temps())


def test_symlink_at_the_sysctl_file_is_replaced(sandbox):
    victim = victim_file(VICTIMS + "/sysctl.conf", content=b"kernel.victim=1\n")
    before = look(victim)
    scenario.node_uplink(sandbox)
    plant_symlink(scenario.SYSCTL_FILE, victim)
    real = contract("node_network", scenario.node_network()[0][1])
    assert "write %s" % scenario.SYSCTL_FILE in "\n".join(descriptions(real.result))
    assert_own(scenario.SYSCTL_FILE, 0o644)
    assert b"net.ipv4.ip_forward=1" in _bytes(scenario.SYSCTL_FILE)
    done("symlink at the sysctl file", before, victim, temps())


@pytest.mark.parametrize("name", ["last_reserved_ip.0", "lock"])
def test_symlink_at_a_host_local_state_file_stops_cni_checks_trial(sandbox, name):
    """cni_check runs the real plugins as root; host-local writes its state
    files through whatever is at their names (lock: created if missing), so
    the trial does not run next to a planted link."""
    victim = victim_file(VICTIMS + "/" + name)
    before = look(victim)
    copy_plugins(BIN, CHAIN)
    directory = "/var/lib/cni/networks/testnet"
    os.makedirs(directory)
    plant_symlink(os.path.join(directory, name), victim)
    words = ["%s/%s is not a regular file" % (directory, name), "the trial does not run"]
    refused("cni_check", {"config": conflist()}, words)
    assert sorted(os.listdir(directory)) == [name]
    done("symlink at host-local's %s (cni_check)" % name.split(".")[0], before, victim, temps())


def test_symlink_at_the_networks_ipam_directory_stops_cni_checks_trial(sandbox):
    victim = VICTIMS + "/ipam"
    os.makedirs(victim)
    before = look(victim)
    copy_plugins(BIN, CHAIN)
    os.makedirs("/var/lib/cni/networks")
    plant_symlink("/var/lib/cni/networks/testnet", victim)
    refused("cni_check", {"config": conflist()}, ["/var/lib/cni/networks/testnet is a symbolic link"])
    done("symlink at host-local's network directory (cni_check)", before, victim, temps())


def test_symlink_at_a_predictable_temp_name_is_not_written_through(sandbox, monkeypatch):
    """The temp name the write picks first is taken by a planted symlink: the
    create (O_EXCL|O_NOFOLLOW) fails and the write takes another name; the
    plan deletes the planted name as a stale temp file (the name only)."""
    victim = victim_file(VICTIMS + "/victim.conf")
    before = look(victim)
    os.makedirs(CONF)
    planted = "%s/.10-pods.conflist.aaaaaaaa.tmp" % CONF
    plant_symlink(planted, victim)
    names = iter([os.path.basename(planted)])
    real_name = file_ops.temp_name
    monkeypatch.setattr(file_ops, "temp_name", lambda base: next(names, None) or real_name(base))
    check = engine.run(cni_config, CONFIG, check_mode=True)
    real = engine.run(cni_config, CONFIG)
    assert [op["description"] for op in real.operations] == [op["description"] for op in check.operations]
    assert "delete %s" % planted in [op["description"] for op in real.operations]
    assert next(names, "used") == "used"  # the planted name was tried
    assert not engine.run(cni_config, CONFIG).changed
    assert_own(CONFIG_PATH, 0o644, config_content())
    done("symlink at a predictable temp name", before, victim, temps())


# -- swapped in between plan and apply -------------------------------------------------------


def _swap_before(monkeypatch, prefix, swap):
    """Run ``swap()`` when the apply gate starts the op whose description starts with ``prefix``."""
    seen = []
    starting = crashpoint.starting

    def hook(what):
        if what.startswith(prefix) and not seen:
            seen.append(what)
            swap()
        starting(what)
    monkeypatch.setattr(crashpoint, "starting", hook)
    return seen


@pytest.mark.parametrize("link, old_mode, op", [
    ("symlink", 0o644, "write"),  # other content: a write is planned
    ("symlink", 0o600, "set"),  # same content, another mode: a mode change is planned
    ("hard link", 0o600, "set"),
])
def test_link_swapped_in_between_plan_and_apply(sandbox, monkeypatch, link, old_mode, op):
    victim = victim_file("/etc/cni/victim/victim.conf", content=config_content())
    before = look(victim)
    content = b"{}\n" if op == "write" else config_content()
    os.makedirs(CONF)
    victim_file(CONFIG_PATH, content=content, mode=old_mode, owner=0)

    def swap():
        os.unlink(CONFIG_PATH)
        if link == "symlink":
            plant_symlink(CONFIG_PATH, victim)
        else:
            os.link(victim, CONFIG_PATH)
    seen = _swap_before(monkeypatch, "%s %s" % (op, CONFIG_PATH), swap)
    check = engine.run(cni_config, CONFIG, check_mode=True)
    real = engine.run(cni_config, CONFIG)
    assert seen and [o["description"] for o in real.operations] == [o["description"] for o in check.operations]
    assert not engine.run(cni_config, CONFIG).changed
    assert_own(CONFIG_PATH, 0o644, config_content())
    done("%s swapped in before a %s" % (link, "write" if op == "write" else "mode change"), before, victim, temps())


def test_conf_dir_swapped_for_a_symlink_before_the_write_is_refused(sandbox, monkeypatch):
    os.makedirs(VICTIMS)
    before = look(VICTIMS)
    os.makedirs(CONF)

    def swap():
        os.rename(CONF, CONF + ".moved")
        plant_symlink(CONF, VICTIMS)
    _swap_before(monkeypatch, "write %s" % CONFIG_PATH, swap)
    with pytest.raises(ApplyError) as error:
        engine.run(cni_config, CONFIG)
    assert "%s is a symlink to %s" % (CONF, VICTIMS) in str(error.value), error.value
    monkeypatch.undo()
    with pytest.raises(NetplumbError, match="is a symlink to"):  # the next run refuses it at plan time
        engine.run(cni_config, CONFIG, check_mode=True)
    done("conf_dir swapped for a symlink before the write", before, VICTIMS, temps())


# -- removing: state absent, the ready file ------------------------------------------------------


@pytest.mark.parametrize("link", ["symlink", "hard link"])
def test_a_link_at_a_config_target_removed_by_absent_leaves_the_victim(sandbox, link):
    victim = victim_file("/etc/cni/victim.conf", content=config_content())
    before = look(victim)
    contract("cni_config", CONFIG)
    os.unlink(CONFIG_PATH)
    if link == "symlink":
        plant_symlink(CONFIG_PATH, victim)
    else:
        os.link(victim, CONFIG_PATH)
    gone = run_module("cni_config", dict(CONFIG, state="absent"))
    assert gone.rc == 0 and not os.path.lexists(CONFIG_PATH), gone
    done("%s at a config target, state absent" % link, before, victim, temps())


def test_a_link_at_a_plugin_binary_removed_by_absent_leaves_the_victim(sandbox):
    victim = victim_file(VICTIMS + "/bridge", content=_bytes("/usr/lib/cni/bridge"), mode=0o755, owner=0)
    before = look(victim)
    contract("cni_install", INSTALL)
    os.unlink(BIN + "/bridge")
    plant_symlink(BIN + "/bridge", victim)
    gone = run_module("cni_install", dict(INSTALL, state="absent"))
    assert gone.rc == 0 and not os.path.lexists(BIN + "/bridge"), gone
    done("symlink at a plugin binary, state absent", before, victim, temps())


def test_conf_dir_swapped_for_a_symlink_before_a_delete_is_refused(sandbox, monkeypatch):
    """The victims' directory holds a file of the config's own name: a
    delete through the planted link would remove it."""
    victim_file(VICTIMS + "/10-pods.conflist", content=config_content())
    before = look(VICTIMS)
    contract("cni_config", CONFIG)

    def swap():
        os.rename(CONF, CONF + ".moved")
        plant_symlink(CONF, VICTIMS)
    seen = _swap_before(monkeypatch, "delete %s" % CONFIG_PATH, swap)
    with pytest.raises(ApplyError) as error:
        engine.run(cni_config, dict(CONFIG, state="absent"))
    assert seen and "%s is a symlink to %s" % (CONF, VICTIMS) in str(error.value), error.value
    done("conf_dir swapped for a symlink before a delete", before, VICTIMS, temps())


@pytest.mark.parametrize("trap", ["symlink at cni_check's ready file", "symlink at the ready file's old temp name"])
def test_cni_checks_ready_file_is_its_own_file_whatever_is_planted(sandbox, trap):
    """cni_check writes the pod's address to ready_file while the pod is up,
    and removes it after."""
    victim = victim_file(VICTIMS + "/victim")
    before = look(victim)
    ready = "/run/netplumb-cri/ready.json"
    os.makedirs(os.path.dirname(ready))
    plant_symlink(ready if trap == "symlink at cni_check's ready file" else ready + ".tmp", victim)
    spec = types.SimpleNamespace(ready_file=ready, serve=0)
    pod = types.SimpleNamespace(ip="198.51.100.7", ips=["198.51.100.7"], netns="/run/netns/p", id="abc")
    cri_trial.while_up(spec, pod, [])
    assert_own(ready, 0o644, b'{"pod_ip": "198.51.100.7", "pod_ips": ["198.51.100.7"], "netns": "/run/netns/p", '
                             b'"sandbox_id": "abc"}')
    file_ops.remove(ready)
    assert not os.path.lexists(ready)
    left = [name for name in os.listdir(os.path.dirname(ready)) if name != "ready.json.tmp"]
    assert left == []
    done(trap, before, victim, temps())


# -- symlinked directories ---------------------------------------------------------------------


def test_symlink_for_conf_dirs_parent_planted_by_another_user_is_refused(sandbox):
    os.makedirs(VICTIMS)
    before = look(VICTIMS)
    plant_symlink("/etc/cni/custom", VICTIMS)
    params = dict(CONFIG, conf_dir="/etc/cni/custom/net.d")
    refused("cni_config", params, ["/etc/cni/custom -> %s" % VICTIMS, "owned by uid %d" % ATTACKER])
    done("symlink for conf_dir's parent", before, VICTIMS, temps())


def test_symlink_made_by_root_for_conf_dirs_parent_is_followed(sandbox):
    """An admin's layout (as /opt -> var/opt on an ostree system): root's link
    in a directory only root can change (here sticky) is followed."""
    os.makedirs("/run/netplumb-real")
    os.symlink("/run/netplumb-real", "/etc/cni/custom")
    contract("cni_config", dict(CONFIG, conf_dir="/etc/cni/custom/net.d"))
    assert_own("/run/netplumb-real/net.d/10-pods.conflist", 0o644, config_content())


def test_bin_dir_itself_a_symlink_is_read_through_and_not_written_through(sandbox, tmp_path):
    """/opt/cni/bin -> a distribution's plugin directory (a copy here): what is
    already right there is fine; a change there is refused."""
    distro = VICTIMS + "/lib-cni"
    os.makedirs(distro)
    for name in INSTALL["plugins"]:
        shutil.copy2("/usr/lib/cni/" + name, distro)
    os.symlink(distro, BIN)
    before = look(distro)
    same = run_module("cni_install", dict(INSTALL, src=distro))
    assert same.rc == 0 and same.result["changed"] is False, same
    other = str(tmp_path / "other")
    os.makedirs(other)
    victim_file(other + "/bridge", content=b"#!/bin/sh\nexit 0\n", mode=0o755, owner=0)
    refused("cni_install", {"src": other, "plugins": ["bridge"]}, ["%s is a symlink to %s" % (BIN, distro)])
    done("symlink at bin_dir itself", before, distro, temps())


# -- the lock ------------------------------------------------------------------------------------


@pytest.mark.parametrize("trap", ["symlink at the lock file", "hard link at the lock file",
                                  "symlink at the lock directory"])
def test_lock_traps_are_refused_and_never_truncated(sandbox, trap):
    victim = victim_file(VICTIMS + "/engine.lock", content=b"precious\n")
    before = look(victim)
    if trap == "symlink at the lock directory":
        plant_symlink(lock.LOCK_DIR, VICTIMS)
        words = [lock.LOCK_DIR, "symlink"]
    else:
        os.makedirs(lock.LOCK_DIR, 0o755)
        if trap == "symlink at the lock file":
            plant_symlink(lock.LOCK_PATH, victim)
            words = [lock.LOCK_PATH, "symlink"]
        else:
            os.link(victim, lock.LOCK_PATH)
            words = [lock.LOCK_PATH, "2 names"]
    refused("cni_config", CONFIG, words)
    assert not os.path.lexists(CONF)
    os.unlink(lock.LOCK_DIR if trap == "symlink at the lock directory" else lock.LOCK_PATH)
    contract("cni_config", CONFIG)  # the trap removed, the same run goes through
    assert_own(lock.LOCK_PATH, 0o644)
    done(trap, before, victim, temps())


# -- a directory at a target, failures half way --------------------------------------------------


def test_directory_at_a_config_target_is_refused(sandbox):
    os.makedirs(CONFIG_PATH + "/inside")
    victim_file(CONFIG_PATH + "/inside/data")
    before = look(CONFIG_PATH)
    refused("cni_config", CONFIG, [CONFIG_PATH, "not a regular file"])
    done("directory at a config target", before, CONFIG_PATH, temps())


def test_directory_planted_at_a_target_before_the_rename_leaves_no_temp_file(sandbox, monkeypatch):
    os.makedirs(CONF)
    victim = victim_file(CONFIG_PATH + ".victim")
    before = look(victim)

    def plant():
        os.makedirs(CONFIG_PATH + "/inside")
        os.rename(victim, CONFIG_PATH + "/inside/data")
    _swap_before(monkeypatch, "write %s" % CONFIG_PATH, plant)
    with pytest.raises(ApplyError):
        engine.run(cni_config, CONFIG)
    assert os.listdir(CONF) == ["10-pods.conflist"]
    done("directory planted at a target before the rename", before, CONFIG_PATH + "/inside/data", temps())


@pytest.mark.parametrize("call", ["fchown", "fsync", "rename"])
def test_a_write_failing_half_way_leaves_no_temp_file(sandbox, monkeypatch, call):
    os.makedirs(BIN)
    real = getattr(os, call)

    def failing(*args, **kwargs):
        if call != "fsync" or os.path.isfile("/proc/self/fd/%d" % args[0]):
            raise OSError(5, "%s fails on purpose" % call)
        return real(*args, **kwargs)
    monkeypatch.setattr(file_ops.os, call, failing)
    with pytest.raises(ApplyError):
        engine.run(cni_install, INSTALL)
    monkeypatch.undo()
    assert os.listdir(BIN) == [] and temps() == []


# -- the umask -------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o077, 0o000])
def test_modes_and_owners_are_explicit_whatever_the_umask(sandbox, umask):
    old = os.umask(umask)
    try:
        install = contract("cni_install", dict(INSTALL, bin_dir="/opt/cni/new/bin"))
        config = contract("cni_config", dict(CONFIG, conf_dir="/etc/cni/new/net.d"))
    finally:
        os.umask(old)
    assert install.rc == 0 and config.rc == 0
    wrong = []
    for path, mode in [("/opt/cni/new", 0o755), ("/opt/cni/new/bin", 0o755), ("/opt/cni/new/bin/bridge", 0o755),
                       ("/opt/cni/new/bin/loopback", 0o755), ("/etc/cni/new", 0o755), ("/etc/cni/new/net.d", 0o755),
                       ("/etc/cni/new/net.d/10-pods.conflist", 0o644), (lock.LOCK_DIR, 0o755),
                       (lock.LOCK_PATH, 0o644)]:
        info = os.lstat(path)
        if (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) != (mode, 0, 0):
            wrong.append("%s %04o %d:%d" % (path, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid))
    left = temps()
    record("hostile_fs", "umask %04o" % umask, planted=1, victim_untouched=1, temp_left=len(left),
           wrong_mode_or_owner=len(wrong))
    assert wrong == [] and left == []
