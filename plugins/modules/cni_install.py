#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cni_install
short_description: Install CNI plugin binaries into a bin dir
description:
  - Installs CNI plugin binaries into O(bin_dir) from a release archive (as upstream's
    C(cni-plugins-linux-<arch>-<version>.tgz)), from an C(http://) or C(https://) URL of one, or from a directory
    of binaries; or, with O(state=absent), removes exactly the plugins named in O(plugins).
  - The source is checked completely before anything is written. O(checksum) is verified first;
    then every archive member, and one unsafe member rejects the whole archive (absolute paths,
    C(..), symlinks, hard links, devices, members over 256 MiB). A rejected source changes nothing.
  - A plugin is an executable regular file at the top of the archive or directory; other files
    (C(LICENSE), C(README.md)) are not installed.
  - Each binary is written atomically (a temp file in O(bin_dir), fsync, rename), mode C(0755),
    owner root. A binary whose content, mode and owner are already right is not rewritten.
  - Each installed plugin is asked for its supported CNI spec versions (C(CNI_COMMAND=VERSION));
    the answers are returned in RV(plugins). A plugin not installed yet is asked from a private
    temporary copy, so check mode reports the same.
  - Warns when O(bin_dir) ends up without the C(loopback) plugin, which containerd and CRI-O run
    for every pod.
notes:
  - Files are never written through a link planted in O(bin_dir). Each binary goes to a new temp file
    (created with C(O_EXCL|O_NOFOLLOW)) renamed over the target, so a symlink or hard link at a plugin's name
    is replaced, never followed; a mode or owner is set with C(fchmod)/C(fchown) on the file itself, and a
    binary that is a hard link (another name of a file elsewhere) is rewritten as a new file instead.
  - O(bin_dir) itself being a symlink (for example to a distribution's C(/usr/lib/cni)) is read through,
    so a run with nothing to change passes, but the module does not write or delete through it and fails
    naming the link; set O(bin_dir) to the real directory to manage the files there. A symlink among
    O(bin_dir)'s parents is followed only when only root could have made it (owned by root, in a
    directory no one else can write to, or a sticky one); any other fails naming the link.
  - Modes and owners are set explicitly (C(0755), root; created directories C(0755)), whatever the umask.
version_added: "0.1.0"
author: netplumb contributors (@netplumb)
extends_documentation_fragment:
  - netplumb.linux.common
attributes:
  check_mode:
    support: full
    description: Reads and checks the source (downloading a URL) and reports exactly the files a real
      run would write or delete; writes nothing in O(bin_dir).
  diff_mode:
    support: full
    description: Shows each plugin in O(bin_dir) (sha256, mode, owner) before and after.
  platform:
    support: full
    platforms: Linux
    description: Runs on the managed node as root.
options:
  src:
    description:
      - Where the plugins come from, on the managed node. Required when O(state=present).
      - The absolute path of a release archive (tar, optionally gzip, bzip2 or xz compressed).
      - An C(http://) or C(https://) URL of such an archive, fetched with Ansible's URL helpers
        (proxy settings from the environment apply); O(checksum) is then required.
      - The absolute path of a directory of plugin binaries (for example C(/usr/lib/cni) of a
        distribution package).
    type: str
  checksum:
    description:
      - C(sha256:<64 hex digits>) of the archive, verified before anything is read from it.
      - Required when O(src) is a URL; not allowed when O(src) is a directory.
    type: str
  plugins:
    description:
      - The plugins to install, by name (V(bridge), V(host-local), V(loopback)). Omitted, every plugin in O(src).
      - With O(state=absent), the plugins to remove (required then).
    type: list
    elements: str
  bin_dir:
    description: The directory the plugins go to, as runtimes search it. Created (mode C(0755)) when missing.
    type: path
    default: /opt/cni/bin
  timeout:
    description: Seconds to wait for the server when O(src) is a URL (connecting, and each read).
    type: int
    default: 120
  state:
    description: V(absent) removes exactly the plugins named in O(plugins) from O(bin_dir); other files stay.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: netplumb.linux.cni_config
  - module: netplumb.linux.cni_check
  - name: ansible.builtin.unarchive
    description: Unpacking a release archive, which this module does with a checksum first and without extracting to disk.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/unarchive_module.html
'''

EXAMPLES = r'''
- name: The upstream release, only the plugins this node needs
  netplumb.linux.cni_install:
    src: https://github.com/containernetworking/plugins/releases/download/v1.4.0/cni-plugins-linux-amd64-v1.4.0.tgz
    # the digest from the release's .sha256 file, kept in the inventory
    checksum: "sha256:{{ cni_plugins_sha256 }}"
    plugins: [bridge, host-local, portmap, loopback]

- name: From the distribution's package (Debian's containernetworking-plugins)
  netplumb.linux.cni_install:
    src: /usr/lib/cni
    bin_dir: /opt/cni/bin

- name: Remove a plugin
  netplumb.linux.cni_install:
    plugins: [portmap]
    state: absent
'''

RETURN = r'''
operations:
  description: The planned file operations, in order; applied unless in check mode. Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample:
    - op: file_write
      netns: null
      target: /opt/cni/bin/bridge
      args: {size: 2943104, sha256: 0f3e..., mode: "0755", owner: "0:0"}
      description: write /opt/cni/bin/bridge (2943104 bytes, mode 0755, owner 0:0)
plugins:
  description:
    - The plugins installed by this call (all of them, changed or not), by name, with their path, sha256
      and what they report for C(CNI_COMMAND=VERSION). Empty with O(state=absent).
    - C(supported_versions) is null when a binary does not answer (with a warning).
  returned: always
  type: dict
  sample:
    bridge:
      path: /opt/cni/bin/bridge
      sha256: 0f3e...
      supported_versions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]
