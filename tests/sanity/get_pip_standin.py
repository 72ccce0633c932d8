"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host this project's machines cannot
reach. This does the same job with what Python ships: ensurepip, then pip
installs what ansible-test asked for. `make sanity` puts it in ansible-test's
cache as get_pip_<version>.py.
"""
import subprocess
import sys

DROP = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
args = [arg for arg in sys.argv[1:] if arg not in DROP]
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
