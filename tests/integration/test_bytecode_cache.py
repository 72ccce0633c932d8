"""The node's bytecode cache (plugins/module_utils/core/bytecode.py): a module
run imports netplumb's module_utils from its payload (Ansible's own zip,
built here as Ansible builds it) compiling them once, and from the cache on
the runs after; every file and directory it would trust is checked, and
anything in doubt is compiled again, not loaded. A playbook run writes the
cache where the module runs (the sandbox's view of /var/cache)."""

import json
import os
import subprocess
import sys

import pytest

from netplumb_testlib import COLLECTIONS, PYTHON, ROOT

from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode

PAYLOAD = os.path.join(ROOT, "bench", "payload.py")
MODULE = "netplumb.linux.node_network"
# What a module file imports of netplumb (the first line is the cache's).
IMPORT = ("from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode\n"
          "from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module\n"
          "from ansible_collections.netplumb.linux.plugins.module_utils.node_network import node_network\n")
# Every file Python compiles, by its name inside the payload.
WATCH = ("import builtins\n"
         "compiled = []\n"
         "def watch(source, filename, *args, _compile=builtins.compile, **kwargs):\n"
         "    compiled.append(str(filename).split('.zip/')[-1])\n"
         "    return _compile(source, filename, *args, **kwargs)\n"
         "builtins.compile = watch\n")
# What the payload's Python compiles before the cache is there: the packages above it, and it.
BEFORE = {"ansible_collections/__init__.py", "ansible_collections/netplumb/__init__.py",
          "ansible_collections/netplumb/linux/__init__.py", "ansible_collections/netplumb/linux/plugins/__init__.py",
          "ansible_collections/netplumb/linux/plugins/module_utils/__init__.py",
          "ansible_collections/netplumb/linux/plugins/module_utils/core/__init__.py",
          "ansible_collections/netplumb/linux/plugins/module_utils/core/bytecode.py"}
REPORT = ("import json, sys\n"
          "mods = [m for m in sys.modules if m.startswith(bytecode.PREFIX)]\n"
          "print(json.dumps(dict(bytecode.STATS, modules=len(mods),\n"
          "    filename=node_network.plan.__code__.co_filename,\n"
          "    python_compiled=sorted(set(n for n in compiled if n.startswith('ansible_collections/'))),\n"
          "    cached=any(isinstance(f, bytecode.Finder) for f in sys.meta_path))))\n")


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    """node_network's payload zip, as Ansible builds it for the node."""
    path = str(tmp_path_factory.mktemp("payload") / "payload.zip")
    subprocess.run([PYTHON, PAYLOAD, "--zip", path, MODULE], check=True, timeout=120,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS))
    return path


def _import(payload, cache, **env):
    """A fresh Python importing node_network's module_utils from ``payload``
    as the module does; what the cache did."""
    code = "import sys\nsys.path.insert(0, %r)\n%s%s%s" % (payload, WATCH, IMPORT, REPORT)
    environ = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    environ.update({bytecode.ENV: cache}, **env)
    proc = subprocess.run([PYTHON, "-c", code], env=environ, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _entries(cache):
    return sorted(os.listdir(cache))


def test_a_payload_compiles_once_then_loads_from_the_cache(payload, tmp_path):
    cache = str(tmp_path / "cache")
    first = _import(payload, cache)
    # Every netplumb module_utils file but the package core and this module (loaded before the cache).
    assert first["cached"] and first["modules"] > 30
    assert first["compiled"] == first["written"] == first["modules"] - 2 and first["loaded"] == 0
    assert len(_entries(cache)) == first["written"]
    info = os.stat(cache)
    assert oct(info.st_mode & 0o777) == "0o700" and info.st_uid == 0
    assert all(oct(os.stat(os.path.join(cache, e)).st_mode & 0o777) == "0o600" for e in _entries(cache))
    second = _import(payload, cache)
    assert second["loaded"] == first["compiled"] and second["compiled"] == second["written"] == 0
    # Python compiled nothing of netplumb but what it imported before the cache was there.
    assert set(second["python_compiled"]) == BEFORE, second["python_compiled"]
    # Without the cache, Python compiles every file (Python 3.11's zip importer twice: to name it, then to load it).
    assert len(_import(payload, "off")["python_compiled"]) == first["modules"] + len(BEFORE) - 2
    # Named by the file's place in the payload, the same from run to run.
    assert second["filename"] == first["filename"] == \
        "ansible_collections/netplumb/linux/plugins/module_utils/node_network/node_network.py"


def test_a_changed_file_compiles_anew(payload, tmp_path):
    import zipfile
    cache = str(tmp_path / "cache")
    first = _import(payload, cache)
    changed = str(tmp_path / "changed.zip")
    name = "ansible_collections/netplumb/linux/plugins/module_utils/kernel/model.py"
    with zipfile.ZipFile(payload) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data + b"\n# another version\n" if item.filename == name else data)
    again = _import(changed, cache)
    assert again["compiled"] == again["written"] == 1 and again["loaded"] == first["compiled"] - 1


