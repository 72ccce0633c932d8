# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible side of every module: engine outcome -> exit_json / fail_json."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import (
    ApplyError, MissingLibrary, NetplumbError, ParamError)

PYROUTE2_HINT = ("python3-pyroute2 (Debian, Ubuntu, Fedora, EL with EPEL) or "
                 "'pip install pyroute2' into the Python that Ansible uses")


def missing_library(library):
    """Ansible's missing_required_lib wording, without the node's hostname:
    the machine's own name is not the inventory host the user knows."""
    return ("Failed to import the required Python library (%s) on the node's Python %s. Install %s. If it is "
            "installed, Ansible is using another Python: set ansible_python_interpreter."
            % (library, sys.executable, PYROUTE2_HINT))


def run_module(module, resource):
    try:
        outcome = engine.run(resource, module.params, check_mode=module.check_mode)
    except ParamError as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    except MissingLibrary as exc:
        module.fail_json(msg=missing_library(exc.library), exception=str(exc.exception))
    except ApplyError as exc:
        module.fail_json(msg=str(exc), failed_operation=exc.failed.as_dict(),
                         rolled_back=exc.rolled_back, not_undone=exc.not_undone,
                         rollback_errors=exc.rollback_errors, mismatches=getattr(exc, "mismatches", []))
    except (NetplumbError, OSError) as exc:
        module.fail_json(msg=str(exc))
    for warning in outcome.warnings:
        module.warn(warning)
    result = dict(changed=outcome.changed, operations=outcome.operations)
    result.update(outcome.extra)
    if module._diff and outcome.before is not None:
        result["diff"] = {"before": outcome.before, "after": outcome.after}
    module.exit_json(**result)
