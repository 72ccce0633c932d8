"""The kubelet's own path: pod sandboxes through containerd's CRI plugin
(tests/lib/cri_fixtures.py: a private containerd in the test's sandbox, a
pause image built here from busybox-static).

cni_check with runtime: cri (engine and module) gets a pod IP from the
config's range, and leaves no lease, veth, netns or port mapping; a pod held
up answers ping from the node and its hostPort answers from another
namespace through portmap; held by cni_check itself (serve, ready_file, as
verify.yml runs it on the lab), the pod answers the wan through its hostPort
before it goes, and a connection that never comes fails the check within its
timeout. The seed's failure: a hand-written conflist
naming aws-cni makes RunPodSandbox fail with the runtime's words and leaves a
sandbox that cannot be stopped; cni_config refuses the same config with the
same words; the node recovers once the collection's config is back.

gRPC runs only in forked children (in_child): its threads would keep the
test from leaving its sandbox."""

import ipaddress
import json
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_check
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_config
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cni_install
from ansible_collections.netplumb.linux.plugins.module_utils.cni import cri
from ansible_collections.netplumb.linux.plugins.module_utils.core import engine
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError
from cni_fixtures import (  # pylint: disable=unused-import # noqa: F401
    cni_archives, cni_dirs, conflist, hidden_usr_lib_cni, sha256)
from cri_fixtures import cri_containerd, in_child  # pylint: disable=unused-import # noqa: F401

SUBNET = "198.51.100.0/24"
HOST_PORT, POD_PORT = 8080, 80
WAN = ("203.0.113.1", "203.0.113.2")  # the node's side and the wan's side of a link to a "wan" namespace
SEED_WORDS = 'failed to find plugin "aws-cni" in path [/opt/cni/bin]'
RUN_TIMEOUT = 60

pytestmark = pytest.mark.skipif(not shutil.which("containerd") or not shutil.which("ctr"),
                                reason="containerd and ctr are in the Makefile's APT_PACKAGES")


def podnet():
    """bridge + host-local + portmap, pods routed through the bridge (so they answer the wan)."""
    config = conflist(name="podnet", subnet=SUBNET)
    config["plugins"][0]["ipam"]["routes"] = [{"dst": "0.0.0.0/0"}]
    return config


def _collection_config(archives):
    engine.run(cni_install, {"src": archives.chain, "checksum": sha256(archives.chain)})
    engine.run(cni_config, {"name": "podnet", "config": podnet(), "exclusive": True})


def _cri_params(daemon, **extra):
    params = {"name": "podnet", "runtime": "cri", "cri_socket": daemon.sock, "timeout": 30,
              "cgroup_parent": "/" + daemon.cgroup_parent}
    params.update(extra)
    return params


def _gone(box, daemon):
    """What a removed pod could leave: netns files, host veths, leases, port mappings, sandboxes."""
    leases = sorted(os.listdir("/var/lib/cni/networks/podnet")) if os.path.isdir("/var/lib/cni/networks/podnet") \
        else []
    nat = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True, timeout=30, check=False)
    return {"netns": os.listdir("/run/netns"),
            "veths": [link["ifname"] for link in box.ipj("link", "show") if link["ifname"].startswith("veth")],
            "leases": [name for name in leases if name not in ("lock", "last_reserved_ip.0")],
            "dnat": [line for line in nat.stdout.splitlines() if "DNAT" in line and "--to-destination" in line],
            "sandboxes": daemon.ctr("containers", "ls", "-q").stdout.split()}


NOTHING_LEFT = {"netns": [], "veths": [], "leases": [], "dnat": [], "sandboxes": []}


def _engine_check(params):
    return engine.run(cni_check, params).extra


def test_cni_check_through_cri_engine_and_module(cri_containerd, cni_dirs, cni_archives):
    _collection_config(cni_archives)
    extra = in_child(_engine_check, _cri_params(cri_containerd, host_port=HOST_PORT, container_port=POD_PORT))
    assert extra["runtime"] == "cri" and extra["trial_ran"] is True and extra["network"] == "podnet"
    assert ipaddress.ip_address(extra["pod_ip"]) in ipaddress.ip_network(SUBNET)
    assert extra["pod_ips"] == [extra["pod_ip"]]
    assert extra["cni_result"]["Interfaces"]["eth0"]["IPConfigs"][0]["IP"] == extra["pod_ip"]
    assert extra["runtime_version"].startswith("containerd ")
    assert _gone(cni_dirs, cri_containerd) == NOTHING_LEFT

    # The module, as a playbook runs it (the controller's Python has grpc); check mode runs the trial too.
    for check_mode in (False, True):
        run = cni_dirs.playbook([{"netplumb.linux.cni_check": _cri_params(cri_containerd, host_port=HOST_PORT)}],
                                check=check_mode)
        assert run.rc == 0, run
        result = run.results[0]
        assert result["changed"] is False and result["trial_ran"] is True, result
        assert ipaddress.ip_address(result["pod_ip"]) in ipaddress.ip_network(SUBNET)
        assert _gone(cni_dirs, cri_containerd) == NOTHING_LEFT


