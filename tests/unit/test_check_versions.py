"""tests/gates/check_versions.py, the first step of make release-check: no
version_added and no release newer than the version in galaxy.yml. Pure
logic, and one small collection tree in tmp_path."""

import importlib.util
import os
import textwrap

import pytest

GATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gates")
_SPEC = importlib.util.spec_from_file_location("check_versions", os.path.join(GATES, "check_versions.py"))
check_versions = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_versions)

MODULE = "plugins/modules/route.py"


@pytest.mark.parametrize("text, parsed", [("0.1.0", (0, 1, 0)), ("1.10.2", (1, 10, 2)), ("10.0.0", (10, 0, 0))])
def test_semantic_versions_parse(text, parsed):
    assert check_versions.parse_version(text) == parsed


@pytest.mark.parametrize("text", ["1.0", "1", "01.2.3", "1.2.3-rc1", "1.2.3+build", "v1.2.3", "", None, 1.0])
def test_anything_else_is_not_a_version(text):
    with pytest.raises(ValueError, match="not a semantic version"):
        check_versions.parse_version(text)


def test_equal_passes():
    assert check_versions.problems("0.2.0", [(MODULE, "DOCUMENTATION", "0.2.0")], ["0.2.0"]) == []


def test_older_passes():
    assert check_versions.problems("1.0.0", [(MODULE, "DOCUMENTATION.options.dst", "0.9.10")], ["0.1.0", "0.9.0"]) == []


def test_a_newer_version_added_fails_naming_the_file_and_the_option():
    wrong = check_versions.problems("0.2.0", [(MODULE, "DOCUMENTATION", "0.1.0"),
                                              (MODULE, "DOCUMENTATION.options.dst", "0.3.0")], [])
    assert len(wrong) == 1
    assert wrong[0].startswith(MODULE + ": DOCUMENTATION.options.dst has version_added 0.3.0"), wrong
    assert "(0.2.0)" in wrong[0]


def test_versions_compare_as_numbers_not_as_text():
    assert check_versions.problems("0.10.0", [(MODULE, "DOCUMENTATION", "0.9.0")], []) == []
    assert check_versions.problems("0.9.0", [(MODULE, "DOCUMENTATION", "0.10.0")], []) != []


def test_a_version_added_that_is_not_semantic_fails_naming_the_file():
    wrong = check_versions.problems("0.2.0", [(MODULE, "DOCUMENTATION", 1.0)], [])
    assert len(wrong) == 1 and wrong[0].startswith(MODULE + ": DOCUMENTATION: version_added"), wrong


def test_galaxy_version_must_be_semantic():
    assert check_versions.problems("0.2", [], []) == ["galaxy.yml: version '0.2' is not a semantic version X.Y.Z"]


def test_a_newer_release_in_the_changelog_fails():
    wrong = check_versions.problems("0.2.0", [], ["0.1.0", "0.10.0", "0.2.0"])
    assert wrong == ["changelogs/changelog.yaml: release 0.10.0 is newer than the version in galaxy.yml (0.2.0)"]


def test_versions_added_walks_options_and_suboptions_but_not_other_collections():
    doc = {"module": "x", "version_added": "0.1.0",
           "options": {"a": {"type": "str", "version_added": "0.2.0"},
                       "b": {"type": "list", "suboptions": {"c": {"version_added": "0.3.0"}}},
                       "d": {"version_added": "9.0.0", "version_added_collection": "community.general"},
                       "version_added": {"type": "str", "description": "an option of that name"}}}
    assert check_versions.versions_added(doc, "DOCUMENTATION") == [
        ("DOCUMENTATION", "0.1.0"), ("DOCUMENTATION.options.a", "0.2.0"),
        ("DOCUMENTATION.options.b.suboptions.c", "0.3.0")]


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(textwrap.dedent(text))


def test_a_collection_tree(tmp_path, capsys):
    root = str(tmp_path)
    _write(os.path.join(root, "galaxy.yml"), "version: 0.2.0\n")
    _write(os.path.join(root, "plugins", "modules", "route.py"), '''\
        DOCUMENTATION = r"""
        module: route
        version_added: "0.1.0"
        options:
          dst:
            type: str
            version_added: "0.2.0"
        """
        ''')
    _write(os.path.join(root, "plugins", "doc_fragments", "common.py"), '''\
        class ModuleDocFragment(object):
            NETNS = r"""
        options:
          netns:
            type: str
            version_added: "0.2.0"
        """
        ''')
    _write(os.path.join(root, "plugins", "module_utils", "x.py"), 'DOCUMENTATION = "version_added: 9.9.9"\n')
    _write(os.path.join(root, "plugins", "filter", "f.yml"), "DOCUMENTATION:\n  name: f\n  version_added: 0.1.0\n")
    _write(os.path.join(root, "roles", "cni", "meta", "argument_specs.yml"),
           "argument_specs:\n  main:\n    options:\n      cni_x:\n        version_added: 0.3.0\n")
    assert sorted(check_versions.collect(root)) == [
        ("plugins/doc_fragments/common.py", "NETNS.options.netns", "0.2.0"),
        ("plugins/filter/f.yml", "DOCUMENTATION", "0.1.0"),
        ("plugins/modules/route.py", "DOCUMENTATION", "0.1.0"),
        ("plugins/modules/route.py", "DOCUMENTATION.options.dst", "0.2.0"),
        ("roles/cni/meta/argument_specs.yml", "main.options.cni_x", "0.3.0")]
    assert check_versions.main(root) == 1
    assert "roles/cni/meta/argument_specs.yml: main.options.cni_x has version_added 0.3.0" in capsys.readouterr().err

    _write(os.path.join(root, "galaxy.yml"), "version: 0.3.0\n")
    assert check_versions.main(root) == 0
    assert "version 0.3.0: 5 version_added in 4 files" in capsys.readouterr().out
