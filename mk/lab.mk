# The lab's nodes have no package mirror: the .debs they install (openssh-server
# and sudo at boot; pyroute2, nftables, iptables and the CNI plugins when the
# roles install their prerequisites) are fetched here, once, by make deps, with
# this machine's apt in download-only mode (nothing is installed here), and
# served to every node read-only. The nodes' provisioned layer is kept in
# .build/lab-layers between labs (one per state of this machine's packages).
LAB_PACKAGES := $(CURDIR)/.build/lab-packages
export NETPLUMB_LAB_PACKAGES := $(LAB_PACKAGES)
export NETPLUMB_LAB_LAYER_CACHE := $(CURDIR)/.build/lab-layers

.PHONY: lab-packages

# The lab's code (plugins/plugin_utils/lab) runs by its path for this, as for
# a node's pid 1: the distribution's Python, isolated.
LAB_CLI := plugins/plugin_utils/lab/cli.py

$(STAMPS)/lab-packages: plugins/plugin_utils/lab/packages.py $(STAMPS)/apt
	$(PYTHON_SYSTEM) -I $(LAB_CLI) packages --dir $(LAB_PACKAGES) >/dev/null
	@touch $@

# The CRI client (grpcio, protobuf, the CRI stubs; the versions pinned in
# requirements-dev.txt) as wheels for the nodes' Python (Debian 12: CPython
# 3.11, x86_64), beside the .debs: the nodes see them read-only at
# /srv/netplumb-lab/wheels, and verify.yml's node_prereqs pip-installs them
# from there (PyPI is only reachable from here).
LAB_WHEELS := $(LAB_PACKAGES)/wheels
CRI_PINS := $(shell sed -n -E 's/^(container-runtime-interface-api|grpcio|protobuf)==/&/p' requirements-dev.txt)

$(STAMPS)/lab-wheels: requirements-dev.txt $(STAMPS)/venv
	@mkdir -p $(LAB_WHEELS)
	$(PY) -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.11 \
		--implementation cp --abi cp311 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d $(LAB_WHEELS) $(CRI_PINS)
	@touch $@

lab-packages: $(STAMPS)/lab-packages $(STAMPS)/lab-wheels

deps: $(STAMPS)/lab-packages $(STAMPS)/lab-wheels
