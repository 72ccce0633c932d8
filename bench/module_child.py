"""One container_net module run per line of work, in a Python of its own: the
module's main() cold on n containers, then again with nothing to change;
prints JSON {cold, nochange, maxrss_kb}. Run by bench/run.py inside the
sandbox it made (the bridge of cases.GROWTH_NET exists).

    python bench/module_child.py N
"""

import json
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(os.path.dirname(HERE), ".build", "collections"), HERE]

import cases  # noqa: E402
from modulerun import module_run  # noqa: E402


def main(n):
    params = {"bridge": cases.BRIDGE, "gateway": cases.GROWTH_GATEWAY, "containers": cases.growth_containers(n)}
    cold, result = module_run(params)
    nochange, again = module_run(params)
    assert result["changed"] and not again["changed"]
    print(json.dumps({"cold": cold, "nochange": nochange,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