def _serve_once(netns_path, port):
    """A one-shot TCP server in the pod's network namespace that answers 'pod'."""
    script = ("import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
              "s.bind(('0.0.0.0',%d));s.listen(1);s.settimeout(20);print('listening',flush=True)\n"
              "c,a=s.accept();c.sendall(b'pod '+a[0].encode());c.close()\n" % port)
    proc = subprocess.Popen(["nsenter", "--net=" + netns_path, "python3", "-c", script],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "listening"
    return proc


def _wan_link(box):
    box.ip("netns", "add", "wan")
    box.ip("link", "add", "to-wan", "type", "veth", "peer", "name", "eth0", "netns", "wan")
    box.ip("addr", "add", WAN[0] + "/24", "dev", "to-wan")
    box.ip("link", "set", "to-wan", "up")
    box.ip("addr", "add", WAN[1] + "/24", "dev", "eth0", netns="wan")
    box.ip("link", "set", "eth0", "up", netns="wan")
    box.ip("link", "set", "lo", "up", netns="wan")


def _held_pod(sock, cgroup_parent):
    """A pod held up while the node pings it and the wan connects to its hostPort."""
    spec = cri.PodSpec(name="netplumb-test-pod", uid="held", cgroup_parent=cgroup_parent, host_port=HOST_PORT,
                       container_port=POD_PORT)
    left, seen = [], {}
    with cri.pod_sandbox(sock, spec, 30, left) as pod:
        seen["ip"], seen["netns"] = pod.ip, pod.netns
        seen["ping"] = subprocess.run(["ping", "-n", "-q", "-c", "1", "-W", "2", pod.ip], capture_output=True,
                                      timeout=10, check=False).returncode == 0
        server = _serve_once(pod.netns, POD_PORT)
        try:
            client = ("import socket;c=socket.create_connection(('%s',%d),timeout=5);print(c.recv(100).decode())"
                      % (WAN[0], HOST_PORT))
            answer = subprocess.run(["ip", "netns", "exec", "wan", "python3", "-c", client], capture_output=True,
                                    text=True, timeout=30, check=False)
            seen["wan"], seen["wan_error"] = answer.stdout.strip(), answer.stderr[-500:]
        finally:
            server.kill()
            server.wait(timeout=10)
    seen["left"] = left
    return seen


def test_pod_answers_ping_and_its_host_port_answers_from_the_wan(cri_containerd, cni_dirs, cni_archives):
    box = cni_dirs
    _collection_config(cni_archives)
    _wan_link(box)

    seen = in_child(_held_pod, cri_containerd.sock, "/" + cri_containerd.cgroup_parent)
    assert ipaddress.ip_address(seen["ip"]) in ipaddress.ip_network(SUBNET)
    assert seen["ping"], seen
    # portmap's DNAT took the wan's connection to the pod, which sees the wan's own address
    assert seen["wan"] == "pod " + WAN[1], seen["wan_error"]
    assert seen["left"] == []
    gone = _gone(box, cri_containerd)
    assert gone["netns"] == ["wan"] and dict(gone, netns=[]) == NOTHING_LEFT, gone
    box.ip("netns", "delete", "wan")


def test_the_pod_is_held_while_it_serves_the_wan(cri_containerd, cni_dirs, cni_archives, tmp_path):
    """serve and ready_file: the pod is up (its address in ready_file) until it has answered the wan's connection
    to its hostPort from inside; then removed as always. verify.yml runs it this way on the lab."""
    box = cni_dirs
    _collection_config(cni_archives)
    _wan_link(box)
    ready = str(tmp_path / "pod.json")
    client = ("import socket,time\nfor _ in range(100):\n    try:\n"
              "        print(socket.create_connection(('%s',%d),timeout=2).recv(64).decode());break\n"
              "    except OSError:\n        time.sleep(0.2)\n" % (WAN[0], HOST_PORT))
    wan = subprocess.Popen(["ip", "netns", "exec", "wan", "python3", "-c", client], stdout=subprocess.PIPE, text=True)
    try:
        extra = in_child(_engine_check, _cri_params(cri_containerd, host_port=HOST_PORT, container_port=POD_PORT,
                                                    serve=1, ready_file=ready))
        out, _err = wan.communicate(timeout=30)
    finally:
        if wan.poll() is None:
            wan.kill()
            wan.wait(timeout=10)
    assert extra["served"] == [WAN[1]] and out.strip() == WAN[1], (extra["served"], out)
    assert ipaddress.ip_address(extra["pod_ip"]) in ipaddress.ip_network(SUBNET)
    assert not os.path.exists(ready)
    gone = _gone(box, cri_containerd)
    assert gone["netns"] == ["wan"] and dict(gone, netns=[]) == NOTHING_LEFT, gone
    box.ip("netns", "delete", "wan")

    # Nobody connects: the check fails within its timeout, naming what it waited for, and the pod is gone.
    message = in_child(_cni_check_fails, _cri_params(cri_containerd, host_port=HOST_PORT, serve=1, timeout=2))
    assert message and "the pod answered 0 of 1 connections to its port %d within 2 s" % HOST_PORT in message, message
    assert "; the pod sandbox is removed" in message, message
    assert _gone(box, cri_containerd) == NOTHING_LEFT


def _cni_check_fails(params):
    try:
        engine.run(cni_check, params)
    except cri.CriError as exc:
        return str(exc)
    return None


def _remove(sock, sandbox_id):
    runtime = cri.Runtime(sock, 30)
    try:
        return runtime.remove(sandbox_id), _sandbox_ids(runtime)
    finally:
        runtime.close()


def _sandbox_ids(runtime):
    answer = runtime.call("ListPodSandbox", runtime.api.ListPodSandboxRequest(), "ListPodSandbox")
    return [item.id for item in answer.items]


def test_the_seeds_failure_end_to_end(cri_containerd, cni_dirs, cni_archives):
    aws = {"cniVersion": "1.0.0", "name": "aws-cni", "plugins": [{"type": "aws-cni", "name": "aws-cni"}]}
    engine.run(cni_install, {"src": cni_archives.chain, "checksum": sha256(cni_archives.chain)})
    # Written by hand, bypassing the collection, as the seed's node had it.
    with open("/etc/cni/net.d/10-aws.conflist", "w") as handle:
        json.dump(aws, handle)

    message = in_child(_cni_check_fails, _cri_params(cri_containerd, name="aws-cni"))
    assert message and SEED_WORDS in message, message
    assert 'plugin type="aws-cni" name="aws-cni" failed (add)' in message, message
    stuck = re.search(r'failed to setup network for sandbox \\?"([0-9a-f]{64})', message).group(1)
    # The runtime left that sandbox; StopPodSandbox cannot tear its network down with this config.
    assert "left behind: pod sandbox %s (StopPodSandbox" % stuck in message, message
    errors, ids = in_child(_remove, cri_containerd.sock, stuck)
    assert errors and SEED_WORDS in errors[0] and ids == [stuck], (errors, ids)

    # The collection refuses the same config with the same words, before any runtime sees it.
    os.remove("/etc/cni/net.d/10-aws.conflist")
    with pytest.raises(ParamError) as refused:
        engine.run(cni_config, {"name": "aws-cni", "config": aws})
    assert SEED_WORDS in str(refused.value)
    assert os.listdir("/etc/cni/net.d") == []

    # The collection's config back: a new pod works, and the stuck one goes.
    engine.run(cni_config, {"name": "podnet", "config": podnet(), "exclusive": True})
    extra = in_child(_engine_check, _cri_params(cri_containerd))
    assert ipaddress.ip_address(extra["pod_ip"]) in ipaddress.ip_network(SUBNET)
    errors, ids = in_child(_remove, cri_containerd.sock, stuck)
    assert errors == [] and ids == [], (errors, ids)
    assert _gone(cni_dirs, cri_containerd) == NOTHING_LEFT


def test_without_the_cri_libraries_the_module_names_them_before_touching_the_node(cni_dirs):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import grpc, cri_api"], capture_output=True, check=False)
    if probe.returncode == 0:
        pytest.skip("the system's Python has grpc and cri_api")
    run = cni_dirs.playbook([{"netplumb.linux.cni_check": {"name": "podnet", "runtime": "cri"}}],
                            extra_args=("-e", "ansible_python_interpreter=/usr/bin/python3"))
    assert run.rc != 0 and len(run.failed) == 1, run
    msg = run.failed[0]["msg"]
    assert "(grpcio and container-runtime-interface-api)" in msg and "pip install 'container-runtime-interface-api'" \
        in msg, msg
    assert "Traceback (most recent call last)" not in run.stdout + run.stderr
    assert os.listdir("/run/netns") == []
