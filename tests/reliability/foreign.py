"""A node that already carries someone else's networking: docker-like
iptables rules (legacy and nft), a kube-proxy-like nft table, another bridge
with its own veths and a container namespace, an unrelated namespace with a
route, a host route, another CNI's config and binary, an admin's sysctl file."""

import os

from netplumb_testlib import sh

KUBE_PROXY_NFT = """\
table ip kube-proxy {
    chain services {
        type nat hook prerouting priority -100; policy accept;
        tcp dport 30080 dnat to 192.0.2.50:80
    }
    chain masquerading {
        type nat hook postrouting priority 100; policy accept;
        ip saddr 10.244.0.0/16 oifname "uplink0" masquerade
    }
}
"""
DOCKER_IPTABLES = [
    ["-t", "nat", "-N", "DOCKER"],
    ["-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"],
    ["-t", "nat", "-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"],
    ["-t", "filter", "-N", "DOCKER-USER"],
    ["-t", "filter", "-A", "FORWARD", "-j", "DOCKER-USER"],
    ["-t", "filter", "-A", "FORWARD", "-o", "docker0", "-j", "ACCEPT"],
]
FLANNEL_CONFLIST = b'{"cniVersion": "0.3.1", "name": "cbr0", "plugins": [{"type": "flannel"}]}\n'


def build(box):
    for variant in ("legacy", "nft"):
        for rule in DOCKER_IPTABLES:
            sh("iptables-%s" % variant, "-w", "5", *rule)
    sh("sh", "-c", "printf '%s' \"$0\" | nft -f -", KUBE_PROXY_NFT)
    box.ip("link", "add", "docker0", "type", "bridge")
    box.ip("addr", "add", "192.0.2.129/25", "dev", "docker0")
    box.ip("link", "set", "docker0", "up")
    box.ip("netns", "add", "ctr-foreign")
    box.ip("link", "add", "vethd0", "type", "veth", "peer", "name", "eth0", "netns", "ctr-foreign")
    box.ip("link", "set", "vethd0", "master", "docker0", "up")
    box.ip("addr", "add", "192.0.2.130/25", "dev", "eth0", netns="ctr-foreign")
    box.ip("link", "set", "eth0", "up", netns="ctr-foreign")
    box.ip("route", "add", "default", "via", "192.0.2.129", netns="ctr-foreign")
    box.ip("netns", "add", "unrelated")
    box.ip("link", "add", "u0", "type", "bridge", netns="unrelated")
    box.ip("addr", "add", "203.0.113.200/28", "dev", "u0", netns="unrelated")
    box.ip("link", "set", "u0", "up", netns="unrelated")
    box.ip("route", "add", "203.0.113.224/28", "dev", "u0", netns="unrelated")
    box.ip("route", "add", "203.0.113.240/28", "dev", "docker0")
    os.makedirs("/opt/cni/bin", exist_ok=True)
    with open("/opt/cni/bin/flannel", "wb") as handle:
        handle.write(b"#!/bin/sh\necho flannel\n")
    os.chmod("/opt/cni/bin/flannel", 0o755)
    os.makedirs("/etc/cni/net.d", exist_ok=True)
    with open("/etc/cni/net.d/05-flannel.conflist", "wb") as handle:
        handle.write(FLANNEL_CONFLIST)
    with open("/etc/sysctl.d/99-admin.conf", "w") as handle:
        handle.write("net.ipv4.conf.all.rp_filter = 2\n")
