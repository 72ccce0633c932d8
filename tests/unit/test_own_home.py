"""tests/own_home.sh: the tools' home is the checkout's .build/home, pip and
git still read the user's own configuration, and make's tool targets run
through it. No root, no kernel."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OWN_HOME = os.path.join(ROOT, "tests", "own_home.sh")


def _env_of(home, **more):
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    env.update(more)
    out = subprocess.run([OWN_HOME, "env"], env=env, capture_output=True, text=True, timeout=30, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_the_home_is_the_checkout_s_and_the_user_s_configuration_is_read(tmp_path):
    (tmp_path / ".config" / "pip").mkdir(parents=True)
    (tmp_path / ".config" / "pip" / "pip.conf").write_text("[global]\n")
    (tmp_path / ".gitconfig").write_text("[safe]\n")
    env = _env_of(tmp_path, XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / ".config"))
    assert env["HOME"] == os.path.join(ROOT, ".build", "home")
    assert env["PIP_CONFIG_FILE"] == str(tmp_path / ".config" / "pip" / "pip.conf")
    assert env["GIT_CONFIG_GLOBAL"] == str(tmp_path / ".gitconfig")
    assert not any(name.startswith("XDG_") for name in env)
    assert sorted(os.listdir(tmp_path)) == [".config", ".gitconfig"]  # nothing written in the user's home


def test_without_user_configuration_none_is_named(tmp_path):
    env = _env_of(tmp_path)
    assert "PIP_CONFIG_FILE" not in env and "GIT_CONFIG_GLOBAL" not in env


def test_run_all_sources_it_and_keeps_the_user_s_home_to_check(tmp_path):
    out = subprocess.run(["bash", "-c", ". tests/own_home.sh; echo \"$real_home $HOME\""], cwd=ROOT,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)}, capture_output=True, text=True,
                         timeout=30, check=True).stdout.split()
    assert out == [str(tmp_path), os.path.join(ROOT, ".build", "home")]


@pytest.mark.parametrize("target, command", [
    ("lint", "tests/own_home.sh .venv/bin/ansible-lint"),
    ("docs", "tests/own_home.sh env DOCS_VENV=.venv-docs docs/build.sh"),
    ("docs-check", "tests/own_home.sh .venv-docs/bin/python docs/check_site.py"),
    ("sanity", "tests/own_home.sh tests/sanity/run.sh"),
    ("changelog-lint", "tests/own_home.sh .venv-docs/bin/antsibull-changelog lint"),
    ("galaxy-gate", "tests/own_home.sh tests/gates/galaxy.sh"),
    ("molecule", "tests/own_home.sh tests/sandbox.sh .venv/bin/molecule"),
    ("bench", "tests/own_home.sh tests/sandbox.sh .venv/bin/python bench/run.py"),
    ("demo", "tests/own_home.sh tests/sandbox.sh demo/run.sh"),
    ("demo-clean", "tests/own_home.sh .venv/bin/ansible-playbook"),
    ("demo-recipe", "tests/own_home.sh tests/sandbox.sh demo/recipe.sh"),
])
def test_make_s_tool_targets_run_through_it(target, command):
    """What make would run (make -n: printed, nothing run)."""
    out = subprocess.run(["make", "-n", "-C", ROOT, target], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert command in out, out
