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

lab-packages: $(STAMPS)/lab-packages

deps: $(STAMPS)/lab-packages