bin_dir:
  description: The bin dir.
  returned: always
  type: str
  sample: /opt/cni/bin
source:
  description:
    - What O(src) was, with O(state=present) - its C(kind) (V(url), V(archive) or V(directory)); for an archive or a
      download its C(size) in bytes, its C(sha256), and whether O(checksum) was verified against it
      (C(checksum_verified)).
  returned: when O(state=present)
  type: dict
  sample: {src: "https://github.com/containernetworking/plugins/releases/download/v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz",
           kind: url, size: 36336160, sha256: b275772d..., checksum_verified: true}
rolled_back:
  description: On failure, the undo operations that were applied, in the order they ran.
  returned: failure after a partial apply
  type: list
  elements: str
not_undone:
  description: On failure, the applied operations that cannot be undone.
  returned: failure after a partial apply
  type: list
  elements: str
rollback_errors:
  description: On failure, undo operations that themselves failed, with the reason.
  returned: failure after a partial apply
  type: list
  elements: str
mismatches:
  description: 'On a failed read-back after the apply, each difference, as C(field: wanted W, found F).'
  returned: failure of the read-back
  type: list
  elements: str
failed_operation:
  description: On failure, the operation that failed, in the form of an C(operations) entry.
  returned: failure after a partial apply
  type: dict
field:
  description: On a bad parameter or source (a checksum that does not match, an unsafe archive), its name.
  returned: failure on bad input
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible.module_utils.urls import fetch_url

# First of netplumb: the rest loads through the node's bytecode cache (core/bytecode.py).
from ansible_collections.netplumb.linux.plugins.module_utils.core import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netplumb.linux.plugins.module_utils.cni import archive as cni_archive
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from ansible_collections.netplumb.linux.plugins.module_utils.core.runner import run_module

CHUNK = 1 << 20


def download(module, url):
    """The archive at ``url`` as bytes, through Ansible's URL helpers, size-bounded."""
    response, info = fetch_url(module, url, timeout=module.params["timeout"])
    if response is None or info.get("status") != 200:
        raise ParamError("src", url, "could not be downloaded: HTTP %s %s" % (info.get("status"), info.get("msg", "")))
    chunks, size = [], 0
    try:
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > cni_archive.MAX_ARCHIVE_BYTES:
                raise ParamError("src", url, "is larger than %d bytes" % cni_archive.MAX_ARCHIVE_BYTES)
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="str"),
            checksum=dict(type="str"),
            plugins=dict(type="list", elements="str"),
            bin_dir=dict(type="path", default="/opt/cni/bin"),
            timeout=dict(type="int", default=120),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ("src",)), ("state", "absent", ("plugins",))],
        supports_check_mode=True,
    )
    if module.params["timeout"] <= 0:
        module.fail_json(msg="timeout: %r must be a positive number of seconds" % module.params["timeout"],
                         field="timeout")
    # A password in the URL (https://user:secret@host/...) is a secret: masked in every output.
    secret = urlsplit(module.params["src"] or "").password
    if secret:
        module.no_log_values.add(secret)
    run_module(module, cni_install.with_download(lambda url: download(module, url)))


if __name__ == "__main__":
    main()
