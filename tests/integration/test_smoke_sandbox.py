def test_sandbox_is_private(sandbox):
    sandbox.ip("link", "add", "sb-a", "type", "veth", "peer", "name", "sb-b")
    assert sandbox.link("sb-a")["link"] == "sb-b"


def test_next_sandbox_is_fresh(sandbox):
    assert sandbox.link("sb-a") is None
    assert sandbox.netns_list() == []
