"""make demo's last step: real traffic through what the recipe built (inside
the demo's sandbox). Prints one line per check; exits 1 if any fails."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "lib"))
from nat_traffic import ask, whoami_server  # noqa: E402


def ping(netns, address):
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["ping", "-n", "-q", "-c", "2", "-W", "2", address]
    return subprocess.run(argv, capture_output=True, timeout=20, check=False).returncode == 0


def main():
    checks = [
        ("scenario 1: red -> blue over the veth pair (192.0.2.2)", lambda: ping("red", "192.0.2.2")),
        ("scenario 2: container c1 -> c2 over v-net-0 (198.51.100.12)", lambda: ping("c1", "198.51.100.12")),
        ("scenario 3: host -> container c1 via the bridge address (198.51.100.11)",
         lambda: ping(None, "198.51.100.11")),
    ]
    results = [(text, check()) for text, check in checks]
    with whoami_server("wan", 7000):
        seen = ask("c1", "203.0.113.2", 7000)
    results.append(("scenario 4: c1 -> wan 203.0.113.2:7000, the wan sees %s (the node's uplink: masquerade)"
                    % seen, seen == "203.0.113.1"))
    with whoami_server("c1", 8080):
        seen = ask("wan", "203.0.113.1", 80)
    results.append(("scenario 4: wan -> node 203.0.113.1:80 answered by c1:8080, which saw %s (DNAT)" % seen,
                    seen == "203.0.113.2"))
    for text, ok in results:
        print("  %-5s %s" % ("ok" if ok else "FAIL", text))
    return 0 if all(ok for _text, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
