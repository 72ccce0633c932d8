"""Ansible's build of a module's AnsiballZ payload on the controller, the
first time in a run (each ansible-playbook run builds each module's payload
once, in the worker of the first task that uses it): milliseconds and the
payload's size, in a Python of its own; with --files, the module_utils files
of the payload instead, a line each; with --zip PATH, the payload's zip (what
the node imports the module_utils from) written to PATH; with --paused, built
with the garbage collector paused, as netplumb's action plugins build it
(plugins/plugin_utils/module_action.py).

    python bench/payload.py netplumb.linux.node_network     (prints JSON)
    python bench/payload.py --paused netplumb.linux.node_network
    python bench/payload.py --files netplumb.linux.node_network
    python bench/payload.py --zip /tmp/payload.zip netplumb.linux.node_network
"""

import base64
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
import zipfile


def main(name, files=False, zip_path=None, paused=False):
    # Ansible keeps the payload it built there; a new one each run, so it builds.
    with tempfile.TemporaryDirectory(prefix="netplumb-bench-payload-") as tmp:
        os.environ["ANSIBLE_LOCAL_TEMP"] = tmp
        _build(name, files, zip_path, paused)


def _build(name, files, zip_path, paused):
    from ansible import constants
    from ansible.executor.module_common import modify_module
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader, module_loader
    from ansible.template import Templar
    from ansible.utils.collection_loader._collection_finder import _get_collection_metadata
    init_plugin_loader()
    found = module_loader.find_plugin_with_context(name)
    # Every payload looks names of Ansible's own module_utils up in
    # ansible.builtin's routing, which a run reads once (about 65 ms of YAML).
    # Finding ansible.builtin.ping reads it, finding a collection's module does
    # not: read first for every module, so that each row times the build alone.
    _get_collection_metadata("ansible.builtin")
    from ansible_collections.netplumb.linux.plugins.plugin_utils.module_action import collector_paused
    pause = collector_paused() if paused else contextlib.nullcontext()
    start = time.perf_counter()
    with pause:
        built = modify_module(module_name=found.resolved_fqcn, module_path=found.plugin_resolved_path, module_args={},
                              templar=Templar(loader=DataLoader()),
                              task_vars={"ansible_python_interpreter": sys.executable},
                              module_compression=constants.config.get_config_value("DEFAULT_MODULE_COMPRESSION"))
    seconds = time.perf_counter() - start
    if files or zip_path:
        data = base64.b64decode(re.search(r"zip_data='([^']*)'", built.b_module_data.decode()).group(1))
        if zip_path:
            with open(zip_path, "wb") as handle:
                handle.write(data)
        else:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
            print("\n".join(sorted(path for path in names if "/module_utils/" in path)))
    else:
        print(json.dumps({"seconds": seconds, "bytes": len(built.b_module_data)}))


if __name__ == "__main__":
    options = sys.argv[1:-1]
    main(sys.argv[-1], files="--files" in options,
         zip_path=options[options.index("--zip") + 1] if "--zip" in options else None, paused="--paused" in options)
