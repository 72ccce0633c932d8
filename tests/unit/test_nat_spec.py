"""nat_rule's spec as pure logic: negated matches, their rendering per
backend, and tags that stay what earlier releases wrote."""

import hashlib
import json

import pytest

from ansible_collections.netplumb.linux.plugins.module_utils.nat import iptables as nat_iptables
from ansible_collections.netplumb.linux.plugins.module_utils.nat import nft as nat_nft
from ansible_collections.netplumb.linux.plugins.module_utils.nat import spec as nat_spec
from ansible_collections.netplumb.linux.plugins.module_utils.core.errors import ParamError

MASQ = {"kind": "masquerade", "source": "198.51.100.0/24", "out_interface": "uplink0"}


def rule(**params):
    return nat_spec.parse(dict(MASQ, **params)).rule


def test_a_rule_without_negation_keeps_the_identity_earlier_releases_wrote():
    legacy_match = {"kind": "masquerade", "source": "198.51.100.0/24", "destination": "203.0.113.0/24",
                    "in_interface": None, "out_interface": "uplink0", "protocol": None, "dport": None}
    expected = hashlib.sha256(json.dumps(legacy_match, sort_keys=True).encode()).hexdigest()[:12]
    assert rule(destination="203.0.113.0/24").identity == expected


def test_a_negated_network_is_its_own_identity_and_reads_back_as_written():
    negated, plain = rule(destination="!203.0.113.0/24"), rule(destination="203.0.113.0/24")
    assert negated.not_destination and not plain.not_destination
    assert negated.destination == plain.destination
    assert negated.identity != plain.identity
    assert negated.as_dict()["destination"] == "!203.0.113.0/24"
    assert rule(source="!198.51.100.0/25").match()["source"] == "!198.51.100.0/25"


def test_negation_renders_for_each_backend():
    negated = rule(destination="!203.0.113.0/24")
    assert nat_nft.render(negated)[0].startswith(
        'postrouting: oifname "uplink0" ip saddr 198.51.100.0/24 ip daddr != 203.0.113.0/24 masquerade')
    assert nat_iptables.natives(negated)[0][2:8] == ["-s", "198.51.100.0/24", "!", "-d", "203.0.113.0/24", "-o"]
    v6 = nat_spec.parse({"kind": "masquerade", "source": "!2001:db8:1::/64"}).rule
    assert v6.family == 6 and "ip6 saddr != 2001:db8:1::/64" in nat_nft.render(v6)[0]
    assert nat_iptables.natives(v6)[0][2:5] == ["!", "-s", "2001:db8:1::/64"]


@pytest.mark.parametrize("value", ["!", "!!198.51.100.0/24", "!198.51.100.1/24", "! nonsense"])
def test_a_bad_negated_network_names_the_field(value):
    with pytest.raises(ParamError) as caught:
        nat_spec.parse(dict(MASQ, destination=value))
    assert caught.value.field == "destination"
    assert "after the !" in str(caught.value)


def test_the_family_of_a_negated_network_must_agree():
    with pytest.raises(ParamError) as caught:
        nat_spec.parse(dict(MASQ, destination="!2001:db8::/44"))
    assert caught.value.field == "destination" and "IPv6" in str(caught.value)
