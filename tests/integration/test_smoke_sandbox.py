import pytest

from netplumb_testlib import run_playbook


def test_sandbox_is_private(sandbox):
    sandbox.ip("link", "add", "sb-a", "type", "veth", "peer", "name", "sb-b")
    assert sandbox.link("sb-a")["link"] == "sb-b"


def test_next_sandbox_is_fresh(sandbox):
    assert sandbox.link("sb-a") is None
    assert sandbox.netns_list() == []


def test_a_deprecation_warning_fails_the_playbook_run():
    """The gate every playbook of the suite passes through: a deprecation
    (here ansible-core 2.19's for a `bool` filter coercing a string) fails it."""
    with pytest.raises(AssertionError, match="deprecation warnings from .*bool"):
        run_playbook([{"name": "A string coerced by bool", "ansible.builtin.debug": {"msg": "{{ 'maybe' | bool }}"}}])
