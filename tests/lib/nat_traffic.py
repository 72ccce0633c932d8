"""Real TCP between the sandbox's namespaces, bounded in count and time.

``whoami_server`` answers each client with the address it saw the client
come from: the proof of what NAT did on the way."""

import contextlib
import subprocess
import sys
import time

SERVER = r"""
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(8)
srv.settimeout(20)
print("ready", flush=True)
for _ in range(count):
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        break
    conn.sendall(peer[0].encode())
    conn.close()
"""

CLIENT = r"""
import socket, sys
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
print(sock.recv(100).decode())
"""


def _in(netns, argv):
    return (["ip", "netns", "exec", netns] if netns else []) + argv


@contextlib.contextmanager
def whoami_server(netns, port, host="0.0.0.0", count=8):
    """A server in ``netns`` for at most ``count`` clients and 20 s idle."""
    proc = subprocess.Popen(_in(netns, [sys.executable, "-c", SERVER, host, str(port), str(count)]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline().strip()
        assert ready == "ready", proc.stderr.read()
        yield
    finally:
        proc.kill()
        proc.wait(timeout=10)


def ask(netns, address, port):
    """What the server at address:port says (the client address it saw), or None."""
    proc = subprocess.run(_in(netns, [sys.executable, "-c", CLIENT, address, str(port)]),
                          capture_output=True, text=True, timeout=15, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def wait_until(predicate, seconds=5.0):
    """Poll a condition, bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