@pytest.mark.parametrize("spoil, why", [
    (lambda path: os.chmod(path, 0o666), "writable by others"),
    (lambda path: os.chown(path, 65534, 65534), "not root's"),
    (lambda path: os.truncate(path, 40), "cut short"),
    (lambda path: open(path, "r+b").write(b"\0\0\0\0"), "of another Python"),
    (lambda path: (os.unlink(path), os.symlink("/etc/hostname", path)), "a link"),
])
def test_an_entry_in_doubt_is_compiled_again_and_replaced(payload, tmp_path, spoil, why):
    cache = str(tmp_path / "cache")
    first = _import(payload, cache)
    entry = os.path.join(cache, _entries(cache)[0])
    spoil(entry)
    again = _import(payload, cache)
    assert again["compiled"] == again["written"] == 1, why
    assert again["loaded"] == first["compiled"] - 1, why
    info = os.lstat(entry)
    assert info.st_uid == 0 and oct(info.st_mode & 0o777) == "0o600" and not os.path.islink(entry), why


@pytest.mark.parametrize("spoil, why", [
    (lambda cache, top: os.chmod(cache, 0o770), "the cache writable by its group"),
    (lambda cache, top: os.chmod(top, 0o777), "a directory above it writable by anyone, without the sticky bit"),
    (lambda cache, top: os.chown(top, 65534, 65534), "a directory above it not root's"),
    (lambda cache, top: (os.rename(cache, cache + ".real"), os.symlink(cache + ".real", cache)), "a link"),
])
def test_a_directory_in_doubt_is_not_used(payload, tmp_path, spoil, why):
    top = tmp_path / "top"
    top.mkdir(mode=0o755)
    cache = str(top / "cache")
    _import(payload, cache)
    spoil(cache, str(top))
    again = _import(payload, cache)
    assert not again["cached"] and again["loaded"] == again["compiled"] == again["written"] == 0, why


def test_a_sticky_directory_above_it_is_trusted(payload, tmp_path):
    top = tmp_path / "tmp"
    top.mkdir()
    os.chmod(str(top), 0o1777)
    first = _import(payload, str(top / "cache"))
    assert first["cached"] and first["written"] > 30


def test_off_relative_or_no_writes(payload, tmp_path):
    assert not _import(payload, "off")["cached"]
    assert not _import(payload, "relative/path")["cached"]
    cache = str(tmp_path / "cache")
    # PYTHONDONTWRITEBYTECODE: no directory made, no entry written, the entries there read.
    assert not _import(payload, cache, PYTHONDONTWRITEBYTECODE="1")["cached"] and not os.path.exists(cache)
    written = _import(payload, cache)["written"]
    os.unlink(os.path.join(cache, _entries(cache)[0]))
    readonly = _import(payload, cache, PYTHONDONTWRITEBYTECODE="1")
    assert readonly["loaded"] == written - 1 and readonly["compiled"] == 1 and readonly["written"] == 0
    assert len(_entries(cache)) == written - 1


def test_code_not_from_a_payload_is_left_to_python():
    """The controller, the tests, ansible-test: netplumb imported from files."""
    assert not any(isinstance(finder, bytecode.Finder) for finder in sys.meta_path)


def test_a_playbook_run_keeps_the_cache_on_the_node(sandbox, monkeypatch):
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as on a node (the module inherits it here)
    cache = bytecode.CACHE_DIR  # in the sandbox's view of /var/cache
    task = [{"netplumb.linux.netns": {"name": "bc"}}]
    first = sandbox.playbook(task)
    assert first.changed == 1, first
    entries = _entries(cache)
    assert entries and all(os.stat(os.path.join(cache, e)).st_uid == 0 for e in entries)
    again = sandbox.playbook(task)
    assert again.changed == 0 and _entries(cache) == entries, again
    assert sandbox.netns_list() == ["bc"]


def test_a_file_the_zip_holds_compiled_only_loads_as_python_loads_it(payload, tmp_path):
    """No payload of Ansible's is made so, but a zip may hold a module as
    bytecode alone: it is loaded from the zip, and the rest from the cache."""
    import py_compile
    import zipfile
    name = "ansible_collections/netplumb/linux/plugins/module_utils/kernel/model.py"
    source, compiled = tmp_path / "model.py", tmp_path / "model.pyc"
    changed = str(tmp_path / "compiled.zip")
    with zipfile.ZipFile(payload) as zipped, zipfile.ZipFile(changed, "w") as target:
        source.write_bytes(zipped.read(name))
        py_compile.compile(str(source), cfile=str(compiled), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        for item in zipped.infolist():
            if item.filename == name:
                target.writestr(name + "c", compiled.read_bytes())
            else:
                target.writestr(item, zipped.read(item))
    cache = str(tmp_path / "cache")
    first = _import(changed, cache)
    assert first["cached"] and first["compiled"] == first["modules"] - 3 and first["loaded"] == 0
    assert name not in first["python_compiled"]
