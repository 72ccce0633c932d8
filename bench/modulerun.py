"""container_net's module main() in this process, as AnsiballZ runs it once
Python and Ansible are loaded (shared by run.py and module_child.py)."""

import contextlib
import io
import json
import time


def module_run(params, check=False):
    """The module's main() in this process, as AnsiballZ runs it once Python and
    Ansible are loaded: argument checks, the engine, the JSON result."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    from ansible_collections.netplumb.linux.plugins.modules import container_net as module
    args = dict(params, _ansible_check_mode=check, _ansible_diff=False)
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    basic._ANSIBLE_PROFILE = "legacy"  # what ansible-core 2.19 hands modules by default
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - start
    result = json.loads(out.getvalue())
    if result.get("failed"):
        raise RuntimeError(result.get("msg"))
    return elapsed, result
