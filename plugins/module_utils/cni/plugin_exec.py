# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running CNI plugin binaries the way libcni does: the binary found in the
plugin path, the command and its arguments in CNI_* variables, the network
config on stdin, the result (or a CNI error object) as JSON on stdout.

Argument lists only, never a shell; every call is bounded by a timeout.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import PluginError

DEFAULT_BIN_DIR = "/opt/cni/bin"
DEFAULT_CONF_DIR = "/etc/cni/net.d"
VERSION_TIMEOUT = 10
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def not_found_message(plugin_type, paths):
    """libcni's own words (invoke.FindInPath), so users recognise them."""
    return 'failed to find plugin "%s" in path [%s]' % (plugin_type, " ".join(paths))


def find(plugin_type, paths):
    """The plugin's path in the first of ``paths`` that has it, or None."""
    for directory in paths:
        candidate = os.path.join(directory, plugin_type)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def version_tuple(text):
    match = _SEMVER.fullmatch(text) if isinstance(text, str) else None
    return tuple(int(part) for part in match.groups()) if match else None


def invoke(path, command, config, env=None, timeout=60):
    """Run plugin ``path`` for ``command`` with ``config`` (a dict) on stdin.
    Returns the parsed stdout (None when empty); raises PluginError with the
    plugin's CNI error message when it fails."""
    plugin_env = {"PATH": os.environ.get("PATH", _PATH), "CNI_COMMAND": command}
    plugin_env.update(env or {})
    name = os.path.basename(path)
    try:
        proc = subprocess.run([path], input=json.dumps(config).encode(), env=plugin_env,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PluginError('plugin "%s" did not finish %s within %d s' % (name, command, timeout))
    except OSError as exc:
        raise PluginError('cannot run plugin "%s" (%s): %s' % (name, path, exc.strerror or exc))
    output = _json(proc.stdout)
    if proc.returncode != 0:
        raise PluginError('plugin "%s" failed %s: %s' % (name, command, _error_text(proc, output)))
    if proc.stdout.strip() and output is None:
        raise PluginError('plugin "%s" answered %s with something that is not JSON: %r'
                          % (name, command, proc.stdout[:200]))
    return output


# VERSION answers of this process (a module run), by the binary's identity:
# the read-back after an apply asks the same binaries again.
_ANSWERS = {}


def supported_versions(path, cni_version="1.0.0"):
    """What the plugin reports for CNI_COMMAND=VERSION: its supported spec versions."""
    try:
        info = os.stat(path)
    except OSError:
        return _ask_versions(path, cni_version)  # invoke names what is wrong with it
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, cni_version)
    if key not in _ANSWERS:
        _ANSWERS[key] = tuple(_ask_versions(path, cni_version))
    return list(_ANSWERS[key])


def _ask_versions(path, cni_version):
    answer = invoke(path, "VERSION", {"cniVersion": cni_version}, timeout=VERSION_TIMEOUT)
    versions = answer.get("supportedVersions") if isinstance(answer, dict) else None
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise PluginError('plugin "%s" did not answer CNI_COMMAND=VERSION with supportedVersions: %r'
                          % (os.path.basename(path), answer))
    return versions


def supported_versions_of_content(name, content):
    """supported_versions for a binary not installed yet: run from a private
    temporary copy that is removed right after."""
    tmp = tempfile.mkdtemp(prefix="netplumb-cni-version-")
    try:
        path = os.path.join(tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        return supported_versions(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _json(data):
    try:
        return json.loads(data.decode("utf-8", "replace")) if data.strip() else None
    except ValueError:
        return None


def _error_text(proc, output):
    if isinstance(output, dict) and output.get("msg"):
        text = output["msg"]
        if output.get("details"):
            text += "; " + str(output["details"])
        return "%s (CNI error code %s)" % (text, output.get("code"))
    text = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()
    return "exit status %d%s" % (proc.returncode, ": " + text[-2000:] if text else "")
